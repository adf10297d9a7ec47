"""Which version a release run was shipping, and how that was learned.

Sources, most trusted first:

- ``tag`` / ``release``: the run's ``head_branch``, which for a tag push or a release event is
  the tag name, matched against the tag format (``v{version}``);
- ``log``: the distribution files the failed job's log names (twine's lines);
- ``index``: files of exactly one version uploaded to the index inside the run's time window;
- ``display_title``: a version in the run's title, **unverified** (anyone who can push a commit
  or start the workflow chooses that text), used only when nothing else names a version.

Every candidate must parse as a PEP 440 version (``packaging``); text that does not is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from packaging.version import InvalidVersion, Version

from unrelease.detect.logs import Artifact
from unrelease.errors import Refused
from unrelease.model import Release, RunInfo, TagInfo

ORDER = ("tag", "release", "log", "index", "display_title")
WINDOW_BEFORE = timedelta(minutes=2)
WINDOW_AFTER = timedelta(minutes=10)  # an index may stamp the upload after the run ended
_TITLE_TOKEN = re.compile(r"[^\s()\[\]{},;:'\"`]+")


def valid(text: str | None) -> str | None:
    """TEXT as a normalised PEP 440 version, or None (a version needs a dot: '2' is no tag)."""
    if not text or "." not in text or len(text) > 64:
        return None
    try:
        return str(Version(text))
    except InvalidVersion:
        return None


def tag_regex(tag_format: str) -> re.Pattern[str]:
    before, _, after = tag_format.partition("{version}")
    return re.compile(re.escape(before) + r"(?P<version>.+)" + re.escape(after))


def from_ref(run: RunInfo, tag_format: str) -> tuple[str, str] | None:
    match = tag_regex(tag_format).fullmatch(run.head_branch or "")
    version = valid(match.group("version")) if match else None
    if version is None:
        return None
    return ("release" if run.event == "release" else "tag"), version


def from_title(title: str) -> str | None:
    versions = {v for token in _TITLE_TOKEN.findall(title) if (v := valid(token.lstrip("vV")))}
    return versions.pop() if len(versions) == 1 else None


def from_artifacts(found: Sequence[Artifact], package: str | None) -> str | None:
    versions = {a.version for a in found if package is None or a.name == package}
    return versions.pop() if len(versions) == 1 else None


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def from_index(run: RunInfo, releases: Sequence[Release]) -> str | None:
    start = parse_time(run.started_at or run.created_at)
    end = parse_time(run.updated_at) or start
    if start is None or end is None:
        return None
    lo, hi = start - WINDOW_BEFORE, end + WINDOW_AFTER
    versions = set()
    for rel in releases:
        for f in rel.files:
            when = parse_time(f.upload_time)
            if when is not None and when.tzinfo is not None and lo <= when <= hi:
                versions.add(rel.version)
    return valid(versions.pop()) if len(versions) == 1 else None


def evidence(
    run: RunInfo,
    tag_format: str,
    found: Sequence[Artifact],
    package: str | None,
    releases: Sequence[Release] | None,
) -> dict[str, str]:
    """Every source that names a version → that version."""
    out: dict[str, str] = {}
    ref = from_ref(run, tag_format)
    if ref:
        out[ref[0]] = ref[1]
    if (v := from_artifacts(found, package)) is not None:
        out["log"] = v
    if releases and (v := from_index(run, releases)) is not None:
        out["index"] = v
    if (v := from_title(run.display_title)) is not None:
        out["display_title"] = v
    return out


def choose(found: dict[str, str]) -> tuple[str | None, str | None]:
    """(version, source) from the most trusted source that named one."""
    for source in ORDER:
        if source in found:
            return found[source], source
    return None, None


def check_run_tag(
    resolve_tag: Callable[[str], TagInfo | None],
    run_id: int | None,
    tag: str | None,
    sha: str,
    repo: str,
) -> None:
    """Refuse (exit 2, nothing changed) unless TAG, the ref a failed run ran on, is a tag of
    REPO at the run's commit SHA. A branch can be named like a tag (``v1.1.0``): whoever can
    push a branch must not get a released version withdrawn by making a run on it fail."""
    info = resolve_tag(tag) if tag else None
    run = f"the failed run {run_id}"
    hint = "give the version explicitly if it must still be withdrawn"
    if info is None:
        raise Refused(
            f"{run} ran on {tag!r}, which is no tag of {repo} (a branch can carry a tag's "
            "name): nothing is rolled back",
            hint=hint,
        )
    if info.sha != sha:
        raise Refused(
            f"{run} ran on {tag!r}: it ran commit {sha[:12]}, but tag {tag} points at "
            f"{info.sha[:12]}: that run did not release {tag}; nothing is rolled back",
            hint=hint,
        )
