"""Undo's plan: one step per thing the rollback did, decided from the record and what the
index and the forge show now."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from packaging.version import InvalidVersion, Version

from unrelease.errors import BadInput, Refused
from unrelease.forges.base import Forge
from unrelease.indexes.base import Index, sha256_of
from unrelease.indexes.simple import file_version
from unrelease.model import IssueInfo, Record, Release, ReleaseNote, Status, Step
from unrelease.texts import release_notice
from unrelease.versions import find_release

if TYPE_CHECKING:
    from unrelease.undo import UndoOptions, UndoPlan

log = logging.getLogger(__name__)
WITHDRAWN_PREFIX = "[WITHDRAWN] "
_DONE = (Status.DONE, Status.ALREADY_DONE)


def _rollback_did(record: Record, name: str) -> bool:
    return any(s.name == name and s.status in _DONE for s in record.steps)


class UndoPlanning:
    o: UndoOptions
    forge: Forge
    canonical: str
    now: Callable[[], datetime]

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
        if self.o.backup_dir is None and named and named.startswith("artifact "):
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
