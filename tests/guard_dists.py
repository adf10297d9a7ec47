"""Test packages for ``unrelease guard``: good ones and the broken kinds users meet (an import
error, a dependency that does not exist, a requires-python that drops a Python), built once
per session with the real ``build`` backend, and a ``guarded`` fixture that uploads a package's
baseline and release to the session pypiserver under a fresh name."""

from __future__ import annotations

import itertools
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import PypiserverServer, Target, _env, _run, upload

THIS = f"{sys.version_info.major}.{sys.version_info.minor}"
NEXT = f"{sys.version_info.major}.{sys.version_info.minor + 1}"

# variant -> (requires-python, dependencies, the module's __init__.py body)
VARIANTS: dict[str, tuple[str, list[str], str]] = {
    "good": (">=3.8", [], "def answer():\n    return 42\n"),
    "import-error": (">=3.8", [], "import unrelease_guard_no_such_module  # noqa\n"),
    "missing-dep": (">=3.8", ["unrelease-guard-no-such-dist>=1"], "X = 1\n"),
    "python-drop": (f">={NEXT}", [], "X = 1\n"),
}


class GuardDists:
    """``dists(name, version, variant)``: the sdist and wheel, built once per session."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[tuple[str, str, str], list[Path]] = {}
        self._locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, name: str, version: str, variant: str = "good") -> list[Path]:
        key = (name, version, variant)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = self._build(name, version, variant)
            return list(self._cache[key])

    def _build(self, name: str, version: str, variant: str) -> list[Path]:
        requires_python, deps, body = VARIANTS[variant]
        module = name.replace("-", "_")
        project = self.root / "src" / f"{name}-{version}"
        (project / "src" / module).mkdir(parents=True)
        (project / "src" / module / "__init__.py").write_text(body)
        (project / "pyproject.toml").write_text(
            '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
            f'[project]\nname = "{name}"\nversion = "{version}"\n'
            f'requires-python = "{requires_python}"\n'
            f"dependencies = {json.dumps(deps)}\n\n"
            f'[tool.hatch.build.targets.wheel]\npackages = ["src/{module}"]\n'
        )
        out = self.root / "dist" / f"{name}-{version}"
        cmd = [sys.executable, "-m", "build", "--sdist", "--wheel", "--no-isolation"]
        _run([*cmd, "--outdir", str(out), str(project)], _env(self.root), f"building {name}")
        files = sorted(out.iterdir())
        assert len(files) == 2, files
        return files


@pytest.fixture(scope="session")
def guard_dists(tmp_path_factory: pytest.TempPathFactory) -> GuardDists:
    return GuardDists(tmp_path_factory.mktemp("guard-dists"))


@dataclass(frozen=True)
class Guarded:
    name: str
    baseline: str
    version: str
    files: dict[str, list[Path]]  # version -> its built files


_names = itertools.count(1)


class _Publisher:
    def __init__(self, server: PypiserverServer, dists: GuardDists) -> None:
        self.server = server
        self.dists = dists

    def __call__(
        self,
        release: str,
        baseline: str = "good",
        *,
        wheel_only: bool = False,
        target: Target | None = None,
    ) -> Guarded:
        """Upload 1.0.0 (BASELINE variant) and 1.1.0 (RELEASE variant) of a fresh package to
        TARGET (default: the pypiserver); WHEEL_ONLY leaves 1.1.0's sdist out."""
        name = f"guardpkg{next(_names)}"
        plan = [("1.0.0", baseline), ("1.1.0", release)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            built = list(pool.map(lambda vv: self.dists(name, *vv), plan))
        files = {"1.0.0": built[0], "1.1.0": built[1]}
        new = [p for p in files["1.1.0"] if p.suffix == ".whl"] if wheel_only else files["1.1.0"]
        upload(target or self.server, [*files["1.0.0"], *new])
        return Guarded(name, "1.0.0", "1.1.0", files)


@pytest.fixture
def publish(pypiserver_server: PypiserverServer, guard_dists: GuardDists) -> _Publisher:
    """``publish(release_variant, baseline_variant="good", wheel_only=False)``."""
    return _Publisher(pypiserver_server, guard_dists)
