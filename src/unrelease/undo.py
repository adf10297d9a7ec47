"""Undo a rollback from its record: the withdrawn versions go back on the index, and what the
rollback added on the forge goes away.

The record in the incident issue says what the rollback did; every undo step observes the
index and the forge first, acts only when its effect is missing, and checks the result:

- ``index:{v}``: unyank (yank mode), or re-upload the backed-up files after checking their
  sha256 against the record (delete mode); oldest version first. Done when the index shows them.
- ``mark-release``: the bad release gets its title, notes and prerelease flag back.
- ``latest``: the release that was Latest before the rollback is Latest again.
- ``note``: the draft ``[WITHDRAWN]`` note is deleted (a published release never is).
- ``tag``: the rollback tag is deleted, only while it points where the record says.
- ``issue``: a comment says what was undone, the record gets ``undone_at``, the issue is closed.

Undoing a delete is refused where a deleted filename can never be uploaded again (PyPI). The
forge steps wait for the index: a release stays withdrawn with its note and tag, or comes back
without them, never half of each. A later rollback of the same version starts a new record.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from unrelease.errors import BadInput, NotFound, Refused
from unrelease.forges.base import Forge
from unrelease.indexes.base import Index
from unrelease.model import (
    IssueInfo,
    Record,
    ReleaseNote,
    Status,
    Step,
    TagInfo,
    exit_code,
)
from unrelease.runner import FnTask, Runner, Task
from unrelease.undo_plan import UndoPlanning, _check_record, _url_key
from unrelease.undo_work import UndoWork, _LeftOpen
from unrelease.versions import parse_version

log = logging.getLogger(__name__)

WITHDRAWN_PREFIX = "[WITHDRAWN] "
_DONE = (Status.DONE, Status.ALREADY_DONE)


@dataclass
class UndoOptions:
    package: str
    version: str
    label: str = "release"  # the label the incident issue carries (rollback's first label)
    index: str = "pypi"  # must be the index the record names (credentials go only where asked)
    backup_dir: Path | None = None  # default: the backup directory named in the record
    who: str = "unknown"


@dataclass
class UndoPlan:
    """What undo would do, decided from the record and what the index and forge show now."""

    options: UndoOptions
    issue: IssueInfo
    record: Record
    index: Index | None  # None when the record says the undo is complete
    index_url: str
    steps: list[Step]
    restore: list[str] = field(default_factory=list)  # versions, oldest first
    uploads: dict[str, list[Path]] = field(default_factory=dict)  # version -> backup files
    draft: ReleaseNote | None = None  # the withdrawn note to delete
    marked: ReleaseNote | None = None  # the bad release, marked [WITHDRAWN]
    latest_note: ReleaseNote | None = None  # the release to make Latest again
    tag: TagInfo | None = None  # the rollback tag as it is now

    @property
    def needs_confirmation(self) -> bool:
        return any(s.status is Status.PLANNED and s.name != "issue" for s in self.steps)


@dataclass
class UndoOutcome:
    plan: UndoPlan
    steps: list[Step]
    record: Record
    issue: IssueInfo

    @property
    def exit_code(self) -> int:
        return exit_code(self.steps)

    def to_json(self) -> dict[str, Any]:
        """The shape ``rollback --json`` prints, plus what undo restored and when."""
        rec, plan = self.record, self.plan
        note_url = plan.draft.url if plan.draft else rec.release_note_url
        return {
            "package": plan.options.package,
            "version": plan.options.version,
            "to": rec.to,
            "mode": rec.mode,
            "index": plan.index_url,
            "withdrawn": list(rec.withdrawn),
            "restored": list(plan.restore),
            "steps": [s.to_json() for s in self.steps],
            "issue": {"number": self.issue.number, "url": self.issue.url},
            "tag": {"name": rec.tag, "sha": rec.tag_sha} if rec.tag else None,
            "release_note": (
                {"id": plan.draft.id if plan.draft else None, "url": note_url} if note_url else None
            ),
            "record_id": rec.id,
            "undone_at": rec.undone_at,
        }


def _now() -> datetime:
    return datetime.now(UTC)


class UndoEngine(UndoPlanning, UndoWork):
    def __init__(
        self,
        options: UndoOptions,
        forge: Forge,
        open_index: Callable[[str], Index],
        *,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self.o = options
        self.forge = forge
        self.open_index = open_index
        self.now = now
        self.canonical = canonicalize_name(options.package)

    # ---------------------------------------------------------------------------------- plan
    def plan(self) -> UndoPlan:
        o = self.o
        version = parse_version(o.version)
        issue, record = self._find(version)
        _check_record(issue, record)
        if record.undone_at:
            return self._plan_undone(issue, record)
        index = self.open_index(o.index)
        if _url_key(index.url) != _url_key(record.index):
            # The record is issue text anyone with write access may edit: never follow it to
            # another host with the index credentials, and never undo on the wrong index.
            raise Refused(
                f"the rollback {record.id} was on {record.index}, not on {index.url}",
                hint=f"pass --index {record.index}",
            )
        self._check_mode(index, record)
        with ThreadPoolExecutor(max_workers=3) as pool:
            f_releases = pool.submit(index.releases, o.package)
            f_notes = pool.submit(self.forge.list_releases)
            f_latest = pool.submit(self.forge.latest_release)
            f_tag = pool.submit(self.forge.resolve_tag, record.tag) if record.tag else None
            try:
                releases = f_releases.result()
            except NotFound:
                raise BadInput(f"package {o.package} is not on {index.url}") from None
            notes, latest = f_notes.result(), f_latest.result()
            tag = f_tag.result() if f_tag else None
        plan = UndoPlan(
            options=o,
            issue=issue,
            record=record,
            index=index,
            index_url=index.url,
            steps=[],
            tag=tag,
        )
        plan.steps = [
            *self._index_steps(plan, index, releases),
            *self._mark_step(plan, notes),
            self._latest_step(plan, notes, latest),
            self._note_step(plan, notes),
            self._tag_step(plan, notes),
            self._issue_step(issue, record),
        ]
        return plan

    def _find(self, version: Version) -> tuple[IssueInfo, Record]:
        """The newest rollback of PACKAGE VERSION not yet undone; else the newest undone one
        (a rerun, which then has nothing left to do)."""
        from unrelease.records import trusted

        issues = self.forge.find_issues(self.o.label, state="all")
        found = trusted(issues, self.forge, None, self.o.package, version, log.warning)
        if not found:
            raise BadInput(
                f"no rollback record of {self.o.package} {version} in the issues labelled "
                f"{self.o.label!r} on {self.forge.describe()}",
                hint="pass --label if the rollback used other labels",
            )
        found.sort(key=lambda pair: (pair[1].undone_at is None, str(pair[1].when)), reverse=True)
        return found[0]

    def _plan_undone(self, issue: IssueInfo, record: Record) -> UndoPlan:
        steps = [
            Step(s.name, s.action, Status.ALREADY_DONE if s.status in _DONE else s.status, s.detail)
            for s in record.undo_steps
            if s.name != "issue"
        ]
        steps.append(self._issue_step(issue, record))
        return UndoPlan(
            options=self.o,
            issue=issue,
            record=record,
            index=None,
            index_url=record.index,
            steps=steps,
            restore=sorted(record.withdrawn, key=Version),
        )

    def _check_mode(self, index: Index, record: Record) -> None:
        caps = index.capabilities
        if record.mode == "yank":
            if not caps.unyank:
                raise index._refuse("unyank")
            return
        if record.mode != "delete":
            raise BadInput(f"the record has an unknown mode {record.mode!r}")
        if not caps.filename_reusable:
            raise Refused(
                f"{self.o.package} {', '.join(record.withdrawn)} was deleted from {index.url}, "
                f"which never takes a deleted filename again: its files cannot be put back",
                hint="publish a new release instead (a post release such as "
                f"{self.o.version}.post1, or the next version)",
            )
        if not caps.upload:
            raise index._refuse("take uploads")

    # ------------------------------------------------------------------------------- running
    def preflight(self, plan: UndoPlan) -> None:
        """Wrong index credentials are refused before the first write (exit 2)."""
        if plan.index is not None and plan.restore and not plan.index.manual:
            plan.index.check_auth(self.o.package, plan.restore[0])

    def preview(self, plan: UndoPlan) -> UndoOutcome:
        return UndoOutcome(plan, list(plan.steps), plan.record, plan.issue)

    def run(self, plan: UndoPlan) -> UndoOutcome:
        """The steps through the shared runner: the index first (oldest version first, each
        after the one before), the forge after the index, the issue last, whatever happened."""
        out = UndoOutcome(plan, [], plan.record, plan.issue)
        index_tasks: list[Task] = []
        for step in plan.steps:
            if step.name.startswith("index:"):
                v = step.name.removeprefix("index:")
                index_tasks.append(
                    self._task(step, functools.partial(self._restore, plan, v), index_tasks[-1:])
                )
        forge_work: dict[str, Callable[[UndoPlan], str]] = {
            "mark-release": self._unmark,
            "latest": self._restore_latest,
            "note": self._delete_note,
            "tag": self._delete_tag,
        }
        forge_tasks: list[Task] = []
        for name in forge_work:  # in this order: unmark before Latest, the note before its tag
            found = next((s for s in plan.steps if s.name == name), None)
            if found is not None:
                work = functools.partial(forge_work[name], plan)
                forge_tasks.append(self._task(found, work, [*index_tasks, *forge_tasks[-1:]]))
        others = [*index_tasks, *forge_tasks]
        issue_step = next(s for s in plan.steps if s.name == "issue")
        issue = FnTask(
            "issue",
            issue_step.action,
            lambda: self._finish(plan, out, others),
            status=issue_step.status,
            detail=issue_step.detail,
            url=issue_step.url,
            needs=others,
            always=True,
        )
        tasks = [*others, issue]
        Runner(tasks).run()
        if issue.error is not None and isinstance(issue.error, _LeftOpen):
            issue.status = Status.SKIPPED
        out.steps = [t.to_step() for t in tasks]
        return out

    @staticmethod
    def _task(step: Step, work: Callable[[], str], needs: list[Task]) -> Task:
        return FnTask(
            step.name,
            step.action,
            work,
            status=step.status,
            detail=step.detail,
            url=step.url,
            needs=needs,
        )
