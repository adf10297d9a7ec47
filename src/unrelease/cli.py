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
    from unrelease.model import Step
    from unrelease.undo import UndoOutcome

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
        click.option(
            "--reason",
            help="Why the release is withdrawn (required, unless --run gives the run's failure).",
        ),
        click.option("--to", "to", help="Version to go back to (default: newest good one)."),
        click.option(
            "--mode",
            type=click.Choice(["yank", "delete"]),
            default="yank",
            show_default=True,
            help="yank (reversible; PyPI) or delete (pypiserver, devpi; files backed up first).",
        ),
        click.option(
            "--severity",
            type=click.Choice(["critical", "minor"]),
            default="critical",
            show_default=True,
            help="critical: roll back now; minor: after watching (the issue says which).",
        ),
        click.option(
            "--repo", envvar="GITHUB_REPOSITORY", help="OWNER/NAME on GitHub, or a local path."
        ),
        click.option(
            "--github-url",
            envvar="GITHUB_API_URL",
            default="https://api.github.com",
            show_default=True,
            help="The GitHub API root (GitHub Enterprise: https://HOST/api/v3).",
        ),
        click.option(
            "--tag-format",
            default="v{version}",
            show_default=True,
            help="How release tags are named; {version} is the version.",
        ),
        click.option(
            "--rollback-tag",
            default="{to_tag}-rollback-{date}",
            show_default=True,
            help="The tag made at the target; {to_tag}, {date}, {version}, {to}, {package}.",
        ),
        click.option("--labels", help="Issue labels [default: release,SEVERITY]."),
        click.option("--files", help="Only files matching this glob (delete mode)."),
        click.option("--force", is_flag=True, help="Delete on a non-volatile devpi index."),
        click.option(
            "--mark-release/--no-mark-release",
            default=None,
            help="Mark the bad version's GitHub release [WITHDRAWN]  [default: with critical].",
        ),
        click.option(
            "--publish-note", is_flag=True, help="Publish the withdrawn note (default: a draft)."
        ),
        click.option("--next-release", help="The planned re-release and when, for the notice."),
        click.option("--related", help="Related issues for the notice: #123,#124."),
        click.option("--verify-install", is_flag=True, help="pip-install from the index after."),
        click.option(
            "--pypi-auth",
            type=click.Choice(["auto", "session", "manual"]),
            default="auto",
            show_default=True,
            help="PyPI writes: session logs in with PYPI_* variables, manual asks a person; "
            "auto is session when PYPI_USERNAME and PYPI_PASSWORD are set.",
        ),
        click.option(
            "--wait-manual",
            type=click.IntRange(min=0),
            default=None,
            metavar="SECONDS",
            help="Wait this long for a person's manual step on PyPI, polling the index.",
        ),
        click.option(
            "--run",
            "run_id",
            help="The failed release run (id): its root cause goes in the issue, and VERSION "
            "may be left out.",
        ),
        click.option(
            "--backup-dir",
            envvar="UNRELEASE_BACKUP_DIR",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
            help="Where files are kept before a delete  [default: outside the work tree: "
            "$RUNNER_TEMP/unrelease-backup in Actions, else ~/.cache/unrelease/backup].",
        ),
        click.option("--dry-run", is_flag=True, help="Show the steps; change nothing."),
        click.option("--yes", is_flag=True, help="Do not ask (required without a terminal)."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
    ]
    for option in reversed(options):
        f = option(f)
    return index_options(f)


def handle_errors(f: F) -> F:
    """The one place errors become a line and an exit code (a JSON object with --json);
    a traceback only with --debug or UNRELEASE_DEBUG=1."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return f(*args, **kwargs)
        except UnreleaseError as exc:
            _fail(exc.message, exc.exit_code, exc.hint, as_json)
        except OSError as exc:  # requests' errors are OSErrors too
            from unrelease.errors import describe_os_error

            _fail(describe_os_error(exc), 1, None, as_json)
        except Exception as exc:
            if _debug():
                raise
            text = " ".join(str(exc).split())[:200]
            _fail(
                f"unexpected {type(exc).__name__}: {text}",
                1,
                "rerun with UNRELEASE_DEBUG=1 for the traceback, and report it",
                as_json,
            )

    return wrapper  # type: ignore[return-value]


def _debug() -> bool:
    import os

    return os.environ.get("UNRELEASE_DEBUG", "") not in ("", "0")


def _fail(message: str, code: int, hint: str | None, as_json: bool) -> None:
    if as_json:  # the object on stdout for programs, the line on stderr for people
        echo(json.dumps({"error": message, "exit_code": code, "hint": hint}))
    echo(f"error: {message}" + (f" ({hint})" if hint else ""), err=True)
    sys.exit(code)


class OneLineGroup(click.Group):
    """Usage errors as one line and exit 2, never click's three-line usage text."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            sys.exit(2)
        except click.UsageError as exc:
            dash = "No such option" in exc.message
            hint = " (a value starting with '-' goes after '--')" if dash else ""
            echo(f"error: {exc.message}{hint}; see --help", err=True)
            sys.exit(2)
        except click.exceptions.Abort:
            echo("error: cancelled: nothing changed", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            echo(f"error: {exc.message}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


def _open_index(index: str, kind: str, pypi_auth: str = "manual") -> Index:
    from unrelease.commands import open_index

    return open_index(index, kind, pypi_auth)


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
    echo(f"{package} on {idx.url} ({idx.kind}{_index_source()})")
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


def _index_source() -> str:
    """Where --index came from, when not from the command line (status's first line)."""
    source = click.get_current_context().get_parameter_source("index")
    if source is None:
        return ""
    return {
        click.core.ParameterSource.DEFAULT: "; the default index: pass --index for another",
        click.core.ParameterSource.ENVIRONMENT: "; from UNRELEASE_INDEX",
        click.core.ParameterSource.DEFAULT_MAP: "; from [tool.unrelease] in pyproject.toml",
    }.get(source, "")


def _engine(package: str, version: str | None, reason: str | None, kw: dict[str, Any]) -> Any:
    from unrelease.commands import Asked, rollback_engine

    return rollback_engine(
        Asked(package, version, reason, kw),
        live=not kw.get("dry_run", True),
        notify=lambda text: echo(text, err=True),
        warn=lambda text: echo(f"warning: {text}", err=True),
    )


def _check_formats(tag_format: str, rollback_tag: str) -> None:
    from unrelease.refnames import render_template

    render_template("--tag-format", tag_format, version="1.0")
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
    _print_steps(outcome.steps, dry_run)
    if outcome.issue:
        echo(f"issue: {outcome.issue.url}")
    if outcome.tag:
        echo(f"tag: {outcome.tag.name} at {outcome.tag.sha[:12]}")
    if outcome.note:
        echo(f"release note: {outcome.note.url}")
    echo(f"record: {outcome.record.id}")
    for line in outcome.public():
        echo(line)
    if not dry_run:
        echo()
        echo(outcome.notice.rstrip())


def _print_steps(steps: list[Step], dry_run: bool) -> None:
    for s in steps:
        text = s.detail or s.action
        if dry_run and s.status.value == "planned":
            text = s.action + (f" [{s.detail}]" if s.detail else "")
        echo(f"  {MARKS.get(s.status.value, '?')} {s.name:<16} {s.status.value:<12} {text}")


def _ask(question: str) -> None:
    """Ask QUESTION on the terminal; refuse (exit 2) when there is none or the answer is no."""
    if not sys.stdin.isatty():
        raise Refused(f"refusing to {question[:-1]} without --yes: no terminal to ask on")
    if not click.confirm(question, default=False):
        raise Refused("cancelled: nothing changed")


@main.command()
@click.argument("package")
@click.argument("version", required=False)
@rollback_options
@handle_errors
def plan(package: str, version: str | None, reason: str | None, **kw: Any) -> None:
    """Show what `rollback` would do, changing nothing."""
    from unrelease.commands import run_rollback

    kw["dry_run"] = True
    engine = _engine(package, version, reason, kw)
    outcome = run_rollback(engine, dry_run=True, yes=False, ask=_ask)
    _report(outcome, kw["as_json"], dry_run=True)


@main.command()
@click.argument("package")
@click.argument("version", required=False)
@rollback_options
@handle_errors
def rollback(package: str, version: str | None, reason: str | None, **kw: Any) -> None:
    """Withdraw VERSION of PACKAGE, tag the last good commit, open the incident issue and draft
    the withdrawn note. Safe to rerun: done steps are never done twice. With --run ID, VERSION
    and --reason may come from the failed release run."""
    from unrelease.commands import run_rollback

    engine = _engine(package, version, reason, kw)
    outcome = run_rollback(engine, dry_run=kw["dry_run"], yes=kw["yes"], ask=_ask)
    _report(outcome, kw["as_json"], dry_run=kw["dry_run"])
    sys.exit(0 if kw["dry_run"] else outcome.exit_code)


@main.command()
@click.argument("package")
@click.argument("version")
@index_options
@click.option("--repo", envvar="GITHUB_REPOSITORY", help="OWNER/NAME on GitHub, or a local path.")
@click.option(
    "--github-url", envvar="GITHUB_API_URL", default="https://api.github.com", show_default=True
)
@click.option(
    "--label", default="release", show_default=True, help="The incident issue's (first) label."
)
@click.option(
    "--backup-dir",
    envvar="UNRELEASE_BACKUP_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the rollback kept the deleted files  [default: the one in the record]",
)
@click.option(
    "--pypi-auth",
    type=click.Choice(["auto", "session", "manual"]),
    default="auto",
    show_default=True,
    help="PyPI writes: as for rollback.",
)
@click.option("--dry-run", is_flag=True, help="Show the steps; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask (required without a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def undo(package: str, version: str, **kw: Any) -> None:
    """Reverse the rollback of VERSION of PACKAGE from its record: put the withdrawn versions
    back on the index, delete the rollback tag and the draft note, restore Latest, and close
    the incident issue with a comment. Safe to rerun."""
    from unrelease.config import github_token, who
    from unrelease.forges import open_forge
    from unrelease.undo import UndoEngine, UndoOptions
    from unrelease.versions import check_package_name, parse_version

    check_package_name(package)
    parse_version(version)
    if not kw["label"].strip():
        raise BadInput("--label must not be empty")
    forge = open_forge(kw["repo"], kw["github_url"], github_token())
    options = UndoOptions(
        package=package,
        version=version,
        label=kw["label"].strip(),
        index=kw["index"],
        backup_dir=kw["backup_dir"],
        who=who(),
    )
    engine = UndoEngine(
        options, forge, lambda url: _open_index(url, kw["index_kind"], kw["pypi_auth"])
    )
    p = engine.plan()
    if kw["dry_run"]:
        _report_undo(engine.preview(p), kw["as_json"], dry_run=True)
        return
    engine.preflight(p)
    if p.needs_confirmation and not kw["yes"]:
        planned = "; ".join(s.action for s in p.steps if s.status.value == "planned")
        _ask(f"undo the rollback of {package} {version} ({planned})?")
    outcome = engine.run(p)
    _report_undo(outcome, kw["as_json"], dry_run=False)
    sys.exit(outcome.exit_code)


def _report_undo(outcome: UndoOutcome, as_json: bool, dry_run: bool) -> None:
    if as_json:
        data = outcome.to_json()
        data["dry_run"] = dry_run
        echo(json.dumps(data, indent=2))
        return
    record = outcome.record
    head = "Plan (undo)" if dry_run else "Undo"
    echo(
        f"{head}: rollback {record.id} of {outcome.plan.options.package} "
        f"{', '.join(record.withdrawn)} → {record.to} ({record.mode} on {outcome.plan.index_url})"
    )
    _print_steps(outcome.steps, dry_run)
    echo(f"issue: {outcome.issue.url} ({outcome.issue.state})")
    if record.undone_at:
        echo(f"undone at {record.undone_at}")


@main.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), help="Keep files here.")
@handle_errors
def drill(keep: Path | None) -> None:
    """Rehearse a rollback offline: real pypiserver, real build/twine/pip, a local git repo."""
    from unrelease.drill import run_drill

    ok = run_drill(echo, keep=keep)
    sys.exit(0 if ok else 1)


main.add_command(__import__("unrelease.cli_guard", fromlist=["guard"]).guard)  # click-only load


# Commands in their own modules (imported here, after main exists).
from unrelease import cli_detect as _cli_detect  # noqa: E402, F401
from unrelease import cli_pypi as _cli_pypi  # noqa: E402, F401

main.add_command(__import__("unrelease.cli_watch", fromlist=["checkpoint"]).checkpoint)
main.add_command(__import__("unrelease.cli_watch", fromlist=["watch"]).watch)
main.add_command(__import__("unrelease.cli_forward", fromlist=["complete"]).complete)
main.add_command(__import__("unrelease.cli_forward", fromlist=["forward"]).forward)
