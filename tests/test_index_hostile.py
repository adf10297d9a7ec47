"""Hostile index pages: a simple page whose file names climb out of the backup directory must
never make us write outside it, and download_all refuses the lot before fetching anything.
A tiny loopback server (stdlib http.server) plays the hostile index; the pypiserver adapter
reads its PEP 503 page."""

from __future__ import annotations

import errno
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
from pytest_mock import MockerFixture

from tests.fakes.loopback import LoopbackServer
from unrelease.errors import BadInput, ServiceError
from unrelease.indexes import Index, open_index
from unrelease.indexes.simple import read_project_page
from unrelease.model import DistFile

PKG, VERSION = "pkg", "1.1.0"
GOOD = [
    "pkg-1.1.0.tar.gz",
    "pkg-1.1.0-py3-none-any.whl",
    "pkg-1.1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    "pkg-1.1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
    "pkg-1.1.0-cp313-cp313-manylinux_2_17_x86_64.whl",
    "pkg-1.1.0-cp314-cp314-manylinux_2_17_x86_64.whl",
]
HOSTILE = [
    "../../pkg-1.1.0.tar.gz",
    "sub/pkg-1.1.0.tar.gz",
    "..\\pkg-1.1.0.tar.gz",
    ".pkg-1.1.0.tar.gz",
    "pkg-1.1.0\x1b.tar.gz",
    "/etc/pkg-1.1.0.tar.gz",
]


class HostileIndex:
    """Serves /simple/pkg/ listing GOOD and HOSTILE names, and /files/<n> for each; counts
    file requests and the most served at once (each file waits, bounded, for company)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.blobs = {n: f"content of {n}".encode() for n in names}
        self.file_requests: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.hold_until = 1  # a file answer waits until this many are in flight (bounded)
        self.expected = 0  # ... or until every file still to come is in flight
        self.done = 0
        self.cond = threading.Condition()
        self.server = LoopbackServer(_Handler, self)
        self.url = f"http://127.0.0.1:{self.server.port}/"

    def sha(self, name: str) -> str:
        return hashlib.sha256(self.blobs[name]).hexdigest()

    def page(self) -> str:
        links = "\n".join(
            f'<a href="/files/{quote(n, safe="")}#sha256={self.sha(n)}">{n}</a><br>'
            for n in self.names
        )
        return f"<!DOCTYPE html><html><body><h1>Links for pkg</h1>\n{links}\n</body></html>"


class _Handler(BaseHTTPRequestHandler):
    server_fake: HostileIndex

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        fake = self.server_fake
        path = urlsplit(self.path).path
        if path == "/simple/pkg/":
            self._send(200, fake.page().encode())
            return
        if not path.startswith("/files/"):
            self._send(404, b"not found")
            return
        name = unquote(path[len("/files/") :])
        with fake.cond:
            fake.file_requests.append(name)
            fake.in_flight += 1
            fake.most_in_flight = max(fake.most_in_flight, fake.in_flight)
            fake.cond.notify_all()
            fake.cond.wait_for(
                lambda: fake.in_flight >= min(fake.hold_until, fake.expected - fake.done),
                timeout=5,
            )
        try:
            self._send(200, fake.blobs[name], "application/octet-stream")
        finally:
            with fake.cond:
                fake.in_flight -= 1
                fake.done += 1
                fake.cond.notify_all()


@pytest.fixture
def hostile() -> Iterator[HostileIndex]:
    fake = HostileIndex(GOOD + HOSTILE)
    yield fake
    fake.server.stop()


def listed(fake: HostileIndex) -> tuple[Index, dict[str, DistFile]]:
    index = open_index(fake.url, kind="pypiserver")
    files = read_project_page(index.session, index.simple_url, PKG)
    return index, {f.filename: f for f in files}


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_the_hostile_page_really_lists_those_names(hostile: HostileIndex) -> None:
    _, files = listed(hostile)
    assert set(files) == set(GOOD + HOSTILE)


@pytest.mark.parametrize("name", HOSTILE)
def test_download_refuses_a_name_that_is_not_a_plain_basename(
    hostile: HostileIndex, tmp_path: Path, name: str
) -> None:
    index, files = listed(hostile)
    dest = tmp_path / "a" / "b" / "backup"
    with pytest.raises(BadInput, match="not a plain file name") as exc:
        index.download(files[name], dest)
    assert exc.value.exit_code == 2
    assert hostile.file_requests == []
    assert tree(tmp_path) == []  # nothing written anywhere, not even the backup directory


def test_download_refuses_a_target_that_resolves_outside(
    hostile: HostileIndex, tmp_path: Path
) -> None:
    index, files = listed(hostile)
    dest = tmp_path / "backup"
    dest.mkdir()
    outside = tmp_path / "outside.tar.gz"
    (dest / "pkg-1.1.0.tar.gz").symlink_to(outside)  # planted by someone else
    with pytest.raises(BadInput, match="outside"):
        index.download(files["pkg-1.1.0.tar.gz"], dest)
    assert not outside.exists()
    assert hostile.file_requests == []


def test_download_all_refuses_everything_before_downloading_anything(
    hostile: HostileIndex, tmp_path: Path
) -> None:
    index, files = listed(hostile)
    dest = tmp_path / "backup"
    chosen = [files[n] for n in GOOD] + [files["../../pkg-1.1.0.tar.gz"]]
    with pytest.raises(BadInput, match="not a plain file name"):
        index.download_all(PKG, VERSION, chosen, dest)
    assert hostile.file_requests == []
    assert tree(tmp_path) == []


@pytest.mark.parametrize(
    ("package", "version"), [("other-pkg", VERSION), (PKG, "1.0.0"), (PKG, "not a version")]
)
def test_download_all_refuses_another_projects_or_versions_file(
    hostile: HostileIndex, tmp_path: Path, package: str, version: str
) -> None:
    index, files = listed(hostile)
    with pytest.raises(BadInput, match="another project's or version's file"):
        index.download_all(package, version, [files[GOOD[0]]], tmp_path / "b")
    assert hostile.file_requests == []


def test_download_all_fetches_four_at_a_time_each_checked(
    hostile: HostileIndex, tmp_path: Path
) -> None:
    index, files = listed(hostile)
    hostile.hold_until = 4  # each answer waits (bounded) until four are being served
    hostile.expected = len(GOOD)
    dest = tmp_path / "backup"
    got = index.download_all(PKG, VERSION, [files[n] for n in GOOD], dest)
    assert set(got) == set(GOOD)
    for name, path in got.items():
        assert path == (dest / name).resolve()
        assert path.read_bytes() == hostile.blobs[name]
    assert hostile.most_in_flight == 4
    assert sorted(hostile.file_requests) == sorted(GOOD)
    assert tree(dest) == sorted(GOOD)  # no partial files left


def test_a_tampered_file_is_not_kept(hostile: HostileIndex, tmp_path: Path) -> None:
    index, files = listed(hostile)
    hostile.blobs[GOOD[0]] = b"swapped after the page was read"
    with pytest.raises(ServiceError, match="does not match"):
        index.download_all(PKG, VERSION, [files[GOOD[0]]], tmp_path / "b")
    assert tree(tmp_path / "b") == []


def test_a_disk_error_is_wrong_set_up_not_an_unreachable_service(
    hostile: HostileIndex, tmp_path: Path, mocker: MockerFixture
) -> None:
    index, files = listed(hostile)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the backup directory should be")
    with pytest.raises(BadInput, match=r"cannot write the backup to .*not-a-dir") as exc:
        index.download(files[GOOD[0]], blocker / "backup")
    assert exc.value.exit_code == 2
    assert "cannot reach" not in str(exc.value)

    full = OSError(errno.ENOSPC, "No space left on device")
    real_open = Path.open

    def no_space(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "w" in mode:
            raise full
        return real_open(self, mode, *args, **kwargs)

    mocker.patch.object(Path, "open", no_space)
    with pytest.raises(BadInput, match="No space left on device"):
        index.download(files[GOOD[0]], tmp_path / "b")
    assert tree(tmp_path / "b") == []


def test_an_unreachable_index_is_one_line_without_credentials(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = sock.getsockname()[1]
        index = open_index(f"http://127.0.0.1:{port}/", kind="pypiserver", auth=("u", "pw-9876"))
        dist = DistFile(GOOD[0], f"http://u:pw-9876@127.0.0.1:{port}/files/x?token=t0k")
        with pytest.raises(ServiceError) as exc:
            index.download(dist, tmp_path / "b")
        with pytest.raises(ServiceError) as read:
            index.releases(PKG)
    for err in (exc.value, read.value):
        assert str(err) == f"cannot reach 127.0.0.1:{port}: connection refused"
        assert err.exit_code == 1


def test_a_file_on_another_origin_gets_no_index_credentials(tmp_path: Path) -> None:
    elsewhere = HostileIndex(GOOD)
    seen: list[dict[str, str]] = []
    real = _Handler.do_GET

    def spy(self: _Handler) -> None:
        seen.append(dict(self.headers))
        real(self)

    elsewhere_handler = elsewhere.server._server.RequestHandlerClass
    elsewhere_handler.do_GET = spy  # type: ignore[method-assign]
    try:
        index = open_index("http://127.0.0.1:9/", kind="pypiserver", auth=("rel", "pw-2468"))
        index.session.headers["X-Devpi-Auth"] = "token-1357"
        name = GOOD[0]
        dist = DistFile(name, f"{elsewhere.url}files/{name}", sha256=elsewhere.sha(name))
        got = index.download(dist, tmp_path / "b")
    finally:
        elsewhere.server.stop()
    assert got.read_bytes() == elsewhere.blobs[name]
    assert len(seen) == 1
    assert "Authorization" not in seen[0] and "X-Devpi-Auth" not in seen[0]
    assert index.session.auth == ("rel", "pw-2468")  # the session itself keeps them
