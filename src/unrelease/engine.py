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
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from unrelease import claims, records
from unrelease.backups import backup_reference
from unrelease.forges.base import Forge
from unrelease.indexes.base import Index
from unrelease.model import (
    Diagnosis,
    IssueInfo,
    Record,
    Release,
    ReleaseNote,
    Status,
    Step,
)
from unrelease.refnames import render_template
from unrelease.rollback_types import Options as Options
from unrelease.rollback_types import Outcome as Outcome
from unrelease.rollback_types import Plan as Plan
from unrelease.runner import Runner, Task, as_error, exit_code_of, transient
from unrelease.texts import Texts
from unrelease.versions import find_release, parse_version

log = logging.getLogger(__name__)


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
        self._identity: str | None = None  # who the forge says we are (from the plan's view)

    # ---------------------------------------------------------------------------------- plan
    def plan(self) -> Plan:
        from unrelease.planning import make_plan

        plan = make_plan(self)
        self._record = plan.record
        self._identity = plan.view.identity
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
            self._identity,
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
        steps = plan.steps
        if plan.manual:  # what the person will be asked to do, once the issue is open
            by_version = {r.version: r for r in plan.withdraw}
            for s in steps:
                rel = by_version.get(s.name.removeprefix("index:"))
                if rel is not None and s.status is Status.PLANNED:
                    s.status = Status.PENDING
                    s.detail = self.manual_detail(plan, rel, plan.issue.url if plan.issue else None)
        out = Outcome(plan=plan, steps=steps, record=plan.record, issue=plan.issue)
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
                if t.name == "record":
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

        def judge(held: Any) -> str | None:
            issue = self.find_own_issue()
            record = records.find_record_of(issue) if issue else None
            if record is not None and _finished(record):
                self.notify(f"another run finished this rollback: {issue.url if issue else ''}")
                return "done"
            held_id = str(held.note).split(";")[0].removeprefix("rollback:")
            if record is None and self._undone(held_id):
                return "over"
            return None

        for attempt in range(3):  # a claim is safe to retry: our own claim reads as ours
            try:
                got = claims.acquire(self.forge, key, mine, judge, self.now(), self.notify)
            except Exception as exc:
                err = as_error(exc)
                if not transient(err) or attempt == 2:
                    raise err from None
                continue
            return False if got is None else got
        raise AssertionError("unreachable")  # pragma: no cover

    def _undone(self, record_id: str) -> bool:
        """Whether the rollback RECORD_ID (a claim's holder) was undone since."""
        issues = self.forge.find_issues(self.o.labels[0], state="all")
        version = parse_version(self.o.version)
        found = records.trusted(
            issues, self.forge, self._identity, self.o.package, version, self.notify
        )
        return any(r.id == record_id and r.undone_at for _i, r in found)

    def _release(self, plan: Plan, mine: Any) -> None:
        key = claims.key(self.o.package, self.o.version)
        claims.drop(self.forge, key, mine, lambda text: log.warning("%s", text))

    def _found_done(self, plan: Plan) -> Outcome:
        for t in plan.tasks:
            if t.status is Status.PLANNED:
                t.status, t.detail = Status.ALREADY_DONE, "done by another run"
        return self._outcome(plan, 0)


def _finished(record: Record) -> bool:
    """Every step of the record done, or skipped by decision (not held back by a failure)."""
    return bool(record.steps) and all(
        s.status in (Status.DONE, Status.ALREADY_DONE)
        or (s.status is Status.SKIPPED and not s.detail.startswith("not started"))
        for s in record.steps
    )
