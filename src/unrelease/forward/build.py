"""``python -m build`` from a tree in a temporary directory, and the built files' sha256; run
with a scrubbed environment (nothing secret reaches the project's build backend)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from unrelease.errors import ServiceError
from unrelease.guard.venvs import scrubbed_env
from unrelease.indexes.base import sha256_of

TIMEOUT = 900.0


def build(src: Path, out: Path, *, isolated: bool = True, version: str | None = None) -> list[Path]:
    """Build the sdist and wheel of the project at SRC into OUT. VERSION is handed to
    setuptools-scm / hatch-vcs (a tree from ``git archive`` has no tags to read)."""
    home = out.parent / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = scrubbed_env(home)
    if version is not None:
        env["SETUPTOOLS_SCM_PRETEND_VERSION"] = version
    cmd = [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out)]
    if not isolated:
        cmd.append("--no-isolation")
    try:
        done = subprocess.run(
            [*cmd, str(src)],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ServiceError(f"the build did not finish in {TIMEOUT:.0f}s") from None
    if done.returncode != 0:
        lines = [x for x in (done.stdout + done.stderr).splitlines() if x.strip()]
        raise ServiceError(f"the build failed: {' | '.join(lines[-3:])[:400]}")
    files = sorted(p for p in out.iterdir() if p.name.endswith((".whl", ".tar.gz")))
    if not files:
        raise ServiceError("the build made no wheel or sdist")
    return files


def digests(files: list[Path]) -> dict[str, str]:
    return {p.name: sha256_of(p) for p in files}
