"""Upload through the legacy API, as undo re-uploads deleted files: real pypiserver and devpi,
real sdists and wheels built by ``build``."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.servers import DevpiServer, DistFactory, SeededPackage, Target
from unrelease.errors import AuthError, BadInput, Refused, ServiceError
from unrelease.indexes import open_index
from unrelease.indexes.base import Index, sha256_of
from unrelease.indexes.upload import form_fields, read_metadata


def index_for(target: Target, auth: tuple[str, str] | None = None) -> Index:
    return open_index(target.url, target.kind, auth=auth or target.auth)


def files_on(index: Index, name: str, version: str) -> dict[str, str | None]:
    return {
        f.filename: f.sha256 for r in index.releases(name) if r.version == version for f in r.files
    }


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(params=["pypiserver", "devpi-dev", "devpi-stable"])
def seeded(request: pytest.FixtureRequest, seed: object) -> SeededPackage:
    if request.param == "pypiserver":
        target = request.getfixturevalue("pypiserver_server")
    else:
        devpi: DevpiServer = request.getfixturevalue("devpi_server")
        target = devpi.dev if request.param == "devpi-dev" else devpi.stable
    return seed(target)  # type: ignore[operator, no-any-return]


def test_delete_then_upload_puts_the_same_files_back(seeded: SeededPackage) -> None:
    index = index_for(seeded.target)
    before = files_on(index, seeded.name, "1.2.0")
    assert set(before) == {p.name for p in seeded.files["1.2.0"]}
    index.delete_release(seeded.name, "1.2.0", force=True)
    assert files_on(index, seeded.name, "1.2.0") == {}

    for path in seeded.files["1.2.0"]:
        index.upload(path)
    after = files_on(index, seeded.name, "1.2.0")
    assert after == before
    assert after == {p.name: digest(p) for p in seeded.files["1.2.0"]}
    # the other versions were not touched
    assert {r.version for r in index.releases(seeded.name)} == {"1.0.0", "1.1.0", "1.2.0"}


def test_upload_of_a_file_already_there_is_a_no_op(seeded: SeededPackage) -> None:
    index = index_for(seeded.target)
    before = files_on(index, seeded.name, "1.1.0")
    for path in seeded.files["1.1.0"]:
        index.upload(path)  # pypiserver answers 409, devpi 200 or 409: all "already there"
    assert files_on(index, seeded.name, "1.1.0") == before


def test_another_file_with_the_same_name_is_refused(
    pypiserver_pkg: SeededPackage, tmp_path: Path
) -> None:
    index = index_for(pypiserver_pkg.target)
    wheel = next(p for p in pypiserver_pkg.files["1.0.0"] if p.suffix == ".whl")
    other = tmp_path / wheel.name
    shutil.copy(wheel, other)
    with zipfile.ZipFile(other, "a") as zf:
        zf.writestr("extra.txt", "not the original")
    assert digest(other) != digest(wheel)
    before = files_on(index, pypiserver_pkg.name, "1.0.0")
    with pytest.raises(Refused, match="already has another file named"):
        index.upload(other)
    assert files_on(index, pypiserver_pkg.name, "1.0.0") == before


def test_devpi_stable_refuses_another_file_with_the_same_name(
    devpi_stable_pkg: SeededPackage, tmp_path: Path
) -> None:
    index = index_for(devpi_stable_pkg.target)
    sdist = next(p for p in devpi_stable_pkg.files["1.0.0"] if p.name.endswith(".tar.gz"))
    other = tmp_path / sdist.name
    other.write_bytes(sdist.read_bytes() + b"\0")  # gzip ignores trailing bytes: still readable
    with pytest.raises(Refused, match="another file"):
        index.upload(other)


@pytest.mark.parametrize("kind", ["pypiserver", "devpi"])
def test_upload_with_wrong_password_is_an_auth_error(
    kind: str, seed: object, request: pytest.FixtureRequest
) -> None:
    target: Target = (
        request.getfixturevalue("pypiserver_server")
        if kind == "pypiserver"
        else request.getfixturevalue("devpi_server").dev
    )
    pkg: SeededPackage = seed(target)  # type: ignore[operator]
    index = index_for(target, auth=(target.username, "wrong-password-000"))
    with pytest.raises(AuthError) as info:
        index.upload(pkg.files["1.0.0"][0])
    assert "wrong-password-000" not in str(info.value)


def test_form_fields_carry_the_metadata(dist_factory: DistFactory) -> None:
    for path in dist_factory("Tiny.Meta_pkg", "2.0.1"):
        fields = form_fields(path)
        data = dict(fields)
        assert data[":action"] == "file_upload"
        assert data["protocol_version"] == "1"
        assert data["name"] == "Tiny.Meta-pkg"  # twine's safe name: dots kept, _ → -
        assert data["version"] == "2.0.1"
        assert data["metadata_version"]
        assert data["requires_python"] == ">=3.8"
        assert data["sha256_digest"] == sha256_of(path)
        if path.suffix == ".whl":
            assert (data["filetype"], data["pyversion"]) == ("bdist_wheel", "py3")
        else:
            assert (data["filetype"], data["pyversion"]) == ("sdist", "source")


def test_zip_sdist_metadata(tmp_path: Path) -> None:
    path = tmp_path / "zpkg-1.0.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "zpkg-1.0/PKG-INFO",
            "Metadata-Version: 2.1\nName: zpkg\nVersion: 1.0\nKeywords: a,b\n"
            "Classifier: X :: Y\nClassifier: X :: Z\nProject-URL: Home, https://h.example\n",
        )
    assert read_metadata(path).startswith(b"Metadata-Version")
    fields = form_fields(path)
    assert ("classifiers", "X :: Y") in fields and ("classifiers", "X :: Z") in fields
    assert ("project_urls", "Home, https://h.example") in fields
    assert ("keywords", "a, b") in fields
    assert dict(fields)["filetype"] == "sdist"


def test_metadata_without_name_or_version_falls_back_to_the_filename(tmp_path: Path) -> None:
    path = tmp_path / "bare-3.0.tar.gz"
    info = tmp_path / "PKG-INFO"
    info.write_text("Metadata-Version: 2.1\nSummary: bare\n")
    with tarfile.open(path, "w:gz") as tf:
        tf.add(info, arcname="bare-3.0/PKG-INFO")
    data = dict(form_fields(path))
    assert (data["name"], data["version"], data["summary"]) == ("bare", "3.0", "bare")


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("notes.txt", b"hello", "not a distribution filename"),
        ("pkg-1.0.tar.gz", b"not a tarball", "cannot read"),
        ("pkg-1.0-py3-none-any.whl", b"not a zip", "cannot read"),
        ("pkg-1.0.zip", None, "holds no core metadata"),
        ("pkg-1.0-py3-none-any.whl", None, "holds no core metadata"),
        ("pkg_1.0.tar.gz", None, "not a distribution filename"),
    ],
)
def test_bad_files(filename: str, content: bytes | None, message: str, tmp_path: Path) -> None:
    path = tmp_path / filename
    if content is not None:
        path.write_bytes(content)
    elif filename.endswith((".zip", ".whl")):
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("README", "no metadata here")
    else:
        info = tmp_path / "PKG-INFO"
        info.write_text("Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n")
        with tarfile.open(path, "w:gz") as tf:
            tf.add(info, arcname="pkg_1.0/PKG-INFO")
    with pytest.raises(BadInput, match=message):
        form_fields(path)


def test_read_metadata_of_another_kind_of_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(BadInput, match="not a wheel or an sdist"):
        read_metadata(path)


def test_metadata_naming_another_project_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "alpha-1.0.tar.gz"
    info = tmp_path / "PKG-INFO"
    info.write_text("Metadata-Version: 2.1\nName: beta\nVersion: 1.0\n")
    with tarfile.open(path, "w:gz") as tf:
        tf.add(info, arcname="alpha-1.0/PKG-INFO")
    with pytest.raises(BadInput, match="its metadata names 'beta'"):
        form_fields(path)


def test_index_without_upload_refuses(tmp_path: Path) -> None:
    import requests

    index = Index("http://127.0.0.1:9/", requests.Session())
    with pytest.raises(Refused, match="cannot take uploads"):
        index.upload(tmp_path / "x-1.0.tar.gz")


def _tiny_sdist(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-1.0.tar.gz"
    info = tmp_path / "PKG-INFO"
    info.write_text("Metadata-Version: 2.1\nName: tiny\nVersion: 1.0\n")
    with tarfile.open(path, "w:gz") as tf:
        tf.add(info, arcname="tiny-1.0/PKG-INFO")
    return path


def test_upload_to_nowhere_is_a_service_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    index = open_index(f"http://127.0.0.1:{port}/", "pypiserver", auth=("u", "p4ss-word"))
    with pytest.raises(ServiceError, match="connection refused"):
        index.upload(_tiny_sdist(tmp_path))


def test_redirected_upload_is_not_followed(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(self.path)
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(301)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        index = open_index(url, "pypiserver", auth=("u", "p4ss-word"))
        with pytest.raises(ServiceError, match="redirected"):
            index.upload(_tiny_sdist(tmp_path))
        assert seen == ["/"]  # one POST, not followed
    finally:
        server.shutdown()
        server.server_close()
