"""Index adapters: simple-page parsing (unit) and pypiserver / devpi (real servers)."""

from __future__ import annotations

import hashlib
import json
import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers import DevpiServer, PypiserverServer, SeededPackage
from unrelease.errors import AuthError, BadInput, NotFound, Refused, ServiceError
from unrelease.http import make_session
from unrelease.indexes import DevpiIndex, Index, PypiserverIndex, open_index
from unrelease.indexes.pypiserver import _spelling
from unrelease.indexes.simple import (
    file_version,
    group_releases,
    parse_html,
    parse_json,
    parse_page,
    safe_url,
)
from unrelease.model import DistFile

PAGE = "https://example.test/simple/demo/"
SHA = "a" * 64


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions(index: Index, name: str) -> list[str]:
    return [r.version for r in index.releases(name)]


# --- simple.py: parsing ------------------------------------------------------------------------
def test_parse_html_files_hashes_and_yanks() -> None:
    html = f"""<!DOCTYPE html><html><body>
    <a href="../../files/demo-1.0.tar.gz#sha256={SHA.upper()}">demo-1.0.tar.gz</a><br>
    <a href="https://cdn.test/demo-1.1-py3-none-any.whl#md5=abc" data-yanked="">
      demo-1.1-py3-none-any.whl</a>
    <a href="demo-1.2.tar.gz" data-yanked="broken &amp; bad" data-requires-python="&gt;=3.8"
      >demo-1.2.tar.gz</a>
    <a href="notes.txt">notes.txt</a>
    </body></html>"""
    files = parse_html(html, PAGE)
    by_name = {f.filename: f for f in files}
    sdist = by_name["demo-1.0.tar.gz"]
    assert sdist.url == "https://example.test/files/demo-1.0.tar.gz"
    assert sdist.sha256 == SHA
    assert not sdist.yanked
    wheel = by_name["demo-1.1-py3-none-any.whl"]
    assert wheel.url == "https://cdn.test/demo-1.1-py3-none-any.whl"
    assert wheel.sha256 is None  # only md5 given
    assert wheel.yanked
    assert wheel.yanked_reason is None
    third = by_name["demo-1.2.tar.gz"]
    assert third.url == "https://example.test/simple/demo/demo-1.2.tar.gz"
    assert third.yanked
    assert third.yanked_reason == "broken & bad"

    releases = group_releases(files)  # notes.txt has no version: left out
    assert [r.version for r in releases] == ["1.0", "1.1", "1.2"]
    assert releases[1].yanked
    assert not releases[0].yanked
    assert releases[2].yanked_reason == "broken & bad"


def test_parse_html_honours_base_tag() -> None:
    html = '<html><head><base href="https://mirror.test/pkgs/"></head>'
    html += '<body><a href="demo-2.0.tar.gz">demo-2.0.tar.gz</a></body></html>'
    (f,) = parse_html(html, PAGE)
    assert f.url == "https://mirror.test/pkgs/demo-2.0.tar.gz"


def test_parse_json_pep691_and_pep700() -> None:
    data: dict[str, Any] = {
        "meta": {"api-version": "1.1"},
        "name": "demo",
        "files": [
            {
                "filename": "demo-1.0-py3-none-any.whl",
                "url": "../../files/demo-1.0-py3-none-any.whl",
                "hashes": {"sha256": SHA},
                "size": 1234,
                "upload-time": "2024-05-01T10:00:00.000000Z",
                "yanked": "security hole",
            },
            {"filename": "demo-1.0.tar.gz", "url": "demo-1.0.tar.gz", "hashes": {}, "yanked": True},
            {"filename": "demo-0.9.zip", "url": f"demo-0.9.zip#sha256={SHA}"},
            {"filename": "junk"},
        ],
    }
    files = {f.filename: f for f in parse_json(data, PAGE)}
    wheel = files["demo-1.0-py3-none-any.whl"]
    assert wheel.url == "https://example.test/files/demo-1.0-py3-none-any.whl"
    assert (wheel.sha256, wheel.size, wheel.upload_time) == (
        SHA,
        1234,
        data["files"][0]["upload-time"],
    )
    assert wheel.yanked
    assert wheel.yanked_reason == "security hole"
    assert files["demo-1.0.tar.gz"].yanked
    assert files["demo-1.0.tar.gz"].yanked_reason is None
    assert files["demo-0.9.zip"].sha256 == SHA
    assert files["demo-0.9.zip"].url.endswith(".zip")
    releases = group_releases(files.values())
    assert [r.version for r in releases] == ["0.9", "1.0"]
    assert releases[1].yanked
    assert releases[1].yanked_reason == "security hole"


def test_parse_page_picks_format_from_content_type() -> None:
    resp = requests.Response()
    resp.status_code = 200
    resp.url = PAGE
    resp.headers["Content-Type"] = "application/vnd.pypi.simple.v1+json"
    resp._content = json.dumps(
        {"meta": {"api-version": "1.0"}, "files": [{"filename": "demo-3.0.tar.gz", "url": "x/d"}]}
    ).encode()
    assert parse_page(resp)[0].url == PAGE + "x/d"
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp._content = b'<a href="demo-3.0.tar.gz">demo-3.0.tar.gz</a>'
    assert parse_page(resp)[0].filename == "demo-3.0.tar.gz"


def test_versions_sort_by_packaging_not_text() -> None:
    names = ["demo-1.10.0.tar.gz", "demo-1.9.0.tar.gz", "demo-1.10.0rc1-py3-none-any.whl"]
    files = [DistFile(filename=n, url=PAGE + n) for n in names]
    assert [r.version for r in group_releases(files)] == ["1.9.0", "1.10.0rc1", "1.10.0"]
    assert file_version("demo-1.0.egg") is None
    assert file_version("not a dist.tar.gz") is None


def test_safe_url_strips_credentials() -> None:
    assert safe_url("https://u:hunter22@host.test/x/") == "https://host.test/x/"
    assert safe_url("https://host.test/x/") == "https://host.test/x/"


@pytest.mark.parametrize(
    "filename",
    [
        "tiny_pkg-1.0.0.tar.gz",
        "tiny-pkg-1.0.0.tar.gz",
        "Tiny.Pkg-2.0rc1.zip",
        "tiny_pkg-1.0.0-py3-none-any.whl",
        "tiny_pkg-1.0-1-cp311-cp311-manylinux_2_17_x86_64.whl",
        "py-3d-1.0.post1.tar.gz",
        "foo-1.0.tar.bz2",
        "nodash.tar.gz",
        "README.txt",
    ],
)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pypiserver imports crypt, cgi
def test_pypiserver_spelling_matches_pypiserver(filename: str) -> None:
    """remove_pkg matches these strings exactly: ours must equal pypiserver's own reading."""
    from pypiserver.pkg_helpers import guess_pkgname_and_version

    theirs = guess_pkgname_and_version(filename)
    if theirs is not None and not theirs[1]:
        theirs = None  # pypiserver reads "nodash.tar.gz" as a name without a version
    assert _spelling(filename) == theirs


# --- open_index without a server ----------------------------------------------------------------
@pytest.mark.parametrize("url", ["ftp://host.test/", "host.test/simple", "http://", "http://h:x/"])
def test_open_index_rejects_bad_urls(url: str) -> None:
    with pytest.raises(BadInput, match="not a valid index URL"):
        open_index(url)


def test_open_index_never_echoes_url_credentials() -> None:
    with pytest.raises(BadInput) as exc:
        open_index("ftp://user:topsecret99@host.test/")
    assert "topsecret99" not in str(exc.value)
    assert "user:" not in str(exc.value)


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("pypi", "https://pypi.org/"),
        ("TestPyPI", "https://test.pypi.org/"),
        ("https://upload.pypi.org/", "https://pypi.org/"),
        ("https://test.pypi.org/", "https://test.pypi.org/"),
    ],
)
def test_warehouse_sites_are_known_without_asking(url: str, site: str) -> None:
    from unrelease.indexes import WarehouseIndex

    index = open_index(url, pypi_auth="manual")  # no request is sent
    assert isinstance(index, WarehouseIndex)
    assert index.url == site
    assert index.manual


@pytest.mark.parametrize("url", ["https://test.pypi.org/legacy/", "https://pypi.org/simple/"])
def test_warehouse_api_paths_are_refused(url: str) -> None:
    with pytest.raises(BadInput, match="API path of a warehouse site"):
        open_index(url)


def test_unknown_kind() -> None:
    with pytest.raises(BadInput, match="unknown index kind"):
        open_index("http://127.0.0.1:9/", kind="artifactory")


def test_explicit_kind_skips_probe() -> None:
    index = open_index("http://127.0.0.1:9/rel/dev", kind="devpi", auth=("u", "p"))
    assert isinstance(index, DevpiIndex)
    assert index.url == "http://127.0.0.1:9/rel/dev/"
    assert index.simple_url == "http://127.0.0.1:9/rel/dev/+simple/"
    assert index.probe_note is None


def test_unreachable_url_is_bad_input() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        port = sock.getsockname()[1]
        with pytest.raises(BadInput, match="cannot reach") as exc:
            open_index(f"http://someone:pw1234@127.0.0.1:{port}/")
    assert "pw1234" not in str(exc.value)


# --- download ----------------------------------------------------------------------------------
@pytest.mark.integration
def test_download_checks_sha256(pypiserver_pkg: SeededPackage, tmp_path: Path) -> None:
    index = open_index(pypiserver_pkg.target.url, kind="pypiserver")
    dist = index.releases(pypiserver_pkg.name)[0].files[0]
    got = index.download(dist, tmp_path / "ok")
    assert got.read_bytes() == pypiserver_pkg.file(dist.filename).read_bytes()

    tampered = replace(dist, sha256="0" * 64)
    with pytest.raises(ServiceError, match=r"sha256 of .* does not match"):
        index.download(tampered, tmp_path / "bad")
    assert not (tmp_path / "bad" / dist.filename).exists()


# --- pypiserver --------------------------------------------------------------------------------
@pytest.mark.integration
def test_pypiserver_releases(pypiserver_pkg: SeededPackage) -> None:
    index = open_index(pypiserver_pkg.target.url, kind="pypiserver")
    releases = index.releases(pypiserver_pkg.name.upper().replace("-", "_"))  # normalised
    assert [r.version for r in releases] == list(pypiserver_pkg.versions)
    for release in releases:
        built = pypiserver_pkg.files[release.version]
        assert sorted(f.filename for f in release.files) == sorted(p.name for p in built)
        for f in release.files:
            assert f.sha256 == _sha256(pypiserver_pkg.file(f.filename))
            assert f.url.startswith(pypiserver_pkg.target.url)
            assert not f.yanked
    assert index.simple_url == pypiserver_pkg.target.url + "simple/"


@pytest.mark.integration
def test_probe_finds_pypiserver(pypiserver_server: PypiserverServer) -> None:
    index = open_index(pypiserver_server.url.rstrip("/"))
    assert isinstance(index, PypiserverIndex)
    assert index.url == pypiserver_server.url
    assert index.probe_note
    assert "pypiserver" in index.probe_note


@pytest.mark.integration
def test_probe_rejects_simple_page_url(pypiserver_server: PypiserverServer) -> None:
    with pytest.raises(BadInput, match="does not look like") as exc:
        open_index(pypiserver_server.url + "simple/")
    assert "without /simple/" in str(exc.value)


@pytest.mark.integration
def test_pypiserver_delete_release(pypiserver_pkg: SeededPackage) -> None:
    target = pypiserver_pkg.target
    index = open_index(target.url, auth=target.auth)
    index.delete_release(pypiserver_pkg.name, "1.1")  # 1.1 == 1.1.0, spelled as in the files
    assert _versions(index, pypiserver_pkg.name) == ["1.0.0", "1.2.0"]
    with pytest.raises(NotFound):
        index.delete_release(pypiserver_pkg.name, "1.1.0")


@pytest.mark.integration
def test_pypiserver_wrong_password(pypiserver_pkg: SeededPackage) -> None:
    password = "not-the-password-42"
    index = open_index(pypiserver_pkg.target.url, auth=("rel", password))
    with pytest.raises(AuthError) as exc:
        index.delete_release(pypiserver_pkg.name, "1.0.0")
    assert password not in str(exc.value)
    assert "403" in str(exc.value)
    anonymous = open_index(pypiserver_pkg.target.url, kind="pypiserver")
    with pytest.raises(AuthError, match="401"):
        anonymous.delete_release(pypiserver_pkg.name, "1.0.0")
    assert _versions(anonymous, pypiserver_pkg.name) == list(pypiserver_pkg.versions)


@pytest.mark.integration
def test_check_auth_changes_nothing(
    pypiserver_server: PypiserverServer, devpi_server: DevpiServer
) -> None:
    for target in (pypiserver_server, devpi_server.dev):
        good = open_index(target.url, target.kind, auth=target.auth)
        assert isinstance(good, PypiserverIndex | DevpiIndex)
        good.check_auth()
        for auth in (("rel", "bad-password-31"), None):
            bad = open_index(target.url, target.kind, auth=auth)
            assert isinstance(bad, PypiserverIndex | DevpiIndex)
            with pytest.raises(AuthError) as exc:
                bad.check_auth()
            assert "bad-password-31" not in str(exc.value)


@pytest.mark.integration
def test_pypiserver_unknown_package(pypiserver_server: PypiserverServer) -> None:
    index = open_index(pypiserver_server.url, kind="pypiserver", auth=pypiserver_server.auth)
    with pytest.raises(NotFound, match="package no-such-pkg is not on the index"):
        index.releases("no-such-pkg")
    with pytest.raises(NotFound):
        index.delete_release("no-such-pkg", "1.0")


@pytest.mark.integration
def test_pypiserver_refuses_yank_and_file_delete(pypiserver_server: PypiserverServer) -> None:
    index = open_index(pypiserver_server.url, kind="pypiserver", auth=pypiserver_server.auth)
    with pytest.raises(Refused, match="pypiserver index cannot yank; it can do: delete"):
        index.yank("x", "1.0", "broken")
    with pytest.raises(Refused, match="delete"):
        index.unyank("x", "1.0")
    with pytest.raises(Refused, match="single files"):
        index.delete_file("x", "1.0", DistFile("x-1.0.tar.gz", pypiserver_server.url))
    assert index.capabilities.modes() == ["delete"]


# --- devpi -------------------------------------------------------------------------------------
@pytest.mark.integration
def test_devpi_releases(devpi_dev_pkg: SeededPackage) -> None:
    target = devpi_dev_pkg.target
    index = open_index(target.url, kind="devpi")
    releases = index.releases(devpi_dev_pkg.name.replace("-", "."))  # normalised
    assert [r.version for r in releases] == list(devpi_dev_pkg.versions)
    for release in releases:
        assert sorted(f.filename for f in release.files) == sorted(
            p.name for p in devpi_dev_pkg.files[release.version]
        )
        for f in release.files:
            assert f.sha256 == _sha256(devpi_dev_pkg.file(f.filename))
            assert f.upload_time
            assert f.upload_time.endswith("Z")
            assert f.url.startswith(target.url + "+f/")
    # devpi's PEP 691 page, as pip would read it, shows the same files
    session = make_session()
    page = session.get(
        index.simple_url + devpi_dev_pkg.name + "/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    assert {f.filename for f in parse_page(page)} == {p.name for p in devpi_dev_pkg.all_files}


@pytest.mark.integration
def test_probe_finds_devpi_and_rejects_server_root(devpi_server: DevpiServer) -> None:
    dev = open_index(devpi_server.dev.url)
    assert isinstance(dev, DevpiIndex)
    assert dev.probe_note
    assert "devpi" in dev.probe_note
    assert " volatile" in dev.probe_note
    stable = open_index(devpi_server.stable.url.rstrip("/"))
    assert isinstance(stable, DevpiIndex)
    assert stable.url == devpi_server.stable.url
    assert stable.probe_note
    assert "non-volatile" in stable.probe_note
    with pytest.raises(BadInput, match="not an index") as exc:
        open_index(devpi_server.root_url)
    assert "rel/dev" in str(exc.value)
    with pytest.raises(BadInput, match="not an index"):
        open_index(devpi_server.root_url + "rel/no-such-index/")


@pytest.mark.integration
def test_devpi_delete_release_on_volatile(devpi_dev_pkg: SeededPackage) -> None:
    target = devpi_dev_pkg.target
    index = open_index(target.url, kind="devpi", auth=target.auth)
    index.delete_release(devpi_dev_pkg.name, "1.2.0")
    assert _versions(index, devpi_dev_pkg.name) == ["1.0.0", "1.1.0"]
    with pytest.raises(NotFound):
        index.delete_release(devpi_dev_pkg.name, "1.2.0")


@pytest.mark.integration
def test_devpi_non_volatile_needs_force(devpi_stable_pkg: SeededPackage) -> None:
    target = devpi_stable_pkg.target
    index = open_index(target.url, auth=target.auth)
    with pytest.raises(Refused, match="non-volatile") as exc:
        index.delete_release(devpi_stable_pkg.name, "1.2.0")
    assert "--force" in str(exc.value)
    assert _versions(index, devpi_stable_pkg.name) == list(devpi_stable_pkg.versions)

    index.delete_release(devpi_stable_pkg.name, "1.2.0", force=True)
    assert _versions(index, devpi_stable_pkg.name) == ["1.0.0", "1.1.0"]

    (release, *_) = index.releases(devpi_stable_pkg.name)
    with pytest.raises(Refused, match="non-volatile"):
        index.delete_file(devpi_stable_pkg.name, release.version, release.files[0])
    index.delete_file(devpi_stable_pkg.name, release.version, release.files[0], force=True)
    assert len(index.releases(devpi_stable_pkg.name)[0].files) == 1


@pytest.mark.integration
def test_devpi_delete_single_file(devpi_dev_pkg: SeededPackage) -> None:
    target = devpi_dev_pkg.target
    index = open_index(target.url, kind="devpi", auth=target.auth)
    release = index.releases(devpi_dev_pkg.name)[1]
    wheel = next(f for f in release.files if f.filename.endswith(".whl"))
    with pytest.raises(BadInput, match="not a file of"):
        index.delete_file(devpi_dev_pkg.name, "1.0.0", wheel)
    elsewhere = replace(wheel, url=wheel.url.replace("/rel/dev/", "/root/pypi/"))
    with pytest.raises(Refused, match="not stored on rel/dev"):
        index.delete_file(devpi_dev_pkg.name, release.version, elsewhere)

    index.delete_file(devpi_dev_pkg.name, release.version, wheel)
    after = {r.version: r for r in index.releases(devpi_dev_pkg.name)}
    assert [f.filename for f in after[release.version].files] == [
        f.filename for f in release.files if f != wheel
    ]
    with pytest.raises(NotFound):
        index.delete_file(devpi_dev_pkg.name, release.version, wheel)


@pytest.mark.integration
def test_devpi_auth_errors_and_unknown_package(devpi_dev_pkg: SeededPackage) -> None:
    target = devpi_dev_pkg.target
    password = "wrong-devpi-pass-77"
    index = open_index(target.url, kind="devpi", auth=("rel", password))
    with pytest.raises(AuthError) as exc:
        index.delete_release(devpi_dev_pkg.name, "1.0.0")
    assert password not in str(exc.value)
    with pytest.raises(AuthError):
        open_index(target.url, kind="devpi").delete_release(devpi_dev_pkg.name, "1.0.0")
    with pytest.raises(NotFound, match="package no-such-pkg is not on the index"):
        index.releases("no-such-pkg")
    with pytest.raises(NotFound, match="is not on the index"):
        index.delete_release(devpi_dev_pkg.name, "9.9")
    with pytest.raises(BadInput, match="not a valid version"):
        index.delete_release(devpi_dev_pkg.name, "not a version")
    assert _versions(index, devpi_dev_pkg.name) == list(devpi_dev_pkg.versions)


@pytest.mark.integration
def test_devpi_refuses_yank(devpi_server: DevpiServer) -> None:
    index = open_index(devpi_server.dev.url, kind="devpi", auth=devpi_server.dev.auth)
    with pytest.raises(Refused, match="devpi index cannot yank; it can do: delete"):
        index.yank("x", "1.0", "broken")
    assert index.capabilities.delete_file
    assert not index.capabilities.unyank
