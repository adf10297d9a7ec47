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

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["steps"] = [s.to_json() for s in self.steps]
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known and k != "steps"}
        rec = cls(**kwargs)
        rec.steps = [Step.from_json(s) for s in data.get("steps", [])]
        return rec


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


@dataclass(frozen=True)
class ReleaseNote:
    id: int | str
    tag: str
    title: str
    url: str
    body: str = ""
    draft: bool = False
    prerelease: bool = False
