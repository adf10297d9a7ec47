"""A rollback as data: the options asked for, the plan made from what the index and the forge
show, and the outcome of running it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version

from unrelease.backups import default_dir
from unrelease.forges.base import RepoView
from unrelease.model import (
    Diagnosis,
    Impact,
    IssueInfo,
    Record,
    Release,
    ReleaseNote,
    Status,
    Step,
    TagInfo,
)
from unrelease.runner import Task


@dataclass
class Options:
    package: str
    version: str
    reason: str
    to: str | None = None
    mode: str = "yank"
    severity: str = "critical"
    labels: list[str] = field(default_factory=lambda: ["release", "critical"])
    tag_format: str = "v{version}"
    rollback_tag: str = "{to_tag}-rollback-{date}"
    files: str | None = None
    force: bool = False
    mark_release: bool = False
    verify_install: bool = False
    run_url: str | None = None
    wait_manual: float | None = None  # seconds to wait for a person's manual step
    backup_dir: Path = field(default_factory=default_dir)
    backup_ref: str | None = None  # how the record names the backup (e.g. an artifact)
    publish_note: bool = False  # publish the withdrawn note (else a draft)
    next_release: str | None = None  # the planned re-release and when, for the notice
    related: tuple[str, ...] = ()  # related issues, "#123"
    who: str = "unknown"
    run: Diagnosis | None = None  # the failed release run (--run): root cause, what reached
    impact: Impact | None = None  # downloads, when measured


@dataclass
class Plan:
    """What a rollback would do, decided from what the index and forge show now."""

    options: Options
    index_url: str
    display: str  # the project's name as the index shows it
    bad: Version
    target: Release
    withdraw: list[Release]
    to_tag: str
    rollback_tag: str
    target_tag: TagInfo | None
    existing_tag: TagInfo | None
    missing_labels: list[str]
    issue: IssueInfo | None
    record: Record
    view: RepoView
    releases: list[Release]
    never_published: bool = False
    fresh: bool = True  # planned in this process moments ago
    forge_kind: str = ""  # github or local
    manual: bool = False  # the index's writes are done by a person (PyPI without a login)
    tasks: list[Task] = field(default_factory=list)

    @property
    def steps(self) -> list[Step]:
        return [t.to_step() for t in self.tasks]

    @property
    def needs_confirmation(self) -> bool:
        return not self.manual and any(
            t.name.startswith("index:") and t.status is Status.PLANNED for t in self.tasks
        )

    @property
    def writes(self) -> bool:
        return any(
            t.status is Status.PLANNED and t.name not in ("verify", "record") for t in self.tasks
        )


@dataclass
class Outcome:
    plan: Plan
    steps: list[Step]
    record: Record
    issue: IssueInfo | None = None
    tag: TagInfo | None = None
    note: ReleaseNote | None = None
    notice: str = ""
    code: int = 0

    @property
    def exit_code(self) -> int:
        return self.code

    def public(self) -> list[str]:
        """What the public can see of this rollback, and what only maintainers see."""
        o, plan, out = self.plan.options, self.plan, []
        steps = {s.name: s for s in self.steps}
        if plan.withdraw:
            what = (
                "yanked: pip skips it; pinned users see the reason"
                if o.mode == "yank"
                else ("deleted: gone for everyone, pins break")
            )
            out.append(f"public: {', '.join(r.version for r in plan.withdraw)} {what}")
        mark = steps.get("mark-release")
        if mark is not None and mark.status.value in ("done", "already-done"):
            out.append("public: the bad release is marked [WITHDRAWN] with the notice")
        elif not o.mark_release:
            out.append("not marked: the bad release looks unchanged (--mark-release marks it)")
        if self.note is not None and not o.publish_note:
            out.append("maintainers only: the withdrawn note is a draft (--publish-note)")
        forge = getattr(self.plan, "forge_kind", "")
        if forge == "local" and self.tag is not None:
            out.append(f"local only: push the tag with: git push origin {self.tag.name}")
        return out

    def to_json(self) -> dict[str, Any]:
        opts = self.plan.options
        return {
            "package": opts.package,
            "version": opts.version,
            "to": self.plan.target.version,
            "mode": opts.mode,
            "index": self.plan.index_url,
            "withdrawn": [r.version for r in self.plan.withdraw],
            "steps": [s.to_json() for s in self.steps],
            "issue": {"number": self.issue.number, "url": self.issue.url} if self.issue else None,
            "tag": {"name": self.tag.name, "sha": self.tag.sha} if self.tag else None,
            "release_note": {"id": self.note.id, "url": self.note.url} if self.note else None,
            "record_id": self.record.id,
            "notice": self.notice,
            "run": opts.run.to_json() if opts.run else None,
        }
