"""How unrelease talks HTTP to GitHub: the API URL it accepts and the retries it allows.

Every GitHub base URL (github.com, Enterprise, the tests' fake) gets the same bounded retries:
reads (GET, HEAD and the read-only GraphQL POST) are retried on 5xx, 429 and rate-limit 403s
(honouring ``Retry-After``) and on connection resets and timeouts; writes are never retried at
the HTTP level, since GitHub may have applied them. All waits of one request together stay
under a bound: a ``Retry-After`` beyond it fails at once, saying when to retry.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from urllib3.exceptions import MaxRetryError, NewConnectionError, ResponseError
from urllib3.util.retry import Retry

from unrelease import secrets
from unrelease.errors import BadInput

MAX_WAIT_S = 60.0  # all retry waits of one request together
MAX_RETRIES = 4
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_READS = frozenset({"GET", "HEAD"})
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")
REPO_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


class RetryLater(Exception):
    """GitHub asked for a wait longer than the bound: carries how long, and until when."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
        self.until = until.strftime("%H:%M:%S UTC")
        super().__init__(f"GitHub asks to wait {seconds:.0f} s: retry after {self.until}")


def clean_api_url(url: str) -> str:
    """URL without credentials, checked. A ``user:password@`` part (``x-access-token:TOKEN``)
    is removed and the password registered as a secret, so it is never printed or stored."""
    if _CONTROL.search(url):
        raise BadInput("the GitHub API URL holds whitespace or control characters")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        secrets.register(parts.password)
        raise BadInput(f"not a valid GitHub API URL: {_without_userinfo(parts)!r}")
    if parts.username is not None or parts.password is not None:
        secrets.register(parts.password)
        secrets.register(urllib.parse.unquote(parts.password or ""))
        if parts.username and parts.username != "x-access-token" and not parts.password:
            secrets.register(parts.username)  # a token passed as the user name
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    return urllib.parse.urlunsplit(parts).rstrip("/")


def url_password(url: str) -> str | None:
    """The password (or lone user name: a token) in URL's userinfo, if any."""
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        return urllib.parse.unquote(parts.password)
    if parts.username and parts.username != "x-access-token":
        return urllib.parse.unquote(parts.username)
    return None


def _without_userinfo(parts: urllib.parse.SplitResult) -> str:
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def check_repo_name(repo: str) -> None:
    if not REPO_NAME.fullmatch(repo) or repo.partition("/")[2] in (".", ".."):
        raise BadInput(f"--repo must look like OWNER/NAME, not {repo[:120]!r}")


def _is_graphql(url: str | None) -> bool:
    return bool(url) and urllib.parse.urlsplit(str(url)).path.rstrip("/").endswith("/graphql")


class BoundedRetry(Retry):
    """urllib3 retries for GitHub: reads only, Retry-After honoured, total wait bounded,
    the sleep injectable (tests never wait on the wall clock)."""

    def __init__(
        self,
        *args: Any,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_WAIT_S,
        waited: float = 0.0,
        **kw: Any,
    ) -> None:
        kw.setdefault("total", MAX_RETRIES)
        kw.setdefault("status_forcelist", RETRY_STATUSES)
        kw.setdefault("allowed_methods", frozenset({"GET", "HEAD", "POST"}))
        kw.setdefault("backoff_factor", 0.5)
        kw.setdefault("raise_on_status", False)
        kw.setdefault("redirect", False)
        super().__init__(*args, **kw)
        self._sleep_fn = sleep
        self.max_wait = max_wait
        self.waited = waited

    def new(self, **kw: Any) -> BoundedRetry:
        kw.setdefault("sleep", self._sleep_fn)
        kw.setdefault("max_wait", self.max_wait)
        kw.setdefault("waited", self.waited)
        made: BoundedRetry = super().new(**kw)
        return made

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 403:  # a rate limit, primary or secondary, says when to come back
            return bool(has_retry_after and self.total)
        return super().is_retry(method, status_code, has_retry_after)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> BoundedRetry:
        if isinstance(error, NewConnectionError):  # refused, or no such host: nobody there
            raise MaxRetryError(_pool, url or "", error) from error
        verb = (method or "").upper()
        write = verb not in _READS and not (verb == "POST" and _is_graphql(url))
        # A write: GitHub may have applied it. Only a failed connect is safe to redo.
        if write and (error is None or not self._is_connection_error(error)):
            if error is not None:
                raise error
            raise MaxRetryError(_pool, url or "", ResponseError("a write is not retried"))
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and self.waited + wait > self.max_wait:
                raise RetryLater(wait)
        made: BoundedRetry = super().increment(
            "GET" if verb == "POST" else method, url, response, error, _pool, _stacktrace
        )
        return made

    def sleep(self, response: Any = None) -> None:
        wait = self.get_retry_after(response) if response is not None else None
        if wait is None:
            wait = self.get_backoff_time()
        if self.waited + wait > self.max_wait:
            raise RetryLater(wait)
        if wait > 0:
            self._sleep_fn(wait)
        self.waited += wait
