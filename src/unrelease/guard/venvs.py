"""Fresh virtual environments, and commands run in them with a scrubbed environment.

A venv is made with ``python -m venv --without-pip`` (fast: no ensurepip) and pip is run from
this process's interpreter as ``python -m pip --python VENV ...`` (pip >= 22.3), so no venv
needs its own pip (when this interpreter has no such pip, each venv gets one). Each command's
evidence names it as a person would retype it, with the temporary directory shown as
``$GUARD_TMP`` and no absolute local path.
"""

from __future__ import annotations

import functools
import importlib.metadata
import itertools
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from unrelease.guard.report import Evidence, tail

# Variables never handed to pip, the package's code or a smoke command (they hold secrets).
_SECRET_PREFIXES = ("PYPI_", "GITHUB_", "UNRELEASE_", "TWINE_", "PIP_", "ACTIONS_")
_SECRET_NAMES = ("GH_TOKEN",)
_SECRET_SUFFIXES = ("_TOKEN", "_PASSWORD", "_SECRET", "_KEY", "_CREDENTIALS")
# pip's messages when it could not talk to the index: the environment, not the release.
_UNREACHABLE = (
    "NewConnectionError",
    "Connection refused",
    "ConnectionResetError",
    "Max retries exceeded",
    "Read timed out",
    "ConnectTimeoutError",
    "Temporary failure in name resolution",
    "Could not fetch URL",
    "HTTP error 5",
    "503 Service",
    "502 Bad Gateway",
)


def scrubbed_env(home: Path, extra_path: Path | None = None) -> dict[str, str]:
    """This process's environment without anything that could hold a secret, HOME a temp dir."""
    env = {}
    for name, value in os.environ.items():
        upper = name.upper()
        if (
            upper.startswith(_SECRET_PREFIXES)
            or upper in _SECRET_NAMES
            or upper.endswith(_SECRET_SUFFIXES)
            or upper in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
        ):
            continue
        env[name] = value
    env["HOME"] = str(home)
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env["PIP_CONFIG_FILE"] = os.devnull  # no user or site pip.conf: the index we name, only
    if extra_path is not None:
        env["PATH"] = str(extra_path) + os.pathsep + env.get("PATH", "")
    return env


@dataclass(frozen=True)
class Ran:
    """A finished command: its exit code (None: it timed out or could not start) and output."""

    exit_code: int | None
    output: str
    evidence: Evidence

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def unreachable(self) -> bool:
        """The command failed because an index did not answer (or it timed out)."""
        return self.exit_code is None or any(m in self.output for m in _UNREACHABLE)


class Runner:
    """Runs commands under one temporary directory with the scrubbed environment."""

    def __init__(self, tmp: Path, timeout: float = 300) -> None:
        self.tmp = tmp
        self.timeout = timeout
        self.home = tmp / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self._names = itertools.count()

    def fresh(self, prefix: str) -> str:
        """A directory name under the scratch directory no other venv has (thread-safe)."""
        return f"{prefix}-{next(self._names)}"

    def shown(self, cmd: list[str]) -> str:
        """CMD as a person would retype it, with no absolute local path (an interpreter shows
        by its name, the scratch directory as $GUARD_TMP)."""
        if cmd and cmd[0] == sys.executable:
            cmd = ["python", *cmd[1:]]
        elif cmd and Path(cmd[0]).is_absolute() and not cmd[0].startswith(str(self.tmp)):
            cmd = [Path(cmd[0]).name, *cmd[1:]]
        return shlex.join(cmd).replace(str(self.tmp), "$GUARD_TMP")

    def run(self, cmd: list[str], *, path: Path | None = None, cwd: Path | None = None) -> Ran:
        env = scrubbed_env(self.home, path)
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.timeout,
                env=env,
                cwd=cwd or self.home,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            out = _text(exc.stdout) + _text(exc.stderr)
            out += f"\n(timed out after {self.timeout:g} s)"
            return Ran(None, out, Evidence(self.shown(cmd), None, self._tail(out)))
        except OSError as exc:
            out = f"could not start: {exc.strerror or type(exc).__name__}"
            return Ran(None, out, Evidence(self.shown(cmd), None, self._tail(out)))
        out = proc.stdout + proc.stderr
        evidence = Evidence(self.shown(cmd), proc.returncode, self._tail(out))
        return Ran(proc.returncode, out, evidence)

    def _tail(self, text: str) -> str:
        return tail(text.replace(str(self.tmp), "$GUARD_TMP"))


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class Venv:
    path: Path
    python: Path  # the venv's interpreter
    version: str  # X.Y.Z of the base interpreter

    @property
    def bin(self) -> Path:
        return self.python.parent


def interpreter_version(runner: Runner, python: str) -> str | None:
    """X.Y.Z of the interpreter PYTHON, or None when it does not run."""
    ran = runner.run([python, "-c", "import platform; print(platform.python_version())"])
    return ran.output.strip() if ran.ok else None


@functools.cache
def outer_pip() -> bool:
    """Whether this interpreter has a pip that can install into another one (``--python``,
    pip >= 22.3). Without it (an install made by ``uv tool``, an old pip) each venv gets its
    own pip: slower (ensurepip), same checks."""
    try:
        return Version(importlib.metadata.version("pip")) >= Version("22.3")
    except (importlib.metadata.PackageNotFoundError, InvalidVersion):
        return False


def create(runner: Runner, python: str, name: str) -> tuple[Venv | None, Ran]:
    """A fresh venv from interpreter PYTHON at TMP/NAME; without pip when pip can run from
    outside (see ``outer_pip``)."""
    dest = runner.tmp / name
    bare = ["--without-pip"] if outer_pip() else []
    ran = runner.run([python, "-m", "venv", *bare, str(dest)])
    if not ran.ok:
        return None, ran
    bindir = dest / ("Scripts" if sys.platform == "win32" else "bin")
    exe = bindir / ("python.exe" if sys.platform == "win32" else "python")
    version = interpreter_version(runner, str(exe)) or "?"
    return Venv(dest, exe, version), ran


def pip(runner: Runner, venv: Venv, args: list[str]) -> Ran:
    """``python -m pip --python VENV ARGS`` with this process's pip (or the venv's own)."""
    if outer_pip():
        cmd = [sys.executable, "-m", "pip", "--python", str(venv.python), *args]
    else:
        cmd = [str(venv.python), "-m", "pip", *args]
    cmd += ["--no-cache-dir", "--disable-pip-version-check", "--no-input"]
    cmd += ["--timeout", "30", "--retries", "2"]
    return runner.run(cmd)
