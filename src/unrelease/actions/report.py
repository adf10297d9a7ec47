"""What people see: step outputs, the job summary (steps table, links, mermaid diagram) and the
annotations.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from unrelease.actions.event import Trigger
from unrelease.actions.rollback import Result
from unrelease.actions.runner import Console
from unrelease.texts import link as link  # unrelease.actions.link
from unrelease.texts import md as md_block
from unrelease.texts import md_line as md
from unrelease.texts import plain

OUTPUT_NAMES = (
    "status",
    "issue-number",
    "issue-url",
    "tag",
    "release-note-url",
    "record-id",
    "to-version",
    "withdrawn-versions",
)
ICONS = {
    "done": "✅",
    "already-done": "☑️",
    "skipped": "⏭️",
    "pending": "⏳",
    "failed": "❌",
    "planned": "📝",
}


# ----------------------------------------------------------------------------- reports
def outputs(result: Result | None, skip: bool = False) -> dict[str, str]:
    values = dict.fromkeys(OUTPUT_NAMES, "")
    if skip:
        values["status"] = "skipped"
        return values
    assert result is not None
    values["status"] = result.status
    data = result.data or {}
    issue, tag, note = (
        data.get("issue") or {},
        data.get("tag") or {},
        data.get("release_note") or {},
    )
    values["issue-number"] = str(issue.get("number") or "")
    values["issue-url"] = str(issue.get("url") or "")
    values["tag"] = str(tag.get("name") or "")
    values["release-note-url"] = str(note.get("url") or "")
    values["record-id"] = str(data.get("record_id") or "")
    values["to-version"] = str(data.get("to") or "")
    values["withdrawn-versions"] = ",".join(str(v) for v in data.get("withdrawn") or [])
    return values


_MERMAID_SAFE = re.compile(r"[^A-Za-z0-9 .,_+!:/#@()-]")


def mermaid_text(text: object) -> str:
    return _MERMAID_SAFE.sub("_", str(text))[:80]


def mermaid(data: Mapping[str, Any], steps: list[dict[str, str]]) -> str:
    """A flowchart of the rollback: each withdrawn version → the target, and the tag, issue
    and note, each coloured by its step's status."""
    by_name = {s.get("name", ""): s.get("status", "") for s in steps}
    mode = mermaid_text(data.get("mode") or "withdraw")
    package = mermaid_text(data.get("package") or "")
    lines = ["```mermaid", "flowchart LR"]
    lines.append(f'  target(["{package} {mermaid_text(data.get("to") or "?")} (target)"]):::target')
    for i, version in enumerate(data.get("withdrawn") or []):
        status = by_name.get(f"index:{version}", "planned")
        label = f"{package} {mermaid_text(version)}: {mermaid_text(status)}"
        lines.append(f'  w{i}["{label}"]:::{_css(status)} -->|{mode}| target')
    tag = (data.get("tag") or {}).get("name")
    issue = (data.get("issue") or {}).get("number")
    extras = (
        ("tag", f"tag {mermaid_text(tag)}" if tag else "rollback tag"),
        ("issue", f"issue #{mermaid_text(issue)}" if issue else "incident issue"),
        ("note", "withdrawn note (draft)"),
    )
    for name, label in extras:
        if name in by_name:
            status = by_name[name]
            node = f'n_{name}["{label}: {mermaid_text(status)}"]:::{_css(status)}'
            lines.append(f"  target -.- {node}")
    lines += [
        "  classDef target fill:#ddf4ff,stroke:#0969da",
        "  classDef done fill:#dafbe1,stroke:#1a7f37",
        "  classDef pending fill:#fff8c5,stroke:#9a6700",
        "  classDef failed fill:#ffebe9,stroke:#cf222e",
        "  classDef skipped fill:#f6f8fa,stroke:#8c959f",
        "  classDef planned fill:#f6f8fa,stroke:#0969da,stroke-dasharray:4",
        "```",
    ]
    return "\n".join(lines)


def _css(status: str) -> str:
    return {"already-done": "done"}.get(status, status if status in ICONS else "planned")


def summary(
    trigger: Trigger | None,
    result: Result | None,
    env: Mapping[str, str],
    refusal: str | None = None,
) -> str:
    """The job summary (markdown)."""
    out = []
    if refusal is not None:
        out += ["## unrelease: refused", "", f"> {md(refusal)}", "", "Nothing was changed."]
        if trigger is not None and trigger.run_url:
            out += ["", f"- Failed run: {link(f'run {trigger.run_id}', trigger.run_url)}"]
        return "\n".join(out) + "\n"
    assert trigger is not None
    if trigger.skip:
        out += ["## unrelease: nothing rolled back", "", md(trigger.skip)]
        if trigger.run_url:
            out += ["", f"- Release run: {link(f'run {trigger.run_id}', trigger.run_url)}"]
        return "\n".join(out) + "\n"
    assert result is not None
    data = result.data
    if data is None:
        out += [f"## unrelease: {result.status}", "", f"> {md(result.message)}"]
        if result.exit_code == 2:
            out += ["", "Nothing was changed."]
        return "\n".join(out) + "\n"
    head = {
        "dry-run": "dry run (nothing changed)",
        "done": "rolled back",
        "already-done": "already rolled back",
        "failed": "rollback incomplete (rerun to resume)",
        "pending": "waiting on a person",
    }[result.status]
    withdrawn = ", ".join(str(v) for v in data.get("withdrawn") or [])
    out += [
        f"## unrelease: {head}",
        "",
        f"**{md(data.get('package'))}** {md(withdrawn)} → **{md(data.get('to'))}** "
        f"({md(data.get('mode'))} on {md(data.get('index'))}); version from {md(trigger.source)}",
        "",
        "| Step | Status | Detail |",
        "|---|---|---|",
    ]
    for s in result.steps:
        status = s.get("status", "")
        detail = s.get("detail") or s.get("action") or ""
        name = link(s.get("name", ""), s["url"]) if s.get("url") else md(s.get("name", ""))
        out.append(f"| {name} | {ICONS.get(status, '')} {md(status)} | {md(detail)} |")
    pending = [s for s in result.steps if s.get("status") == "pending"]
    if pending:
        out += ["", "### Waiting on a person", ""]
        for s in pending:
            out += [f"**{md(s.get('name', ''))}**", "", md_block(s.get("detail", "")), ""]
        out.append("Re-run this job when it is done: the finished steps are not repeated.")
    out += ["", "### Links", ""]
    issue, tag, note = data.get("issue"), data.get("tag"), data.get("release_note")
    if isinstance(issue, dict):
        out.append(f"- Incident issue: {link('#' + str(issue.get('number')), issue.get('url'))}")
    if isinstance(tag, dict) and tag.get("name"):
        out.append(f"- Rollback tag: {link(str(tag['name']), tag_url(env, str(tag['name'])))}")
    if isinstance(note, dict):
        out.append(f"- Withdrawn release note (draft): {link('release note', note.get('url'))}")
    if trigger.run_url:
        out.append(f"- Failed run: {link(f'run {trigger.run_id}', trigger.run_url)}")
    if out[-1] == "":
        out.append("- none yet")
    out += ["", "### What happened", "", mermaid(data, result.steps), ""]
    notice = data.get("notice")
    if isinstance(notice, str) and notice.strip() and result.status != "dry-run":
        out += notice_block(notice)
    return "\n".join(out) + "\n"


def notice_block(notice: str) -> list[str]:
    """The user notice, folded: it is markdown ``Texts.notice`` wrote (its data escaped
    there), so it goes in as it is, with blank lines around it so its blocks stay blocks."""
    return [
        "<details><summary>Notice for users</summary>",
        "",
        plain(notice).strip("\n"),
        "",
        "</details>",
    ]


def tag_url(env: Mapping[str, str], name: str) -> str | None:
    repo = env.get("GITHUB_REPOSITORY")
    if not repo:
        return None
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    return f"{server}/{repo}/releases/tag/{urllib.parse.quote(name, safe='')}"


def annotate(console: Console, result: Result) -> None:
    data = result.data
    if data is None:
        title = "unrelease refused" if result.exit_code == 2 else "unrelease failed"
        console.error(result.message, title=title)
        return
    for s in result.steps:
        name, detail = s.get("name", ""), s.get("detail") or s.get("action") or ""
        if s.get("status") == "failed":
            console.error(detail, title=f"unrelease: step {name} failed")
        elif s.get("status") == "pending":
            console.warning(detail, title=f"unrelease: step {name} waits on a person")
    withdrawn = ", ".join(str(v) for v in data.get("withdrawn") or [])
    what = f"{data.get('package')} {withdrawn} → {data.get('to')}"
    issue = (data.get("issue") or {}).get("url") or ""
    if result.status == "dry-run":
        console.notice(f"would roll back {what}", title="unrelease dry run")
    elif result.status in ("done", "already-done"):
        console.notice(f"rolled back {what} {issue}".strip(), title="unrelease")
