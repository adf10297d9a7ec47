"""The rollback engine: build the plan from observed state, then run each step idempotently.

Every step is observe → apply → verify. The incident issue is opened (or found, by the record
in its body) before the index is touched, so a rerun after a crash at any point knows what was
already done and finishes the job without doing anything twice.
"""

from __future__ import annotations

import fnmatch
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from unrelease import verify
from unrelease.errors import AuthError, BadInput, NotFound, Refused, UnreleaseError
from unrelease.forges.base import Forge, LabelSpec
from unrelease.indexes.base import Index, sha256_of
from unrelease.model import (
    Diagnosis,
    DistFile,
    Impact,
    IssueInfo,
    Record,
    Release,
    ReleaseNote,
    Status,
    Step,
    TagInfo,
    exit_code,
)
from unrelease.texts import Texts, matching_records, release_notice
from unrelease.versions import choose_target, find_release, parse_version, to_withdraw

log = logging.getLogger(__name__)

LABEL_SPECS = {
    "release": LabelSpec("release", "1d76db", "Releases and their rollbacks"),
    "critical": LabelSpec("critical", "b60205", "Roll back now: broken, insecure or unusable"),
    "minor": LabelSpec("minor", "fbca04", "Watch 24-72 h before deciding on a rollback"),
}
DEFAULT_LABEL_COLOR = "ededed"


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
    who: str = "unknown"
    run: Diagnosis | None = None  # the failed release run (--run): root cause, what reached
    impact: Impact | None = None  # downloads, when measured


@dataclass
class Plan:
    """What a rollback would do, decided from what the index and forge show now."""

    options: Options
    index_url: str
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
    notes: list[ReleaseNote]
    latest: ReleaseNote | None
    steps: list[Step]
    releases: list[Release]

    @property
    def needs_confirmation(self) -> bool:
        return any(s.name.startswith("index") and s.status is Status.PLANNED for s in self.steps)


@dataclass
class Outcome:
    plan: Plan
    steps: list[Step]
    record: Record
    issue: IssueInfo | None = None
    tag: TagInfo | None = None
    note: ReleaseNote | None = None
    notice: str = ""

    @property
    def exit_code(self) -> int:
        return exit_code(self.steps)

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

    # ---------------------------------------------------------------------------------- plan
    def plan(self) -> Plan:
        o = self.o
        bad = parse_version(o.version)
        explicit = parse_version(o.to, what="--to version") if o.to else None
        if o.files and o.mode != "delete":
            raise Refused("--files works with --mode delete only (an index yanks whole releases)")
        self._check_capabilities()

        with ThreadPoolExecutor(max_workers=5) as pool:
            f_releases = pool.submit(self.index.releases, o.package)
            f_issues = pool.submit(self.forge.find_issues, o.labels[0])
            f_labels = pool.submit(self.forge.missing_labels, o.labels)
            f_notes = pool.submit(self.forge.list_releases)
            f_latest = pool.submit(self.forge.latest_release)
            try:
                releases = f_releases.result()
            except NotFound:
                raise BadInput(f"package {o.package} is not on {self.index.url}") from None
            issue, prior = self._find_record(f_issues.result(), bad)
            missing_labels = f_labels.result()
            notes = f_notes.result()
            latest = f_latest.result()

        target = self._target(releases, bad, explicit, prior)
        withdraw = self._withdraw(releases, bad, target, prior)
        now = self.now()
        to_tag = o.tag_format.format(version=target.version)
        rollback_tag = (
            prior.tag
            if prior and prior.tag
            else o.rollback_tag.format(
                to_tag=to_tag,
                date=now.strftime("%Y%m%d"),
                version=o.version,
                to=target.version,
                package=o.package,
            )
        )
        tags = self.forge.resolve_tags([to_tag, rollback_tag])
        record = prior or Record(
            id=f"rb-{now.strftime('%Y%m%d')}-{uuid.uuid4().hex[:8]}",
            package=o.package,
            version=o.version,
            to=target.version,
            mode=o.mode,
            reason=o.reason,
            index=self.index.url,
            severity=o.severity,
            who=o.who,
            when=now.isoformat(timespec="seconds"),
            run_url=o.run_url,
            to_tag=to_tag,
            latest_before=latest.tag if latest else None,
        )
        record.withdrawn = sorted(
            {r.version for r in withdraw} | set(record.withdrawn), key=Version, reverse=True
        )
        record.tag = rollback_tag
        if o.run is not None:
            record.root_cause = o.run.to_json()
        plan = Plan(
            options=o,
            index_url=self.index.url,
            bad=bad,
            target=target,
            withdraw=withdraw,
            to_tag=to_tag,
            rollback_tag=rollback_tag,
            target_tag=tags.get(to_tag),
            existing_tag=tags.get(rollback_tag),
            missing_labels=missing_labels,
            issue=issue,
            record=record,
            notes=notes,
            latest=latest,
            steps=[],
            releases=releases,
        )
        plan.steps = self._plan_steps(plan)
        bad_note = self._bad_release_note(plan) if o.mark_release else None
        if bad_note and not bad_note.title.startswith("[WITHDRAWN]"):
            record.marked_before = record.marked_before or {
                "tag": bad_note.tag,
                "title": bad_note.title,
                "draft": bad_note.draft,
                "prerelease": bad_note.prerelease,
            }
        return plan

    def _check_capabilities(self) -> None:
        if self.o.mode not in ("yank", "delete"):
            raise BadInput(f"unknown mode {self.o.mode!r} (yank or delete)")
        caps = self.index.capabilities
        if self.o.mode == "yank" and not caps.yank:
            raise self.index._refuse("yank")
        if self.o.mode == "delete" and not caps.delete_release:
            raise self.index._refuse("delete a release")
        if self.o.files and not caps.delete_file:
            raise self.index._refuse("delete single files")

    def _find_record(
        self, issues: list[IssueInfo], bad: Version
    ) -> tuple[IssueInfo | None, Record | None]:
        for issue, record in matching_records(issues, self.o.package, bad):
            if record.undone_at is None:  # an undone rollback is over: a new one starts anew
                return issue, record
        return None, None

    def _target(
        self,
        releases: list[Release],
        bad: Version,
        explicit: Version | None,
        prior: Record | None,
    ) -> Release:
        if prior is not None:
            recorded = parse_version(prior.to)
            if explicit is not None and explicit != recorded:
                raise Refused(
                    f"a rollback of {self.o.package} {bad} to {recorded} is already recorded; "
                    f"rerun with --to {recorded} or undo it first"
                )
            explicit = recorded
        if find_release(releases, bad) is None and prior is None and self.o.run is None:
            # (With --run, an absent version is one the failed run never published.)
            raise BadInput(f"{self.o.package} {bad} is not on {self.index.url}")
        return choose_target(releases, bad, explicit)

    def _withdraw(
        self, releases: list[Release], bad: Version, target: Release, prior: Record | None
    ) -> list[Release]:
        withdraw = to_withdraw(releases, bad, Version(target.version))
        if prior is not None:
            # Versions already withdrawn in an earlier run are gone (delete) from the index;
            # keep them in the plan so their steps report already-done.
            have = {Version(r.version) for r in withdraw}
            for v in prior.withdrawn:
                if Version(v) not in have:
                    withdraw.append(find_release(releases, Version(v)) or Release(version=v))
            withdraw.sort(key=lambda r: Version(r.version), reverse=True)
        if self.o.mode == "delete" and not self.o.files:
            left = [r for r in releases if r not in withdraw and r.files]
            if not left:
                raise Refused("refusing to delete the last remaining release of the package")
        return withdraw

    # ----------------------------------------------------------------------------- the steps
    def _index_done(self, rel: Release) -> bool:
        if not rel.files:
            return True  # deleted: no files left for that version
        if self.o.mode == "yank":
            return rel.yanked
        return not self._files_to_delete(rel)

    def _files_to_delete(self, rel: Release) -> list[DistFile]:
        if not self.o.files:
            return list(rel.files)
        return [f for f in rel.files if fnmatch.fnmatch(f.filename, self.o.files)]

    def _plan_steps(self, plan: Plan) -> list[Step]:
        o = self.o
        steps: list[Step] = []
        for rel in plan.withdraw:
            what = (
                f"yank {o.package} {rel.version} on {plan.index_url}"
                if o.mode == "yank"
                else f"back up and delete {len(self._files_to_delete(rel))} file(s) of "
                f"{o.package} {rel.version} from {plan.index_url}"
                + (" (forced)" if o.force else "")
            )
            done = self._index_done(rel)
            if o.files and rel.files and not self._files_to_delete(rel) and plan.issue is None:
                raise BadInput(f"no file of {o.package} {rel.version} matches {o.files!r}")
            step = Step(
                name=f"index:{rel.version}",
                action=what,
                status=Status.ALREADY_DONE if done else Status.PLANNED,
            )
            if not done and self.index.manual:
                step.status = Status.PENDING
                step.detail = self._manual_detail(rel, plan.issue.url if plan.issue else None)
            steps.append(step)
        sha = plan.target_tag.sha[:12] if plan.target_tag else "?"
        steps.append(self._tag_step(plan, sha))
        steps.append(
            Step("labels", f"create labels {', '.join(plan.missing_labels)}")
            if plan.missing_labels
            else Step("labels", "labels exist", status=Status.ALREADY_DONE)
        )
        steps.append(
            Step(
                "issue",
                f"open issue 'ROLLBACK: {o.package} {o.version}' labelled {', '.join(o.labels)}",
                status=Status.ALREADY_DONE if plan.issue else Status.PLANNED,
                url=plan.issue.url if plan.issue else None,
            )
        )
        note = self._find_note(plan)
        steps.append(
            Step(
                "note",
                f"draft release '{o.version} [WITHDRAWN]' on {plan.rollback_tag}",
                status=Status.ALREADY_DONE if note else Status.PLANNED,
                url=note.url if note else None,
            )
        )
        steps.append(self._latest_step(plan))
        if o.mark_release:
            bad_rel = self._bad_release_note(plan)
            steps.append(
                Step(
                    "mark-release",
                    f"mark release {bad_rel.title!r} as withdrawn"
                    if bad_rel
                    else "no release for the bad version",
                    status=(
                        Status.SKIPPED
                        if bad_rel is None
                        else Status.ALREADY_DONE
                        if bad_rel.title.startswith("[WITHDRAWN]")
                        else Status.PLANNED
                    ),
                )
            )
        steps.append(
            Step(
                "verify",
                "read the index again"
                + (" and pip-install from it in a fresh venv" if o.verify_install else ""),
            )
        )
        bad_on_index = find_release(plan.releases, plan.bad)
        if (
            (o.run is not None or plan.record.root_cause)
            and not plan.withdraw
            and (bad_on_index is None or not bad_on_index.files)
        ):
            # The failed run published nothing: users never got the version, so there is
            # nothing to tag back to, no release to withdraw and no Latest to move; the issue
            # says so (with the root cause).
            for step in steps:
                if step.name == "latest" or (
                    step.name in ("tag", "note", "mark-release")
                    and step.status in (Status.PLANNED, Status.SKIPPED)
                ):
                    step.status = Status.SKIPPED
                    step.detail = "the release never went out"
        return steps

    def _withdraw_reason(self, issue_url: str | None) -> str:
        """The yank reason pip shows users: the given reason and where to read more."""
        return f"{self.o.reason} (details: {issue_url})" if issue_url else self.o.reason

    def _manual_detail(self, rel: Release, issue_url: str | None) -> str:
        """What a person does on the index for REL, on one line per write."""
        o = self.o
        if o.mode == "yank":
            steps = [
                self.index.manual_step(
                    o.package, rel.version, "yank", self._withdraw_reason(issue_url)
                )
            ]
        elif o.files:
            steps = [
                self.index.manual_step(o.package, rel.version, "delete", filename=f.filename)
                for f in self._files_to_delete(rel)
            ]
        else:
            steps = [self.index.manual_step(o.package, rel.version, "delete")]
        return "by hand: " + "; then ".join(s.line() for s in steps)

    def _tag_step(self, plan: Plan, sha: str) -> Step:
        action = f"annotated tag {plan.rollback_tag} at {sha} ({plan.to_tag})"
        if plan.target_tag is None:
            return Step("tag", action, status=Status.PLANNED, detail=f"{plan.to_tag} is missing")
        if plan.existing_tag is not None:
            if plan.existing_tag.sha == plan.target_tag.sha:
                return Step("tag", action, status=Status.ALREADY_DONE)
            return Step(
                "tag",
                action,
                status=Status.PLANNED,
                detail=f"{plan.rollback_tag} exists at another commit",
            )
        return Step("tag", action)

    def _latest_step(self, plan: Plan) -> Step:
        target_note = self._published_note(plan, plan.to_tag)
        if target_note is None:
            return Step(
                "latest",
                f"no published release for {plan.to_tag}",
                status=Status.SKIPPED,
            )
        action = f"make release {target_note.title or target_note.tag!r} Latest again"
        if plan.latest is not None and plan.latest.id == target_note.id:
            return Step("latest", action, status=Status.ALREADY_DONE, url=target_note.url)
        return Step("latest", action, url=target_note.url)

    def _find_note(self, plan: Plan) -> ReleaseNote | None:
        title = f"{self.o.version} [WITHDRAWN]"
        for note in plan.notes:
            if note.tag == plan.rollback_tag and note.title == title:
                return note
        return None

    @staticmethod
    def _published_note(plan: Plan, tag: str) -> ReleaseNote | None:
        return next((n for n in plan.notes if n.tag == tag and not n.draft), None)

    def _bad_release_note(self, plan: Plan) -> ReleaseNote | None:
        bad_tag = self.o.tag_format.format(version=self.o.version)
        return next((n for n in plan.notes if n.tag == bad_tag), None)

    # ------------------------------------------------------------------------------- running
    def texts(self, plan: Plan, outcome: Outcome) -> Texts:
        record = outcome.record
        return Texts(
            package=self.o.package,
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
            issue_url=outcome.issue.url if outcome.issue else None,
            tag=plan.rollback_tag,
            tag_url=self.forge.tag_url(plan.rollback_tag) if outcome.tag else None,
            note_url=outcome.note.url if outcome.note else None,
            run_url=record.run_url,
            record=record,
            run=self._diagnosis(record),
            impact=self.o.impact,
            never_published=bool(record.root_cause)
            and all(Version(v) != plan.bad for v in record.withdrawn),
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
        """Checks that need the index's word but change nothing, run before the first write:
        wrong index credentials are refused here (exit 2), not half-way through."""
        if plan.needs_confirmation:
            first = next(
                r.version
                for r in plan.withdraw
                if any(
                    s.name == f"index:{r.version}" and s.status is Status.PLANNED
                    for s in plan.steps
                )
            )
            self.index.check_auth(self.o.package, first)

    def preview(self, plan: Plan) -> Outcome:
        """What ``run`` would do, with no write: the dry run."""
        out = Outcome(plan=plan, steps=list(plan.steps), record=plan.record, issue=plan.issue)
        out.tag = plan.existing_tag
        out.note = self._find_note(plan)
        out.notice = self.texts(plan, out).notice()
        return out

    def run(self, plan: Plan) -> Outcome:
        steps = {s.name: Step(s.name, s.action, s.status, s.detail, s.url) for s in plan.steps}
        out = Outcome(plan=plan, steps=list(steps.values()), record=plan.record)
        out.issue = plan.issue
        out.tag = plan.existing_tag
        out.note = self._find_note(plan)
        prior = {s.name: s for s in plan.record.steps}

        def sync_record() -> None:
            merged = []
            for s in out.steps:
                before = prior.get(s.name)
                if (
                    s.status is Status.ALREADY_DONE
                    and before is not None
                    and before.status in (Status.DONE, Status.ALREADY_DONE)
                ):
                    merged.append(before)
                else:
                    merged.append(
                        Step(
                            s.name,
                            s.action,
                            Status.DONE if s.status is Status.ALREADY_DONE else s.status,
                            s.detail,
                            s.url,
                        )
                    )
            out.record.steps = merged
            out.record.issue_url = out.issue.url if out.issue else out.record.issue_url
            out.record.release_note_url = out.note.url if out.note else out.record.release_note_url
            out.record.tag_sha = out.tag.sha if out.tag else out.record.tag_sha

        # 1. labels, then the issue carrying the record: the write-ahead log of this rollback.
        # A token that may not write is refused here, before the index is touched.
        self._guard(steps["labels"], lambda: self._labels(plan), fatal=(AuthError,))
        sync_record()
        self._guard(steps["issue"], lambda: self._open_issue(plan, out), fatal=(AuthError,))
        sync_record()
        if out.issue is None:
            # No record could be written: touching the index now would leave no trail.
            for s in out.steps:
                if s.status is Status.PLANNED:
                    s.status = Status.SKIPPED
                    s.detail = "not started: the incident issue could not be opened"
            out.notice = self.texts(plan, out).notice()
            return out

        if any(s.status is Status.PENDING for s in out.steps):
            self._manual_ready(plan, steps, out, sync_record)

        # 2. the index (slow, other host) runs beside the forge's tag and note work.
        with ThreadPoolExecutor(max_workers=1) as pool:
            index_job: Future[None] = pool.submit(self._index_steps, plan, steps, out)
            self._guard(steps["tag"], lambda: self._tag(plan, out))
            self._guard(steps["note"], lambda: self._note(plan, out))
            self._guard(steps["latest"], lambda: self._latest(plan))
            if "mark-release" in steps:
                self._guard(steps["mark-release"], lambda: self._mark_release(plan))
            index_job.result()

        # 3. the record, final: one update, only when it changed.
        sync_record()
        out.notice = self.texts(plan, out).notice()
        body = self.texts(plan, out).issue_body()
        if out.issue is not None and body != out.issue.body:
            try:
                out.issue = self.forge.update_issue(out.issue.number, body)
            except UnreleaseError as exc:
                steps["issue"].status = Status.FAILED
                steps["issue"].detail = f"record not updated: {exc}"
        return out

    @staticmethod
    def _guard(
        step: Step,
        work: Callable[[], str | None],
        fatal: tuple[type[UnreleaseError], ...] = (),
    ) -> None:
        """Run WORK for a planned step; record its outcome. Errors fail the step, not the run,
        except the FATAL ones, which stop the run (raised before anything was changed)."""
        if step.status is not Status.PLANNED:
            return
        try:
            detail = work()
        except fatal:
            raise
        except UnreleaseError as exc:
            step.status = Status.FAILED
            step.detail = str(exc)
            log.warning("step %s failed: %s", step.name, exc)
            return
        if step.status is Status.PLANNED:
            step.status = Status.DONE
        if detail:
            step.detail = detail

    def _manual_ready(
        self, plan: Plan, steps: dict[str, Step], out: Outcome, sync: Callable[[], None]
    ) -> None:
        """The issue is open: the manual steps can name it in the reason to paste. Tell the
        person now, and put the instructions in the issue before any waiting."""
        url = out.issue.url if out.issue else None
        for rel in plan.withdraw:
            step = steps[f"index:{rel.version}"]
            if step.status is Status.PENDING:
                step.detail = self._manual_detail(rel, url)
                self.notify(f"waiting on a person: {rel.version}: {step.detail}")
        if self.o.wait_manual and out.issue is not None:
            sync()
            body = self.texts(plan, out).issue_body()
            if body != out.issue.body:
                try:
                    out.issue = self.forge.update_issue(out.issue.number, body)
                except UnreleaseError as exc:
                    log.warning("could not put the manual steps in the issue: %s", exc)

    def _wait_manual(self, rel: Release, step: Step, deadline: float) -> None:
        """Poll the index until the person's change shows, at most until DEADLINE (one bound
        for the whole run, however many versions); else leave the step pending."""
        seconds = deadline - self.index.clock.time()
        if not self.o.wait_manual or seconds <= 0:
            return
        version = Version(rel.version)

        def done(releases: list[Release]) -> bool:
            now = find_release(releases, version)
            return now is None or self._index_done(now)

        try:
            seen = self.index.wait_until(self.o.package, done, seconds)
        except UnreleaseError as exc:
            step.detail += f" (could not check the index: {exc})"
            return
        if seen:
            step.status = Status.DONE
            step.detail = f"done by hand; the index shows {rel.version} withdrawn"
        else:
            self.notify(f"{rel.version} still not withdrawn after {seconds:.0f} s")

    def _index_steps(self, plan: Plan, steps: dict[str, Step], out: Outcome) -> None:
        deadline = self.index.clock.time() + float(self.o.wait_manual or 0)
        for rel in plan.withdraw:
            step = steps[f"index:{rel.version}"]
            if step.status is Status.PENDING:
                self._wait_manual(rel, step, deadline)
                if step.status is Status.PENDING:
                    steps["verify"].status = Status.PENDING
                    steps["verify"].detail = "after the manual step(s); rerun to finish"
                    return
                continue
            self._guard(step, lambda rel=rel: self._withdraw_one(plan, rel, out))  # type: ignore[misc]
            if step.status is Status.FAILED:
                # Descending order: never withdraw an older one while a newer one stays.
                steps["verify"].status = Status.SKIPPED
                steps["verify"].detail = f"not run: withdrawing {rel.version} failed"
                return
        self._guard(steps["verify"], lambda: self._verify(plan))
        index_steps = [steps[f"index:{r.version}"] for r in plan.withdraw]
        if steps["verify"].status is Status.DONE and all(
            s.status is Status.ALREADY_DONE for s in index_steps
        ):
            # Nothing changed on the index in this run: the check confirms an earlier result.
            steps["verify"].status = Status.ALREADY_DONE

    def _withdraw_one(self, plan: Plan, rel: Release, out: Outcome) -> str:
        o = self.o
        if o.mode == "yank":
            issue_url = out.issue.url if out.issue else None
            self.index.yank(o.package, rel.version, self._withdraw_reason(issue_url))
            return f"yanked {rel.version}"
        files = self._files_to_delete(rel)
        backup = (o.backup_dir / f"{self.canonical}-{rel.version}").resolve()
        for f in files:
            path = self.index.download(f, backup)
            out.record.sha256s[f.filename] = sha256_of(path)
        out.record.backup = str(backup.parent)
        out.record.files = sorted(set(out.record.files) | {f.filename for f in files})
        if o.files:
            for f in files:
                self.index.delete_file(o.package, rel.version, f, force=o.force)
        else:
            self.index.delete_release(o.package, rel.version, force=o.force)
        return f"deleted {len(files)} file(s) of {rel.version}; backup in {backup}"

    def _tag(self, plan: Plan, out: Outcome) -> str:
        if plan.target_tag is None:
            raise NotFound(
                f"tag {plan.to_tag} of the target {plan.target.version} is missing; "
                f"push it or pass --tag-format"
            )
        if plan.existing_tag is not None and plan.existing_tag.sha != plan.target_tag.sha:
            raise Refused(
                f"tag {plan.rollback_tag} already points at {plan.existing_tag.sha[:12]}, "
                f"not at {plan.target_tag.sha[:12]} ({plan.to_tag}); not moving it"
            )
        message = self.texts(plan, out).tag_message()
        out.tag = self.forge.create_tag(plan.rollback_tag, plan.target_tag.sha, message)
        return f"{plan.rollback_tag} at {out.tag.sha[:12]}"

    def _labels(self, plan: Plan) -> str:
        for name in plan.missing_labels:
            spec = LABEL_SPECS.get(name.lower(), LabelSpec(name, DEFAULT_LABEL_COLOR, ""))
            self.forge.create_label(LabelSpec(name, spec.color, spec.description))
        return f"created {', '.join(plan.missing_labels)}"

    def _open_issue(self, plan: Plan, out: Outcome) -> str:
        texts = self.texts(plan, out)
        out.issue = self.forge.create_issue(texts.issue_title(), texts.issue_body(), self.o.labels)
        return f"#{out.issue.number}"

    def _note(self, plan: Plan, out: Outcome) -> str:
        texts = self.texts(plan, out)
        out.note = self.forge.create_release(
            plan.rollback_tag,
            texts.note_title(),
            texts.note_body(),
            draft=True,
            prerelease=False,
            target=plan.target_tag.sha if plan.target_tag else None,
        )
        return f"draft {out.note.title!r}"

    def _latest(self, plan: Plan) -> str:
        note = self._published_note(plan, plan.to_tag)
        assert note is not None  # the step is skipped otherwise
        self.forge.make_latest(note)
        return f"{note.tag} is Latest"

    def _mark_release(self, plan: Plan) -> str:
        note = self._bad_release_note(plan)
        assert note is not None  # the step is skipped otherwise
        notice = release_notice(self.o.package, self.o.version, plan.target.version)
        self.forge.update_release(
            note,
            title=f"[WITHDRAWN] {note.title or note.tag}",
            body=notice + note.body,
            draft=note.draft,  # the current value: never publish a draft by accident
            prerelease=True,
        )
        return f"marked {note.tag}"

    def _verify(self, plan: Plan) -> str:
        releases = self.index.releases(self.o.package)
        problems = []
        for rel in plan.withdraw:
            now = find_release(releases, Version(rel.version))
            if now is not None and not self._index_done(now):
                problems.append(f"{rel.version} still installable")
        if find_release(releases, Version(plan.target.version)) is None:
            problems.append(f"target {plan.target.version} is gone")
        bad_now = find_release(releases, plan.bad)
        if not plan.withdraw and bad_now is not None and bad_now.files:
            problems.append(f"{self.o.version} is on the index now: rerun to withdraw it")
        if problems:
            raise UnreleaseError("verify: " + "; ".join(problems))
        detail = f"index shows {', '.join(r.version for r in plan.withdraw)} withdrawn"
        if not plan.withdraw:
            detail = f"index has no file of {self.o.version}"
        if self.o.verify_install:
            got = verify.pip_resolves(self.o.package, self.index.simple_url)
            if got != plan.target.version:
                raise UnreleaseError(
                    f"verify: pip installs {self.o.package} {got}, not {plan.target.version}"
                )
            detail += f"; pip installs {got}"
        return detail
