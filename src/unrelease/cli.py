"""The command line: options in, result out, exit code. No decisions are made here.

Heavy modules (PyGithub, jinja2, requests) are imported inside the commands so that
``unrelease --version`` and ``--help`` stay fast and need no network or credentials.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from unrelease import __version__
from unrelease.errors import BadInput, Refused, UnreleaseError

if TYPE_CHECKING:
    from unrelease.engine import Outcome
    from unrelease.indexes.base import Index

F = TypeVar("F", bound=Callable[..., Any])
MARKS = {
    "done": "✓",
    "already-done": "=",
    "skipped": "-",
    "pending": "…",
    "failed": "✗",
    "planned": "→",
}


def echo(text: str = "", *, err: bool = False) -> None:
    """Every line the tool prints goes through here: secrets never reach output."""
    from unrelease.secrets import redact

    click.echo(redact(text), err=err)


def index_options(f: F) -> F:
    f = click.option(
        "--index-kind",
        type=click.Choice(["auto", "warehouse", "pypiserver", "devpi"]),
        default="auto",
        show_default=True,
        help="What kind of index --index is; auto probes it.",
    )(f)
    return click.option(
        "--index",
        "index",
        envvar="UNRELEASE_INDEX",
        default="pypi",
        show_default=True,
        help="pypi, testpypi or the base URL of an index.",
    )(f)


def rollback_options(f: F) -> F:
    options = [
        click.option("--reason", required=True, help="Why the release is withdrawn."),
        click.option("--to", "to", help="Version to go back to (default: newest good one)."),
        click.option(
            "--mode", type=click.Choice(["yank", "delete"]), default="yank", show_default=True
        ),
        click.option(
            "--severity",
            type=click.Choice(["critical", "minor"]),
            default="critical",
            show_default=True,
        ),
        click.option(
            "--repo", envvar="GITHUB_REPOSITORY", help="OWNER/NAME on GitHub, or a local path."
        ),
        click.option(
            "--github-url",
            envvar="GITHUB_API_URL",
            default="https://api.github.com",
            show_default=True,
        ),
        click.option("--tag-format", default="v{version}", show_default=True),
        click.option("--rollback-tag", default="{to_tag}-rollback-{date}", show_default=True),
        click.option("--labels", help="Issue labels [default: release,SEVERITY]."),
        click.option("--files", help="Only files matching this glob (delete mode)."),
        click.option("--force", is_flag=True, help="Delete on a non-volatile devpi index."),
        click.option("--mark-release", is_flag=True, help="Mark the bad version's release."),
        click.option("--verify-install", is_flag=True, help="pip-install from the index after."),
        click.option(
            "--pypi-auth",
            type=click.Choice(["auto", "session", "manual"]),
            default="auto",
            show_default=True,
        ),
        click.option("--wait-manual", type=click.IntRange(min=0), default=None),
        click.option("--run", "run_id", help="The failed workflow run (id)."),
        click.option(
            "--backup-dir",
            envvar="UNRELEASE_BACKUP_DIR",
            type=click.Path(file_okay=False, path_type=Path),
            default=Path("unrelease-backup"),
            show_default=True,
            help="Where files are kept before a delete.",
        ),
        click.option("--dry-run", is_flag=True, help="Show the steps; change nothing."),
        click.option("--yes", is_flag=True, help="Do not ask (required without a terminal)."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    ]
    for option in reversed(options):
        f = option(f)
    return index_options(f)


def handle_errors(f: F) -> F:
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except UnreleaseError as exc:
            echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", prog_name="unrelease", message="%(prog)s %(version)s"
)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Roll back a bad Python package release in one step, safely, with a record."""
    from unrelease.config import default_map
    from unrelease.secrets import RedactingFilter

    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    logging.basicConfig(
        level=logging.WARNING, handlers=[handler], format="%(levelname)s %(message)s"
    )
    try:
        ctx.default_map = default_map()
    except UnreleaseError as exc:
        echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


def _open_index(index: str, kind: str) -> Index:
    from unrelease.config import index_auth
    from unrelease.indexes import open_index

    return open_index(index, kind, auth=index_auth())


@main.command()
@click.argument("package")
@index_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def status(package: str, index: str, index_kind: str, as_json: bool) -> None:
    """Every version of PACKAGE on the index, its files, and the latest stable one."""
    from unrelease.versions import check_package_name, latest_stable

    check_package_name(package)
    idx = _open_index(index, index_kind)
    from unrelease.errors import NotFound

    try:
        releases = idx.releases(package)
    except NotFound:
        raise BadInput(f"package {package} is not on {idx.url}") from None
    stable = latest_stable(releases)
    data = {
        "package": package,
        "index": idx.url,
        "index_kind": idx.kind,
        "probe": idx.probe_note,
        "latest_stable": stable.version if stable else None,
        "versions": [r.to_json() for r in reversed(releases)],
    }
    if as_json:
        echo(json.dumps(data, indent=2))
        return
    echo(f"{package} on {idx.url} ({idx.kind})")
    if data["probe"]:
        echo(f"  {data['probe']}")
    for rel in reversed(releases):
        state = f"yanked: {rel.yanked_reason or 'no reason'}" if rel.yanked else "available"
        echo(f"  {rel.version:<20} {state}")
        for f in rel.files:
            size = f"{f.size} B" if f.size is not None else "size ?"
            when = f.upload_time or "upload time ?"
            echo(f"      {f.filename}  sha256={f.sha256 or '?'}  {size}  {when}")
    echo(f"latest stable: {stable.version if stable else 'none'}")


def _build(package: str, version: str, reason: str, kw: dict[str, Any]) -> Any:
    """Options → engine (imported here, not at start-up)."""
    from unrelease.config import github_token, who
    from unrelease.engine import Engine, Options
    from unrelease.forges import open_forge
    from unrelease.versions import check_package_name, parse_version

    check_package_name(package)
    parse_version(version)
    if kw["to"]:
        parse_version(kw["to"], what="--to version")
    if not reason.strip():
        raise BadInput("--reason must not be empty")
    labels = [x.strip() for x in (kw["labels"] or f"release,{kw['severity']}").split(",")]
    labels = [x for x in labels if x]
    if not labels:
        raise BadInput("--labels needs at least one label")
    _check_formats(kw["tag_format"], kw["rollback_tag"])
    run_url = None
    if kw["run_id"] and not str(kw["run_id"]).isdigit():
        raise BadInput(f"--run takes a workflow run id (digits), not {kw['run_id']!r}")
    forge = open_forge(kw["repo"], kw["github_url"], github_token())
    if kw["run_id"] and kw["repo"] and forge.kind == "github":
        web = kw["github_url"].replace("api.github.com", "github.com").removesuffix("/api/v3")
        run_url = f"{web.rstrip('/')}/{kw['repo']}/actions/runs/{kw['run_id']}"
    idx = _open_index(kw["index"], kw["index_kind"])
    options = Options(
        package=package,
        version=version,
        reason=reason.strip(),
        to=kw["to"],
        mode=kw["mode"],
        severity=kw["severity"],
        labels=labels,
        tag_format=kw["tag_format"],
        rollback_tag=kw["rollback_tag"],
        files=kw["files"],
        force=kw["force"],
        mark_release=kw["mark_release"],
        verify_install=kw["verify_install"],
        run_url=run_url,
        backup_dir=kw["backup_dir"],
        who=who(),
    )
    return Engine(options, idx, forge)


def _check_formats(tag_format: str, rollback_tag: str) -> None:
    sample = {"version": "1.0", "to_tag": "v1.0", "date": "20000101", "to": "1.0", "package": "p"}
    for name, fmt in (("--tag-format", tag_format), ("--rollback-tag", rollback_tag)):
        try:
            fmt.format(**sample)
        except (KeyError, IndexError, ValueError) as exc:
            raise BadInput(f"{name} {fmt!r} is not a valid template: {exc}") from None
    if "{version}" not in tag_format:
        raise BadInput("--tag-format must contain {version}")


def _report(outcome: Outcome, as_json: bool, dry_run: bool) -> None:
    if as_json:
        data = outcome.to_json()
        data["dry_run"] = dry_run
        echo(json.dumps(data, indent=2))
        return
    plan = outcome.plan
    head = "Plan" if dry_run else "Rollback"
    versions = ", ".join(r.version for r in plan.withdraw)
    echo(
        f"{head}: {plan.options.package} {versions} → {plan.target.version} "
        f"({plan.options.mode} on {plan.index_url})"
    )
    for s in outcome.steps:
        text = s.detail or s.action
        if dry_run and s.status.value == "planned":
            text = s.action + (f" [{s.detail}]" if s.detail else "")
        echo(f"  {MARKS.get(s.status.value, '?')} {s.name:<16} {s.status.value:<12} {text}")
    if outcome.issue:
        echo(f"issue: {outcome.issue.url}")
    if outcome.tag:
        echo(f"tag: {outcome.tag.name} at {outcome.tag.sha[:12]}")
    if outcome.note:
        echo(f"release note: {outcome.note.url}")
    echo(f"record: {outcome.record.id}")
    if not dry_run:
        echo()
        echo(outcome.notice.rstrip())


def _confirm(engine: Any, plan: Any, yes: bool) -> None:
    if yes or not plan.needs_confirmation:
        return
    o = plan.options
    versions = ", ".join(r.version for r in plan.withdraw)
    question = f"{o.mode} {o.package} {versions} on {plan.index_url}?"
    if not sys.stdin.isatty():
        raise Refused(f"refusing to {question[:-1]} without --yes: no terminal to ask on")
    if not click.confirm(question, default=False):
        raise Refused("cancelled: nothing changed")


@main.command()
@click.argument("package")
@click.argument("version")
@rollback_options
@handle_errors
def plan(package: str, version: str, reason: str, **kw: Any) -> None:
    """Show what `rollback` would do, changing nothing."""
    engine = _build(package, version, reason, kw)
    p = engine.plan()
    _report(engine.preview(p), kw["as_json"], dry_run=True)


@main.command()
@click.argument("package")
@click.argument("version")
@rollback_options
@handle_errors
def rollback(package: str, version: str, reason: str, **kw: Any) -> None:
    """Withdraw VERSION of PACKAGE, tag the last good commit, open the incident issue and draft
    the withdrawn note. Safe to rerun: done steps are never done twice."""
    engine = _build(package, version, reason, kw)
    p = engine.plan()
    if kw["dry_run"]:
        _report(engine.preview(p), kw["as_json"], dry_run=True)
        return
    engine.preflight(p)
    _confirm(engine, p, kw["yes"])
    outcome = engine.run(p)
    _report(outcome, kw["as_json"], dry_run=False)
    sys.exit(outcome.exit_code)


@main.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), help="Keep files here.")
@handle_errors
def drill(keep: Path | None) -> None:
    """Rehearse a rollback offline: real pypiserver, real build/twine/pip, a local git repo."""
    from unrelease.drill import run_drill

    ok = run_drill(echo, keep=keep)
    sys.exit(0 if ok else 1)
