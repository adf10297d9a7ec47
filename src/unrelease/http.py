"""One HTTP session factory: User-Agent, timeouts, retries on reads only, one-line failures."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from unrelease import __version__
from unrelease.errors import ServiceError

USER_AGENT = f"unrelease/{__version__} (+https://github.com/unrelease/unrelease)"
DEFAULT_TIMEOUT = 30.0

# urllib3 logs "Retrying (Retry(...)) after connection broken by ...: /path?query" at WARNING
# for each retried read: URL fragments on the console. A failure is reported once, by us.
for _name in ("urllib3.connectionpool", "urllib3.util.retry"):
    logging.getLogger(_name).setLevel(logging.ERROR)


class Unreachable(ServiceError, requests.RequestException):
    """A service did not answer (exit 1, a rerun resumes). Still a ``requests`` error, for the
    callers that catch those."""


def where(url: str | None) -> str:
    """``host:port`` (or ``host``) of URL: never its path, query or credentials."""
    try:
        parts = urlsplit(url or "")
        host, port = parts.hostname, parts.port
    except ValueError:
        return "a service"
    if not host:
        return "a service"
    return f"{host}:{port}" if port else host


def why(exc: BaseException) -> str:
    """A few words for a network failure (no URL, no credentials)."""
    text = str(exc)
    low = text.lower()
    if "NameResolution" in text or "name or service not known" in low:
        return "its name does not resolve"
    if "refused" in low:
        return "connection refused"
    if isinstance(exc, requests.Timeout) or "timed out" in low:
        return "no answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS failed"
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects"
    if "RemoteDisconnected" in text or "reset by peer" in low or "aborted" in low:
        return "connection closed by the server"
    return type(exc).__name__


def unreachable(exc: requests.RequestException, url: str | None = None) -> Unreachable:
    """Our one-line error for a ``requests`` failure: ``cannot reach HOST:PORT: why``."""
    request = getattr(exc, "request", None)
    target = url or getattr(request, "url", None)
    return Unreachable(f"cannot reach {where(target)}: {why(exc)}")


MAX_RETRY_AFTER_S = 10.0  # a read waits at most this long for one Retry-After


class _BoundedRetry(Retry):
    """Retry-After is honoured, up to MAX_RETRY_AFTER_S: a 503 asking for an hour must not
    hold a 3 a.m. rollback for an hour (the read then fails, and a rerun resumes)."""

    def get_retry_after(self, response: Any) -> float | None:
        after = super().get_retry_after(response)
        return None if after is None else min(after, MAX_RETRY_AFTER_S)


class _TimeoutAdapter(HTTPAdapter):
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = DEFAULT_TIMEOUT
        return super().send(request, **kwargs)


class _Session(requests.Session):
    """A ``requests`` session whose failures to reach the service are ``Unreachable``."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().request(method, url, *args, **kwargs)
        except Unreachable:
            raise
        except requests.RequestException as exc:
            shown = url.decode("utf-8", "replace") if isinstance(url, bytes) else url
            raise unreachable(exc, shown) from None


def make_session(auth: tuple[str, str] | None = None) -> requests.Session:
    """A session for one service. Reads are retried on 5xx and connection errors; writes never
    are (a write is retried only by a rerun that first checks it did not happen). A failure to
    reach the service raises ``Unreachable`` (a ServiceError) naming only host and port."""
    session = _Session()
    session.headers["User-Agent"] = USER_AGENT
    retry = _BoundedRetry(
        total=3,
        backoff_factor=0.2,
        status_forcelist=(502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    adapter = _TimeoutAdapter(max_retries=retry, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if auth is not None:
        session.auth = auth
    return session
