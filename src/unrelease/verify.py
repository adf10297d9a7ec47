"""The health check after a rollback: what a fresh venv's pip installs from the index."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

from unrelease.errors import ServiceError


def pip_resolves(package: str, index_url: str, *, timeout: float = 300) -> str:
    """Install PACKAGE from INDEX_URL alone into a fresh venv; return the version installed."""
    with tempfile.TemporaryDirectory(prefix="unrelease-verify-") as tmp:
        env_dir = Path(tmp) / "venv"
        venv.EnvBuilder(with_pip=False).create(env_dir)
        python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--quiet",
            "--index-url",
            index_url,
            package,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ServiceError(f"pip could not install {package} from the index: {last}")
        probe = (
            "import importlib.metadata as m, json, sys; print(json.dumps(m.version(sys.argv[1])))"
        )
        shown = subprocess.run(
            [str(python), "-c", probe, package],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return str(json.loads(shown.stdout))
