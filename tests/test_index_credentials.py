"""Credentials never stay in an index URL (it is recorded and printed), and urllib3 prints no
URL fragments while it retries a read."""

from __future__ import annotations

import logging
import socket

import pytest

from unrelease import secrets
from unrelease.errors import ServiceError
from unrelease.http import make_session
from unrelease.indexes import PypiserverIndex, open_index


def test_open_index_moves_url_credentials_to_the_session() -> None:
    index = open_index("http://rel:pa%2Fss%40w0rd-1@127.0.0.1:9/rel/dev", kind="devpi")
    assert index.url == "http://127.0.0.1:9/rel/dev/"
    assert index.credentials == ("rel", "pa/ss@w0rd-1")  # devpi logs in with them once
    assert "pa/ss@w0rd-1" in secrets.known()
    assert "pa/ss@w0rd-1" not in secrets.redact("password: pa/ss@w0rd-1")


def test_given_credentials_win_and_the_url_password_is_still_secret() -> None:
    index = open_index(
        "http://someone:url-pass-77@127.0.0.1:9/", kind="pypiserver", auth=("rel", "env-pass-1")
    )
    assert index.url == "http://127.0.0.1:9/"
    assert index.session.auth == ("rel", "env-pass-1")
    assert "url-pass-77" in secrets.known()


def test_an_adapter_built_directly_strips_the_url_too() -> None:
    index = PypiserverIndex("https://u:direct-pass-3@example.test:8443/", make_session())
    assert index.url == "https://example.test:8443/"
    assert index.session.auth == ("u", "direct-pass-3")
    assert "direct-pass-3" in secrets.known()
    kept = PypiserverIndex("https://u:other-pass-4@example.test/", make_session(("a", "b")))
    assert kept.session.auth == ("a", "b")
    assert kept.url == "https://example.test/"


def test_retried_reads_leave_no_urllib3_warnings(caplog: pytest.LogCaptureFixture) -> None:
    assert logging.getLogger("urllib3.connectionpool").getEffectiveLevel() >= logging.ERROR
    assert logging.getLogger("urllib3.util.retry").getEffectiveLevel() >= logging.ERROR
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = sock.getsockname()[1]
        session = make_session(("u", "pw-5555"))
        with caplog.at_level(logging.DEBUG), pytest.raises(ServiceError) as exc:
            session.get(f"http://127.0.0.1:{port}/simple/pkg/?token=abc")
    assert str(exc.value) == f"cannot reach 127.0.0.1:{port}: connection refused"
    assert [r for r in caplog.records if r.name.startswith("urllib3")] == []


def test_a_long_retry_after_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from http.server import BaseHTTPRequestHandler

    from tests.fakes.loopback import LoopbackServer
    from unrelease import http

    answers = [503, 200]
    slept: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(answers.pop(0))
            self.send_header("Retry-After", "3600")
            self.send_header("Content-Length", "0")
            self.end_headers()

    monkeypatch.setattr(http, "MAX_RETRY_AFTER_S", 0.01)
    monkeypatch.setattr(
        http._BoundedRetry,
        "sleep_for_retry",
        lambda self, r: bool(slept.append(self.get_retry_after(r) or 0.0)),
    )
    server = LoopbackServer(Handler, object())
    try:
        resp = make_session().get(f"http://127.0.0.1:{server.port}/simple/pkg/")
    finally:
        server.stop()
    assert resp.status_code == 200
    assert slept == [0.01]
