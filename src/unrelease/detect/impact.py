"""Impact: downloads from pypistats.org, when it answers within 3 s in all (connecting and
reading together: a server trickling its answer does not hold the rollback); otherwise
"unknown".

pypistats counts pypi.org downloads per project and day (mirrors excluded), not per version:
the figure is the project's downloads from the day the bad version was uploaded, which bounds
the bad version's own from above, and the text says so. TestPyPI and other indexes have no
such figures. The base URL comes from ``UNRELEASE_PYPISTATS_URL`` (tests point it at a fake).
"""

from __future__ import annotations

import os
import threading
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from packaging.utils import canonicalize_name

from unrelease.http import USER_AGENT
from unrelease.model import Impact

PYPISTATS_URL = "https://pypistats.org/api"
TIMEOUT_S = 3.0
RECENT_DAYS = 7
_PYPI_HOSTS = ("pypi.org", "upload.pypi.org", "pypi.python.org")
_TESTPYPI_HOSTS = ("test.pypi.org", "test.pypi.python.org")


def index_family(index: str) -> str:
    """``pypi``, ``testpypi`` or ``other`` for an ``--index`` value (a name or a URL)."""
    value = index.strip().lower()
    if value in ("pypi", "testpypi"):
        return value
    host = (urlsplit(value).hostname or "").lower()
    if host in _PYPI_HOSTS:
        return "pypi"
    if host in _TESTPYPI_HOSTS:
        return "testpypi"
    return "other"


def unknown(why: str) -> Impact:
    return Impact(known=False, detail=f"unknown ({why})")


class PypiStats:
    """Download figures for one or more versions; one request per project, then cached."""

    def __init__(self, base_url: str | None = None, timeout: float = TIMEOUT_S) -> None:
        base = base_url or os.environ.get("UNRELEASE_PYPISTATS_URL") or PYPISTATS_URL
        self.base_url = base.rstrip("/")
        self.timeout = timeout
        self._cache: dict[str, list[tuple[date, int]] | str] = {}
        self._lock = threading.Lock()  # one request per project, even from several threads

    def _series(self, project: str) -> list[tuple[date, int]] | str:
        """Daily downloads without mirrors, or why there are none."""
        with self._lock:
            return self._fetch(project)

    def _fetch(self, project: str) -> list[tuple[date, int]] | str:
        if project in self._cache:
            return self._cache[project]
        # requests' timeout bounds each phase (connect, each read), not the whole: the request
        # runs in a daemon thread and is given up on after TIMEOUT in all.
        answer: list[list[tuple[date, int]] | str] = []
        worker = threading.Thread(target=lambda: answer.append(self._get(project)), daemon=True)
        worker.start()
        worker.join(self.timeout)
        result = answer[0] if answer else f"pypistats did not answer within {self.timeout:g} s"
        self._cache[project] = result
        return result

    def _get(self, project: str) -> list[tuple[date, int]] | str:
        url = f"{self.base_url}/packages/{quote(project)}/overall"
        try:
            resp = requests.get(
                url,
                params={"mirrors": "false"},
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                timeout=self.timeout + 1,  # each phase; the join in _fetch bounds the whole
            )
        except requests.RequestException as exc:
            return f"pypistats unreachable: {type(exc).__name__}"
        return _parse(resp, project)

    def impact(
        self, package: str, version: str, index: str, upload_date: date | None = None
    ) -> Impact:
        family = index_family(index)
        if family == "testpypi":
            return unknown("pypistats counts pypi.org downloads only, not TestPyPI")
        if family != "pypi":
            return unknown("not PyPI")
        project = canonicalize_name(package)
        series = self._series(project)
        if isinstance(series, str):
            return unknown(series)
        if not series:
            return unknown(f"pypistats has no figures for {project}")
        end = max(d for d, _ in series)
        share = f"{version}'s share is at most that: pypistats has no per-version figures"
        if upload_date is None:
            start = end - timedelta(days=RECENT_DAYS - 1)
            total = sum(n for d, n in series if d >= start)
            return Impact(
                known=True,
                downloads=total,
                source="pypistats",
                detail=f"{total:,} downloads of {project} (all versions) in the {RECENT_DAYS} "
                f"days to {end.isoformat()}, per pypistats; {share}",
            )
        if end < upload_date:
            return unknown(
                f"pypistats has no figures since the upload on {upload_date.isoformat()} yet; "
                "it updates once a day"
            )
        # pypistats keeps about 180 days: an older upload is counted from its first day
        first = min(d for d, _ in series)
        start = max(upload_date, first)
        total = sum(n for d, n in series if d >= start)
        window = (
            f" (its figures start on {first.isoformat()}; the upload was on "
            f"{upload_date.isoformat()})"
            if start > upload_date
            else ""
        )
        return Impact(
            known=True,
            downloads=total,
            source="pypistats",
            detail=f"{total:,} downloads of {project} (all versions) from "
            f"{start.isoformat()} to {end.isoformat()}, per pypistats{window}; {share}",
        )


def _parse(resp: requests.Response, project: str) -> list[tuple[date, int]] | str:
    if resp.status_code == 404:
        return f"pypistats has no figures for {project}"
    if resp.status_code != 200:
        return f"pypistats answered HTTP {resp.status_code}"
    try:
        rows: Any = resp.json().get("data")
        if not isinstance(rows, list):
            raise ValueError("no data list")
        out = []
        for row in rows:
            if row.get("category", "without_mirrors") != "without_mirrors":
                continue
            downloads = row["downloads"]
            if not isinstance(downloads, int) or isinstance(downloads, bool) or downloads < 0:
                raise ValueError("bad count")
            out.append((date.fromisoformat(str(row["date"])), downloads))
    except (ValueError, TypeError, KeyError, AttributeError):
        return "pypistats answered something unreadable"
    return out
