"""The action's install: the lock file covers unrelease's runtime dependencies, every line is
pinned and hashed, and a failed install is reported and never reused. (The install itself,
from the package index, is measured by benchmarks/action_install.py and run on GitHub by
.github/workflows/selftest.yml: these tests have no network.)"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.test_action_harness import parse_output_file

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "action" / "requirements.txt"


def pins() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from action/requirements.txt."""
    text = LOCK.read_text("utf-8").replace("\\\n", " ")
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        spec, *rest = line.split("--hash=", 1)
        req = Requirement(spec.strip())
        (pin,) = req.specifier
        assert pin.operator == "==", line
        hashes = re.findall(r"sha256:([0-9a-f]+)", "--hash=" + rest[0] if rest else "")
        out[canonicalize_name(req.name)] = (pin.version, hashes)
    return out


def test_every_line_is_pinned_and_hashed() -> None:
    locked = pins()
    assert len(locked) >= 6
    for name, (_version, hashes) in locked.items():
        assert hashes, f"{name} has no hash"
        assert all(len(h) == 64 for h in hashes), name


def test_the_lock_covers_the_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    locked = pins()
    for text in project["dependencies"]:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in locked, f"{name} is missing: run scripts/lock_action_requirements.py"
        assert req.specifier.contains(locked[name][0]), f"{name} {locked[name][0]} vs {text}"


def test_the_lock_is_closed_under_dependencies() -> None:
    """Whatever a pinned package needs here (its installed metadata, when this environment has
    the pinned version) is pinned too: pip installs with --no-deps."""
    locked = pins()
    checked = 0
    for name, (version, _) in locked.items():
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        checked += 1
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                assert canonicalize_name(req.name) in locked, f"{name} needs {req.name}"
    assert checked >= len(locked) // 2, "too few pins match this environment to check"


@pytest.mark.slow
def test_a_failed_install_is_reported_and_not_reused(tmp_path: Path) -> None:
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "UNRELEASE_RUNNER_PYTHON": sys.executable,
        # no index at all: pip must fail, offline
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(empty),
    }
    (tmp_path / "temp").mkdir()
    for _ in range(2):  # the second run must not reuse the half-made environment
        proc = subprocess.run(
            ["bash", str(ROOT / "action" / "install.sh")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode != 0
        assert "Reusing" not in proc.stdout
        assert "No matching distribution" in proc.stderr or "Could not find" in proc.stderr
    venvs = list((tmp_path / "temp").glob("unrelease-*"))
    assert len(venvs) == 1 and not (venvs[0] / ".unrelease-complete").exists()
    assert not (tmp_path / "output").exists() or "python=" not in (tmp_path / "output").read_text()


def test_the_documented_switch_uses_an_existing_environment(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "UNRELEASE_ACTION_VENV": sys.prefix,
    }
    proc = subprocess.run(
        ["bash", str(ROOT / "action" / "install.sh")], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    python = parse_output_file((tmp_path / "output").read_text())["python"]
    assert Path(python).resolve() == Path(sys.prefix, "bin", "python").resolve()
    assert "unrelease " in proc.stdout
    # and without any Python at all, the step says so
    proc = subprocess.run(
        ["bash", str(ROOT / "action" / "install.sh")],
        env={"PATH": os.environ["PATH"], "GITHUB_ACTION_PATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1 and "::error title=unrelease::no Python" in proc.stdout


def test_the_install_is_hashed_and_not_byte_compiled() -> None:
    """pip installs only the hashed pins and compiles nothing (issue 11: ~5 s of a cold
    install was byte-compiling modules unrelease never imports)."""
    text = (ROOT / "action" / "install.sh").read_text("utf-8")
    start = text.index("pip_args=(")
    args = text[start : text.index(")", start)].split()
    for flag in ("--no-compile", "--require-hashes", "--no-deps", "--only-binary=:all:"):
        assert flag in args, flag
    assert '"${pip_args[@]}"' in text
