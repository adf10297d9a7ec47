"""``unrelease checkpoint create|list|show`` (releases recorded as known good) and
``unrelease watch`` (a release re-checked on a schedule until its window ends). Heavy imports
stay inside the commands (``--version`` stays fast)."""

from __future__ import annotations

import json
from typing import Any

import click

from unrelease.cli_guard import echo, handle_errors


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
