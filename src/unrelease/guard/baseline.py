"""The baseline: the release a guard compares with, and what a shared failure means.

A check that fails on the baseline too says something about the environment (an interpreter,
a missing index mirror, a smoke command), not about the release: it is inconclusive.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.version import Version

from unrelease.errors import BadInput, Refused
from unrelease.guard.report import Check
from unrelease.model import Release
from unrelease.versions import choose_target, find_release, parse_version


def choose_baseline(
    releases: Sequence[Release], version: Version, explicit: str | None
) -> Release | None:
    """--baseline when given (it must be on the index); else the newest final, non-yanked
    release older than VERSION (the rollback's default target); None when there is none."""
    if explicit is not None:
        wanted = parse_version(explicit, what="--baseline version")
        if wanted == version:
            raise BadInput("--baseline must be another version than the one guarded")
        rel = find_release(releases, wanted)
        if rel is None or not rel.files:
            raise BadInput(f"--baseline {explicit} is not on the index")
        return rel
    try:
        return choose_target(releases, version)
    except Refused:  # nothing final, unyanked and older than VERSION: no baseline
        return None


def _key(checks: list[Check]) -> dict[tuple[str, str | None, int], Check]:
    seen: dict[tuple[str, str | None], int] = {}
    out = {}
    for c in checks:
        n = seen.get((c.name, c.python), 0)
        seen[(c.name, c.python)] = n + 1
        out[(c.name, c.python, n)] = c
    return out


def excuse(current: list[Check], baseline: list[Check], baseline_version: str) -> list[Check]:
    """CURRENT, with each failure that BASELINE shares turned inconclusive."""
    base = _key(baseline)
    out = []
    for key, c in _key(current).items():
        twin = base.get(key)
        if c.status == "fail" and twin is not None and twin.status == "fail":
            why = f"fails on {baseline_version} too: the environment, not the release"
            detail = f"{c.detail} ({why})"
            c = Check(c.name, c.python, "inconclusive", detail, c.evidence)
        out.append(c)
    return out
