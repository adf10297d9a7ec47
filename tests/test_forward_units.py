"""``forward``'s version-source detection and its defaults, without servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.memindex import PKG, MemoryIndex
from unrelease.errors import Refused
from unrelease.forward.defaults import from_ref, next_version
from unrelease.forward.version_source import changes, detect
from unrelease.model import Record


def project(root: Path, pyproject: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(pyproject)
    for path, text in (files or {}).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_flit_version_in_module(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        '[build-system]\nbuild-backend = "flit_core.buildapi"\n'
        '[project]\nname = "my-pkg"\ndynamic = ["version", "description"]\n',
        {"my_pkg/__init__.py": '"""Doc."""\n__version__ = "1.0.0"\n'},
    )
    source = detect(root)
    assert (source.kind, source.path) == ("file", "my_pkg/__init__.py")
    assert changes(root, source, "1.0.1") == {
        "my_pkg/__init__.py": b'"""Doc."""\n__version__ = "1.0.1"\n'
    }


def test_setuptools_file(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        '[project]\nname = "x"\ndynamic = ["version"]\n'
        '[tool.setuptools.dynamic]\nversion = {file = "VERSION"}\n',
        {"VERSION": "1.0.0\n"},
    )
    source = detect(root)
    assert source.detail == "setuptools file VERSION"
    assert changes(root, source, "2.0.1") == {"VERSION": b"2.0.1\n"}


def test_static_changes_only_the_project_version(tmp_path: Path) -> None:
    text = '[project]\nname = "x"\nversion = "1.0.0"\n\n[tool.other]\nversion = "9.9"\n'
    root = project(tmp_path, text)
    new = changes(root, detect(root), "1.0.1")["pyproject.toml"].decode()
    assert new == text.replace('"1.0.0"', '"1.0.1"')


@pytest.mark.parametrize(
    ("pyproject", "named"),
    [
        (
            '[project]\nname = "x"\ndynamic = ["version"]\n'
            '[build-system]\nbuild-backend = "pdm.backend"\n',
            "pdm.backend",
        ),
        ('[project]\nname = "x"\n', "no [project] version"),
    ],
)
def test_anything_else_refused_naming_it(tmp_path: Path, pyproject: str, named: str) -> None:
    with pytest.raises(Refused, match=named.replace("[", r"\[").replace("]", r"\]")):
        detect(project(tmp_path, pyproject))


def test_next_version_counts_yanked_and_recorded_versions() -> None:
    index = MemoryIndex(("1.0.0", "1.1.0", "1.2.0"))
    index.yank(PKG, "1.2.0", "bad")
    assert next_version(index, [], PKG, "1.1.0") == "1.2.1"
    record = Record(
        id="r",
        package=PKG,
        version="1.3.0",
        to="1.2.0",
        mode="delete",
        reason="x",
        index="",
        severity="critical",
        who="t",
        when="",
        withdrawn=["1.3.0"],
    )
    assert next_version(index, [record], PKG, "1.1.0") == "1.3.1"
    assert from_ref(index, [record], PKG, "1.3.0", "v{version}") == "v1.2.0"
    assert from_ref(index, [], PKG, "1.2.0", "v{version}") == "v1.1.0"
