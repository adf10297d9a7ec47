"""Which rollback records a run may trust, and whether a trusted one is the same rollback.

A record is text in an issue anyone who can open or edit issues may write. What a rollback
withdraws is always computed from the index and the target; a record only lets a rerun resume
the same rollback. So a record is read only from an issue whose author is the identity the
tool runs as, ``github-actions[bot]``, or a user with write access; and one that disagrees
with the rollback asked for (package, version, target, mode, index) is refused, never followed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from unrelease.errors import BadInput, Refused
from unrelease.forges.base import Forge
from unrelease.model import IssueInfo, Record
from unrelease.texts import find_record, matching_records

ACTIONS_BOT = "github-actions[bot]"


def trusted(
    issues: Iterable[IssueInfo],
    forge: Forge,
    identity: str | None,
    package: str,
    version: Version,
    notify: Callable[[str], None],
) -> list[tuple[IssueInfo, Record]]:
    """The records of PACKAGE VERSION in ISSUES written by someone the run may trust."""
    out = []
    verdicts: dict[str, bool] = {}
    for issue, record in matching_records(issues, package, version):
        author = issue.author
        if author is None or author in (identity, ACTIONS_BOT):
            out.append((issue, record))  # a local forge's own files, or our own issue
            continue
        if author not in verdicts:
            verdicts[author] = not issue.author_is_bot and forge.can_write(author)
        if verdicts[author]:
            out.append((issue, record))
        else:
            notify(
                f"ignored the record in {issue.url}: its author {author} has no write access "
                "to the repository (records are read only from trusted authors)"
            )
    return out


def check_damage(issue: IssueInfo, record: Record) -> None:
    """A hand-edited record that cannot be relied on: one line, exit 2."""
    for name in ("version", "to"):
        try:
            Version(str(getattr(record, name)))
        except InvalidVersion:
            raise BadInput(
                f"the rollback record in {issue.url} is damaged: {name} "
                f"{getattr(record, name)!r} is not a version; fix or close that issue"
            ) from None
    lists = (record.withdrawn, record.files)
    if not all(isinstance(x, list) and all(isinstance(i, str) for i in x) for x in lists):
        raise BadInput(f"the rollback record in {issue.url} is damaged (withdrawn or files)")


def url_key(url: str) -> str:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def check_resume(
    issue: IssueInfo,
    record: Record,
    *,
    package: str,
    version: Version,
    to: Version,
    mode: str,
    index_url: str,
) -> None:
    """Refuse (exit 2) a trusted record of another rollback, naming the issue and the field."""
    check_damage(issue, record)
    wanted = {
        "package": canonicalize_name(package) == canonicalize_name(str(record.package)),
        "version": Version(str(record.version)) == version,
        "to": Version(str(record.to)) == to,
        "mode": record.mode == mode,
        "index": url_key(str(record.index)) == url_key(index_url),
    }
    asked = {"to": str(to), "mode": mode, "index": index_url}
    for field, same in wanted.items():
        if not same:
            raise Refused(
                f"{issue.url} records a rollback with {field} {getattr(record, field)!r}, "
                f"not {asked.get(field, '')!r}: not resuming another rollback",
                hint=f"rerun with the recorded {field}, or undo that rollback first",
            )


def find_record_of(issue: IssueInfo) -> Record | None:
    return find_record(issue.body)
