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

import contextlib
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from unrelease import claims
from unrelease.errors import BadInput, NotFound, Refused, ServiceError, UnreleaseError
from unrelease.forges.base import Claim, Forge
from unrelease.indexes.base import Index, sha256_of
from unrelease.indexes.simple import file_version
from unrelease.model import (
    IssueInfo,
    Record,
    Release,
    ReleaseNote,
    Status,
    Step,
    TagInfo,
    exit_code,
)
from unrelease.runner import FnTask, Runner, Task
from unrelease.texts import release_notice, render, replace_record
from unrelease.versions import find_release, parse_version

log = logging.getLogger(__name__)

WITHDRAWN_PREFIX = "[WITHDRAWN] "
_DONE = (Status.DONE, Status.ALREADY_DONE)


def undo_marker(record_id: str) -> str:
    """The hidden line that identifies undo's comment, so a rerun never comments twice."""
    return f"<!-- unrelease-undo:{record_id} -->"


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


def _rollback_did(record: Record, name: str) -> bool:
    return any(s.name == name and s.status in _DONE for s in record.steps)


def _stored(step: Step) -> Step:
    """A step as the record keeps it: done is done, whichever run did it."""
    status = Status.DONE if step.status in _DONE else step.status
    return Step(step.name, step.action, status, step.detail, step.url)


class UndoEngine:
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

    # ----------------------------------------------------------------------------- the steps
    def _index_steps(self, plan: UndoPlan, index: Index, releases: list[Release]) -> list[Step]:
        record = plan.record
        steps = []
        for v in sorted(record.withdrawn, key=Version):
            rel = find_release(releases, Version(v))
            name = f"index:{v}"
            if record.mode == "yank":
                if rel is None:
                    raise Refused(
                        f"{self.o.package} {v} is not on {index.url}: there is nothing to unyank "
                        "(was it deleted after the rollback?)"
                    )
                step = Step(name, f"unyank {self.o.package} {v} on {index.url}")
                step.status = Status.PLANNED if rel.yanked else Status.ALREADY_DONE
            else:
                step = self._reupload_step(plan, v, rel)
            if step.status is Status.PLANNED:
                plan.restore.append(v)
                if index.manual:
                    step.status = Status.PENDING
                    step.detail = self._manual_detail(index, v, step.action)
            steps.append(step)
        return steps

    def _manual_detail(self, index: Index, version: str, action: str) -> str:
        """What a person does on an index whose writes are done by hand (PyPI, no login)."""
        try:
            return "by hand: " + index.manual_step(self.o.package, version, "unyank").line()
        except Refused:
            return f"by hand on {index.url}: {action}"

    def _reupload_step(self, plan: UndoPlan, v: str, rel: Release | None) -> Step:
        record = plan.record
        wanted = Version(v)
        names = [f for f in record.files if file_version(f) == wanted]
        action = f"re-upload {len(names)} backed-up file(s) of {self.o.package} {v}"
        if not names:
            if rel is not None:
                return Step(f"index:{v}", action, Status.ALREADY_DONE, "no file was deleted")
            raise Refused(f"the record names no backed-up file of {self.o.package} {v}")
        there = {f.filename for f in rel.files} if rel else set()
        missing = [n for n in names if n not in there]
        if not missing:
            return Step(f"index:{v}", action, Status.ALREADY_DONE)
        folder = self._backup_folder(record, v)
        sha256s = record.sha256s if isinstance(record.sha256s, dict) else {}
        paths = []
        for filename in missing:
            path = folder / filename
            _check_backup(path, sha256s.get(filename))
            paths.append(path)
        plan.uploads[v] = paths
        return Step(f"index:{v}", f"{action} from {folder}")

    def _backup_folder(self, record: Record, v: str) -> Path:
        named = str(record.backup) if record.backup else None
        if self.o.backup_dir is None and named and named.startswith(("artifact ", "…/")):
            raise Refused(
                f"the backup is {named}: fetch it and pass --backup-dir",
                hint="gh run download RUN_ID -n ARTIFACT",
            )
        base = self.o.backup_dir or (Path(named).expanduser() if named else None)
        if base is None:
            raise Refused("the record names no backup directory: pass --backup-dir")
        return base / f"{self.canonical}-{v}"

    def _mark_step(self, plan: UndoPlan, notes: list[ReleaseNote]) -> list[Step]:
        record = plan.record
        before = record.marked_before if isinstance(record.marked_before, dict) else None
        if before is None and not _rollback_did(record, "mark-release"):
            return []  # the rollback did not mark the bad release
        notice = release_notice(self.o.package, self.o.version, record.to)
        if before is not None:
            note = next((n for n in notes if n.tag == before.get("tag")), None)
        else:
            note = next((n for n in notes if n.body.startswith(notice)), None)
        if note is None:
            return [Step("mark-release", "unmark the bad release", Status.SKIPPED, "it is gone")]
        plan.marked = note
        marked = note.title.startswith(WITHDRAWN_PREFIX.strip()) or note.body.startswith(notice)
        action = f"remove the [WITHDRAWN] mark from release {note.tag}"
        return [Step("mark-release", action, Status.PLANNED if marked else Status.ALREADY_DONE)]

    def _latest_step(
        self, plan: UndoPlan, notes: list[ReleaseNote], latest: ReleaseNote | None
    ) -> Step:
        record = plan.record
        before = record.latest_before
        step = Step("latest", f"make release {before} Latest again" if before else "Latest")
        if not _rollback_did(record, "latest"):
            step.status, step.detail = Status.SKIPPED, "the rollback did not change Latest"
        elif not before:
            step.status = Status.SKIPPED
            step.detail = "the record does not say which release was Latest before; left as is"
        elif latest is not None and latest.tag == before:
            step.status = Status.ALREADY_DONE
        elif latest is not None and record.to_tag and latest.tag != record.to_tag:
            step.status = Status.SKIPPED
            step.detail = f"{latest.tag} is Latest now, not the rollback's {record.to_tag}; left"
        else:
            plan.latest_note = next((n for n in notes if n.tag == before and not n.draft), None)
            if plan.latest_note is None:
                step.status, step.detail = Status.SKIPPED, f"no published release for {before}"
        return step

    def _withdrawn_notes(self, plan: UndoPlan, notes: list[ReleaseNote]) -> list[ReleaseNote]:
        title = f"{plan.record.version} [WITHDRAWN]"
        return [n for n in notes if n.tag == plan.record.tag and n.title == title]

    def _note_step(self, plan: UndoPlan, notes: list[ReleaseNote]) -> Step:
        step = Step("note", f"delete the draft '{plan.record.version} [WITHDRAWN]'")
        if not plan.record.tag:
            step.status, step.detail = Status.SKIPPED, "the rollback made no note"
            return step
        found = self._withdrawn_notes(plan, notes)
        published = [n for n in found if not n.draft]
        if published:
            step.status = Status.FAILED
            step.detail = (
                f"refused: the withdrawn note {published[0].url} is published; undo deletes "
                "drafts only (delete it by hand if it should go, then rerun)"
            )
        elif not found:
            step.status = Status.ALREADY_DONE
        else:
            plan.draft = found[0]
            step.url = found[0].url
        return step

    def _tag_step(self, plan: UndoPlan, notes: list[ReleaseNote]) -> Step:
        record, tag = plan.record, plan.tag
        step = Step("tag", f"delete tag {record.tag}")
        if not record.tag:
            step.status, step.detail = Status.SKIPPED, "the rollback made no tag"
            return step
        if tag is None:
            step.status = Status.ALREADY_DONE
            return step
        on_tag = [n for n in notes if n.tag == record.tag and not n.draft]
        refusal = None
        if on_tag:
            refusal = (
                f"release {on_tag[0].title or on_tag[0].tag!r} is published on {record.tag}; "
                "deleting the tag would turn it into a draft"
            )
        elif not record.tag_sha:
            refusal = f"the record does not say which commit {record.tag} was made at"
        elif tag.sha != record.tag_sha:
            refusal = (
                f"{record.tag} points at {tag.sha[:12]} now, not at {record.tag_sha[:12]} "
                "where the rollback made it"
            )
        if refusal:
            step.status = Status.FAILED
            step.detail = f"refused: {refusal}; not deleting it (delete it by hand, then rerun)"
        step.action += f" at {tag.sha[:12]}"
        return step

    @staticmethod
    def _issue_step(issue: IssueInfo, record: Record) -> Step:
        step = Step("issue", f"comment on #{issue.number} with what was undone and close it")
        step.url = issue.url
        if record.undone_at and issue.state == "closed":
            step.status = Status.ALREADY_DONE
        return step

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
            step = next((s for s in plan.steps if s.name == name), None)
            if step is not None:
                work = functools.partial(forge_work[name], plan)
                forge_tasks.append(self._task(step, work, [*index_tasks, *forge_tasks[-1:]]))
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
        key = claims.key(self.o.package, str(plan.record.version))
        writes = any(t.status is Status.PLANNED for t in tasks)
        mine = self._claim(plan, key) if writes else None
        Runner(tasks).run()
        if issue.error is not None and isinstance(issue.error, _LeftOpen):
            issue.status = Status.SKIPPED
        out.steps = [t.to_step() for t in tasks]
        claims.drop(self.forge, key, mine, lambda text: log.warning("%s", text))
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

    def _claim(self, plan: UndoPlan, key: str) -> Claim | None:
        """One rollback or undo at a time: the rollback's own claim, kept after it finished,
        is taken over; another live undo or rollback makes this one wait (exit 3)."""
        mine = claims.new_claim(f"undo:{plan.record.id}", self.now())
        rollback_claim: list[Claim] = []

        def finished(held: Claim) -> bool:
            if str(held.note).startswith(f"rollback:{plan.record.id}"):
                rollback_claim.append(held)
                return True
            return False

        got = claims.acquire(self.forge, key, mine, finished, self.now(), log.warning)
        if got is None and rollback_claim:
            if not self.forge.take_over(key, rollback_claim[0], mine):
                raise claims.Busy(f"another run took {key} over just now; rerun when done")
            return mine
        return got

    # --- index ---------------------------------------------------------------------------------
    def _restore(self, plan: UndoPlan, version: str) -> str:
        index, record, package = plan.index, plan.record, self.o.package
        assert index is not None  # index steps exist only with an index
        if record.mode == "yank":
            index.unyank(package, version)
            rel = find_release(index.releases(package), Version(version))
            if rel is None or rel.yanked:
                raise ServiceError(f"verify: {package} {version} is still yanked on {index.url}")
            return f"unyanked {version}"
        paths = plan.uploads[version]
        sha256s = record.sha256s if isinstance(record.sha256s, dict) else {}
        for path in paths:
            _check_backup(path, sha256s.get(path.name))  # again: it is about to be published
            index.upload(path)
        rel = find_release(index.releases(package), Version(version))
        there = {f.filename: f.sha256 for f in rel.files} if rel else {}
        for path in paths:
            if path.name not in there:
                raise ServiceError(f"verify: {path.name} is not on {index.url} after the upload")
            if there[path.name] and there[path.name] != sha256s.get(path.name):
                raise ServiceError(f"verify: {path.name} on {index.url} has another sha256")
        return f"re-uploaded {len(paths)} file(s) of {version} (sha256 checked)"

    # --- forge ---------------------------------------------------------------------------------
    def _unmark(self, plan: UndoPlan) -> str:
        note = plan.marked
        assert note is not None  # the step is planned only with a marked release
        before = plan.record.marked_before if isinstance(plan.record.marked_before, dict) else {}
        notice = release_notice(self.o.package, self.o.version, plan.record.to)
        title = before.get("title")
        if not isinstance(title, str):
            title = note.title.removeprefix(WITHDRAWN_PREFIX)
        prerelease = before.get("prerelease")
        if not isinstance(prerelease, bool):
            prerelease = note.prerelease
        updated = self.forge.update_release(
            note,
            title=title,
            body=note.body.removeprefix(notice),
            draft=note.draft,  # the current value: never publish a draft by accident
            prerelease=prerelease,
        )
        if updated.title != title or updated.prerelease != prerelease:
            raise ServiceError(f"verify: release {note.tag} was not unmarked")
        kept = "" if "prerelease" in before else " (prerelease flag not recorded: kept)"
        return f"{note.tag} unmarked: title {title or note.tag!r}{kept}"

    def _restore_latest(self, plan: UndoPlan) -> str:
        note = plan.latest_note
        assert note is not None  # the step is planned only with that release
        self.forge.make_latest(note)
        now = self.forge.latest_release()
        if now is None or now.tag != note.tag:
            raise ServiceError(f"verify: Latest is {now.tag if now else 'none'}, not {note.tag}")
        return f"{note.tag} is Latest"

    def _delete_note(self, plan: UndoPlan) -> str:
        note = plan.draft
        assert note is not None  # the step is planned only with a draft
        with contextlib.suppress(NotFound):  # gone already: what this step wants
            self.forge.delete_release(note)
        if any(n.id == note.id for n in self.forge.list_releases()):
            raise ServiceError(f"verify: the draft {note.url} is still there")
        return f"deleted the draft {note.title!r}"

    def _delete_tag(self, plan: UndoPlan) -> str:
        name, tag = plan.record.tag, plan.tag
        assert name is not None  # planned only when the tag exists
        assert tag is not None
        with contextlib.suppress(NotFound):  # gone already: what this step wants
            self.forge.delete_tag(name)
        if self.forge.resolve_tag(name) is not None:
            raise ServiceError(f"verify: tag {name} is still there")
        return f"deleted tag {name} (was at {tag.sha[:12]})"

    # --- the record and the issue --------------------------------------------------------------
    def _finish(self, plan: UndoPlan, out: UndoOutcome, others: list[Task]) -> str:
        """Close the issue when everything is back; else keep it open with the record of how
        far undo got."""
        record = out.record
        blocked = [t.name for t in others if t.status in (Status.FAILED, Status.PENDING)]
        steps = [t.to_step() for t in others]
        if blocked:
            record.undo_steps = [_stored(s) for s in steps]
            body = replace_record(out.issue.body, record)
            if body != out.issue.body:
                try:
                    out.issue = self.forge.update_issue(out.issue.number, body)
                except UnreleaseError as exc:
                    raise ServiceError(f"record not updated: {exc}") from None
            raise _LeftOpen(f"left open: {', '.join(blocked)} not done; rerun undo to finish")
        return self._close(plan, out, steps)

    def _close(self, plan: UndoPlan, out: UndoOutcome, steps: list[Step]) -> str:
        record, issue = out.record, out.issue
        record.undone_at = record.undone_at or self.now().isoformat(timespec="seconds")
        record.undone_by = record.undone_by or self.o.who
        action = f"comment on #{issue.number} with what was undone and close it"
        done = Step("issue", action, Status.DONE, f"closed #{issue.number}", issue.url)
        record.undo_steps = [_stored(s) for s in [*steps, done]]
        out.steps = steps
        marker = undo_marker(record.id)
        if not any(marker in c for c in self.forge.issue_comments(issue.number)):
            self.forge.comment_issue(issue.number, self.comment(plan, out))
        body = replace_record(issue.body, record)
        if issue.state != "closed":
            out.issue = self.forge.close_issue(issue.number, body if body != issue.body else None)
        elif body != issue.body:
            out.issue = self.forge.update_issue(issue.number, body)
        return f"commented on and closed #{issue.number}"

    def comment(self, plan: UndoPlan, out: UndoOutcome) -> str:
        record = out.record
        return render(
            "undo.md.j2",
            marker=undo_marker(record.id),
            record_id=record.id,
            package=self.o.package,
            version=self.o.version,
            target=record.to,
            mode=record.mode,
            index=plan.index_url,
            date=(record.undone_at or "")[:10],
            who=self.o.who,
            steps=[s for s in out.steps if s.name != "issue"],
            restored=sorted(record.withdrawn, key=Version),
            install=f'pip install "{self.o.package}=={self.o.version}"',
        )


def _check_record(issue: IssueInfo, record: Record) -> None:
    """A record is issue text a person may have edited: refuse one undo cannot rely on."""
    try:
        ok = bool(record.withdrawn) and all(Version(str(v)) for v in record.withdrawn)
    except (InvalidVersion, TypeError):
        ok = False
    lists = (record.withdrawn, record.files)
    if not ok or not all(isinstance(x, list) and all(isinstance(i, str) for i in x) for x in lists):
        raise BadInput(
            f"the rollback record in {issue.url} is damaged (withdrawn: {record.withdrawn!r}, "
            f"files: {record.files!r}); undo the rest by hand"
        )


def _url_key(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _check_backup(path: Path, expected: str | None) -> None:
    """Refuse to publish a backup that is missing or is not the file the index had."""
    if not path.is_file():
        raise Refused(f"the backup {path} is missing; nothing was uploaded", hint="--backup-dir")
    if not expected:
        raise Refused(f"the record has no sha256 for {path.name}: the backup cannot be checked")
    actual = sha256_of(path)
    if actual != expected.lower():
        raise Refused(
            f"the backup {path} does not match the record (sha256 {actual[:16]}… instead of "
            f"{expected[:16]}…); nothing was uploaded"
        )


class _LeftOpen(UnreleaseError):
    """The issue stays open: an earlier step did not finish (not a failure of this step)."""

    exit_code = 1
