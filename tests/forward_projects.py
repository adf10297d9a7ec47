"""Git repositories of tiny packages, one per version-source kind, and their releases built
with the real backends and uploaded with twine (for the ``forward`` tests)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.servers import Target, upload
from unrelease.forward.build import build
from unrelease.forward.gitrepo import export

KINDS = ("static", "hatch-path", "setuptools-attr", "setuptools-scm")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _pyproject(kind: str, name: str, module: str, version: str) -> str:
    head = f'[project]\nname = "{name}"\nrequires-python = ">=3.8"\nreadme = "README.md"\n'
    hatch = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n'
    setup = (
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
    )
    wheel = f'\n[tool.hatch.build.targets.wheel]\npackages = ["src/{module}"]\n'
    if kind == "static":
        return hatch + head + f'version = "{version}"\n' + wheel
    if kind == "hatch-path":
        about = f'\n[tool.hatch.version]\npath = "src/{module}/__about__.py"\n'
        return hatch + head + 'dynamic = ["version"]\n' + about + wheel
    found = '\n[tool.setuptools.packages.find]\nwhere = ["src"]\n'
    if kind == "setuptools-attr":
        attr = f'\n[tool.setuptools.dynamic]\nversion = {{attr = "{module}.__version__"}}\n'
        return setup + head + 'dynamic = ["version"]\n' + attr + found
    scm = setup.replace('"setuptools>=64"', '"setuptools>=64", "setuptools-scm>=8"')
    return scm + head + 'dynamic = ["version"]\n' + found + "\n[tool.setuptools_scm]\n"


def commit_version(repo: Path, kind: str, name: str, version: str, answer: int) -> str:
    """Write the project at VERSION (its answer() returns ANSWER), commit and tag it."""
    module = name.replace("-", "_")
    pkg = repo / "src" / module
    pkg.mkdir(parents=True, exist_ok=True)
    (repo / "pyproject.toml").write_text(_pyproject(kind, name, module, version))
    init = f"def answer():\n    return {answer}\n"
    if kind == "setuptools-attr":
        init = f'__version__ = "{version}"\n\n' + init
    if kind == "hatch-path":
        (pkg / "__about__.py").write_text(f'__version__ = "{version}"\n')
    (pkg / "__init__.py").write_text(init)
    (repo / "README.md").write_text(f"# {name}\n\nA test package.\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"Release {version}")
    git(repo, "tag", "-a", f"v{version}", "-m", f"Release {version}")
    return git(repo, "rev-parse", "HEAD")


def make_project(path: Path, kind: str, name: str) -> dict[str, str]:
    """1.0.0 (good, answer 42) and 1.1.0 (bad, answer 0); version → commit."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "t@example.com")
    git(path, "config", "user.name", "t")
    return {
        "1.0.0": commit_version(path, kind, name, "1.0.0", 42),
        "1.1.0": commit_version(path, kind, name, "1.1.0", 0),
    }


def publish(repo: Path, shas: dict[str, str], target: Target, work: Path) -> None:
    """Build each version from its commit and upload it to TARGET."""
    for version, sha in shas.items():
        src = export(repo, sha, work / f"src-{version}")
        upload(target, build(src, work / f"dist-{version}", isolated=False, version=version))
