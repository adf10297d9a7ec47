"""Where deleted files are kept, and how a record names that place without leaking a local path."""

from __future__ import annotations

import os
from pathlib import Path


def backup_reference(folder: Path) -> str:
    """How the record names the backup: never an absolute local path. In Actions, the
    artifact and run it is uploaded as; else a path relative to the working directory or to
    the home directory, or only the folder's name."""
    artifact = os.environ.get("UNRELEASE_BACKUP_ARTIFACT")
    server, repo, run = (
        os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    if artifact and server and repo and run.isdigit():
        return f"artifact {artifact} of {server}/{repo}/actions/runs/{run}"
    resolved = folder.expanduser().resolve()
    for base, shown in ((Path.cwd().resolve(), ""), (Path.home().resolve(), "~/")):
        try:
            return shown + str(resolved.relative_to(base))
        except ValueError:
            continue
    return f"…/{resolved.name}"
