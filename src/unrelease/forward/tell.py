"""Telling users about a roll-forward: a release for the new version made Latest, and a
roll-forward section (a comment) in the bad version's incident issue. Both are runner steps
that observe first, so a rerun makes no second release or comment."""

from __future__ import annotations

from collections.abc import Callable

from packaging.utils import canonicalize_name
from packaging.version import Version

from unrelease.forges.base import Forge
from unrelease.model import IssueInfo
from unrelease.runner import FnTask, Task

MARKER = "<!-- unrelease:forward {package} {version} -->"


def incident_of(
    forge: Forge, package: str, bad: str, label: str, notify: Callable[[str], None]
) -> IssueInfo | None:
    """The open incident issue holding a trusted rollback record of PACKAGE BAD."""
    from unrelease.records import trusted

    issues = forge.find_issues(label)
    found = trusted(issues, forge, None, package, Version(bad), notify)
    return found[0][0] if found else None


def section(package: str, bad: str, new: str, from_ref: str) -> str:
    return (
        f"{MARKER.format(package=canonicalize_name(package), version=new)}\n"
        f"## Rolled forward\n\n"
        f"{package} {new} contains {from_ref}'s code. `pip install -U {package}` moves "
        f"you off {bad}."
    )


def release_task(forge: Forge, tag: str, new: str, body: str, needs: list[Task]) -> Task:
    def seen() -> str | None:
        latest = forge.latest_release()
        if latest is not None and latest.tag == tag:
            return f"the release {tag} is Latest"
        return None

    def make() -> str:
        note = next((n for n in forge.list_releases() if n.tag == tag and not n.draft), None)
        if note is None:
            note = forge.create_release(tag, new, body, draft=False, prerelease=False, target=None)
        forge.make_latest(note)
        return f"release {tag} published and made Latest: {note.url}"

    return FnTask("release", f"publish the release {tag}, Latest", make, observe=seen, needs=needs)


def incident_task(forge: Forge, issue: IssueInfo, text: str, needs: list[Task]) -> Task:
    marker = text.splitlines()[0]

    def seen() -> str | None:
        done = any(marker in c for c in forge.issue_comments(issue.number))
        return f"issue #{issue.number} has the roll-forward section" if done else None

    def write() -> str:
        forge.comment_issue(issue.number, text)
        return f"roll-forward section in issue #{issue.number}"

    return FnTask(
        "incident",
        f"roll-forward section in issue #{issue.number}",
        write,
        observe=seen,
        needs=needs,
    )
