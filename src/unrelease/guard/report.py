"""What a guard found: checks with their evidence, the verdict, the decision; JSON and text.

The JSON shape is the stable one of DESIGN.md: ``package``, ``version``, ``baseline``,
``verdict``, ``checks`` (each ``name``, ``python``, ``status``, ``detail``, ``evidence``) and
``decision`` (``action``, ``why``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from unrelease.secrets import redact

STATUSES = ("pass", "fail", "inconclusive", "skipped")
TAIL_LINES = 15


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last LINES non-empty lines of TEXT, redacted."""
    kept = [line.rstrip() for line in text.splitlines() if line.strip()]
    return redact("\n".join(kept[-lines:]))


@dataclass(frozen=True)
class Evidence:
    """The command a check ran (as a person would type it), its exit code, its output's end."""

    command: str
    exit_code: int | None = None
    tail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"command": redact(self.command), "exit_code": self.exit_code, "tail": self.tail}


@dataclass
class Check:
    name: str  # files | metadata | install | import | smoke
    python: str | None  # the interpreter's X.Y.Z, None for checks that need none
    status: str
    detail: str
    evidence: Evidence | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown check status {self.status!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "python": self.python,
            "status": self.status,
            "detail": redact(self.detail),
            "evidence": self.evidence.to_json() if self.evidence else None,
        }


@dataclass
class Decision:
    action: str  # none | report | issue | rollback
    why: str
    done: list[str] = field(default_factory=list)  # what carrying it out did, a line each
    severity: str | None = None  # of the failure, by policy (a rollback's --severity default)

    def to_json(self) -> dict[str, Any]:
        # The JSON keeps DESIGN.md's shape exactly: what was done is told in ``why``.
        return {"action": self.action, "why": redact("; ".join([self.why, *self.done]))}


def verdict_of(checks: list[Check]) -> str:
    """``fail`` if any check fails; else ``inconclusive`` if any is; else ``pass``."""
    statuses = {c.status for c in checks}
    if "fail" in statuses:
        return "fail"
    if "inconclusive" in statuses or not statuses - {"skipped"}:
        return "inconclusive"
    return "pass"


@dataclass
class GuardResult:
    package: str
    version: str
    baseline: str | None
    checks: list[Check]
    decision: Decision = field(default_factory=lambda: Decision("none", ""))
    index_url: str = ""

    @property
    def verdict(self) -> str:
        return verdict_of(self.checks)

    @property
    def exit_code(self) -> int:
        return {"pass": 0, "fail": 1}.get(self.verdict, 3)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "version": self.version,
            "baseline": self.baseline,
            "verdict": self.verdict,
            "checks": [c.to_json() for c in self.checks],
            "decision": self.decision.to_json(),
        }


MARKS = {"pass": "✓", "fail": "✗", "inconclusive": "?", "skipped": "-"}


def render(result: GuardResult) -> str:
    """The report a person reads in a terminal."""
    base = f" against {result.baseline}" if result.baseline else " (no baseline)"
    lines = [f"Guard: {result.package} {result.version}{base} on {result.index_url}"]
    for c in result.checks:
        where = f" [{c.python}]" if c.python else ""
        lines.append(f"  {MARKS[c.status]} {c.name + where:<20} {c.status:<12} {c.detail}")
        if c.status in ("fail", "inconclusive") and c.evidence and c.evidence.tail:
            lines.append(f"      $ {c.evidence.command}")
            lines.extend("      " + line for line in c.evidence.tail.splitlines()[-5:])
    lines.append(f"verdict: {result.verdict}")
    d = result.decision
    lines.append(f"decision: {d.action}" + (f" ({d.why})" if d.why else ""))
    lines.extend(f"  {line}" for line in d.done)
    return redact("\n".join(lines))


def markdown(result: GuardResult) -> str:
    """The findings as a markdown table, for the incident issue."""
    from unrelease.texts import code, md_line

    rows = ["| check | python | status | detail |", "|---|---|---|---|"]
    for c in result.checks:
        cells = [c.name, c.python or "", c.status, md_line(c.detail)]
        rows.append("| " + " | ".join(cells) + " |")
    evidence = []
    for c in result.failed:
        if c.evidence:
            body = c.evidence.tail.replace("`", "'")
            head = f"**{md_line(c.name)}** ({md_line(c.python or 'any')}): "
            head += f"{code(c.evidence.command)} → exit {c.evidence.exit_code}"
            evidence.append(f"{head}\n\n```\n{body}\n```")
    text = "\n".join(rows)
    if evidence:
        text += "\n\n" + "\n\n".join(evidence)
    return redact(text)
