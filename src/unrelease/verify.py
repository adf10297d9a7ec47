"""The health check after a rollback: what a fresh venv's pip installs from the index.

pip runs with a scrubbed environment: only what it needs to run (PATH, a temporary HOME,
TMPDIR, the locale, on Windows SYSTEMROOT and friends, CA bundle paths), no PIP_* settings and
no configuration file of the machine, and none of our tokens or passwords. The index
credentials, when there are any, travel only in the index URL given to pip, and are redacted
from anything we keep of its output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import venv
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from unrelease import secrets
from unrelease.errors import ServiceError

# Copied from our environment when set: nothing here is a credential.
_KEEP = ("PATH", "TMPDIR", "TEMP", "TMP", "LANG", "LC_ALL", "LC_CTYPE", "SSL_CERT_FILE")
_KEEP_WINDOWS = ("SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT")


def pip_env(home: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment pip gets: HOME is HOME (a fresh directory), the rest copied from
    ENVIRON (os.environ) only when named in the keep lists, plus pip settings of our own."""
    environ = os.environ if environ is None else environ
    keep = _KEEP + (_KEEP_WINDOWS if sys.platform == "win32" else ())
    env = {name: environ[name] for name in keep if environ.get(name)}
    env.update(
        HOME=str(home),
        PIP_CONFIG_FILE=os.devnull,  # no pip.conf of the machine (it may hold index passwords)
        PIP_NO_INPUT="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYTHONNOUSERSITE="1",
    )
    if sys.platform == "win32":
        env["USERPROFILE"] = env["APPDATA"] = env["LOCALAPPDATA"] = str(home)
    return env


def _with_auth(index_url: str, auth: tuple[str, str] | None) -> str:
    if auth is None:
        return index_url
    parts = urlsplit(index_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = f"{quote(auth[0], safe='')}:{quote(auth[1], safe='')}"
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, ""))


def _redact(text: str, auth: tuple[str, str] | None) -> str:
    if auth is not None:
        for value in {auth[1], quote(auth[1], safe="")}:
            if value:
                text = text.replace(value, "***")
    return secrets.redact(text)


def pip_command(
    python: Path, package: str, index_url: str, *, allow_sdist: bool = False
) -> list[str]:
    """pip (ours) installing PACKAGE into the venv of PYTHON from INDEX_URL alone."""
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    cmd += ["--no-cache-dir", "--disable-pip-version-check", "--quiet", "--isolated"]
    if not allow_sdist:
        cmd += ["--only-binary", ":all:"]  # no build of an sdist runs code from the index
    return [*cmd, "--index-url", index_url, package]


def pip_resolves(
    package: str,
    index_url: str,
    *,
    timeout: float = 300,
    auth: tuple[str, str] | None = None,
    allow_sdist: bool = False,
) -> str:
    """Install PACKAGE from INDEX_URL alone into a fresh venv; return the version installed.
    AUTH (the index's user and password) goes into the URL pip gets, nowhere else; wheels
    only unless ALLOW_SDIST."""
    if auth is not None:
        secrets.register(auth[1])
    with tempfile.TemporaryDirectory(prefix="unrelease-verify-") as tmp:
        env_dir = Path(tmp) / "venv"
        home = Path(tmp) / "home"
        home.mkdir()
        venv.EnvBuilder(with_pip=False).create(env_dir)
        python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
        env = pip_env(home)
        cmd = pip_command(python, package, _with_auth(index_url, auth), allow_sdist=allow_sdist)
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ServiceError(
                f"pip could not install {package} from the index: {_redact(last, auth)}"
            )
        probe = (
            "import importlib.metadata as m, json, sys; print(json.dumps(m.version(sys.argv[1])))"
        )
        shown = subprocess.run(
            [str(python), "-c", probe, package],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env=env,
        )
        return str(json.loads(shown.stdout))
