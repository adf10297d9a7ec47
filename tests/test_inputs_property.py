"""Property-style: over generated inputs (versions, names, templates, reasons, repos, URLs), an
invalid one is refused with exit 2 in one line and nothing is written anywhere; a valid but
hostile one is accepted and rendered inert (no live mention, no raw HTML, no control
character) in the issue GitHub would show."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cmarkgfm

from tests.fakes.github import FakeGitHub, seed_repo
from tests.memindex import PKG, MemoryIndex
from unrelease.commands import check_repo, check_templates, check_text, check_url
from unrelease.engine import Engine, Options
from unrelease.errors import UnreleaseError
from unrelease.forges.github import GitHubForge
from unrelease.refnames import check_labels
from unrelease.versions import check_package_name, parse_version

CASES = 1200
HOSTILE = [
    "<script>alert(1)</script>",
    "@everyone",
    "#1",
    "**bold**",
    "`code`",
    "| a | b |",
    "# heading",
    "> quote",
    "- item",
    "1. item",
    "[x](javascript:alert(1))",
    "<!-- x -->",
    "```",
    "~~~",
    "\u202e",
    "&amp;",
    "\\",
    "{to_tag}",
    "$(rm -rf /)",
    "'; DROP TABLE",
    "ü",
    "<img src=x onerror=alert(1)>",
    "<!-- unrelease-record:begin -->",
]
CONTROL = ["\x00", "\x01", "\x1b", "\x7f", "\r", "\x0b", "\x0c"]
SPACE = [" ", "\t", "\n", "\xa0", "\u2003"]


@dataclass
class Case:
    version: str = "1.2.0"
    to: str | None = None
    package: str = PKG
    reason: str = "broken"
    tag_format: str = "v{version}"
    rollback_tag: str = "{to_tag}-rollback-{date}"
    labels: str | None = None
    repo: str | None = None
    url: str | None = None
    valid: bool = True
    why: list[str] = field(default_factory=list)


def generate(rng: random.Random) -> Iterator[Case]:
    for _ in range(CASES):
        case = Case()
        what = rng.choice(
            ["version", "to", "package", "reason", "template", "labels", "repo", "url", "hostile"]
        )
        bad = rng.random() < 0.6
        pick = rng.choice
        if what == "version":
            case.version = (
                pick(
                    [
                        " 1.2.0",
                        "1.2.0 ",
                        "1.2.0\n",
                        "-1.2.0",
                        "1..2",
                        "",
                        "v",
                        "1.2.0\xa0",
                        "1.2.0\x00",
                        "١.٢.٠",
                        "1.2.0+" + pick(CONTROL),
                    ]
                )
                if bad
                else pick(["1.2.0", "v1.2.0", "1.2", "1.2.0.0", "01.2.0", "V1.2.0"])
            )
        elif what == "to":
            case.to = (
                pick([" 1.1.0", "1.1.0\t", "x", "", "1.1.0\x00"])
                if bad
                else pick(["1.1.0", "v1.1.0", "1.1", "1.0.0"])
            )
        elif what == "package":
            case.package = (
                pick([" Memo_Pkg", "Memo_Pkg\n", "memo pkg", "-memo", "memo_pkg\x00", "", "mémo"])
                if bad
                else pick(["Memo_Pkg", "memo-pkg", "MEMO.PKG"])
            )
        elif what == "reason":
            text = "".join(pick(HOSTILE) for _ in range(rng.randint(1, 4)))
            case.reason = (text + pick(CONTROL)) if bad else text
            if bad and rng.random() < 0.2:
                case.reason = pick(SPACE) * 3
        elif what == "template":
            case.rollback_tag = (
                pick(
                    [
                        "{to_tag} rollback",
                        "{to_tag}..{date}",
                        "{to_tag}.lock",
                        "",
                        " ",
                        "{date.x}",
                        "{to_tag[x]}",
                        "{x}",
                        "{to_tag!r}",
                        "{",
                        "-x",
                        "x/",
                        "a//b",
                        "@",
                        "x@{y",
                        "{to_tag}~1",
                        "{to_tag}^",
                        "{to_tag}:x",
                        "{to_tag}?",
                        "{to_tag}*",
                        "{to_tag}[",
                        "/x",
                        "x.",
                        ".x",
                    ]
                )
                if bad
                else pick(
                    [
                        "{to_tag}-rollback-{date}",
                        "rollback/{package}/{version}-{date}",
                        "{to_tag}-back-to-{to}",
                        "rb-{version}",
                    ]
                )
            )
            if rng.random() < 0.3:
                case.tag_format = (
                    pick(["{version}x{", "v{version:>3}", "release", "v{nope}", "v {version}"])
                    if bad
                    else "v{version}"
                )
        elif what == "labels":
            case.labels = (
                pick(["", ",", " , ", "x" * 51, "a\x00b", "a\nb"])
                if bad
                else pick(["release,critical", "release, urgent", "Release,critical,release"])
            )
        elif what == "repo":
            case.repo = pick(["acme/widget\n", " acme/widget", "acme/wid get", "acme/widget\t"])
            bad = True
        elif what == "url":
            case.url = pick(
                ["http://x y", "http://host\n", "ftp://host", "http://\x00x", "javascript:alert(1)"]
            )
            bad = True
        else:
            case.reason = " ".join(pick(HOSTILE) for _ in range(6))
            bad = False
        case.valid = not bad
        yield case


def validate(case: Case) -> None:
    """The CLI's checks, in the order the CLI runs them (commands.rollback_engine)."""
    check_package_name(case.package)
    parse_version(case.version)
    if case.to is not None:
        parse_version(case.to, what="--to version")
    check_text("--reason", case.reason)
    check_labels(case.labels, "critical")
    check_templates(case.tag_format, case.rollback_tag)
    if case.url is not None:
        check_url("--github-url", case.url)
    check_repo(case.repo)


_TAG = re.compile(r"<(/?)([a-z0-9]+)")
_ALLOWED = {
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "ul",
    "ol",
    "li",
    "code",
    "pre",
    "strong",
    "em",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "details",
    "summary",
    "blockquote",
    "br",
    "hr",
    "del",
    "input",
}


def inert(body: str) -> None:
    assert not any(ord(c) < 32 and c not in "\n\t" for c in body), "control character"
    html = cmarkgfm.github_flavored_markdown_to_html(body)
    tags = {m.group(2) for m in _TAG.finditer(html)}
    assert tags <= _ALLOWED, tags - _ALLOWED
    assert "<script" not in html and "onerror" not in html.lower().replace("onerror=alert", "")
    prose = re.sub(r"<pre>.*?</pre>|<code>.*?</code>", "", html, flags=re.S)  # never linked
    assert not re.search(r"(?<![\w`])@[A-Za-z0-9]", prose), "a live mention"
    assert 'href="javascript' not in html


def test_generated_inputs(fake_github: FakeGitHub, tmp_path: Path) -> None:
    fake = fake_github
    seed_repo(fake, ("1.0.0", "1.1.0", "1.2.0"))
    forge = GitHubForge(fake.full_name, fake.token, fake.api_url)
    rng = random.Random(20261202)
    seen = {"invalid": 0, "valid": 0}
    fake.clear_log()
    for case in generate(rng):
        index = MemoryIndex(("1.0.0", "1.1.0", "1.2.0"))
        error: UnreleaseError | None = None
        try:
            validate(case)
            options = Options(
                package=case.package,
                version=case.version,
                reason=case.reason.strip(),
                to=case.to,
                tag_format=case.tag_format,
                rollback_tag=case.rollback_tag,
                labels=check_labels(case.labels, "critical"),
                backup_dir=tmp_path,
            )
            engine = Engine(options, index, forge)
            plan = engine.plan()
        except UnreleaseError as exc:
            error = exc
        if error is not None:
            assert not case.valid, (case, str(error))
            assert error.exit_code == 2, (case, error)
            assert "\n" not in str(error), case
            seen["invalid"] += 1
        else:
            assert case.valid, case
            inert(engine.texts(plan).issue_body())
            inert(engine.texts(plan).note_body())
            seen["valid"] += 1
        assert index.writes == [], case
        assert fake.writes() == [], case
    forge.close()
    assert seen["invalid"] >= 300 and seen["valid"] >= 300, seen
    assert sum(seen.values()) >= 1000
