"""Settings: flags > environment > ``[tool.unrelease]`` in ./pyproject.toml > defaults.

Click handles flags and environment variables; this module supplies the ``[tool.unrelease]``
layer as click's ``default_map`` and reads credentials, which only ever come from the
environment.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from pathlib import Path
from typing import Any

from unrelease.errors import BadInput

# Keys a project may set in [tool.unrelease], as the option names (dashes) of the CLI.
PROJECT_KEYS = {
    "index",
    "index-kind",
    "repo",
    "github-url",
    "mode",
    "severity",
    "labels",
    "tag-format",
    "rollback-tag",
    "backup-dir",
    "policy",  # [tool.unrelease.policy] and [tool.unrelease.guard]: read by unrelease.guard
    "guard",
}
COMMANDS_WITH_ROLLBACK_OPTIONS = ("plan", "rollback")


def project_settings(path: Path | None = None) -> dict[str, Any]:
    """``[tool.unrelease]`` of ./pyproject.toml (or PATH), checked; {} when there is none."""
    path = path or Path.cwd() / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path} is not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("unrelease", {})
    if not isinstance(table, dict):
        raise BadInput(f"[tool.unrelease] in {path} must be a table")
    unknown = sorted(set(table) - PROJECT_KEYS)
    if unknown:
        raise BadInput(f"unknown key(s) in [tool.unrelease]: {', '.join(unknown)}")
    if isinstance(table.get("labels"), list):
        table["labels"] = ",".join(str(x) for x in table["labels"])
    return {k.replace("-", "_"): v for k, v in table.items()}


def project_name(path: Path | None = None) -> str | None:
    """``[project] name`` of ./pyproject.toml (or PATH); None when there is none or it is
    not a valid package name (then it is not a name to act on)."""
    path = path or Path.cwd() / "pyproject.toml"
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path} is not valid TOML: {exc}") from None
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str):
        return None
    from unrelease.versions import check_package_name

    try:
        return check_package_name(name)
    except BadInput:
        return None


def default_map(path: Path | None = None) -> dict[str, dict[str, Any]]:
    settings = project_settings(path)
    status_keys = {"index", "index_kind"}
    out: dict[str, dict[str, Any]] = {c: dict(settings) for c in COMMANDS_WITH_ROLLBACK_OPTIONS}
    out["status"] = {k: v for k, v in settings.items() if k in status_keys}
    undo_keys = {"index", "index_kind", "repo", "github_url", "backup_dir"}
    out["undo"] = {k: v for k, v in settings.items() if k in undo_keys}
    detect_keys = {"index", "index_kind", "repo", "github_url", "tag_format"}
    out["detect"] = {k: v for k, v in settings.items() if k in detect_keys}
    if settings.get("labels"):  # undo finds the issue by the rollback's first label
        out["undo"]["label"] = str(settings["labels"]).split(",")[0].strip()
    return out


def github_token() -> str | None:
    return os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or None


def index_auth() -> tuple[str, str] | None:
    user = os.environ.get("UNRELEASE_INDEX_USERNAME")
    password = os.environ.get("UNRELEASE_INDEX_PASSWORD")
    if user and password:
        return (user, password)
    if user or password:
        raise BadInput("set both UNRELEASE_INDEX_USERNAME and UNRELEASE_INDEX_PASSWORD, or neither")
    return None


def who() -> str:
    actor = os.environ.get("GITHUB_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no user database (some containers)
        return "unknown"
