"""Texts people read: the incident issue, the withdrawn note, the user notice, the tag message.

Templates live beside this module. Anything that is data (a reason, a version, a filename) goes
through the ``md`` filter so it renders as text and never as markup, mentions or HTML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from unrelease.model import Diagnosis, Impact, IssueInfo, Record, Step

RECORD_BEGIN = "<!-- unrelease-record:begin -->"
RECORD_END = "<!-- unrelease-record:end -->"
_RECORD_RE = re.compile(
    re.escape(RECORD_BEGIN) + r"\s*```json\s*(?P<json>.*?)\s*```\s*" + re.escape(RECORD_END),
    re.DOTALL,
)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")
# What starts a block at the beginning of a line: headings, quotes, list items, setext lines.
_MD_LINE_START = re.compile(r"^([ \t]*)(?:([#>+=-])|(\d+)([.)])(?=[ \t]|$))", re.MULTILINE)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, mark, digits, dot = match.groups()
    if mark:
        return f"{indent}\\{mark}"
    return f"{indent}{digits}\\{dot}"  # "1." becomes "1\." (a backslash before a digit shows)


def md(value: object) -> str:
    """Escape text so markdown shows it as typed: no markup, no HTML, no @-mentions."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("&", "&amp;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_LINE_START.sub(_escape_line_start, text)
    return text.replace("<", "&lt;").replace("@", "&#64;")


def md_line(value: object) -> str:
    """Like ``md`` but on one line (table cells, list items)."""
    return md(" ".join(str(value).split()))


def code(value: object) -> str:
    """Inline code that stays inline code whatever the value holds."""
    text = " ".join(str(value).split()).replace("`", "'")
    return f"`{text}`"


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
    return env


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

    def _vars(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["verb"] = "yanked" if self.mode == "yank" else "removed"
        data["install"] = f'pip install "{self.package}=={self.target}"'
        data["record_block"] = record_block(self.record) if self.record else ""
        data["cause"] = root_cause_vars(self.run) if self.run else None
        return data

    def render(self, template: str) -> str:
        return _env().get_template(template).render(**self._vars())

    def issue_title(self) -> str:
        return f"ROLLBACK: {self.package} {self.version}"

    def issue_body(self) -> str:
        return self.render("issue.md.j2")

    def note_title(self) -> str:
        return f"{self.version} [WITHDRAWN]"

    def note_body(self) -> str:
        return self.render("note.md.j2")

    def notice(self) -> str:
        return self.render("notice.md.j2")

    def tag_message(self) -> str:
        return self.render("tag.txt.j2")


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
    excerpt = run.excerpt.replace("<!-- unrelease-record", "<!-- (quoted) unrelease-record")
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
