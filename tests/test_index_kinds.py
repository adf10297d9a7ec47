"""A wrong --index-kind is a one-line BadInput (exit 2) naming what the server looks like and
what to pass, not a service error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fakes.warehouse import FakeWarehouse
from tests.servers import DevpiServer, PypiserverServer, SeededPackage
from unrelease.errors import BadInput
from unrelease.indexes import open_index


def _expect(call: Callable[[], Any], looks_like: str) -> None:
    with pytest.raises(BadInput) as exc:
        call()
    text = str(exc.value)
    assert f"looks like {looks_like}" in text, text
    assert f"pass --index-kind {looks_like.split()[-1]}" in text, text
    assert "\n" not in text
    assert exc.value.exit_code == 2


@pytest.mark.integration
def test_devpi_kind_at_pypiserver(pypiserver_pkg: SeededPackage) -> None:
    target = pypiserver_pkg.target
    index = open_index(target.url, kind="devpi", auth=target.auth)
    _expect(lambda: index.releases(pypiserver_pkg.name), "pypiserver")
    _expect(lambda: index.releases("not-there-at-all"), "pypiserver")
    _expect(index.check_auth, "pypiserver")
    _expect(lambda: index.delete_release(pypiserver_pkg.name, "1.0.0"), "pypiserver")
    assert len(open_index(target.url, kind="pypiserver").releases(pypiserver_pkg.name)) == 3


@pytest.mark.integration
def test_pypiserver_kind_at_devpi(devpi_dev_pkg: SeededPackage) -> None:
    target = devpi_dev_pkg.target
    index = open_index(target.url, kind="pypiserver", auth=target.auth)
    _expect(lambda: index.releases(devpi_dev_pkg.name), "devpi")
    _expect(index.check_auth, "devpi")
    _expect(lambda: index.delete_release(devpi_dev_pkg.name, "1.0.0"), "devpi")


@pytest.mark.integration
def test_warehouse_kind_at_pypiserver(pypiserver_pkg: SeededPackage) -> None:
    index = open_index(pypiserver_pkg.target.url, kind="warehouse", pypi_auth="manual")
    _expect(lambda: index.releases(pypiserver_pkg.name), "pypiserver")
    _expect(lambda: index.project(pypiserver_pkg.name), "pypiserver")


def test_pypiserver_kind_at_a_warehouse_site(fake_warehouse: FakeWarehouse) -> None:
    index = open_index(fake_warehouse.url, kind="pypiserver", auth=("u", "p"))
    _expect(index.check_auth, "PyPI's warehouse")


@pytest.mark.integration
def test_the_right_kind_still_says_not_found(
    pypiserver_server: PypiserverServer, devpi_server: DevpiServer
) -> None:
    from unrelease.errors import NotFound

    for url, kind in ((pypiserver_server.url, "pypiserver"), (devpi_server.dev.url, "devpi")):
        with pytest.raises(NotFound):
            open_index(url, kind=kind).releases("never-uploaded-here")
