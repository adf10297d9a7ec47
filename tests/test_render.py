"""The texts people read, rendered the way GitHub does (issues 9, 11).

Render markdown the way GitHub does (cmark-gfm, raw HTML dropped) and read what a reader sees.

``Page`` walks the HTML: headings, list items, tables, code blocks, links, and the text GitHub
would still turn into mentions (``@name``) and references (``#123``) after rendering: text
outside code, pre and links.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, cast

import cmarkgfm
import pytest

from tests.test_texts import make_record, make_texts
from unrelease import actions
from unrelease.actions import Result, Trigger
from unrelease.model import Diagnosis, Impact, IssueInfo, Reached, RunInfo, Status, Step
from unrelease.texts import Texts, decision_for, find_record
from unrelease.undo import UndoEngine, UndoOptions, UndoOutcome, UndoPlan

# GitHub's mention and reference filters run on the rendered HTML's text (entities decoded).
MENTION = re.compile(r"(?<![\w@/`])@[A-Za-z0-9][A-Za-z0-9-]*")
REFERENCE = re.compile(r"(?<![\w/&])#\d+\b|\bGH-\d+\b", re.IGNORECASE)
RAW_HTML = "<!-- raw HTML omitted -->"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLOCKS = {"h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "pre", "p", "blockquote"}
_INERT = {"code", "pre", "a"}


def gfm(text: str) -> str:
    """TEXT as GitHub renders it (cmark-gfm with GitHub's extensions, safe: no raw HTML)."""
    return cmarkgfm.github_flavored_markdown_to_html(text)


@dataclass
class Page(HTMLParser):
    headings: list[tuple[str, str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    tables: list[list[list[str]]] = field(default_factory=list)
    code_blocks: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    live: list[str] = field(default_factory=list)  # text GitHub would still link
    seen: list[str] = field(default_factory=list)  # all the text
    tags: list[str] = field(default_factory=list)
    raw_html: int = 0  # raw HTML cmark dropped
    _open: list[tuple[str, list[str]]] = field(default_factory=list)  # block tag, its text
    _inert: int = 0
    _href: str | None = None

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    @classmethod
    def of(cls, markdown: str) -> Page:
        page = cls()
        out = gfm(markdown)
        page.raw_html = out.count(RAW_HTML)
        page.feed(out)
        page.close()
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in _INERT:
            self._inert += 1
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._open.append(("a", []))
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        if tag in _BLOCKS:
            self._open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if tag in _INERT:
            self._inert -= 1
        if tag not in _BLOCKS and tag != "a":
            return
        name, parts = self._open.pop()
        assert name == tag, (name, tag)
        text = "".join(parts)
        if self._open:  # a block's text is its parent's too
            self._open[-1][1].append(text)
        if tag == "a":
            self.links.append((self._href or "", text))
        elif tag in ("td", "th"):
            self.tables[-1][-1].append(text.strip())
        elif tag == "li":
            self.items.append(text.strip())
        elif tag == "pre":
            self.code_blocks.append(text)
        elif tag.startswith("h"):
            self.headings.append((tag, text.strip()))

    def handle_data(self, data: str) -> None:
        self.seen.append(data)
        if self._open:
            self._open[-1][1].append(data)
        if not self._inert:
            self.live.append(data)

    def mentions(self) -> list[str]:
        return [m for t in self.live for m in MENTION.findall(t)]

    def references(self) -> list[str]:
        return [m for t in self.live for m in REFERENCE.findall(t)]

    def text(self) -> str:
        """All the text a reader sees (zero-width spaces removed)."""
        return "".join(self.seen).replace("\u200b", "")


# ------------------------------------------------------------------------------ what is rendered
HOSTILE = (
    "<script>alert(1)</script> @someone #123 **x** `tick` a|b [x](javascript:alert(1)) gh-9 "
    "<img src=x onerror=alert(1)> nul\x00 esc\x1b[31m \u202eevil\n"
    "# heading\n> quote\n- item\n1. one\n| a | b |\n|---|---|\n```\ncode\n```\n"
    "<!-- unrelease-record:begin -->"
)
# What the reader must still see of HOSTILE, as typed (after whitespace is collapsed in cells).
VISIBLE = (
    "<script>alert(1)</script>",
    "@someone #123 **x** `tick` a|b [x](javascript:alert(1)) gh-9",
)
BENIGN = "imports fail on Python 3.12"
RELATED = ("#77", "#78")


def diagnosis(user: str) -> Diagnosis:
    run = RunInfo(
        id=42,
        url="https://github.example/acme/widget/actions/runs/42",
        attempt=1,
        event="push",
        status="completed",
        conclusion="failure",
        head_branch="v1.2.0",
        head_sha="a" * 40,
        display_title=user,
        created_at="2024-05-01T10:00:00Z",
    )
    return Diagnosis(
        run=run,
        version="1.2.0",
        version_source="tag",
        evidence={"tag": "1.2.0"},
        reached=Reached("partial", ("demo_pkg-1.2.0.tar.gz",), ("demo_pkg-1.2.0.whl",)),
        failure_class="publish",
        job=user,
        job_url="https://github.example/acme/widget/actions/runs/42/job/9",
        step=user,
        excerpt=user,
        note=user,
    )


def texts(user: str, **kw: object) -> Texts:
    """Texts whose every free-text part (the reason, a step's detail, the run's job, step, note
    and log excerpt, the downloads sentence, the planned re-release, the decision) is USER."""
    steps = [
        Step("index:1.2.0", "delete", Status.DONE, user),
        Step("tag", "tag", Status.DONE, "v1.1.0-rollback", url="https://github.example/t"),
        Step("index:1.1.5", "yank", Status.PENDING, user),
    ]
    data: dict[str, object] = {
        "steps": steps,
        "run": diagnosis(user),
        "impact": Impact(known=True, detail=user),
        "next_release": user,
        "decision_why": user,
        "related": RELATED,
        **kw,
    }
    return make_texts(user, **data)


def undo_comment(user: str) -> str:
    record = make_record(user, undone_at="2024-01-03T00:00:00+00:00")
    options = UndoOptions("demo-pkg", "1.2.0", who=user)
    issue = IssueInfo(7, "https://github.example/acme/widget/issues/7", "")
    steps = [Step("index:1.2.0", "restore", Status.DONE, user), Step("issue", "c", Status.DONE)]
    plan = UndoPlan(options, issue, record, None, "https://pypi.example/", steps)
    engine = UndoEngine(options, cast(Any, None), cast(Any, None))
    return engine.comment(plan, UndoOutcome(plan, steps, record, issue))


def summary(user: str) -> str:
    d: dict[str, Any] = {
        "package": "demo-pkg",
        "version": "1.2.0",
        "to": "1.1.0",
        "mode": "delete",
        "index": "https://pypi.example/",
        "withdrawn": ["1.2.0"],
        "steps": [
            {"name": "index:1.2.0", "status": "pending", "detail": user},
            {"name": "issue", "status": "done", "detail": user, "url": "https://x/issues/7"},
        ],
        "issue": {"number": 7, "url": "https://github.example/acme/widget/issues/7"},
        "tag": {"name": "v1.1.0-rollback", "sha": "a" * 40},
        "release_note": {"id": 3, "url": "https://github.example/acme/widget/releases/3"},
        "notice": texts(user).notice(),
    }
    trigger = Trigger("workflow_run", version="1.2.0", run_id=5, run_url="https://g.example/r/5")
    trigger.source = user
    env = {"GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "acme/widget"}
    return actions.summary(trigger, Result(3, d), env)


def refused(user: str) -> str:
    trigger = Trigger("workflow_run", run_id=5, run_url="https://g.example/r/5")
    return actions.summary(trigger, None, {}, refusal=user)


def skipped(user: str) -> str:
    trigger = Trigger("workflow_run", run_id=5, run_url="https://g.example/r/5", skip=user)
    return actions.summary(trigger, None, {})


RENDERERS: dict[str, Callable[[str], str]] = {
    "refused": refused,
    "skipped": skipped,
    "issue": lambda u: texts(u).issue_body(),
    "note": lambda u: texts(u).note_body(),
    "notice": lambda u: texts(u).notice(),
    "undo": undo_comment,
    "summary": summary,
}


# --------------------------------------------------------------------- structure, read as HTML
def test_issue_body_renders_its_sections() -> None:
    page = Page.of(texts(BENIGN).issue_body())
    assert [h for h in page.headings if h[0] in ("h1", "h2")] == [
        ("h2", "Rollback of demo-pkg 1.2.0 → 1.1.0"),
        ("h1", "Release withdrawn: demo-pkg 1.2.0"),  # the notice, as notice() writes it
    ]
    h3 = [text for tag, text in page.headings if tag == "h3"]
    assert h3 == [
        "Reason",
        "Decision",
        "Scope",
        "Root cause",
        "Impact",
        "Actions taken",
        "Waiting on a person",
        "What users should do",
        "Notice for users",
        "If you installed 1.2.0",
        "More",
        "Re-release checklist",
        "Prevention",
    ]
    (table,) = page.tables
    assert table[0] == ["step", "status", "detail"]
    assert table[1:] == [
        ["index:1.2.0", "done", BENIGN],
        ["tag", "done", "v1.1.0-rollback"],
        ["index:1.1.5", "pending", BENIGN],
    ]
    assert ("https://github.example/t", "v1.1.0-rollback") in page.links
    assert ("https://github.example/acme/widget/actions/runs/42", "42") in page.links
    assert page.code_blocks[0] == BENIGN + "\n"  # the log excerpt
    assert page.code_blocks.count('pip install "demo-pkg==1.1.0"\n') == 2  # issue, notice
    assert find_record(texts(BENIGN).issue_body()) is not None
    assert json.loads(page.code_blocks[-1])["id"] == "rb-20240102-abcdef12"  # the record
    assert f"Rolled back now: {BENIGN}" in page.text()
    assert f"Planned re-release: {BENIGN}" in page.items
    assert "Related: #77, #78" in page.items
    assert page.references() == ["#77", "#78"]  # live references: the related issues only
    assert page.tags.count("input") == 23  # the checklists are task lists
    assert page.mentions() == []


def test_decision_follows_the_severity() -> None:
    critical = Page.of(make_texts().issue_body()).text()
    assert "Rolled back now: a critical problem" in critical
    minor = Page.of(make_texts(severity="minor").issue_body()).text()
    assert "Rolled back after watching: a minor problem" in minor
    assert "24-72 hours" in minor
    given = make_texts(decision="Rolled back at once", decision_why="users lose data")
    assert "Rolled back at once: users lose data" in Page.of(given.issue_body()).text()
    assert decision_for("critical")[0] == "Rolled back now"
    assert decision_for("odd")[0] == "Rolled back"


def test_note_body_renders() -> None:
    page = Page.of(texts(BENIGN).note_body())
    assert page.tags[:3] == ["blockquote", "p", "strong"]  # the [!WARNING] alert
    assert [text for _, text in page.headings] == ["What is wrong", "What to do", "Status"]
    assert page.code_blocks == ['pip install "demo-pkg==1.1.0"\n']
    assert page.items == [
        "1.2.0 was removed from http://127.0.0.1:8080/ on 2024-01-02.",
        f"Planned re-release: {BENIGN}; until then stay on 1.1.0.",
    ]
    assert page.references() == ["#77", "#78"]


def test_notice_renders_with_planned_release_and_related() -> None:
    page = Page.of(texts(BENIGN).notice())
    assert page.headings == [
        ("h1", "Release withdrawn: demo-pkg 1.2.0"),
        ("h3", "If you installed 1.2.0"),
        ("h3", "More"),
    ]
    assert page.items == [
        "1.2.0, 1.1.5 removed from http://127.0.0.1:8080/",
        "Roll back to 1.1.0",
        f"Planned re-release: {BENIGN}",
        "Related: #77, #78",
    ]
    assert page.code_blocks == ['pip install "demo-pkg==1.1.0"\n']
    plain_notice = Page.of(make_texts().notice())
    assert "A fixed release will follow" in plain_notice.items
    assert not any(i.startswith(("Planned", "Related")) for i in plain_notice.items)


def test_notice_when_the_release_never_went_out() -> None:
    t = make_texts(never_published=True, withdrawn=[])
    page = Page.of(t.notice())
    assert page.headings == [("h1", "Release stopped: demo-pkg 1.2.0"), ("h3", "More")]
    assert "Nothing changed for you: stay on 1.1.0" in page.items
    assert page.code_blocks == []
    assert t.notice() in t.issue_body()  # the issue's notice is the same text


def test_undo_comment_renders() -> None:
    page = Page.of(undo_comment("octo-maintainer"))
    assert page.headings == [("h2", "Rollback undone")]
    assert page.tables[0][1] == ["index:1.2.0", "done", "octo-maintainer"]
    assert page.code_blocks == ['pip install "demo-pkg==1.2.0"\n']
    assert page.raw_html == 1  # the undo marker, a comment GitHub hides


def test_summary_embeds_the_notice_as_markdown() -> None:
    text = summary(BENIGN)
    page = Page.of(text)
    # the notice's heading, list and code block render as such, and its data escaped once
    assert ("h1", "Release withdrawn: demo-pkg 1.2.0") in page.headings
    assert "Roll back to 1.1.0" in page.items
    assert 'pip install "demo-pkg==1.1.0"\n' in page.code_blocks
    assert f"Planned re-release: {BENIGN}" in page.items
    assert "\\#" not in page.text() and "**" not in page.text()
    assert "\n\n<details><summary>Notice for users</summary>\n\n# Release withdrawn" in text
    assert text.endswith("\n\n</details>\n")
    assert page.tables[0][0] == ["Step", "Status", "Detail"]


def test_titles_and_tag_message_are_one_plain_line_each() -> None:
    t = texts(HOSTILE, package="demo-pkg", version="1.2.0\x00\n")
    assert t.issue_title() == "ROLLBACK: demo-pkg 1.2.0 "
    assert t.note_title() == "1.2.0  [WITHDRAWN]"
    msg = texts(HOSTILE + "\nRecord: rb-forged").tag_message()
    assert not CONTROL.search(msg.replace("\n", ""))
    lines = msg.splitlines()
    reason = lines.index(next(x for x in lines if x.startswith("Reason: ")))
    assert lines[reason + 1].startswith("  # heading")  # the reason's lines stay its own
    assert [x for x in lines if x.startswith("Record:")] == ["Record: rb-20240102-abcdef12"]


# ------------------------------------------------------------------- hostile text stays inert
@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_hostile_text_renders_inert(name: str) -> None:
    render = RENDERERS[name]
    hostile_md, benign_md = render(HOSTILE), render(BENIGN)
    hostile, benign = Page.of(hostile_md), Page.of(benign_md)
    assert not CONTROL.search(hostile_md.replace("\n", "").replace("\t", ""))
    assert "\u202e" not in hostile_md
    # the same document: no heading, list item, table cell, code block or raw HTML added
    assert hostile.headings == benign.headings
    assert len(hostile.items) == len(benign.items)
    assert [[len(r) for r in t] for t in hostile.tables] == [
        [len(r) for r in t] for t in benign.tables
    ]
    assert len(hostile.code_blocks) == len(benign.code_blocks)
    assert hostile.raw_html == benign.raw_html
    assert "script" not in hostile.tags and "img" not in hostile.tags
    # no link but the tool's own, and bare URLs autolinked as themselves
    for href, label in hostile.links:
        assert (href, label) in benign.links or (href == label and href.startswith("https://"))
        assert not href.startswith("javascript:")
    # no mention, no reference but the related issues
    assert hostile.mentions() == []
    assert set(hostile.references()) <= set(RELATED)
    # and the reader sees the text as it was typed
    seen = " ".join(hostile.text().split())
    for piece in VISIBLE:
        assert piece in seen, piece


def test_hostile_text_in_code_blocks_cannot_close_them() -> None:
    page = Page.of(texts(HOSTILE).issue_body())
    excerpt = page.code_blocks[0]
    assert excerpt.startswith("<script>alert(1)</script> @someone")
    assert "```\ncode\n```\n" in excerpt  # the excerpt's own fence is text inside a longer one
    assert "<!-- (quoted) unrelease-record:begin -->" in excerpt
    record = find_record(texts(HOSTILE).issue_body())
    assert record is not None and record.reason == HOSTILE  # the record keeps it exactly


def test_related_refs_that_are_not_refs_are_text() -> None:
    page = Page.of(make_texts(related=("#12", "@someone", "#1 <b>x</b>")).notice())
    assert page.references() == ["#12"]
    assert page.mentions() == []
    assert "Related: #12, @someone, #1 <b>x</b>" in [i.replace("\u200b", "") for i in page.items]
