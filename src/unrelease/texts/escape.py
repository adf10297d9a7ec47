"""Escaping for the texts people read: data renders as typed, never as markup.

GitHub renders markdown with cmark-gfm, drops raw HTML, then links what is left in the HTML's
text: ``@name`` becomes a mention (it notifies), ``#123`` a reference (it posts a back-link on
issue 123), ``https://...`` a link. Entities are decoded before that last pass, so ``&#64;name``
still mentions: what keeps a mention or a reference inert is a zero-width space after the ``@``
or ``#`` (the way Renovate and Dependabot quote names), which the reader does not see.
"""

from __future__ import annotations

import re
import urllib.parse

# Control characters (C0 but tab and newline, DEL, C1) and the bidirectional overrides that
# reorder what a reader sees ("Trojan Source"): never in a text we write.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")
# What starts a block at the beginning of a line: headings, quotes, list items, setext lines.
_MD_LINE_START = re.compile(r"^([ \t]*)(?:([#>+=-])|(\d+)([.)])(?=[ \t]|$))", re.MULTILINE)
_ZWSP = "&#8203;"
# #123 and GH-123: issue references GitHub would link (and announce on that issue)
_REFERENCE = re.compile(r"#(?=\d)|(?<![\w-])GH-(?=\d)", re.IGNORECASE)
_ISSUE_REF = re.compile(r"#[0-9]{1,10}")
TRUNCATED = "… [truncated: {n} characters]"


def plain(value: object) -> str:
    """VALUE as text with newlines as ``\\n`` and without control characters (tab and newline
    stay): what a plain-text message (the tag's) and a fenced log excerpt may hold."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, mark, digits, dot = match.groups()
    if mark:
        return f"{indent}\\{mark}"
    return f"{indent}{digits}\\{dot}"  # "1." becomes "1\." (a backslash before a digit shows)


def md(value: object) -> str:
    """Escape text so markdown shows it as typed: no markup, no HTML, no @-mentions and no
    #-references."""
    text = plain(value).replace("&", "&amp;")
    text = _REFERENCE.sub(lambda m: m.group(0) + _ZWSP, text)  # before any entity goes in
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_LINE_START.sub(_escape_line_start, text)
    return text.replace("<", "&lt;").replace("@", "@" + _ZWSP)


def md_line(value: object) -> str:
    """Like ``md`` but on one line (table cells, list items)."""
    return md(" ".join(plain(value).split()))


def code(value: object) -> str:
    """Inline code that stays inline code whatever the value holds."""
    text = " ".join(plain(value).split()).replace("`", "'")
    return f"`{text}`"


def issue_ref(value: object) -> str:
    """An issue reference (``#123``) as GitHub links it; anything else as escaped text."""
    text = str(value).strip()
    return text if _ISSUE_REF.fullmatch(text) else md_line(text)


def link(label: object, url: object) -> str:
    """A markdown link to URL (http(s) only, quoted so it cannot end early), or the label
    alone."""
    if not isinstance(url, str) or not re.match(r"https?://", url):
        return md_line(label)
    safe = urllib.parse.quote(plain(url), safe=":/?#@!$&'*+,;=%-._~")
    return f"[{md_line(label)}]({safe})"


def clip(text: str, limit: int) -> str:
    """TEXT cut to LIMIT characters, with a visible marker saying how many were cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit)] + TRUNCATED.format(n=len(text) - max(0, limit))
