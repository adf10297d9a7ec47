"""``unrelease guard``: options in, the guard's result out, exit 0 pass, 1 fail, 3 inconclusive,
2 bad input. Everything heavy is imported inside the command (``--version`` stays fast)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from unrelease.forges.base import Forge
    from unrelease.guard.policy import Policy
    from unrelease.guard.report import GuardResult
    from unrelease.indexes.base import Index

# [tool.unrelease] keys the guard takes as defaults (flags and environment win).
_PROJECT_DEFAULTS = (
    "index",
    "index_kind",
    "repo",
    "github_url",
    "mode",
    "severity",
    "labels",
    "tag_format",
    "rollback_tag",
    "backup_dir",
)


def echo(text: str = "", *, err: bool = False) -> None:
    from unrelease.cli import echo as cli_echo  # every line goes through the CLI's redaction

    cli_echo(text, err=err)


def handle_errors(f: Callable[..., None]) -> Callable[..., None]:
    """The CLI's error boundary (one line, the error's exit code), looked up when the command
    runs: this module is imported by unrelease.cli and must not import it back at load."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from unrelease.cli import handle_errors as boundary

        boundary(f)(*args, **kwargs)

    return wrapper


def index_options(f: Any) -> Any:
    """--index and --index-kind, as every command that reads an index has them."""
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


def _forge_options(f: Any) -> Any:
    options = [
        click.option("--repo", envvar="GITHUB_REPOSITORY", help="OWNER/NAME, or a local path."),
        click.option(
            "--github-url",
            envvar="GITHUB_API_URL",
            default="https://api.github.com",
            show_default=True,
        ),
        click.option("--to", "to", help="--on-fail rollback: version to go back to."),
        click.option("--mode", type=click.Choice(["yank", "delete"]), default="yank"),
        click.option("--severity", type=click.Choice(["critical", "minor"]), default="critical"),
        click.option("--labels", help="Issue labels [default: policy labels, or release,guard]."),
        click.option("--tag-format", default="v{version}", show_default=True),
        click.option("--rollback-tag", default="{to_tag}-rollback-{date}", show_default=True),
        click.option(
            "--backup-dir",
            envvar="UNRELEASE_BACKUP_DIR",
            type=click.Path(file_okay=False, path_type=Path),
            default=None,
        ),
        click.option(
            "--pypi-auth", type=click.Choice(["auto", "session", "manual"]), default="auto"
        ),
        click.option("--files", help="--on-fail rollback: only files matching (delete mode)."),
        click.option("--force", is_flag=True, help="Delete on a non-volatile devpi index."),
        click.option("--mark-release", is_flag=True, help="Mark the bad version's release."),
        click.option("--verify-install", is_flag=True, help="pip-install from the index after."),
        click.option("--dry-run", is_flag=True, help="--on-fail rollback: plan, change nothing."),
        click.option("--yes", is_flag=True, help="--on-fail rollback: do not ask."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.command()
@click.argument("package")
@click.argument("version")
@click.option("--baseline", help="Compare with this version [default: newest good one before].")
@click.option(
    "--expect",
    multiple=True,
    metavar="GLOB",
    help="Files that must be on the index: local files (dist/*), or a file name pattern.",
)
@click.option("--python", "pythons", multiple=True, metavar="PATH", help="Interpreter(s).")
@click.option("--smoke", multiple=True, metavar="CMD", help="Command run in each venv.")
@click.option("--wait", type=click.FloatRange(min=0), default=300, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=1), default=300, show_default=True)
@click.option("--allow-python-drop", is_flag=True, help="A narrower requires-python is fine.")
@click.option("--on-fail", type=click.Choice(["report", "issue", "rollback"]), default=None)
@click.option("--checkpoint", is_flag=True, help="On a pass, record the release as verified.")
@index_options
@_forge_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def guard(package: str, version: str, **kw: Any) -> None:
    """Verify the published VERSION of PACKAGE from the index, against a baseline release:
    files, metadata, install, import and smoke checks in fresh venvs. Exit 0 pass, 1 fail,
    3 inconclusive; on a fail, --on-fail (or [tool.unrelease.policy]) reports, opens the
    incident issue, or rolls back. An inconclusive verdict never rolls back."""
    import shutil

    from unrelease.config import index_auth, project_settings
    from unrelease.errors import BadInput
    from unrelease.guard import GuardRequest
    from unrelease.guard import guard as run_guard
    from unrelease.guard.policy import decide, guard_smoke, load_policy
    from unrelease.versions import check_package_name, parse_version

    ctx = click.get_current_context()
    for key, value in project_settings().items():
        source = ctx.get_parameter_source(key)
        if key in _PROJECT_DEFAULTS and source is click.core.ParameterSource.DEFAULT:
            kw[key] = Path(value) if key == "backup_dir" else value
    check_package_name(package)
    parse_version(version)
    for python in kw["pythons"]:
        if not shutil.which(python):
            raise BadInput(f"--python {python}: no such interpreter")
    policy = load_policy()
    acts = {kw["on_fail"]} if kw["on_fail"] else {policy.on_fail, *policy.per_class.values()}
    forge = _open_forge(kw) if acts & {"issue", "rollback"} else None
    request = GuardRequest(
        package=package,
        version=version,
        baseline=kw["baseline"],
        expect=list(kw["expect"]),
        pythons=list(kw["pythons"]),
        smoke=[*kw["smoke"], *guard_smoke()],
        wait=kw["wait"],
        timeout=kw["timeout"],
        allow_python_drop=kw["allow_python_drop"],
        auth=index_auth(),
    )
    result = run_guard(request, lambda: _reader(kw["index"], kw["index_kind"]))
    result.decision = decide(result, policy, kw["on_fail"])
    code = result.exit_code
    try:
        acted = _act(result, forge, policy, kw)
        code = code if acted is None else acted
        if kw["checkpoint"] and result.verdict == "pass":
            code = _checkpoint(result, forge or _open_forge(kw))
    finally:
        echo(json.dumps(result.to_json(), indent=2) if kw["as_json"] else _text(result))
    sys.exit(code)


def _reader(index: str, kind: str) -> Index:
    """The index, for reads; one that does not answer the probe is retried by the wait."""
    from unrelease.config import index_auth
    from unrelease.errors import BadInput, ServiceError
    from unrelease.indexes import open_index

    try:
        return open_index(index, kind, auth=index_auth(), pypi_auth="manual")
    except BadInput as exc:
        if exc.message.startswith("cannot reach the index"):
            raise ServiceError(exc.message) from None
        raise


def _open_forge(kw: dict[str, Any]) -> Forge:
    from unrelease.config import github_token
    from unrelease.forges import open_forge

    return open_forge(kw["repo"], kw["github_url"], github_token())


def _labels(text: str | None, policy: Policy) -> list[str]:
    labels = [x.strip() for x in text.split(",")] if text else list(policy.labels)
    return [x for x in labels if x] or ["release", "guard"]


def _act(
    result: GuardResult, forge: Forge | None, policy: Policy, kw: dict[str, Any]
) -> int | None:
    """Carry out the decision; the exit code when it replaces the verdict's (a rollback's, or
    an error's), else None."""
    from unrelease.errors import UnreleaseError
    from unrelease.guard.policy import open_incident

    action = result.decision.action
    if action not in ("issue", "rollback") or forge is None:
        return None
    try:
        if action == "issue":
            labels = _labels(kw["labels"], policy)
            if result.decision.severity and result.decision.severity not in labels:
                labels.append(result.decision.severity)
            issue = open_incident(forge, result, labels)
            result.decision.done.append(f"incident issue #{issue.number}: {issue.url}")
            return None
        outcome = _rollback(result, forge, kw)
    except UnreleaseError as exc:
        result.decision.done.append(f"not done: {exc}")
        return exc.exit_code
    result.decision.done.append(_rollback_line(outcome.to_json(), kw["dry_run"]))
    return 0 if kw["dry_run"] else int(outcome.exit_code)


def _checkpoint(result: GuardResult, forge: Forge) -> int:
    """Record a passing release as verified; the exit code (an error's when it fails)."""
    from unrelease.checkpoints import Checkpoint, evidence_of, now_iso, save
    from unrelease.config import who
    from unrelease.errors import UnreleaseError

    point = Checkpoint(result.package, result.version, who(), now_iso(), evidence_of(result))
    try:
        save(forge, point)
    except UnreleaseError as exc:
        result.decision.done.append(f"not recorded as verified: {exc}")
        return exc.exit_code
    result.decision.done.append(f"recorded {result.package} {result.version} as verified")
    return 0


def _rollback_line(data: dict[str, Any], dry_run: bool) -> str:
    """One line telling what the rollback did (or, on a dry run, would do)."""
    head = "would roll back" if dry_run else "rolled back"
    text = f"{head} {', '.join(data['withdrawn'])} to {data['to']} ({data['mode']})"
    failed = [s["name"] for s in data["steps"] if s["status"] == "failed"]
    if failed:
        text += f"; steps failed: {', '.join(failed)} (a rerun resumes)"
    if data.get("issue"):
        text += f"; incident issue #{data['issue']['number']}: {data['issue']['url']}"
    return text


def _rollback(result: GuardResult, forge: Forge, kw: dict[str, Any]) -> Any:
    from unrelease.config import index_auth, who
    from unrelease.errors import Refused
    from unrelease.guard.policy import RollbackSettings, run_rollback
    from unrelease.indexes import open_index

    def confirm(plan: Any) -> None:
        if kw["yes"] or not plan.needs_confirmation:
            return
        question = f"{kw['mode']} {result.package} {result.version} on {plan.index_url}?"
        if not sys.stdin.isatty():
            raise Refused(f"refusing to {question[:-1]} without --yes: no terminal to ask on")
        if not click.confirm(question, default=False):
            raise Refused("cancelled: nothing changed")

    severity = kw["severity"]
    flagged = click.get_current_context().get_parameter_source("severity")
    if flagged is click.core.ParameterSource.DEFAULT and result.decision.severity:
        severity = result.decision.severity  # the policy's, unless --severity says otherwise
    settings = RollbackSettings(
        to=kw["to"],
        mode=kw["mode"],
        severity=severity,
        labels=_labels(kw["labels"] or f"release,{severity}", _no_policy()),
        tag_format=kw["tag_format"],
        rollback_tag=kw["rollback_tag"],
        backup_dir=kw["backup_dir"]
        or __import__("unrelease.backups", fromlist=["x"]).default_dir(),
        files=kw["files"],
        force=kw["force"],
        mark_release=kw["mark_release"],
        verify_install=kw["verify_install"],
        dry_run=kw["dry_run"],
        who=who(),
    )
    index = open_index(kw["index"], kw["index_kind"], auth=index_auth(), pypi_auth=kw["pypi_auth"])
    return run_rollback(
        result, index, forge, settings, confirm=confirm, notify=lambda t: echo(t, err=True)
    )


def _no_policy() -> Policy:
    from unrelease.guard.policy import Policy

    return Policy()


def _text(result: GuardResult) -> str:
    from unrelease.guard.report import render

    return render(result)
