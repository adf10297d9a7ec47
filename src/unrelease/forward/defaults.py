"""``forward``'s defaults: ``--as`` is the next patch above the highest version ever published
(the index's versions, yanked ones included, and every version a rollback record names: a
deleted number can never be used again on PyPI); ``--from`` is the rollback target's tag from
the incident record, else the newest good release's tag."""

from __future__ import annotations

from collections.abc import Callable

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from unrelease.errors import NotFound, Refused
from unrelease.forges.base import Forge
from unrelease.indexes.base import Index
from unrelease.model import Record, Release
from unrelease.texts import find_record


def _releases(index: Index, package: str) -> list[Release]:
    try:
        return index.releases(package)
    except NotFound:
        return []


def records_of(forge: Forge, package: str, label: str) -> list[Record]:
    """Every rollback record of PACKAGE in the open issues labelled LABEL."""
    wanted = canonicalize_name(package)
    out = []
    for issue in forge.find_issues(label):
        record = find_record(issue.body)
        if record is not None and canonicalize_name(str(record.package)) == wanted:
            out.append(record)
    return out


def _versions(texts: list[str]) -> list[Version]:
    out = []
    for text in texts:
        try:
            out.append(Version(text))
        except InvalidVersion:
            continue
    return out


def next_version(index: Index, records: list[Record], package: str, bad: str) -> str:
    """The next patch above every version the index or the records have ever shown."""
    seen = [r.version for r in _releases(index, package)]
    for record in records:
        seen += [str(record.version), *map(str, record.withdrawn or [])]
    highest = max(_versions([*seen, bad]))
    major, minor, micro = (*highest.release, 0, 0)[:3]
    return f"{major}.{minor}.{micro + 1}"


def from_ref(
    index: Index,
    records: list[Record],
    package: str,
    bad: str,
    tag_format: str,
    notify: Callable[[str], None] = lambda text: None,
) -> str:
    """The rollback target's tag of BAD, else the newest good (final, unyanked) release's."""
    wanted = Version(bad)
    for record in records:
        try:
            same = Version(str(record.version)) == wanted
        except InvalidVersion:
            continue
        if same:
            return record.to_tag or tag_format.format(version=record.to)
    good = [
        v
        for r in _releases(index, package)
        for v in _versions([r.version])
        if not r.yanked and not v.is_prerelease and v < wanted
    ]
    if not good:
        raise Refused(f"no good release of {package} before {bad}: pass --from REF")
    return tag_format.format(version=str(max(good)))
