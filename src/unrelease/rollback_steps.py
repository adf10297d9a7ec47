"""The steps of a rollback, as objects the runner walks.

Index: ``backup:{v}`` (delete mode: download and sha256 every file first), ``index:{v}``
(yank, or delete exactly the backed-up files, newest version first), ``verify``.
Forge: ``labels``, ``issue`` (the record, written ahead of every delete), ``tag``, ``note``,
``latest``, ``mark-release``, and ``record`` (the final record update, always attempted).
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from unrelease import verify
from unrelease.errors import Refused, ServiceError, WaitingOnPerson
from unrelease.indexes.base import check_dist_filename, sha256_of
from unrelease.model import DistFile, IssueInfo, Release, ReleaseNote, TagInfo
from unrelease.runner import Task
from unrelease.texts import find_record
from unrelease.versions import find_release

if TYPE_CHECKING:
    from unrelease.engine import Engine, Plan


def files_to_delete(plan: Plan, rel: Release) -> list[DistFile]:
    pattern = plan.options.files
    return [f for f in rel.files if not pattern or fnmatch.fnmatch(f.filename, pattern)]


class Backup(Task):
    """Download every file of one version and check its sha256: nothing is deleted unsaved."""

    def __init__(self, engine: Engine, plan: Plan, rel: Release, folder: Path) -> None:
        files = files_to_delete(plan, rel)
        super().__init__(f"backup:{rel.version}", f"back up {len(files)} file(s) to {folder.name}")
        self.engine, self.plan, self.rel, self.folder = engine, plan, rel, folder
        self.files = files
        self.sha256s: dict[str, str] = {}

    def observe(self) -> str | None:
        have = {}
        for f in self.files:
            path = self.folder / f.filename
            if not path.is_file() or not f.sha256:
                return None
            digest = sha256_of(path)
            if digest != f.sha256.lower():
                return None
            have[f.filename] = digest
        self.sha256s = have
        return f"{len(have)} file(s) already backed up (sha256 checked)"

    def apply(self) -> str:
        index, o = self.engine.index, self.plan.options
        for f in self.files:
            check_dist_filename(f.filename, o.package, self.rel.version)
            path = index.download(f, self.folder)
            self.sha256s[f.filename] = sha256_of(path)
        return f"backed up {len(self.files)} file(s) (sha256 checked)"


class Withdraw(Task):
    """Yank one version, or delete exactly the files that were backed up and recorded."""

    def __init__(self, engine: Engine, plan: Plan, rel: Release, backup: Backup | None) -> None:
        o = plan.options
        what = (
            f"yank {o.package} {rel.version} on {plan.index_url}"
            if o.mode == "yank"
            else f"delete {len(files_to_delete(plan, rel))} file(s) of {o.package} "
            f"{rel.version} from {plan.index_url}" + (" (forced)" if o.force else "")
        )
        super().__init__(f"index:{rel.version}", what)
        self.engine, self.plan, self.rel, self.backup = engine, plan, rel, backup
        self.issue: IssueStep | None = None

    def _now(self) -> Release | None:
        """The version as the index shows it: read now on a retry or before a delete."""
        if self.attempts <= 1 and self.plan.options.mode == "yank":
            return self.rel  # read moments ago by the plan, under our claim
        releases = self.engine.index.releases(self.plan.options.package)
        return find_release(releases, Version(self.rel.version))

    def observe(self) -> str | None:
        now = self._now()
        if now is None or not now.files:
            return f"{self.rel.version} is gone from the index"
        if self.plan.options.mode == "yank":
            return f"{self.rel.version} is yanked" if now.yanked else None
        left = files_to_delete(self.plan, now)
        if not left:
            return f"no file of {self.rel.version} left to delete"
        saved = set(self.backup.sha256s) if self.backup else set()
        new = [f.filename for f in left if f.filename not in saved]
        if new:
            raise Refused(
                f"{', '.join(new)} appeared on the index after the backup; not deleting "
                "(rerun: it will be backed up and recorded first)"
            )
        return None

    def apply(self) -> str:
        o, index = self.plan.options, self.engine.index
        if index.manual:
            return self._by_hand()
        if o.mode == "yank":
            index.yank(o.package, self.rel.version, self.engine.withdraw_reason(self._issue_url()))
            return f"yanked {self.rel.version}"
        files = files_to_delete(self.plan, self.rel)
        if o.files:
            for f in files:
                index.delete_file(o.package, self.rel.version, f, force=o.force)
        else:
            index.delete_release(o.package, self.rel.version, force=o.force)
        return f"deleted {len(files)} file(s) of {self.rel.version} (backed up, sha256 recorded)"

    def _issue_url(self) -> str | None:
        return self.issue.issue.url if self.issue and self.issue.issue else None

    def _by_hand(self) -> str:
        detail = self.engine.manual_detail(self.plan, self.rel, self._issue_url())
        self.engine.notify(f"waiting on a person: {self.rel.version}: {detail}")
        if not self.engine.wait_for_person(self.rel):
            raise WaitingOnPerson(detail)
        return f"done by hand; the index shows {self.rel.version} withdrawn"


class IssueStep(Task):
    """The incident issue with the record: opened, or brought up to date, before any delete."""

    def __init__(self, engine: Engine, plan: Plan, backups: list[Backup]) -> None:
        o = plan.options
        super().__init__(
            "issue",
            f"open issue 'ROLLBACK: {plan.display} {o.version}' labelled {', '.join(o.labels)}",
            url=plan.issue.url if plan.issue else None,
        )
        self.engine, self.plan, self.backups = engine, plan, backups
        self.issue: IssueInfo | None = plan.issue

    def _complete(self, issue: IssueInfo) -> bool:
        record = find_record(issue.body)
        if record is None:
            return False
        for b in self.backups:
            for name, digest in b.sha256s.items():
                if record.sha256s.get(name) != digest or name not in record.files:
                    return False
        return not self.backups or bool(record.backup)

    def observe(self) -> str | None:
        if self.issue is None and (self.attempts > 1 or not self.plan.fresh):
            self.issue = self.engine.find_own_issue()
        if self.issue is not None and self._complete(self.issue):
            return f"#{self.issue.number}"
        return None

    def apply(self) -> str:
        texts = self.engine.texts(self.plan)
        forge = self.engine.forge
        if self.issue is None:
            title, body = texts.issue_title(), texts.issue_body()
            self.issue = forge.create_issue(title, body, self.plan.options.labels)
            self.url = self.issue.url
            return f"#{self.issue.number}"
        self.issue = forge.update_issue(self.issue.number, texts.issue_body())
        return f"#{self.issue.number}: record names every file before the delete"


class TagStep(Task):
    def __init__(self, engine: Engine, plan: Plan) -> None:
        sha = plan.target_tag.sha[:12] if plan.target_tag else "?"
        super().__init__("tag", f"annotated tag {plan.rollback_tag} at {sha} ({plan.to_tag})")
        self.engine, self.plan = engine, plan
        self.tag: TagInfo | None = plan.existing_tag

    def observe(self) -> str | None:
        if self.attempts > 1:
            self.tag = self.engine.forge.resolve_tag(self.plan.rollback_tag)
        want = self.plan.target_tag
        if self.tag is None or want is None:
            return None
        if self.tag.sha != want.sha:
            raise Refused(
                f"tag {self.plan.rollback_tag} already points at {self.tag.sha[:12]}, not at "
                f"{want.sha[:12]} ({self.plan.to_tag}); not moving it"
            )
        return f"{self.tag.name} at {self.tag.sha[:12]}"

    def apply(self) -> str:
        assert self.plan.target_tag is not None  # checked when planning
        message = self.engine.texts(self.plan).tag_message()
        self.tag = self.engine.forge.create_tag(
            self.plan.rollback_tag, self.plan.target_tag.sha, message
        )
        return f"{self.plan.rollback_tag} at {self.tag.sha[:12]}"


class NoteStep(Task):
    def __init__(self, engine: Engine, plan: Plan, tag: TagStep) -> None:
        o = plan.options
        super().__init__(
            "note", f"draft release '{o.version} [WITHDRAWN]' on {plan.rollback_tag}", needs=[tag]
        )
        self.engine, self.plan = engine, plan
        self.note: ReleaseNote | None = engine.find_note(plan, plan.view.notes)

    def observe(self) -> str | None:
        if self.attempts > 1:
            self.note = self.engine.find_note(self.plan, self.engine.forge.list_releases())
        if self.note is not None:
            self.url = self.note.url
            return f"draft {self.note.title!r}"
        return None

    def apply(self) -> str:
        texts, plan = self.engine.texts(self.plan), self.plan
        self.note = self.engine.forge.create_release(
            plan.rollback_tag,
            texts.note_title(),
            texts.note_body(),
            draft=not plan.options.publish_note,
            prerelease=False,
            target=plan.target_tag.sha if plan.target_tag else None,
        )
        self.url = self.note.url
        return f"draft {self.note.title!r}"


def verify_task(engine: Engine, plan: Plan, needs: list[Task]) -> Task:
    from unrelease.runner import FnTask

    o = plan.options

    def apply() -> str:
        releases = engine.index.releases(o.package)
        problems = []
        for rel in plan.withdraw:
            now = find_release(releases, Version(rel.version))
            if (
                now is not None
                and now.files
                and not (now.yanked if o.mode == "yank" else not files_to_delete(plan, now))
            ):
                problems.append(f"{rel.version} still installable")
        if find_release(releases, Version(plan.target.version)) is None:
            problems.append(f"target {plan.target.version} is gone")
        bad_now = find_release(releases, plan.bad)
        if not plan.withdraw and bad_now is not None and bad_now.files:
            problems.append(f"{o.version} is on the index now: rerun to withdraw it")
        if problems:
            raise ServiceError("verify: " + "; ".join(problems))
        detail = f"index shows {', '.join(r.version for r in plan.withdraw)} withdrawn"
        if not plan.withdraw:
            detail = f"index has no file of {o.version}"
        if o.verify_install:
            got = verify.pip_resolves(o.package, engine.index.simple_url)
            if got != plan.target.version:
                raise ServiceError(
                    f"verify: pip installs {o.package} {got}, not {plan.target.version}"
                )
            detail += f"; pip installs {got}"
        return detail

    action = "read the index again" + (
        " and pip-install from it in a fresh venv" if o.verify_install else ""
    )
    return FnTask("verify", action, apply, needs=needs)
