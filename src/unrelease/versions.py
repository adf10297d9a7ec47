"""Choosing the rollback target and the versions to withdraw, with packaging's ordering."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from unrelease.errors import BadInput, Refused
from unrelease.model import Release


def parse_version(text: str, *, what: str = "version") -> Version:
    """A PEP 440 version, or a one-line BadInput. One form at the edge: a leading ``v`` is
    accepted and dropped; surrounding whitespace or any control character is refused (it
    would make a second identity of one release)."""
    if not isinstance(text, str) or not text:
        raise BadInput(f"not a valid {what}: {text!r} (expected a PEP 440 version)")
    if text != text.strip() or any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in text):
        raise BadInput(f"not a valid {what}: {text!r} (whitespace or control characters)")
    if not text.isascii():
        raise BadInput(f"not a valid {what}: {text!r} (only ASCII)")
    try:
        return Version(text[1:] if text[:1] in "vV" and text[1:2].isdigit() else text)
    except InvalidVersion:
        raise BadInput(f"not a valid {what}: {text!r} (expected a PEP 440 version)") from None


def canonical_version(text: str, releases: Iterable[Release] = (), *, what: str = "version") -> str:
    """The one form of TEXT used everywhere: the index's own spelling when the index has that
    version (PyPI compares confirmations exactly), else packaging's normal form."""
    version = parse_version(text, what=what)
    rel = find_release(releases, version)
    return rel.version if rel is not None else str(version)


def check_package_name(name: str) -> str:
    """The canonical (PEP 503) form of a valid project name, or a one-line BadInput."""
    if not isinstance(name, str) or name != name.strip() or not name.isascii():
        raise BadInput(f"not a valid package name: {name!r}")
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
    """Releases to withdraw, newest first: every release (final or pre-release) strictly above
    the target up to and including BAD, as the index lists it now. Never read from a record:
    a record cannot widen a rollback."""
    out = [r for r in releases if target < Version(r.version) <= bad]
    return sorted(out, key=lambda r: Version(r.version), reverse=True)


def latest_stable(releases: Iterable[Release]) -> Release | None:
    """The newest final, non-yanked release."""
    stable = [
        r for r in releases if not Version(r.version).is_prerelease and not r.yanked and r.files
    ]
    return max(stable, key=lambda r: Version(r.version)) if stable else None
