"""One HTTP session factory: User-Agent, timeouts, retries on reads only."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from unrelease import __version__

USER_AGENT = f"unrelease/{__version__} (+https://github.com/unrelease/unrelease)"
DEFAULT_TIMEOUT = 30.0


class _TimeoutAdapter(HTTPAdapter):
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = DEFAULT_TIMEOUT
        return super().send(request, **kwargs)


def make_session(auth: tuple[str, str] | None = None) -> requests.Session:
    """A session for one service. Reads are retried on 5xx and connection errors; writes never
    are (a write is retried only by a rerun that first checks it did not happen)."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    retry = Retry(
        total=3,
        backoff_factor=0.2,
        status_forcelist=(502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
    )
    adapter = _TimeoutAdapter(max_retries=retry, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if auth is not None:
        session.auth = auth
    return session
