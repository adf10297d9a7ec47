"""Index.project on each adapter: the display name and PEP 792 status, in one read."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.servers import DevpiServer, PypiserverServer, SeededPackage
from unrelease.indexes import open_index
from unrelease.indexes.pypiserver import PypiserverIndex
from unrelease.indexes.simple import parse_page_status, status_from_json, status_from_meta


def _response(body: str, content_type: str, url: str = "https://x.test/simple/p/") -> Any:
    resp = requests.Response()
    resp._content = body.encode()
    resp.status_code = 200
    resp.headers["Content-Type"] = content_type
    resp.url = url
    return resp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"status": "archived"}, ("archived", None)),
        ({"state": "Quarantined", "reason": "malware"}, ("quarantined", "malware")),
        ("deprecated", ("deprecated", None)),
        ({}, (None, None)),
        (None, (None, None)),
        ({"status": 3}, (None, None)),
    ],
)
def test_status_from_json_accepts_status_and_state(
    value: object, expected: tuple[str | None, str | None]
) -> None:
    assert status_from_json(value) == expected


def test_status_from_an_html_simple_page() -> None:
    page = (
        '<html><head><meta name="pypi:project-status" content="archived">'
        '<meta name="pypi:project-status-reason" content="moved to demo2"></head><body>'
        '<a href="demo-1.0.tar.gz">demo-1.0.tar.gz</a></body></html>'
    )
    files, status = parse_page_status(_response(page, "text/html"))
    assert [f.filename for f in files] == ["demo-1.0.tar.gz"]
    assert status == ("archived", "moved to demo2")
    assert status_from_meta({}) == (None, None)


def test_status_from_a_json_simple_page() -> None:
    body = '{"meta": {"api-version": "1.4"}, "project-status": {"state": "archived"}, "files": []}'
    files, status = parse_page_status(_response(body, "application/vnd.pypi.simple.v1+json"))
    assert (files, status) == ([], ("archived", None))


@pytest.mark.integration
def test_pypiserver_project_is_active_and_named_as_given(pypiserver_pkg: SeededPackage) -> None:
    index = open_index(pypiserver_pkg.target.url, kind="pypiserver")
    project = index.project(pypiserver_pkg.name)
    assert (project.name, project.status) == (pypiserver_pkg.name, "active")
    assert [r.version for r in project.releases] == list(pypiserver_pkg.versions)


@pytest.mark.integration
def test_devpi_project_has_its_registered_name(devpi_server: DevpiServer, seed: Any) -> None:
    pkg = seed(devpi_server.dev, name="Demo_Mixed.Case")
    index = open_index(pkg.target.url, kind="devpi")
    project = index.project("demo-mixed-case")
    assert project.status == "active"
    # the name as the package's metadata spells it (the build may turn "_" into "-")
    assert project.name in ("Demo_Mixed.Case", "Demo-Mixed.Case")
    assert [r.version for r in project.releases] == list(pkg.versions)


@pytest.mark.integration
def test_pypiserver_delete_uses_the_page_it_already_read(
    pypiserver_server: PypiserverServer, seed: Any
) -> None:
    pkg: SeededPackage = seed(pypiserver_server)
    index = open_index(pkg.target.url, kind="pypiserver", auth=pkg.target.auth)
    assert isinstance(index, PypiserverIndex)
    index.releases(pkg.name)
    seen: list[str] = []
    index.session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request.method))
    index.delete_release(pkg.name, "1.2.0")
    assert seen == ["POST"]  # no second read of the project page
    assert [r.version for r in index.releases(pkg.name)] == ["1.0.0", "1.1.0"]
    index.delete_release(pkg.name, "1.1.0")  # nothing cached after a write: it reads first
    assert seen[-2:] == ["GET", "POST"]
