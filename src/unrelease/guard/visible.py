"""Visible first: wait, bounded and with backoff, until a version is on the index's simple API
and its files download. Until then a guard knows nothing, so its verdict is inconclusive.

Indexes take a while to show a new upload (PyPI's CDN, a devpi replica), and twine uploads a
release's files one by one: the wait also lasts, within the bound, until every expected file
is there, so a publish still in flight is not taken for a partial one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests
from packaging.version import Version

from unrelease.clock import Clock
from unrelease.errors import AuthError, NotFound, ServiceError
from unrelease.indexes.base import Index
from unrelease.model import Release
from unrelease.versions import find_release

FIRST_DELAY = 1.0
MAX_DELAY = 30.0


@dataclass
class Sighting:
    """What the wait saw last: the package's releases, VERSION's files downloaded, or why not."""

    index: Index | None = None
    releases: list[Release] = field(default_factory=list)
    release: Release | None = None
    downloaded: dict[str, Path] = field(default_factory=dict)  # filename -> local copy
    why: str = ""  # why VERSION is not (fully) visible; empty when it is
    polls: int = 0

    @property
    def visible(self) -> bool:
        return self.release is not None and bool(self.downloaded) and not self.why


def _problem(exc: Exception) -> str:
    if isinstance(exc, NotFound):
        return "the package is not on the index yet"
    if isinstance(exc, requests.RequestException | OSError):
        return f"the index did not answer ({type(exc).__name__})"
    return str(exc)


def look(
    index: Index, package: str, version: Version, dest: Path, have: dict[str, Path]
) -> Sighting:
    """One poll: VERSION's release on the simple API and each of its files downloaded (files
    downloaded by an earlier poll, in HAVE, are not fetched again)."""
    seen = Sighting(index=index, downloaded=dict(have))
    try:
        seen.releases = index.releases(package)
    except (NotFound, ServiceError, requests.RequestException, OSError) as exc:
        seen.why = _problem(exc)
        return seen
    seen.release = find_release(seen.releases, version)
    if seen.release is None or not seen.release.files:
        seen.why = f"{package} {version} is not listed on the index yet"
        return seen
    for f in seen.release.files:
        if f.filename in seen.downloaded:
            continue
        try:
            seen.downloaded[f.filename] = index.download(f, dest)
        except (ServiceError, requests.RequestException, OSError) as exc:
            seen.why = f"{f.filename} is listed but does not download: {_problem(exc)}"
            return seen
    return seen


def wait_visible(
    open_index: Callable[[], Index],
    package: str,
    version: Version,
    *,
    wait: float,
    clock: Clock,
    dest: Path | None = None,
    complete: Callable[[Sighting], bool] = lambda s: True,
) -> Sighting:
    """Poll until VERSION is visible and COMPLETE holds, or WAIT seconds have passed (backoff
    from 1 s, doubling, at most 30 s between polls). OPEN_INDEX is asked again after an index
    that could not be reached. AuthError is raised: waiting does not fix credentials."""
    dest = dest or Path(tempfile.mkdtemp(prefix="unrelease-guard-files-"))
    deadline = clock.time() + max(wait, 0)
    delay = FIRST_DELAY
    index: Index | None = None
    seen = Sighting()
    polls = 0
    while True:
        polls += 1
        try:
            index = index or open_index()
        except AuthError:
            raise
        except (ServiceError, requests.RequestException, OSError) as exc:
            seen = Sighting(why=_problem(exc), downloaded=seen.downloaded)
        else:
            seen = look(index, package, version, dest, seen.downloaded)
        seen.polls = polls
        if seen.visible and complete(seen):
            return seen
        left = deadline - clock.time()
        if left <= 0:
            return seen
        clock.sleep(min(delay, left))
        delay = min(delay * 2, MAX_DELAY)
