"""Plain data: releases and files as an index shows them, the plan, its steps and the record."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class DistFile:
    filename: str
    url: str
    sha256: str | None = None
    size: int | None = None
    upload_time: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Release:
    version: str
    files: tuple[DistFile, ...] = ()

    @property
    def yanked(self) -> bool:
        """PEP 592: a release is yanked when all of its files are."""
        return bool(self.files) and all(f.yanked for f in self.files)

    @property
    def yanked_reason(self) -> str | None:
        reasons = [f.yanked_reason for f in self.files if f.yanked and f.yanked_reason]
        return reasons[0] if reasons else None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "yanked": self.yanked,
            "yanked_reason": self.yanked_reason,
            "files": [f.to_json() for f in self.files],
        }


class Status(StrEnum):
    DONE = "done"
    ALREADY_DONE = "already-done"
    SKIPPED = "skipped"
    PENDING = "pending"
    FAILED = "failed"
    PLANNED = "planned"


def exit_code(steps: list[Step]) -> int:
    """The CLI's exit code for a run's steps: 1 when one failed (a rerun resumes), 3 when one
    waits on a person, else 0."""
    if any(s.status is Status.FAILED for s in steps):
        return 1
    if any(s.status is Status.PENDING for s in steps):
        return 3
    return 0


@dataclass
class Step:
    """One observe → apply → verify unit of a rollback."""

    name: str
    action: str
    status: Status = Status.PLANNED
    detail: str = ""
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "status": str(self.status), "detail": self.detail}
        if self.action:
            out["action"] = self.action
        if self.url:
            out["url"] = self.url
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(
            name=str(data["name"]),
            action=str(data.get("action", "")),
            status=Status(data.get("status", "planned")),
            detail=str(data.get("detail", "")),
            url=data.get("url"),
        )


@dataclass
class Record:
    """The audit trail of one rollback, kept as JSON inside the incident issue."""

    id: str
    package: str
    version: str
    to: str
    mode: str
    reason: str
    index: str
    severity: str
    who: str
    when: str
    withdrawn: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    backup: str | None = None
    run_url: str | None = None
    tag: str | None = None
    tag_sha: str | None = None
    issue_url: str | None = None
    release_note_url: str | None = None
    # What `undo` needs to put things back (absent in records written before it existed):
    to_tag: str | None = None  # the target's tag, whose release the rollback made Latest
    latest_before: str | None = None  # the tag of the release that was Latest before
    marked_before: dict[str, Any] | None = None  # tag, title, draft, prerelease before marking
    sha256s: dict[str, str] = field(default_factory=dict)  # backed-up filename -> sha256
    undone_at: str | None = None
    undone_by: str | None = None
    undo_steps: list[Step] = field(default_factory=list)
    root_cause: dict[str, Any] | None = None  # the failed release run's diagnosis (--run)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["steps"] = [s.to_json() for s in self.steps]
        data["undo_steps"] = [s.to_json() for s in self.undo_steps]
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known and k not in _STEP_LISTS}
        rec = cls(**kwargs)
        rec.steps = [Step.from_json(s) for s in data.get("steps", [])]
        rec.undo_steps = [Step.from_json(s) for s in data.get("undo_steps") or []]
        return rec


_STEP_LISTS = ("steps", "undo_steps")


@dataclass(frozen=True)
class TagInfo:
    name: str
    sha: str  # the commit the tag resolves to
    annotated: bool = False
    message: str | None = None


@dataclass(frozen=True)
class IssueInfo:
    number: int
    url: str
    body: str
    state: str = "open"
    labels: tuple[str, ...] = ()
    author: str | None = None  # the login that opened it (records are trusted by author)
    author_is_bot: bool = False  # opened by a GitHub App (e.g. github-actions[bot])


@dataclass(frozen=True)
class ReleaseNote:
    id: int | str
    tag: str
    title: str
    url: str
    body: str = ""
    draft: bool = False
    prerelease: bool = False


# --- workflow runs and their diagnosis (unrelease detect, rollback --run) ----------------------
@dataclass(frozen=True)
class WorkflowInfo:
    id: int
    name: str
    path: str  # .github/workflows/release.yml
    state: str = "active"

    @property
    def file(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class StepInfo:
    number: int
    name: str
    status: str
    conclusion: str | None


@dataclass(frozen=True)
class JobInfo:
    id: int
    name: str
    status: str
    conclusion: str | None
    url: str
    started_at: str | None = None
    completed_at: str | None = None
    steps: tuple[StepInfo, ...] = ()


@dataclass(frozen=True)
class RunInfo:
    """One workflow run as the REST API shows it (times in ISO 8601, UTC)."""

    id: int
    url: str  # html_url
    attempt: int
    event: str
    status: str
    conclusion: str | None
    head_branch: str | None
    head_sha: str
    display_title: str
    created_at: str
    run_number: int = 0
    started_at: str | None = None
    updated_at: str | None = None
    workflow: str = ""  # the workflow's name

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunInfo:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Reached:
    """What of a version is on the index: ``complete``, ``partial``, ``nothing`` or
    ``unknown`` (no package name, or the index could not be read)."""

    state: str
    files: tuple[str, ...] = ()  # on the index
    missing: tuple[str, ...] = ()  # expected but absent (file names, or "sdist" / "wheel")
    rule: str = ""  # how complete was judged
    detail: str = ""


@dataclass(frozen=True)
class Impact:
    """Downloads, from pypistats when it answered; never an invented figure."""

    known: bool
    detail: str  # the sentence the issue shows
    downloads: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class Diagnosis:
    """Why one release run failed, which version it was shipping and what reached the index."""

    run: RunInfo
    version: str | None
    version_source: str | None  # tag, release, log, index, display_title (unverified)
    evidence: dict[str, str]  # every source that named a version -> that version
    reached: Reached
    failure_class: str
    job: str | None = None
    job_url: str | None = None
    step: str | None = None
    excerpt: str = ""
    other_failed_jobs: tuple[str, ...] = ()
    note: str = ""  # e.g. why there is no excerpt
    package: str | None = None
    impact: Impact | None = None

    @property
    def trusted_version(self) -> str | None:
        """The version, unless only the run's free-text title named it."""
        if self.version_source in (None, "display_title"):
            return None
        return self.version

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["run"] = self.run.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Diagnosis:
        reached = data.get("reached") or {}
        impact = data.get("impact")
        return cls(
            run=RunInfo.from_json(data["run"]),
            version=data.get("version"),
            version_source=data.get("version_source"),
            evidence=dict(data.get("evidence") or {}),
            reached=Reached(
                state=str(reached.get("state", "unknown")),
                files=tuple(reached.get("files") or ()),
                missing=tuple(reached.get("missing") or ()),
                rule=str(reached.get("rule", "")),
                detail=str(reached.get("detail", "")),
            ),
            failure_class=str(data.get("failure_class", "unknown")),
            job=data.get("job"),
            job_url=data.get("job_url"),
            step=data.get("step"),
            excerpt=str(data.get("excerpt", "")),
            other_failed_jobs=tuple(data.get("other_failed_jobs") or ()),
            note=str(data.get("note", "")),
            package=data.get("package"),
            impact=Impact(**impact) if isinstance(impact, dict) else None,
        )
