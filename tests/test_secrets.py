"""Redaction: secrets from the environment and registered ones, URL credentials, log records."""

from __future__ import annotations

import json
import logging

import pytest

from unrelease import secrets


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No secret from the real environment or from other tests."""
    for name in secrets.SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(secrets, "_extra", set())
    return monkeypatch


@pytest.mark.parametrize("name", secrets.SECRET_ENV)
def test_env_secrets_are_redacted(isolated: pytest.MonkeyPatch, name: str) -> None:
    isolated.setenv(name, "s3cr3t-value")
    assert secrets.redact("got s3cr3t-value twice: s3cr3t-value.") == "got *** twice: ***."


def test_non_secret_env_is_kept(isolated: pytest.MonkeyPatch) -> None:
    isolated.setenv("UNRELEASE_INDEX_USERNAME", "rel-user")
    isolated.setenv("PYPI_USERNAME", "pypi-user")
    assert secrets.redact("rel-user pypi-user") == "rel-user pypi-user"


def test_registered_secrets_are_redacted() -> None:
    secrets.register("tok-ABCDEF")
    assert secrets.redact("Authorization: token tok-ABCDEF") == "Authorization: token ***"
    assert "tok-ABCDEF" in secrets.known()


@pytest.mark.parametrize("value", [None, "", "a", "abc"])
def test_short_values_are_not_registered(value: str | None) -> None:
    secrets.register(value)
    assert secrets.known() == []
    assert secrets.redact("a abc b") == "a abc b"


def test_short_env_values_are_ignored(isolated: pytest.MonkeyPatch) -> None:
    isolated.setenv("GITHUB_TOKEN", "x")
    assert secrets.known() == []
    assert secrets.redact("x marks the spot") == "x marks the spot"


def test_longest_secret_first(isolated: pytest.MonkeyPatch) -> None:
    isolated.setenv("GITHUB_TOKEN", "abcd")
    secrets.register("abcdefgh")
    assert secrets.known() == ["abcdefgh", "abcd"]
    assert secrets.redact("abcdefgh abcd") == "*** ***"


def test_secrets_with_regex_characters(isolated: pytest.MonkeyPatch) -> None:
    isolated.setenv("PYPI_PASSWORD", "a.b*c(d)[e]\\f$")
    assert secrets.redact("pw=a.b*c(d)[e]\\f$ end") == "pw=*** end"
    assert secrets.redact("pw=aXbbbc(d)[e]\\f$") == "pw=aXbbbc(d)[e]\\f$"


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("https://user:pw@host.example/simple/", "https://host.example/simple/"),
        ("http://token@127.0.0.1:8080/", "http://127.0.0.1:8080/"),
        ("see git+https://u:p@github.com/o/r.git", "see git+https://github.com/o/r.git"),
        (
            "a http://a:b@h1/ and https://c:d@h2/x",
            "a http://h1/ and https://h2/x",
        ),
        ("mail me: user@example.com", "mail me: user@example.com"),
        ("https://host.example/a@b", "https://host.example/a@b"),
        ("https://alice:pa/ss@host.example/x", "https://host.example/x"),
        ("https://alice:p:a/s#s@host/", "https://host/"),
        ("no url here", "no url here"),
    ],
)
def test_url_userinfo_is_stripped(text: str, out: str) -> None:
    assert secrets.redact(text) == out


def test_registered_password_inside_url(isolated: pytest.MonkeyPatch) -> None:
    isolated.setenv("UNRELEASE_INDEX_PASSWORD", "p@ss-word")
    assert secrets.redact("GET https://rel:p@ss-word@h/simple/") == "GET https://h/simple/"


def test_unregistered_password_with_at_sign_in_url() -> None:
    out = secrets.redact("https://rel:p@ss-word@h/simple/")
    assert "ss-word" not in out


@pytest.mark.parametrize("value", ['pa"ss-1', "pa\\ss-2", "pässwörd"])
def test_secret_inside_json_output(isolated: pytest.MonkeyPatch, value: str) -> None:
    isolated.setenv("UNRELEASE_INDEX_PASSWORD", value)
    out = secrets.redact(json.dumps({"detail": f"login failed with {value}"}))
    assert value not in json.loads(out)["detail"]


# --- logging ------------------------------------------------------------------------------------
def test_redacting_filter_on_a_record(isolated: pytest.MonkeyPatch) -> None:
    isolated.setenv("GITHUB_TOKEN", "ghp_secret1234")
    record = logging.LogRecord(
        "unrelease",
        logging.WARNING,
        __file__,
        1,
        "token %s for %s",
        ("ghp_secret1234", "https://u:pw@h/"),
        None,
    )
    assert secrets.RedactingFilter().filter(record) is True
    assert record.msg == "token *** for https://h/"
    assert record.args is None
    assert record.getMessage() == "token *** for https://h/"


def test_redacting_filter_on_a_handler(isolated: pytest.MonkeyPatch) -> None:
    secrets.register("hunter2-long")
    lines: list[str] = []

    class ListHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = ListHandler()
    handler.addFilter(secrets.RedactingFilter())
    logger = logging.getLogger("unrelease.test-secrets")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.warning("password is %s", "hunter2-long")
        logger.warning("100%% done with %(what)s", {"what": "hunter2-long"})
    finally:
        logger.removeHandler(handler)
    assert lines == ["password is ***", "100% done with ***"]
