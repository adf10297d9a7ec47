"""Texts people read: the incident issue, the withdrawn note, the user notice, the tag message.

Templates live beside this module. Anything that is data (a reason, a version, a filename) goes
through the ``md`` filter so it renders as text and never as markup, mentions or HTML.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from unrelease.model import Record, Step

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

    def _vars(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["verb"] = "yanked" if self.mode == "yank" else "removed"
        data["install"] = f'pip install "{self.package}=={self.target}"'
        data["record_block"] = record_block(self.record) if self.record else ""
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
    text = record.dumps().replace("`", "\\u0060")
    return f"{RECORD_BEGIN}\n```json\n{text}\n```\n{RECORD_END}"


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
