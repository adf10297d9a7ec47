"""The forge steps of a rollback that need no class of their own: Latest, marking the bad
release, labels and the final record update."""

from __future__ import annotations

from typing import TYPE_CHECKING

from packaging.version import Version

from unrelease.forges.base import LabelSpec
from unrelease.model import Status
from unrelease.runner import FnTask, Task
from unrelease.texts import release_notice

if TYPE_CHECKING:
    from unrelease.engine import Engine, Plan
    from unrelease.rollback_steps import IssueStep

LABEL_SPECS = {
    "release": LabelSpec("release", "1d76db", "Releases and their rollbacks"),
    "critical": LabelSpec(
        "critical", "b60205", "Critical: rolled back at once (broken, insecure or unusable)"
    ),
    "minor": LabelSpec("minor", "fbca04", "Minor: watched 24-72 h, rolled back if not settled"),
}
DEFAULT_LABEL_COLOR = "ededed"


def latest_task(engine: Engine, plan: Plan) -> Task:
    """Latest moves only when it is a withdrawn version's release, and then to the newest
    remaining good final release: never to an older line than what stays."""
    latest, withdrawn_tags = plan.view.latest, {engine.tag_of(r.version) for r in plan.withdraw}
    gone = {Version(r.version) for r in plan.withdraw}
    good = sorted(
        (
            r
            for r in plan.releases
            if Version(r.version) not in gone
            and r.files
            and not r.yanked
            and not Version(r.version).is_prerelease
        ),
        key=lambda r: Version(r.version),
        reverse=True,
    )
    published = {n.tag: n for n in plan.view.notes if not n.draft and not n.prerelease}
    new = next(
        (
            published[engine.tag_of(r.version)]
            for r in good
            if engine.tag_of(r.version) in published
        ),
        None,
    )
    if latest is not None and new is not None and latest.id == new.id:
        return FnTask(
            "latest", f"{new.tag} is Latest", lambda: None, status=Status.ALREADY_DONE, url=new.url
        )
    if latest is None or latest.tag not in withdrawn_tags:
        shown = latest.tag if latest else "no release"
        return FnTask(
            "latest",
            f"{shown} is Latest, not a withdrawn release: left as it is",
            lambda: None,
            status=Status.SKIPPED,
        )
    if new is None:
        return FnTask(
            "latest",
            "no published release of a remaining version to make Latest",
            lambda: None,
            status=Status.SKIPPED,
        )

    def observe() -> str | None:
        now = engine.forge.latest_release() if task.attempts > 1 else latest
        return f"{new.tag} is Latest" if now is not None and now.id == new.id else None

    def apply() -> str:
        engine.forge.make_latest(new)
        return f"{new.tag} is Latest (was {latest.tag})"

    task = FnTask(
        "latest",
        f"make release {new.title or new.tag!r} Latest (was {latest.tag})",
        apply,
        observe=observe,
        url=new.url,
    )
    return task


def mark_task(engine: Engine, plan: Plan) -> Task:
    note = engine.bad_release_note(plan)
    if note is None:
        return FnTask(
            "mark-release", "no release for the bad version", lambda: None, status=Status.SKIPPED
        )

    def observe() -> str | None:
        return f"{note.tag} is marked" if note.title.startswith("[WITHDRAWN]") else None

    def apply() -> str:
        o = plan.options
        notice = release_notice(plan.display, o.version, plan.target.version)
        engine.forge.update_release(
            note,
            title=f"[WITHDRAWN] {note.title or note.tag}",
            body=notice + note.body,
            draft=note.draft,  # the current value: never publish a draft by accident
            prerelease=True,
        )
        return f"marked {note.tag}"

    return FnTask(
        "mark-release", f"mark release {note.title!r} as withdrawn", apply, observe=observe
    )


def labels_task(engine: Engine, plan: Plan) -> Task:
    missing = plan.missing_labels
    if not missing:
        return FnTask("labels", "labels exist", lambda: None, status=Status.ALREADY_DONE)

    def apply() -> str:
        for name in missing:
            spec = LABEL_SPECS.get(name.lower(), LabelSpec(name, DEFAULT_LABEL_COLOR, ""))
            engine.forge.create_label(LabelSpec(name, spec.color, spec.description))
        return f"created {', '.join(missing)}"

    return FnTask("labels", f"create labels {', '.join(missing)}", apply)


def record_task(engine: Engine, plan: Plan, issue: IssueStep, others: list[Task]) -> Task:
    """The final record update: attempted whatever the other steps did, retried on faults."""

    def observe() -> str | None:
        if issue.issue is None:
            return "no issue to update"
        body = engine.texts(plan).issue_body()
        return "record up to date" if body == issue.issue.body else None

    def apply() -> str:
        assert issue.issue is not None
        issue.issue = engine.forge.update_issue(issue.issue.number, engine.texts(plan).issue_body())
        return f"record in #{issue.issue.number} updated"

    return FnTask(
        "record",
        "update the record in the issue",
        apply,
        observe=observe,
        needs=[*others, issue],
        always=True,
    )
