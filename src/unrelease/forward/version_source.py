"""How a project sets its version, and the one change that sets a new one.

Kinds: ``static`` (``[project] version``), ``file`` (hatch ``[tool.hatch.version] path``,
setuptools ``attr``/``file``, flit's ``__version__`` in the module), ``vcs`` (setuptools-scm,
hatch-vcs: the tag is the version, no file changes). Anything else is refused (exit 2) naming
what was found.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unrelease.errors import Refused

_ASSIGN = re.compile(
    r"""^(?P<head>\s*(?:__version__|VERSION|version)\s*(?::\s*str\s*)?=\s*)"""
    r"""(?P<q>['"])(?P<v>[^'"\n]+)(?P=q)""",
    re.MULTILINE,
)


@dataclass(frozen=True)
class VersionSource:
    kind: str  # static | file | vcs
    detail: str  # what was found, for messages ("hatch path src/x/__about__.py")
    path: str | None = None  # the file holding the version, relative to the project root

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "path": self.path}


def _load(root: Path) -> dict[str, Any]:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise Refused("no pyproject.toml at the --from commit: cannot tell how it sets its version")
    try:
        return tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise Refused(f"pyproject.toml at the --from commit does not parse: {exc}") from None


def detect(root: Path) -> VersionSource:
    """How the project at ROOT sets its version; Refused for anything else."""
    data = _load(root)
    project = data.get("project") or {}
    tool = data.get("tool") or {}
    backend = str((data.get("build-system") or {}).get("build-backend", ""))
    if "version" in project:
        return VersionSource("static", "[project] version", "pyproject.toml")
    if "version" not in project.get("dynamic", []):
        raise Refused("pyproject.toml sets no [project] version and does not mark it dynamic")
    hatch = (tool.get("hatch") or {}).get("version") or {}
    if hatch.get("source") == "vcs" or "setuptools_scm" in tool:
        return VersionSource("vcs", "hatch-vcs" if hatch else "setuptools-scm")
    if hatch.get("path"):
        return VersionSource("file", f"hatch path {hatch['path']}", str(hatch["path"]))
    setup = ((tool.get("setuptools") or {}).get("dynamic") or {}).get("version") or {}
    if "attr" in setup:
        return VersionSource("file", f"setuptools attr {setup['attr']}", _attr_path(root, setup))
    if "file" in setup:
        files = setup["file"]
        path = files[0] if isinstance(files, list) and len(files) == 1 else files
        if not isinstance(path, str):
            raise Refused(f"setuptools reads the version from several files ({files}): refusing")
        return VersionSource("file", f"setuptools file {path}", path)
    if backend.startswith("flit_core"):
        return VersionSource("file", "flit __version__", _flit_path(root, data))
    found = hatch or setup or backend or "no build backend named"
    raise Refused(f"a dynamic version, with {found!r}: forward cannot change it")


def _module_file(root: Path, dotted: str) -> str:
    parts = dotted.split(".")
    for base in ("", "src/"):
        for candidate in (f"{base}{'/'.join(parts)}.py", f"{base}{'/'.join(parts)}/__init__.py"):
            if (root / candidate).is_file():
                return candidate
    raise Refused(f"cannot find the module {dotted} that holds the version")


def _attr_path(root: Path, setup: dict[str, Any]) -> str:
    module, _, attr = str(setup["attr"]).rpartition(".")
    if attr not in ("__version__", "VERSION", "version") or not module:
        raise Refused(f"setuptools attr {setup['attr']}: only a module's __version__ is changed")
    return _module_file(root, module)


def _flit_path(root: Path, data: dict[str, Any]) -> str:
    name = str((data.get("project") or {}).get("name", ""))
    module = (((data.get("tool") or {}).get("flit") or {}).get("module") or {}).get("name")
    return _module_file(root, str(module or name.replace("-", "_").replace(".", "_")))


def changes(root: Path, source: VersionSource, version: str) -> dict[str, bytes]:
    """The files (path relative to ROOT → new bytes) that set VERSION; none for vcs."""
    if source.kind == "vcs" or source.path is None:
        return {}
    path = root / source.path
    text = path.read_text(encoding="utf-8")
    if source.kind == "static":
        new, count = re.subn(
            r"""(?m)^(\s*version\s*=\s*)(['"])[^'"\n]*\2""",
            lambda m: f"{m[1]}{m[2]}{version}{m[2]}",
            _project_table(text),
            count=1,
        )
        new = text.replace(_project_table(text), new, 1)
    elif source.detail.startswith("setuptools file"):
        new, count = version + "\n", 1
    else:
        new, count = _ASSIGN.subn(lambda m: f"{m['head']}{m['q']}{version}{m['q']}", text, 1)
    if count != 1:
        raise Refused(f"cannot find the version to change in {source.path}")
    return {source.path: new.encode("utf-8")}


def _project_table(text: str) -> str:
    """The text of the ``[project]`` table (up to the next table header)."""
    m = re.search(r"(?ms)^\[project\]\s*$.*?(?=^\[|\Z)", text)
    if m is None:
        raise Refused("cannot find the [project] table in pyproject.toml")
    return m.group(0)
