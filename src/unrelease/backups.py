"""Where deleted files are kept, and how a record names that place without leaking a local path."""

from __future__ import annotations

import os
from pathlib import Path


def backup_reference(folder: Path) -> str:
    """How the record names the backup: never an absolute local path. In Actions, the
    artifact and run it is uploaded as; else a path relative to the working directory, which
    ``undo`` run from the same directory resolves."""
    artifact = os.environ.get("UNRELEASE_BACKUP_ARTIFACT")
    server, repo, run = (
        os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if artifact and server and repo and run.isdigit():
        return f"artifact {artifact} of {server}/{repo}/actions/runs/{run}"
    return os.path.relpath(folder.expanduser().resolve(), Path.cwd().resolve())


def default_dir() -> Path:
    """Outside the work tree, so a backup is never committed or left untracked in a checkout:
    the runner's temp dir in Actions (the action uploads it as an artifact), else the cache."""
    base = os.environ.get("UNRELEASE_CACHE_DIR") or os.environ.get("RUNNER_TEMP")
    if base:
        return Path(base) / "unrelease-backup"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "unrelease" / "backup"
