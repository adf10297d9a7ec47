"""Planning a rollback: read the index and the forge once, check everything checkable, and
build the steps. Every refusal here is exit 2 with nothing changed."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from packaging.version import Version

from unrelease import records
from unrelease.errors import BadInput, NotFound, Refused
from unrelease.indexes.base import Project, check_dist_filename
from unrelease.model import Record, Release, Status
from unrelease.refnames import check_ref_name, render_template
from unrelease.rollback_forge import labels_task, latest_task, mark_task, record_task
from unrelease.rollback_steps import (
    Backup,
    IssueStep,
    NoteStep,
    TagStep,
    Withdraw,
    files_to_delete,
    verify_task,
)
from unrelease.runner import Task, as_error, transient
from unrelease.texts import clip
from unrelease.versions import canonical_version, choose_target, find_release, to_withdraw

if TYPE_CHECKING:
    from unrelease.engine import Engine, Plan

REASON_IN_RECORD = 4000  # the issue shows the rest (cut to fit GitHub's limit)
_BLOCKED_STATUS = ("archived", "quarantined")


def check_options(e: Engine) -> None:
    """What needs no network: mode, capabilities, --files, templates."""
    o, caps = e.o, e.index.capabilities
    if o.mode not in ("yank", "delete"):
        raise BadInput(f"unknown mode {o.mode!r} (yank or delete)")
    if o.files and o.mode != "delete":
        raise Refused("--files works with --mode delete only (an index yanks whole releases)")
    if o.mode == "yank" and not caps.yank:
        raise Refused(
            f"{e.index.kind} index cannot yank; it can do: "
            f"{' or '.join(caps.modes()) or 'nothing'}",
            hint="pass --mode delete (files are backed up first)" if caps.delete_release else None,
        )
    if o.mode == "delete" and not caps.delete_release:
        raise Refused(f"{e.index.kind} index cannot delete a release")
    if o.files and not caps.delete_file:
        raise Refused(f"{e.index.kind} index cannot delete single files")
    sample = {"version": "1.0", "to_tag": "v1.0", "date": "20000101", "to": "1.0", "package": "p"}
    render_template("--tag-format", o.tag_format, version="1.0")
    if "{version}" not in o.tag_format:
        raise BadInput("--tag-format must contain {version}")
    render_template("--rollback-tag", o.rollback_tag, **sample)


def read_project(e: Engine) -> Project:
    for attempt in range(3):  # a read: safe to repeat after a transient fault
        try:
            project = e.index.project(e.o.package)
            break
        except NotFound:
            raise BadInput(f"package {e.o.package} is not on {e.index.url}") from None
        except Exception as exc:
            err = as_error(exc)
            if not transient(err) or attempt == 2:
                raise err from None
    if project.status in _BLOCKED_STATUS:
        why = f": {project.status_reason}" if project.status_reason else ""
        raise Refused(f"{project.name} is {project.status} on {e.index.url}{why}; not rolling back")
    return project


def make_plan(e: Engine) -> Plan:
    from unrelease.engine import Plan

    o = e.o
    check_options(e)
    bad_in = Version(str(_parse(o.version)))
    explicit = _parse(o.to, "--to version") if o.to else None
    project = read_project(e)
    releases = project.releases
    o.version = canonical_version(o.version, releases)
    bad = Version(o.version)
    if explicit is not None:
        o.to = canonical_version(str(explicit), releases, what="--to version")
    on_index = find_release(releases, bad)
    never = o.run is not None and (on_index is None or not on_index.files)
    target = choose_target(releases, bad, explicit)
    withdraw = [r for r in to_withdraw(releases, bad, Version(target.version)) if r.files]
    if never:
        withdraw = []
    now = e.now()
    to_tag = check_ref_name("--tag-format", e.tag_of(target.version))
    rollback_tag = check_ref_name(
        "--rollback-tag",
        render_template(
            "--rollback-tag",
            o.rollback_tag,
            to_tag=to_tag,
            date=now.strftime("%Y%m%d"),
            version=o.version,
            to=target.version,
            package=project.name,
        ),
    )
    view = e.forge.view(o.labels[0], o.labels, [to_tag, rollback_tag])
    found = records.trusted(view.issues, e.forge, view.identity, o.package, bad, e.notify)
    live = sorted((p for p in found if p[1].undone_at is None), key=lambda p: p[0].number)
    issue, prior = live[0] if live else (None, None)
    if on_index is None and o.run is None and prior is None:
        raise BadInput(f"{o.package} {bad_in} is not on {e.index.url}")
    tags = dict(view.tags)
    if prior is not None and issue is not None:
        records.check_resume(
            issue,
            prior,
            package=o.package,
            version=bad,
            to=Version(target.version),
            mode=o.mode,
            index_url=e.index.url,
        )
        if prior.tag and prior.tag != rollback_tag:
            rollback_tag = check_ref_name("the recorded tag", prior.tag)
            tags.update(e.forge.resolve_tags([rollback_tag]))
        withdraw = _with_earlier(withdraw, prior, Version(target.version), bad)
    target_tag, existing = tags.get(to_tag), tags.get(rollback_tag)
    if not never:
        _check_tags(to_tag, rollback_tag, target, target_tag, existing)
    _check_files(e, releases, withdraw, issue is not None)
    record = prior or _new_record(e, target, to_tag, now, view)
    record.withdrawn = sorted(
        {r.version for r in withdraw} | set(record.withdrawn), key=Version, reverse=True
    )
    record.tag = rollback_tag
    if o.run is not None:
        record.root_cause = o.run.to_json()
    bad_note = next((n for n in view.notes if n.tag == e.tag_of(o.version)), None)
    if o.mark_release and bad_note and not bad_note.title.startswith("[WITHDRAWN]"):
        record.marked_before = record.marked_before or {
            "tag": bad_note.tag,
            "title": bad_note.title,
            "draft": bad_note.draft,
            "prerelease": bad_note.prerelease,
        }
    plan = Plan(
        options=o,
        index_url=e.index.url,
        display=project.name,
        bad=bad,
        target=target,
        withdraw=withdraw,
        to_tag=to_tag,
        rollback_tag=rollback_tag,
        target_tag=target_tag,
        existing_tag=existing,
        missing_labels=[x for x in o.labels if x not in view.labels],
        issue=issue,
        record=record,
        view=view,
        releases=releases,
        never_published=never,
    )
    plan.forge_kind = e.forge.kind
    plan.manual = e.index.manual
    plan.tasks = build_tasks(e, plan)
    return plan


def _parse(text: str, what: str = "version") -> Version:
    from unrelease.versions import parse_version

    return parse_version(text, what=what)


def _with_earlier(
    withdraw: list[Release], prior: Record, target: Version, bad: Version
) -> list[Release]:
    """Versions an earlier run of this same rollback already deleted are gone from the index:
    show them as done. Only versions inside (target, bad]: a record never widens a rollback."""
    have = {Version(r.version) for r in withdraw}
    for v in prior.withdrawn:
        ver = Version(v)
        if target < ver <= bad and ver not in have:
            withdraw.append(Release(version=str(ver)))
    return sorted(withdraw, key=lambda r: Version(r.version), reverse=True)


def _check_tags(
    to_tag: str, rollback_tag: str, target: Release, target_tag: object, existing: object
) -> None:
    from unrelease.model import TagInfo

    if not isinstance(target_tag, TagInfo):
        raise BadInput(
            f"tag {to_tag} of the target {target.version} is missing; nothing changed",
            hint="push it, or pass --tag-format to name your tags",
        )
    if isinstance(existing, TagInfo) and existing.sha != target_tag.sha:
        raise Refused(
            f"tag {rollback_tag} already points at {existing.sha[:12]}, not at "
            f"{target_tag.sha[:12]} ({to_tag}); not moving it",
            hint="pass another --rollback-tag",
        )


def _check_files(
    e: Engine, releases: list[Release], withdraw: list[Release], resuming: bool
) -> None:
    o = e.o
    for rel in withdraw:
        for f in rel.files:
            check_dist_filename(f.filename, o.package, rel.version)
    if o.files and not resuming:
        for rel in withdraw:
            if rel.files and not [f for f in rel.files if _match(f.filename, o.files)]:
                raise BadInput(f"no file of {o.package} {rel.version} matches {o.files!r}")
    if o.mode == "delete" and not o.files:
        gone = {r.version for r in withdraw}
        if not [r for r in releases if r.version not in gone and r.files]:
            raise Refused("refusing to delete the last remaining release of the package")


def _match(name: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatch(name, pattern)


def _new_record(e: Engine, target: Release, to_tag: str, now: object, view: object) -> Record:
    from datetime import datetime

    from unrelease.forges.base import RepoView

    assert isinstance(now, datetime)
    assert isinstance(view, RepoView)
    o = e.o
    return Record(
        id=f"rb-{now.strftime('%Y%m%d')}-{uuid.uuid4().hex[:8]}",
        package=o.package,
        version=o.version,
        to=target.version,
        mode=o.mode,
        reason=clip(o.reason, REASON_IN_RECORD),
        index=e.index.url,
        severity=o.severity,
        who=o.who,
        when=now.isoformat(timespec="seconds"),
        run_url=o.run_url,
        to_tag=to_tag,
        latest_before=view.latest.tag if view.latest else None,
    )


def build_tasks(e: Engine, plan: Plan) -> list[Task]:
    o = plan.options
    labels = labels_task(e, plan)
    backups: dict[str, Backup] = {}
    if o.mode == "delete" and not e.index.manual:
        folder = o.backup_dir
        for rel in plan.withdraw:
            if rel.files:
                backups[rel.version] = Backup(e, plan, rel, folder / f"{e.canonical}-{rel.version}")
    issue = IssueStep(e, plan, list(backups.values()))
    issue.needs = (labels, *backups.values())
    withdraws: list[Task] = []
    for rel in plan.withdraw:
        w = Withdraw(e, plan, rel, backups.get(rel.version))
        w.issue = issue
        w.needs = (
            issue,
            *([backups[rel.version]] if rel.version in backups else []),
            *withdraws[-1:],
        )  # newest first: never an older one while a newer one stays
        if (
            not rel.files
            or (o.mode == "yank" and rel.yanked)
            or (o.mode == "delete" and not files_to_delete(plan, rel))
        ):
            w.status, w.detail = Status.ALREADY_DONE, f"{rel.version} already withdrawn"
        withdraws.append(w)
    tag = TagStep(e, plan)
    note = NoteStep(e, plan, tag)
    latest = latest_task(e, plan)
    forge_tasks: list[Task] = [tag, note, latest]
    if o.mark_release:
        mark = mark_task(e, plan)
        # Both edit releases: one after the other, so neither writes back a stale copy.
        latest.needs = (*latest.needs, mark)
        forge_tasks.append(mark)
    for t in forge_tasks:
        t.needs = (*t.needs, issue)
        if plan.never_published:
            t.status, t.detail = Status.SKIPPED, "the release never went out"
        elif t.status is Status.PLANNED:
            seen = t.observe()
            if seen is not None:
                t.status, t.detail = Status.ALREADY_DONE, seen
    if issue.status is Status.PLANNED and plan.issue is not None and not backups:
        seen = issue.observe()
        if seen is not None:
            issue.status, issue.detail = Status.ALREADY_DONE, seen
    verify = verify_task(e, plan, withdraws)
    tasks: list[Task] = [
        *backups.values(),
        *withdraws,
        forge_tasks[0],
        labels,
        issue,
        *forge_tasks[1:],
        verify,
    ]
    tasks.append(record_task(e, plan, issue, list(tasks)))
    return tasks
