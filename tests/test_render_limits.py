"""Texts stay under GitHub's limits: the user's text is cut, with a visible marker; the record
block never is (issue 9)."""

from __future__ import annotations

import dataclasses
import re

from tests.test_render import HOSTILE, Page, diagnosis
from tests.test_texts import make_record, make_texts
from unrelease.texts import (
    ISSUE_BODY_LIMIT,
    NOTE_BODY_LIMIT,
    RECORD_BEGIN,
    Texts,
    clip,
    find_record,
    record_block,
)

BIG = 200 * 1024
MARKER = re.compile(r"… \[truncated: (\d+) characters\]")


def big_texts(reason_chars: int = BIG, excerpt_chars: int = BIG, **kw: object) -> Texts:
    reason = ("the importer breaks " * (reason_chars // 20 + 1))[:reason_chars]
    run = dataclasses.replace(diagnosis("x"), excerpt=("E" * 99 + "\n") * (excerpt_chars // 100))
    return make_texts(reason, run=run, next_release="0.22.6 on Friday", **kw)


def test_clip() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcdef", 2) == "ab… [truncated: 4 characters]"
    assert clip("abc", 0) == "… [truncated: 3 characters]"


def test_issue_body_with_a_200k_reason_and_excerpt_fits_and_keeps_its_record() -> None:
    t = big_texts()
    t.record = make_record("the importer breaks")  # a record of the usual size
    body = t.issue_body()
    assert len(body) <= ISSUE_BODY_LIMIT
    assert len(body) > ISSUE_BODY_LIMIT - 2_000  # cut to fit, not far below
    assert record_block(t.record) in body
    assert find_record(body) == t.record
    page = Page.of(body)
    cuts = [int(n) for n in MARKER.findall(page.text())]
    assert len(cuts) == 3  # the reason, the excerpt, the notice's reason
    assert all(n > 100_000 for n in cuts)
    excerpt = page.code_blocks[0]
    assert MARKER.search(excerpt)  # the marker shows inside the log excerpt too
    assert excerpt.startswith("E" * 99 + "\n")
    assert "Planned re-release: 0.22.6 on Friday" in page.items  # short parts stay whole


def test_hostile_200k_reason_fits_once_escaped() -> None:
    t = make_texts((HOSTILE + "@x #1 ") * (BIG // len(HOSTILE)))
    t.record = make_record("short")
    body = t.issue_body()
    assert len(body) <= ISSUE_BODY_LIMIT
    assert find_record(body) == t.record
    assert Page.of(body).mentions() == []
    notice = t.notice()
    assert len(notice) <= ISSUE_BODY_LIMIT and MARKER.search(Page.of(notice).text())


def test_record_block_is_never_cut() -> None:
    t = big_texts()  # the record holds the whole 200 kB reason
    t.record = make_record(t.reason)
    body = t.issue_body()
    assert record_block(t.record) in body
    assert find_record(body) == t.record
    # the user's text outside the record is down to its marker; the record alone is too long
    # for GitHub: the reason kept in the record must be bounded where the record is made
    outside = body.split(RECORD_BEGIN)[0]
    assert len(outside) < 20_000
    assert MARKER.search(outside)


def test_note_body_with_a_200k_reason_fits() -> None:
    note = big_texts().note_body()
    assert NOTE_BODY_LIMIT - 2_000 < len(note) <= NOTE_BODY_LIMIT
    page = Page.of(note)
    assert MARKER.search(page.text())
    assert [h for _, h in page.headings] == ["What is wrong", "What to do", "Status"]


def test_short_texts_are_not_cut() -> None:
    t = make_texts()
    for text in (t.issue_body(), t.note_body(), t.notice()):
        assert "truncated" not in text
