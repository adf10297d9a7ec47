"""twine, run as a subprocess with a scrubbed environment: credentials go through
``TWINE_USERNAME``/``TWINE_PASSWORD``, never on argv, and nothing else secret reaches it."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from unrelease.errors import AuthError, ServiceError
from unrelease.guard.venvs import scrubbed_env
from unrelease.indexes.base import Index
from unrelease.secrets import redact

TIMEOUT = 600.0
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def upload_url(index: Index) -> str:
    """Where twine uploads to for INDEX: PyPI's and TestPyPI's legacy upload endpoints; the
    index URL itself for pypiserver and devpi."""
    if index.kind == "warehouse":
        host = (urlsplit(index.url).hostname or "").lower()
        if host == "test.pypi.org":
            return "https://test.pypi.org/legacy/"
        if host == "pypi.org":
            return "https://upload.pypi.org/legacy/"
        return index.url.rstrip("/") + "/legacy/"
    return index.url


def _twine(
    args: Sequence[str], env_extra: dict[str, str], what: str, cwd: Path | None = None
) -> str:
    """Run ``python -m twine ARGS``; its output, or ServiceError (AuthError on 401/403)."""
    with tempfile.TemporaryDirectory(prefix="unrelease-twine-") as home:
        env = scrubbed_env(Path(home))
        env.update(env_extra)
        env["NO_COLOR"] = "1"
        cmd = [sys.executable, "-m", "twine", *args]
        try:
            done = subprocess.run(
                cmd,
                env=env,
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ServiceError(f"{what}: twine did not finish in {TIMEOUT:.0f}s") from None
        except OSError as exc:
            raise ServiceError(f"{what}: twine could not start ({exc.strerror})") from None
    output = _ANSI.sub("", redact(done.stdout + done.stderr))
    if done.returncode != 0:
        last = " ".join(_last_lines(output))
        if "401" in output or "403" in output:
            raise AuthError(f"{what}: the index refused the credentials: {last}")
        raise ServiceError(f"{what} failed: {last}")
    return output


def _last_lines(output: str, count: int = 3) -> list[str]:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return [line[:200] for line in lines[-count:]]


def twine_upload(
    files: Sequence[Path], url: str, auth: tuple[str, str] | None, *, skip_existing: bool = True
) -> str:
    """``twine upload --skip-existing`` FILES to URL; the credentials via the environment.
    twine refuses ``--skip-existing`` for indexes other than PyPI's: there the caller's observe
    (is the file on the index already?) does what it would."""
    extra = {}
    if auth is not None:
        extra = {"TWINE_USERNAME": auth[0], "TWINE_PASSWORD": auth[1]}
    args = ["upload", "--repository-url", url, "--non-interactive", "--disable-progress-bar"]
    if skip_existing:
        args.append("--skip-existing")
    args += [*map(str, files)]
    names = ", ".join(p.name for p in files)
    return _twine(args, extra, f"uploading {names}")


def twine_check(files: Sequence[Path]) -> str:
    """``twine check --strict`` FILES; ServiceError naming what twine found."""
    names = ", ".join(p.name for p in files)
    where = files[0].parent  # run there: messages name the files, not a temporary path
    args = ["check", "--strict", *(str(p.relative_to(where)) for p in files)]
    return _twine(args, {}, f"twine check of {names}", cwd=where)
