"""`unrelease status PACKAGE`: the first line names the index it read, and says where that
index came from when it was not given on the command line (the default is pypi.org)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import invoke
from tests.servers import SeededPackage
from unrelease.indexes import warehouse

PKG = "demo-pkg"


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


def test_status_without_index_names_the_default_index(
    fake_warehouse: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --index: pypi, here the warehouse fake standing in for pypi.org."""
    fake_warehouse.add_user("alice", "a long password 123")
    fake_warehouse.add_project(PKG, owner="alice")
    fake_warehouse.add_release(PKG, "1.0.0", {"demo_pkg-1.0.0.tar.gz": b"sdist"})
    monkeypatch.setitem(warehouse.SITES, "pypi", fake_warehouse.url.rstrip("/") + "/")
    run = invoke(["status", PKG])
    assert run.exit_code == 0, run.stderr
    first = run.stdout.splitlines()[0]
    assert first == (
        f"{PKG} on {fake_warehouse.url.rstrip('/')}/ (warehouse; the default index: "
        "pass --index for another)"
    )


def test_status_names_an_index_from_the_environment_or_pyproject(
    pypiserver_pkg: SeededPackage,
) -> None:
    url, name = pypiserver_pkg.target.url, pypiserver_pkg.name
    run = invoke(["status", name], {"UNRELEASE_INDEX": url})
    assert run.exit_code == 0, run.stderr
    assert run.stdout.splitlines()[0] == f"{name} on {url} (pypiserver; from UNRELEASE_INDEX)"

    Path("pyproject.toml").write_text(f'[tool.unrelease]\nindex = "{url}"\n', "utf-8")
    run = invoke(["status", name])
    assert run.exit_code == 0, run.stderr
    first = run.stdout.splitlines()[0]
    assert first == f"{name} on {url} (pypiserver; from [tool.unrelease] in pyproject.toml)"

    given = invoke(["status", name, "--index", url])
    assert given.stdout.splitlines()[0] == f"{name} on {url} (pypiserver)"
