"""The rollback engine: plan from what the index and forge show now, check everything that can
be checked, claim the rollback, then hand the steps to the runner.

Nothing is written before the plan is complete and valid: templates render to valid git ref
names, the target's tag resolves, the rollback tag is free or already right, labels are
valid, the project is not archived or quarantined, and any record found is trusted and the
same rollback. What is withdrawn is computed from the index and the target, never read from a
record. Before a delete the record in the issue names every file, its sha256 and its backup.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from unrelease import claims, records
from unrelease.backups import backup_reference
from unrelease.forges.base import Forge, RepoView
from unrelease.indexes.base import Index
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
from unrelease.refnames import render_template
from unrelease.runner import Runner, Task, exit_code_of
from unrelease.texts import Texts
from unrelease.versions import find_release, parse_version

log = logging.getLogger(__name__)


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
    backup_dir: Path = field(default_factory=lambda: Path("unrelease-backup"))
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
    target_rule: str = ""  # which rule chose the target (--to, newest verified, newest good)
    tasks: list[Task] = field(default_factory=list)

    @property
    def steps(self) -> list[Step]:
        return [t.to_step() for t in self.tasks]

    @property
    def needs_confirmation(self) -> bool:
        return any(t.name.startswith("index:") and t.status is Status.PLANNED for t in self.tasks)

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
            "to_rule": self.plan.target_rule,
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


def _today() -> datetime:
    return datetime.now(UTC)


class Engine:
    def __init__(
        self,
        options: Options,
        index: Index,
        forge: Forge,
        *,
        now: Callable[[], datetime] = _today,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.o = options
        self.index = index
        self.forge = forge
        self.now = now
        self.notify = notify or (lambda text: log.warning("%s", text))
        self.canonical = canonicalize_name(options.package)
        self._lock = threading.Lock()  # the record: changed in the runner's thread only
        self._record: Record | None = None
        self._wait_deadline: float | None = None

    # ---------------------------------------------------------------------------------- plan
    def plan(self) -> Plan:
        from unrelease.planning import make_plan

        plan = make_plan(self)
        self._record = plan.record
        return plan

    # ------------------------------------------------------------------------------- helpers
    def tag_of(self, version: str) -> str:
        return render_template("--tag-format", self.o.tag_format, version=version)

    def withdraw_reason(self, issue_url: str | None) -> str:
        """The yank reason pip shows users: the given reason and where to read more."""
        return f"{self.o.reason} (details: {issue_url})" if issue_url else self.o.reason

    def manual_detail(self, plan: Plan, rel: Release, issue_url: str | None) -> str:
        """What a person does on the index for REL, on one line per write."""
        from unrelease.rollback_steps import files_to_delete

        o = self.o
        if o.mode == "yank":
            steps = [
                self.index.manual_step(
                    o.package, rel.version, "yank", self.withdraw_reason(issue_url)
                )
            ]
        elif o.files:
            steps = [
                self.index.manual_step(o.package, rel.version, "delete", filename=f.filename)
                for f in files_to_delete(plan, rel)
            ]
        else:
            steps = [self.index.manual_step(o.package, rel.version, "delete")]
        return "by hand: " + "; then ".join(s.line() for s in steps)

    def wait_for_person(self, rel: Release) -> bool:
        """Poll until the person's change shows, within one bound for the whole run."""
        if not self.o.wait_manual:
            return False
        clock = self.index.clock
        if self._wait_deadline is None:
            self._wait_deadline = clock.time() + float(self.o.wait_manual)
        seconds = self._wait_deadline - clock.time()
        if seconds <= 0:
            return False
        version = Version(rel.version)

        def done(releases: list[Release]) -> bool:
            now = find_release(releases, version)
            if now is None or not now.files:
                return True
            return now.yanked if self.o.mode == "yank" else False

        seen = self.index.wait_until(self.o.package, done, seconds)
        if not seen:
            self.notify(f"{rel.version} still not withdrawn after {seconds:.0f} s")
        return seen

    def find_note(self, plan: Plan, notes: Any) -> ReleaseNote | None:
        title = f"{self.o.version} [WITHDRAWN]"
        return next((n for n in notes if n.tag == plan.rollback_tag and n.title == title), None)

    def bad_release_note(self, plan: Plan) -> ReleaseNote | None:
        bad_tag = self.tag_of(self.o.version)
        return next((n for n in plan.view.notes if n.tag == bad_tag), None)

    def find_own_issue(self) -> IssueInfo | None:
        """The open issue holding a trusted record of this rollback, read now."""
        found = records.trusted(
            self.forge.find_issues(self.o.labels[0]),
            self.forge,
            None,
            self.o.package,
            parse_version(self.o.version),
            self.notify,
        )
        live = [(i, r) for i, r in found if r.undone_at is None]
        return min(live, key=lambda p: p[0].number)[0] if live else None

    # ------------------------------------------------------------------------------- running
    def texts(self, plan: Plan, outcome: Outcome | None = None) -> Texts:
        with self._lock:
            record = replace(plan.record, steps=list(plan.record.steps))
        issue_url = record.issue_url
        return Texts(
            package=plan.display,
            version=self.o.version,
            target=plan.target.version,
            reason=record.reason,
            mode=record.mode,
            index=plan.index_url,
            severity=record.severity,
            date=record.when[:10],
            withdrawn=list(record.withdrawn),
            files=list(record.files),
            steps=list(record.steps),
            issue_url=issue_url,
            tag=plan.rollback_tag,
            tag_url=self.forge.tag_url(plan.rollback_tag) if record.tag_sha else None,
            note_url=record.release_note_url,
            run_url=record.run_url,
            record=record,
            run=self._diagnosis(record),
            impact=self.o.impact,
            never_published=plan.never_published,
            next_release=self.o.next_release,
            related=self.o.related,
        )

    def _diagnosis(self, record: Record) -> Diagnosis | None:
        """The failed run's diagnosis: given now (--run), or kept in the record by a first run."""
        if self.o.run is not None:
            return self.o.run
        try:
            return Diagnosis.from_json(record.root_cause) if record.root_cause else None
        except (KeyError, TypeError, ValueError):
            return None  # a record edited by hand: the issue shows no root cause

    def preflight(self, plan: Plan) -> None:
        """Wrong index credentials are refused here (exit 2), before the first write."""
        first = next(
            (t for t in plan.tasks if t.name.startswith("index:") and t.status is Status.PLANNED),
            None,
        )
        if first is not None and not self.index.manual:
            self.index.check_auth(self.o.package, first.name.removeprefix("index:"))

    def preview(self, plan: Plan) -> Outcome:
        """What ``run`` would do, with no write: the dry run."""
        out = Outcome(plan=plan, steps=plan.steps, record=plan.record, issue=plan.issue)
        out.tag = plan.existing_tag
        out.note = self.find_note(plan, plan.view.notes)
        out.notice = self.texts(plan).notice()
        return out

    def run(self, plan: Plan) -> Outcome:
        mine = self._claim(plan) if plan.writes else None
        if mine is False:
            return self._found_done(plan)
        Runner(plan.tasks, on_done=lambda task: self._sync(plan, task)).run()
        code = exit_code_of(plan.tasks)
        if mine is not None and code not in (0, 3):
            self._release(plan, mine)  # a rerun may start at once
        return self._outcome(plan, code)

    def _outcome(self, plan: Plan, code: int) -> Outcome:
        by_name = {t.name: t for t in plan.tasks}
        issue_task = by_name.get("issue")
        out = Outcome(
            plan=plan,
            steps=[t.to_step() for t in plan.tasks if t.name != "record"],
            record=plan.record,
            code=code,
        )
        out.issue = getattr(issue_task, "issue", None) or plan.issue
        out.tag = getattr(by_name.get("tag"), "tag", None)
        out.note = getattr(by_name.get("note"), "note", None)
        rec = by_name.get("record")
        if rec is not None and rec.status is Status.FAILED:
            out.steps.append(rec.to_step())
        out.notice = self.texts(plan).notice()
        return out

    def _sync(self, plan: Plan, task: Task) -> None:
        """Keep the record current as each step ends (runs in the runner's calling thread)."""
        from unrelease.rollback_steps import Backup, IssueStep, NoteStep, TagStep

        with self._lock:
            record = plan.record
            if isinstance(task, Backup) and task.sha256s:
                record.sha256s.update(task.sha256s)
                record.files = sorted(set(record.files) | set(task.sha256s))
                record.backup = self.o.backup_ref or backup_reference(self.o.backup_dir)
            elif isinstance(task, IssueStep) and task.issue is not None:
                record.issue_url = task.issue.url
            elif isinstance(task, TagStep) and task.tag is not None:
                record.tag_sha = task.tag.sha
            elif isinstance(task, NoteStep) and task.note is not None:
                record.release_note_url = task.note.url
            elif task.name == "verify" and task.status is Status.DONE:
                index_steps = [t for t in task.needs if t.name.startswith("index:")]
                if all(t.status is Status.ALREADY_DONE for t in index_steps):
                    task.status = Status.ALREADY_DONE  # it confirms an earlier run's result
            prior = {s.name: s for s in record.steps}
            stored = []
            for t in plan.tasks:
                if t.name == "record" or (t.status is Status.PLANNED and t.name not in prior):
                    continue
                before = prior.get(t.name)
                if (
                    t.status is Status.ALREADY_DONE
                    and before
                    and before.status in (Status.DONE, Status.ALREADY_DONE)
                ) or (t.status is Status.PLANNED and before):
                    stored.append(before)
                else:
                    status = Status.DONE if t.status is Status.ALREADY_DONE else t.status
                    stored.append(Step(t.name, t.action, status, t.detail, t.url))
            record.steps = stored

    # ------------------------------------------------------------------------------- claims
    def _claim(self, plan: Plan) -> Any:
        key = claims.key(self.o.package, self.o.version)
        mine = claims.new_claim(f"rollback:{plan.record.id}", self.now())

        def finished(held: Any) -> bool:
            issue = self.find_own_issue()
            record = records.find_record_of(issue) if issue else None
            if record is None or not _finished(record):
                return False
            self.notify(f"another run finished this rollback: {issue.url if issue else ''}")
            return True

        got = claims.acquire(self.forge, key, mine, finished, self.now(), self.notify)
        return False if got is None else got

    def _release(self, plan: Plan, mine: Any) -> None:
        key = claims.key(self.o.package, self.o.version)
        claims.drop(self.forge, key, mine, lambda text: log.warning("%s", text))

    def _found_done(self, plan: Plan) -> Outcome:
        for t in plan.tasks:
            if t.status is Status.PLANNED:
                t.status, t.detail = Status.ALREADY_DONE, "done by another run"
        return self._outcome(plan, 0)


def _finished(record: Record) -> bool:
    return bool(record.steps) and all(
        s.status in (Status.DONE, Status.ALREADY_DONE, Status.SKIPPED) for s in record.steps
    )
