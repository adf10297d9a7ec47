"""Texts people read: the incident issue, the withdrawn note, the user notice, the tag message.

Templates live beside this module. Anything that is data (a reason, a version, a filename) goes
through the ``md`` filter so it renders as text and never as markup, mentions or HTML.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from unrelease.model import Diagnosis, Impact, IssueInfo, Record, Step
from unrelease.texts.escape import clip, code, issue_ref, link, md, md_line, plain

__all__ = [
    "ISSUE_BODY_LIMIT",
    "NOTE_BODY_LIMIT",
    "RECORD_BEGIN",
    "RECORD_END",
    "Texts",
    "clip",
    "code",
    "decision_for",
    "find_record",
    "issue_ref",
    "link",
    "matching_records",
    "md",
    "md_line",
    "plain",
    "record_block",
    "release_notice",
    "render",
    "replace_record",
    "root_cause_vars",
]

# GitHub refuses a longer issue (or comment) body, and a longer release body.
ISSUE_BODY_LIMIT = 65_536
NOTE_BODY_LIMIT = 125_000

RECORD_BEGIN = "<!-- unrelease-record:begin -->"
RECORD_END = "<!-- unrelease-record:end -->"
_RECORD_RE = re.compile(
    re.escape(RECORD_BEGIN) + r"\s*```json\s*(?P<json>.*?)\s*```\s*" + re.escape(RECORD_END),
    re.DOTALL,
)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
        autoescape=False,  # noqa: S701 - markdown, not HTML: data goes through the md filter
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = md
    env.filters["md_line"] = md_line
    env.filters["code"] = code
    env.filters["plain"] = plain
    env.filters["issue_ref"] = issue_ref
    env.globals["link"] = link
    return env


# The runbook's decision rule: critical -> roll back now; minor -> watch 24-72 h, then decide.
DECISIONS = {
    "critical": (
        "Rolled back now",
        "a critical problem (the package does not work after install, a security hole, "
        "damaged data, a clash with a major dependency or a broken build) is rolled back "
        "at once, within 24 hours, without waiting to watch it.",
    ),
    "minor": (
        "Rolled back after watching",
        "a minor problem (some functions only, slower in some cases, or wrong documentation) "
        "is watched for 24-72 hours before deciding; it was watched and judged worth "
        "withdrawing.",
    ),
}


def decision_for(severity: str) -> tuple[str, str]:
    """The decision and why, as the issue shows them, for a rollback of SEVERITY."""
    return DECISIONS.get(
        severity, ("Rolled back", f"the release was judged {severity or 'bad'} and withdrawn.")
    )


@dataclass
class Texts:
    """What every text is made of."""

    package: str
    version: str
    target: str
    reason: str
    mode: str
    index: str
    severity: str
    date: str
    withdrawn: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    issue_url: str | None = None
    tag: str | None = None
    tag_url: str | None = None
    note_url: str | None = None
    run_url: str | None = None
    record: Record | None = None
    run: Diagnosis | None = None  # the failed release run, when known
    impact: Impact | None = None
    never_published: bool = False  # the failed run put no file of the version on the index
    next_release: str | None = None  # the planned re-release and when, e.g. "0.22.6 on Friday"
    related: tuple[str, ...] = ()  # issue references, "#123" (validated upstream)
    decision: str = ""  # e.g. "Rolled back now"; empty: the severity's (``decision_for``)
    decision_why: str = ""  # why; empty: the severity's

    def _vars(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["verb"] = "yanked" if self.mode == "yank" else "removed"
        data["install"] = f'pip install "{self.package}=={self.target}"'
        data["record_block"] = record_block(self.record) if self.record else ""
        data["cause"] = root_cause_vars(self.run) if self.run else None
        decision, why = decision_for(self.severity)
        data["decision"] = self.decision or decision
        data["decision_why"] = self.decision_why or why
        data["unchanged"] = self.never_published and not self.withdrawn
        return data

    def render(self, template: str, **extra: Any) -> str:
        return _env().get_template(template).render(**self._vars(), **extra)

    def issue_title(self) -> str:
        return plain(f"ROLLBACK: {self.package} {self.version}").replace("\n", " ")

    def issue_body(self) -> str:
        def body(t: Texts) -> str:
            return t.render("issue.md.j2", notice=t.render("notice.md.j2"))

        return self._fit(body, ISSUE_BODY_LIMIT)

    def note_title(self) -> str:
        return plain(f"{self.version} [WITHDRAWN]").replace("\n", " ")

    def note_body(self) -> str:
        return self._fit(lambda t: t.render("note.md.j2"), NOTE_BODY_LIMIT)

    def notice(self) -> str:
        return self._fit(lambda t: t.render("notice.md.j2"), ISSUE_BODY_LIMIT)

    def tag_message(self) -> str:
        return self.render("tag.txt.j2")

    def _fit(self, text_of: Callable[[Texts], str], limit: int) -> str:
        """TEXT_OF(self), its user-written parts cut (each to one length, the longest that
        fits) when it would be longer than LIMIT. The record block is never cut."""
        text = text_of(self)
        if len(text) <= limit:
            return text
        low, high = 0, max(len(x) for x in self._user_texts().values())
        best = text_of(self._clipped(0))
        while low <= high:
            mid = (low + high) // 2
            candidate = text_of(self._clipped(mid))
            if len(candidate) <= limit:
                best, low = candidate, mid + 1
            else:
                high = mid - 1
        return best

    def _user_texts(self) -> dict[str, str]:
        """The parts a person (or a log) wrote, which may be any length."""
        return {
            "reason": self.reason,
            "next_release": self.next_release or "",
            "decision_why": self.decision_why,
            "excerpt": self.run.excerpt if self.run else "",
            "run_note": self.run.note if self.run else "",
        }

    def _clipped(self, limit: int) -> Texts:
        cut = {k: clip(v, limit) for k, v in self._user_texts().items()}
        run = self.run
        if run is not None:
            run = dataclasses.replace(run, excerpt=cut["excerpt"], note=cut["run_note"])
        return dataclasses.replace(
            self,
            reason=cut["reason"],
            next_release=cut["next_release"] if self.next_release is not None else None,
            decision_why=cut["decision_why"],
            run=run,
        )


def record_block(record: Record) -> str:
    """The record as a fenced JSON block between markers (backticks escaped so the fence holds)."""
    # Backticks and "<" as JSON escapes: no text in the record can close the fence or the
    # comment marker around it (a release title or a reason may hold either).
    text = record.dumps().replace("`", "\\u0060").replace("<", "\\u003c")
    return f"{RECORD_BEGIN}\n```json\n{text}\n```\n{RECORD_END}"


def replace_record(body: str, record: Record) -> str:
    """BODY with its record block replaced by RECORD's (appended when BODY has none)."""
    block = record_block(record)
    if _RECORD_RE.search(body or ""):
        return _RECORD_RE.sub(lambda _: block, body, count=1)
    return f"{body.rstrip()}\n\n{block}\n"


def matching_records(
    issues: Iterable[IssueInfo], package: str, version: Version
) -> list[tuple[IssueInfo, Record]]:
    """The issues whose record is a rollback of PACKAGE VERSION, in the order given: how
    ``rollback`` finds its own incident issue again and ``undo`` finds what to reverse."""
    wanted = canonicalize_name(package)
    out = []
    for issue in issues:
        record = find_record(issue.body)
        if record is None or canonicalize_name(str(record.package)) != wanted:
            continue
        try:
            if Version(str(record.version)) == version:
                out.append((issue, record))
        except InvalidVersion:
            continue
    return out


def release_notice(package: str, version: str, target: str) -> str:
    """The notice ``--mark-release`` puts at the top of the bad release's notes."""
    return (
        f"> [!WARNING]\n> **Withdrawn.** {package} {version} was withdrawn; "
        f'use {target}: `pip install "{package}=={target}"`\n\n'
    )


def render(template: str, **data: Any) -> str:
    """Render TEMPLATE (a file beside this module) with DATA."""
    return _env().get_template(template).render(**data)


def find_record(body: str) -> Record | None:
    """The record inside an issue body, or None when the body has none (or a broken one)."""
    match = _RECORD_RE.search(body or "")
    if not match:
        return None
    try:
        data = json.loads(match.group("json"))
        if not isinstance(data, dict):
            return None
        return Record.from_json(data)
    except (ValueError, KeyError, TypeError):
        return None


def root_cause_vars(run: Diagnosis) -> dict[str, Any]:
    """What the issue's root-cause section shows of RUN, ready for the template."""
    from unrelease.detect.classify import BY_KEY, UNKNOWN

    cls = BY_KEY.get(run.failure_class, UNKNOWN)
    # The excerpt is log text anyone who can push may shape: it goes in a fence longer than any
    # backtick run in it, and cannot carry a record marker that ``find_record`` would read.
    excerpt = plain(run.excerpt).replace("<!-- unrelease-record", "<!-- (quoted) unrelease-record")
    longest = max((len(m) for m in re.findall(r"`+", excerpt)), default=0)
    source = {"display_title": "the run's title, unverified", "given": "given by hand"}.get(
        run.version_source or "", f"its {run.version_source}"
    )
    r = run.reached
    reached = {
        "complete": "complete",
        "partial": "partial",
        "nothing": "nothing: the release never went out",
        "unknown": "unknown",
    }.get(r.state, r.state)
    return {
        "label": cls.label,
        "prevention": cls.prevention,
        "excerpt": excerpt,
        "fence": "`" * max(3, longest + 1),
        "version_source": source,
        "reached": reached,
    }
