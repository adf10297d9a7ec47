"""``unrelease checkpoint create|list|show`` (releases recorded as known good) and
``unrelease watch`` (a release re-checked on a schedule until its window ends). Heavy imports
stay inside the commands (``--version`` stays fast)."""

from __future__ import annotations

import json
from typing import Any

import click

from unrelease.cli_guard import echo, handle_errors, index_options


def _repo_options(f: Any) -> Any:
    f = click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)
    f = click.option("--github-url", envvar="GITHUB_API_URL", default="https://api.github.com")(f)
    return click.option("--repo", envvar="GITHUB_REPOSITORY", help="OWNER/NAME, or a path.")(f)


def _forge(kw: dict[str, Any]) -> Any:
    from unrelease.config import github_token, project_settings
    from unrelease.forges import open_forge

    repo = kw["repo"] or project_settings().get("repo")
    return open_forge(repo, kw["github_url"], github_token())


def _line(data: dict[str, Any]) -> str:
    verdict = (data.get("evidence") or {}).get("verdict", "no guard evidence")
    commit = f" at {data['commit'][:12]}" if data.get("commit") else ""
    who = f"verified by {data['who']} {data['when']}"
    return f"{data['package']} {data['version']}: {who}{commit} ({verdict})"


@click.group()
def checkpoint() -> None:
    """Releases recorded as known good (rollback prefers the newest one as its target)."""


@checkpoint.command("create")
@click.argument("package")
@click.argument("version")
@click.option("--commit", help="The commit the release was built from.")
@_repo_options
@handle_errors
def create(package: str, version: str, commit: str | None, **kw: Any) -> None:
    """Record PACKAGE VERSION as known good."""
    from unrelease.checkpoints import Checkpoint, now_iso, save
    from unrelease.config import who
    from unrelease.versions import check_package_name, parse_version

    check_package_name(package)
    parse_version(version)
    point = save(_forge(kw), Checkpoint(package, version, who(), now_iso(), {}, commit))
    echo(json.dumps(point.to_json(), indent=2) if kw["as_json"] else _line(point.to_json()))


@checkpoint.command("list")
@click.argument("package")
@_repo_options
@handle_errors
def list_(package: str, **kw: Any) -> None:
    """The verified releases of PACKAGE, oldest first."""
    from unrelease.checkpoints import checkpoints
    from unrelease.versions import check_package_name

    check_package_name(package)
    found = [c.to_json() for c in checkpoints(_forge(kw), package)]
    if kw["as_json"]:
        echo(json.dumps(found, indent=2))
    else:
        echo("\n".join(_line(c) for c in found) or f"no verified release of {package}")


@checkpoint.command("show")
@click.argument("package")
@click.argument("version")
@_repo_options
@handle_errors
def show(package: str, version: str, **kw: Any) -> None:
    """The checkpoint of PACKAGE VERSION (exit 1 when there is none)."""
    from unrelease.checkpoints import load
    from unrelease.errors import NotFound
    from unrelease.versions import check_package_name, parse_version

    check_package_name(package)
    parse_version(version)
    point = load(_forge(kw), package, version)
    if point is None:
        raise NotFound(f"{package} {version} is not recorded as verified")
    echo(json.dumps(point.to_json(), indent=2) if kw["as_json"] else _line(point.to_json()))


@click.command()
@click.argument("package")
@click.argument("version")
@click.option("--window", default="72h", show_default=True, help="How long to watch (72h, 3d).")
@click.option("--baseline", help="Compare with this version [default: newest good one before].")
@click.option("--python", "pythons", multiple=True, metavar="PATH", help="Interpreter(s).")
@click.option("--smoke", multiple=True, metavar="CMD", help="Command run in each venv.")
@click.option("--wait", type=click.FloatRange(min=0), default=60, show_default=True)
@click.option("--timeout", type=click.FloatRange(min=1), default=300, show_default=True)
@index_options
@_repo_options
@handle_errors
def watch(package: str, version: str, **kw: Any) -> None:
    """One evaluation of the watch of PACKAGE VERSION (run it on a schedule): re-run the guard,
    count open issues with a [tool.unrelease.policy] signal-labels label that mention VERSION,
    append a line to the watch record; exit 1 on a failure (guard fail, or signals at the
    signal-threshold), 3 inconclusive, 0 otherwise. When the window ends with no failure the
    release is recorded as verified."""
    import sys

    from unrelease.cli_guard import _reader
    from unrelease.clock import SystemClock
    from unrelease.config import index_auth, who
    from unrelease.guard import GuardRequest
    from unrelease.guard import guard as run_guard
    from unrelease.guard.policy import guard_smoke
    from unrelease.guard.watch import load_signals, parse_window
    from unrelease.guard.watch import watch as run_watch
    from unrelease.versions import check_package_name, parse_version

    check_package_name(package)
    parse_version(version)
    window = parse_window(kw["window"])
    signals = load_signals()
    forge = _forge(kw)
    request = GuardRequest(
        package=package,
        version=version,
        baseline=kw["baseline"],
        pythons=list(kw["pythons"]),
        smoke=[*kw["smoke"], *guard_smoke()],
        wait=kw["wait"],
        timeout=kw["timeout"],
        auth=index_auth(),
    )
    out = run_watch(
        forge,
        package,
        version,
        window=window,
        run_guard=lambda: run_guard(request, lambda: _reader(kw["index"], kw["index_kind"])),
        signals=signals,
        clock=SystemClock(),
        who=who(),
    )
    if kw["as_json"]:
        echo(json.dumps(out.to_json(), indent=2))
    else:
        where = f" (#{out.issue.number}: {out.issue.url})" if out.issue else ""
        last = out.record.lines[-1] if out.record.lines else "no evaluation yet"
        echo(f"{package} {version}: {out.decision}{where}\n{last}")
        for task in out.tasks:
            if task.status.name == "FAILED":
                echo(f"step {task.name} failed: {task.detail}", err=True)
    sys.exit(out.exit_code)
