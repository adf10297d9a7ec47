"""Choosing the rollback target and the versions to withdraw, with packaging's ordering."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from unrelease.errors import BadInput, Refused
from unrelease.model import Release


def parse_version(text: str, *, what: str = "version") -> Version:
    """A PEP 440 version, or a one-line BadInput."""
    try:
        return Version(text)
    except (InvalidVersion, TypeError):
        raise BadInput(f"not a valid {what}: {text!r} (expected a PEP 440 version)") from None


def check_package_name(name: str) -> str:
    """The canonical (PEP 503) form of a valid project name, or a one-line BadInput."""
    try:
        canonical = canonicalize_name(name, validate=True)
    except InvalidName:
        raise BadInput(f"not a valid package name: {name!r}") from None
    return canonical


def find_release(releases: Iterable[Release], version: Version) -> Release | None:
    for rel in releases:
        if Version(rel.version) == version:
            return rel
    return None


def choose_target(
    releases: Sequence[Release], bad: Version, explicit: Version | None = None
) -> Release:
    """The version users should go back to.

    ``--to`` when given (it must exist and be older than BAD); else the newest final,
    non-yanked release older than BAD. Pre- and dev releases are never a default target.
    """
    if explicit is not None:
        if explicit >= bad:
            raise Refused(f"target {explicit} is not older than {bad}")
        rel = find_release(releases, explicit)
        if rel is None:
            raise BadInput(f"target version {explicit} is not on the index")
        if rel.yanked:
            raise Refused(
                f"target version {explicit} is yanked; choose a version users can install"
            )
        return rel
    candidates = [
        r
        for r in releases
        if Version(r.version) < bad
        and not Version(r.version).is_prerelease
        and not r.yanked
        and r.files
    ]
    if not candidates:
        raise Refused(f"no release older than {bad} to roll back to (final and not yanked)")
    return max(candidates, key=lambda r: Version(r.version))


def to_withdraw(releases: Sequence[Release], bad: Version, target: Version) -> list[Release]:
    """Releases to withdraw, newest first: BAD itself and every final release above the target
    and below BAD that users could still get (incremental rollback with an older ``--to``)."""
    out = []
    for rel in releases:
        v = Version(rel.version)
        if v == bad or (target < v < bad and not v.is_prerelease and not rel.yanked):
            out.append(rel)
    return sorted(out, key=lambda r: Version(r.version), reverse=True)


def latest_stable(releases: Iterable[Release]) -> Release | None:
    """The newest final, non-yanked release."""
    stable = [
        r for r in releases if not Version(r.version).is_prerelease and not r.yanked and r.files
    ]
    return max(stable, key=lambda r: Version(r.version)) if stable else None
