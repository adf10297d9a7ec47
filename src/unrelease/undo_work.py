"""Undo's work: each step's apply, with its own check that the effect is there."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from packaging.version import Version

from unrelease.errors import NotFound, ServiceError, UnreleaseError
from unrelease.forges.base import Forge
from unrelease.model import Status, Step
from unrelease.runner import Task
from unrelease.texts import release_notice, render, replace_record
from unrelease.undo_plan import _check_backup
from unrelease.versions import find_release

if TYPE_CHECKING:
    from unrelease.undo import UndoOptions, UndoOutcome, UndoPlan

log = logging.getLogger(__name__)
WITHDRAWN_PREFIX = "[WITHDRAWN] "
_DONE = (Status.DONE, Status.ALREADY_DONE)


def undo_marker(record_id: str) -> str:
    """The hidden line that identifies undo's comment, so a rerun never comments twice."""
    return f"<!-- unrelease-undo:{record_id} -->"


def _stored(step: Step) -> Step:
    """A step as the record keeps it: done is done, whichever run did it."""
    status = Status.DONE if step.status in _DONE else step.status
    return Step(step.name, step.action, status, step.detail, step.url)


class UndoWork:
    o: UndoOptions
    forge: Forge
    canonical: str
    now: Callable[[], datetime]

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


class _LeftOpen(UnreleaseError):
    """The issue stays open: an earlier step did not finish (not a failure of this step)."""

    exit_code = 1
