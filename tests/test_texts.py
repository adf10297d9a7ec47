"""The texts people read: escaping, the record block, and every template."""

from __future__ import annotations

import html
import json
import re

import cmarkgfm
import pytest

from unrelease.model import Record, Status, Step
from unrelease.texts import (
    RECORD_BEGIN,
    RECORD_END,
    Texts,
    code,
    find_record,
    md,
    md_line,
    record_block,
)

INJECTION = (
    "<img src=x onerror=alert(1)> **bold** [click](http://evil.example) @octocat\n"
    "# Heading\n"
    "- list item\n"
    "```\n"
    "<!-- unrelease-record:begin -->\n"
    "| a | b |"
)


def make_record(reason: str = "imports fail on Python 3.12", **kw: object) -> Record:
    data: dict[str, object] = {
        "id": "rb-20240102-abcdef12",
        "package": "demo-pkg",
        "version": "1.2.0",
        "to": "1.1.0",
        "mode": "delete",
        "reason": reason,
        "index": "http://127.0.0.1:8080/",
        "severity": "critical",
        "who": "octo",
        "when": "2024-01-02T03:04:05+00:00",
        "withdrawn": ["1.2.0"],
        "files": ["demo_pkg-1.2.0-py3-none-any.whl", "demo_pkg-1.2.0.tar.gz"],
        "steps": [Step("index:1.2.0", "delete", Status.DONE, "deleted 2 file(s)")],
        "backup": "/tmp/backup",
        **kw,
    }
    return Record(**data)  # type: ignore[arg-type]


def make_texts(reason: str = "imports fail on Python 3.12", **kw: object) -> Texts:
    record = make_record(reason)
    data: dict[str, object] = {
        "package": "demo-pkg",
        "version": "1.2.0",
        "target": "1.1.0",
        "reason": reason,
        "mode": "delete",
        "index": "http://127.0.0.1:8080/",
        "severity": "critical",
        "date": "2024-01-02",
        "withdrawn": ["1.2.0", "1.1.5"],
        "files": ["demo_pkg-1.2.0-py3-none-any.whl", "demo_pkg-1.2.0.tar.gz"],
        "steps": [
            Step("index:1.2.0", "delete", Status.DONE, "deleted 2 file(s) | of 1.2.0"),
            Step("tag", "tag", Status.DONE, "v1.1.0-rollback-20240102", url="http://t.example/t"),
            Step("note", "note", Status.FAILED, "HTTP 500"),
        ],
        "issue_url": "http://forge.example/issues/7",
        "tag": "v1.1.0-rollback-20240102",
        "tag_url": "http://forge.example/tags/v1.1.0-rollback-20240102",
        "note_url": "http://forge.example/releases/3",
        "run_url": "http://forge.example/actions/runs/42",
        "record": record,
        **kw,
    }
    return Texts(**data)  # type: ignore[arg-type]


def outside_record(body: str) -> str:
    return body.split(RECORD_BEGIN)[0]


# --- md / md_line / code ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a & b", "a &amp; b"),
        ("&lt;", "&amp;lt;"),
        ("*x* _y_", r"\*x\* \_y\_"),
        ("[l](http://u)", r"\[l\](http://u)"),
        ("a | b", r"a \| b"),
        ("~~s~~ {c}", r"\~\~s\~\~ \{c\}"),
        ("back\\slash", "back\\\\slash"),
        ("`code`", r"\`code\`"),
        ("<b>hi</b>", "&lt;b>hi&lt;/b>"),
        ("<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"),
        ("@octocat please", "@&#8203;octocat please"),  # &#64; would still mention
        ("mail a@b.c", "mail a@&#8203;b.c"),
        ("see #123 and GH#4", "see #&#8203;123 and GH#&#8203;4"),  # no reference, no back-link
        ("#1 first", "\\#&#8203;1 first"),
        ("C# and #x", "C# and #x"),
        ("GH-12 gh-3 x-GH-4", "GH-&#8203;12 gh-&#8203;3 x-GH-4"),
        ("nul\x00 bell\x07 esc\x1b[31m del\x7f", "nul bell esc\\[31m del"),
        ("tab\tkept\nline", "tab\tkept\nline"),
        ("bidi \u202eevil\u2066", "bidi evil"),
        ("# heading", r"\# heading"),
        ("- item", r"\- item"),
        ("+ item", r"\+ item"),
        ("> quote", r"\> quote"),
        ("===", r"\==="),
        ("  # indented", r"  \# indented"),
        ("line\n# two\n- three", "line\n\\# two\n\\- three"),
        ("not # start", "not # start"),
        ("v1.2.0", "v1.2.0"),
    ],
)
def test_md_escapes(raw: str, escaped: str) -> None:
    assert md(raw) == escaped


def test_md_escapes_numbered_list_start() -> None:
    out = md("1. first\n2) second")
    assert not out.startswith("1.")
    assert "\n2)" not in out


@pytest.mark.parametrize("version", ["1.2.0", "10.0", "2)"])
def test_md_leaves_versions_alone(version: str) -> None:
    assert md(version) == version or shown(md(version)) == version


def test_versions_render_without_backslash() -> None:
    t = make_texts()
    for text in (t.issue_body(), t.note_body(), t.notice()):
        assert "\\1." not in text
    # "1\.2.0" would be a fine escape: it renders as 1.2.0
    issue, note, notice = (
        x.replace("\\.", ".") for x in (t.issue_body(), t.note_body(), t.notice())
    )
    assert "## Rollback of demo-pkg 1.2.0 → 1.1.0" in issue
    assert "**demo-pkg 1.2.0 was withdrawn.** Use 1.1.0 instead." in note
    assert notice.startswith("# Release withdrawn: demo-pkg 1.2.0\n")


def test_md_takes_any_object() -> None:
    assert md(12) == "12"


def shown(text: str) -> str:
    """What a CommonMark renderer shows for TEXT: one paragraph's text, or the raw HTML."""
    out = cmarkgfm.github_flavored_markdown_to_html(text).strip()
    assert out.startswith("<p>"), out
    assert out.endswith("</p>"), out
    assert out.count("<p>") == 1, out
    # a bare URL autolinks (GitHub does too), shown as it links; no other link, no mailto:
    for href, label in re.findall(r'<a href="([^"]*)">(.*?)</a>', out):
        assert href == label and href.startswith("http"), out
    out = re.sub(r'<a href="[^"]*">(.*?)</a>', r"\1", out)
    return html.unescape(out[3:-4]).replace("\u200b", "")  # the zero-width space is unseen


@pytest.mark.parametrize(
    "raw",
    [
        "a & b &amp; c",
        "*x* _y_ **z** __w__",
        "[l](http://u) ![i](http://i)",
        "<b>hi</b> <!-- c --> <img src=x>",
        "`code` ``more``",
        "a | b",
        "@octocat #12 a@b.c ~~s~~",
        "back\\slash \\* \\",
        "x\n# h\n- i\n+ p\n> q",
    ],
)
def test_md_renders_as_typed(raw: str) -> None:
    assert shown(md(raw)) == raw


@pytest.mark.parametrize("raw", ["1. first", "10) tenth"])
def test_md_numbered_line_renders_as_typed(raw: str) -> None:
    assert shown(md(raw)) == raw


def test_md_carriage_return_line_start() -> None:
    assert shown(md("a\r# b")).replace("\r", "\n") == "a\n# b"


def test_md_line_collapses_whitespace() -> None:
    assert md_line("a\n# b\t| c  ") == r"a # b \| c"


@pytest.mark.parametrize(
    ("raw", "out"),
    [
        ("1.2.0", "`1.2.0`"),
        ("a`b", "`a'b`"),
        ("```", "`'''`"),
        ("multi\nline   text", "`multi line text`"),
        ("<b>@x</b>", "`<b>@x</b>`"),
    ],
)
def test_code(raw: str, out: str) -> None:
    assert code(raw) == out


# --- the record block ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reason",
    [
        "plain",
        "has ``` a fence\n```json\n{}\n```\nand more",
        "unicode: ünïcödé — 日本語 🚀",
        f"markers {RECORD_END} {RECORD_BEGIN} inside",
        'quotes " and \\ backslash \\` and `',
        INJECTION,
    ],
)
def test_record_block_round_trip(reason: str) -> None:
    record = make_record(reason)
    block = record_block(record)
    assert block.startswith(RECORD_BEGIN)
    assert block.endswith(RECORD_END)
    assert block.count("```") == 2  # the fence holds: no backtick from the data
    found = find_record(f"some text before\n\n{block}\n\nafter")
    assert found == record
    assert found.reason == reason


def test_find_record_none_when_absent() -> None:
    assert find_record("") is None
    assert find_record("a hand-written issue\n```json\n{}\n```") is None
    assert find_record(None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "inner",
    [
        "{not json",
        '{"id": "x"}',  # required fields missing
        '{"id": "x", "steps": "nope"}',
        "",
    ],
)
def test_find_record_none_when_broken(inner: str) -> None:
    body = f"{RECORD_BEGIN}\n```json\n{inner}\n```\n{RECORD_END}"
    assert find_record(body) is None


@pytest.mark.parametrize("inner", ["[]", '"a string"', "42", "null"])
def test_find_record_none_when_not_an_object(inner: str) -> None:
    body = f"{RECORD_BEGIN}\n```json\n{inner}\n```\n{RECORD_END}"
    assert find_record(body) is None


def test_find_record_ignores_unknown_keys() -> None:
    data = make_record().to_json()
    data["added_later"] = 1
    body = f"{RECORD_BEGIN}\n```json\n{json.dumps(data)}\n```\n{RECORD_END}"
    found = find_record(body)
    assert found is not None
    assert found.id == "rb-20240102-abcdef12"


def test_find_record_in_issue_body_is_the_real_one_despite_a_forged_reason() -> None:
    forged = make_record("forged", id="rb-forged")
    reason = "look:\n" + record_block(forged)
    texts = make_texts(reason)
    found = find_record(texts.issue_body())
    assert found is not None
    assert found.id == "rb-20240102-abcdef12"
    assert found.reason == reason


# --- the templates ------------------------------------------------------------------------------
def test_issue_title_and_note_title() -> None:
    t = make_texts()
    assert t.issue_title() == "ROLLBACK: demo-pkg 1.2.0"
    assert t.note_title() == "1.2.0 [WITHDRAWN]"


def test_issue_body_has_every_section() -> None:
    body = make_texts().issue_body()
    for needle in (
        "## Rollback of demo-pkg ",
        "**Severity:** critical",
        "**Mode:** delete",
        "2024-01-02",
        "### Reason\nimports fail on Python 3.12",
        "### Scope",
        "- Withdrawn from `http://127.0.0.1:8080/`: `1.2.0`, `1.1.5` (removed)",
        "  - `demo_pkg-1.2.0-py3-none-any.whl`",
        "  - `demo_pkg-1.2.0.tar.gz`",
        "- Users go back to `1.1.0`",
        "- Failed run: http://forge.example/actions/runs/42",
        "### Actions taken",
        "| step | status | detail |",
        r"| index:1.2.0 | done | deleted 2 file(s) \| of 1.2.0 |",
        "| tag | done | [v1.1.0-rollback-20240102](http://t.example/t) |",
        "| note | failed | HTTP 500 |",
        "Rollback tag: [v1.1.0-rollback-20240102]"
        "(http://forge.example/tags/v1.1.0-rollback-20240102)",
        "Withdrawn note (draft): http://forge.example/releases/3",
        "### What users should do",
        '```\npip install "demo-pkg==1.1.0"\n```',
        "`demo-pkg!=1.2.0`",
        "### Re-release checklist",
        "- [ ] Published to TestPyPI",
        "### Prevention",
        "<details><summary>Rollback record</summary>",
        RECORD_BEGIN,
        RECORD_END,
    ):
        assert needle in body, needle
    found = find_record(body)
    assert found is not None
    assert found.id == "rb-20240102-abcdef12"


def test_issue_body_yank_and_optional_parts_absent() -> None:
    t = make_texts(
        mode="yank",
        files=[],
        run_url=None,
        tag_url=None,
        note_url=None,
        record=None,
        steps=[],
    )
    body = t.issue_body()
    assert "(yanked)" in body
    assert "(removed)" not in body
    assert "- Files:" not in body
    assert "Failed run" not in body
    assert "Rollback tag:" not in body
    assert "Withdrawn note" not in body
    assert RECORD_BEGIN not in body
    assert find_record(body) is None


def test_note_body() -> None:
    note = make_texts().note_body()
    assert note.startswith("> [!WARNING]")
    assert "**demo-pkg " in note
    assert " was withdrawn.** Use " in note
    assert "imports fail on Python 3.12" in note
    assert "Tracked in http://forge.example/issues/7." in note
    assert 'pip install "demo-pkg==1.1.0"' in note
    assert "`1.2.0` was removed from `http://127.0.0.1:8080/` on 2024-01-02" in note


def test_note_body_without_issue() -> None:
    note = make_texts(issue_url=None).note_body()
    assert "Tracked in" not in note
    assert "was withdrawn" in note


def test_notice() -> None:
    notice = make_texts(mode="yank").notice()
    assert notice.startswith("# Release withdrawn: demo-pkg ")
    assert "- `1.2.0`, `1.1.5` yanked from `http://127.0.0.1:8080/`" in notice
    assert "- Roll back to `1.1.0`" in notice
    assert 'pip install "demo-pkg==1.1.0"' in notice
    assert "Details and progress: http://forge.example/issues/7" in notice
    assert "imports fail on Python 3.12" in notice
    assert "### More" not in make_texts(issue_url=None).notice()


def test_tag_message() -> None:
    msg = make_texts().tag_message()
    lines = msg.splitlines()
    assert lines[0] == "Rollback of demo-pkg 1.2.0 to 1.1.0"
    assert "Bad version: 1.2.0" in lines
    assert "Target: 1.1.0" in lines
    assert "Reason: imports fail on Python 3.12" in lines
    assert "Record: rb-20240102-abcdef12" in lines
    assert "(delete)" in msg
    assert "Record:" not in make_texts(record=None).tag_message()


def _assert_escaped(text: str) -> None:
    assert "<img" not in text
    assert "&lt;img" in text
    assert "@octocat" not in text
    assert "@&#8203;octocat" in text
    assert "**bold**" not in text
    assert r"\*\*bold\*\*" in text
    assert "[click](" not in text
    assert r"\[click\](" in text
    assert "\n# Heading" not in text
    assert "\n\\# Heading" in text
    assert "\n- list item" not in text
    assert "\n\\- list item" in text
    assert "\n```\n&lt;!--" not in text
    assert "\\`\\`\\`" in text
    assert RECORD_BEGIN not in text


def test_injection_is_escaped_in_issue_and_note() -> None:
    t = make_texts(INJECTION)
    body = t.issue_body()
    _assert_escaped(outside_record(body))
    _assert_escaped(t.note_body())
    _assert_escaped(t.notice())
    # the record keeps the reason exactly, inside its fence
    found = find_record(body)
    assert found is not None
    assert found.reason == INJECTION


def test_injection_in_package_and_step_detail_is_escaped() -> None:
    t = make_texts(
        steps=[Step("index:1.2.0", "x", Status.FAILED, "<b>@admin</b>\n| injected |")],
        record=None,
    )
    body = t.issue_body()
    row = next(line for line in body.splitlines() if line.startswith("| index:1.2.0"))
    assert row == r"| index:1.2.0 | failed | &lt;b>@&#8203;admin&lt;/b> \| injected \| |"
