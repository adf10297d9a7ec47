"""``unrelease watch``: a release re-checked on a schedule until its window ends. Stateless:
each run reads the watch record (an issue labelled ``unrelease-watch`` holding JSON), re-runs
the guard, counts open issues carrying a signal label that mention the version, appends one
line to the record, and decides: fail (the guard failed, or signals reached the threshold),
verified (the window ended with no failure: a checkpoint is recorded), or keep watching."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unrelease.checkpoints import Checkpoint, evidence_of, now_iso, save
from unrelease.clock import Clock
from unrelease.errors import BadInput
from unrelease.forges.base import Forge, LabelSpec
from unrelease.guard.report import GuardResult
from unrelease.model import IssueInfo
from unrelease.runner import FnTask, Runner, Task, exit_code_of

WATCH_LABEL = "unrelease-watch"
_MARK = "<!-- unrelease-watch -->"
_JSON = re.compile(r"```json\n(.*?)\n```", re.S)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_window(text: str) -> float:
    """'72h', '3d', '90m', '30s' in seconds."""
    m = _DURATION.fullmatch(text.strip())
    if not m or float(m[1]) <= 0:
        raise BadInput(f"not a window: {text[:40]!r} (like 72h, 3d, 90m)")
    return float(m[1]) * _UNIT[m[2]]


@dataclass(frozen=True)
class Signals:
    labels: tuple[str, ...] = ()  # [tool.unrelease.policy] signal-labels
    threshold: int = 1  # [tool.unrelease.policy] signal-threshold


def load_signals(path: Path | None = None) -> Signals:
    """signal-labels and signal-threshold of ``[tool.unrelease.policy]``."""
    from unrelease.guard.policy import _POLICY_KEYS, _table

    table = _table(path, "policy", _POLICY_KEYS)
    labels = table.get("signal-labels", [])
    if isinstance(labels, str):
        labels = [x.strip() for x in labels.split(",") if x.strip()]
    if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
        raise BadInput("[tool.unrelease.policy] signal-labels must be a list of label names")
    threshold = table.get("signal-threshold", 1)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise BadInput("[tool.unrelease.policy] signal-threshold must be a whole number >= 1")
    return Signals(tuple(labels), threshold)


@dataclass
class WatchRecord:
    package: str
    version: str
    started: float  # seconds since the epoch: when the first watch run saw the release
    window: float  # seconds
    status: str = "watching"  # watching | verified | failed
    lines: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "version": self.version,
            "started": self.started,
            "window": self.window,
            "status": self.status,
            "lines": self.lines,
        }

    def body(self) -> str:
        head = f"Watching {self.package} {self.version} until {now_iso(self.started + self.window)}"
        data = json.dumps(self.to_json(), indent=2, sort_keys=True)
        log = "\n".join(f"- {x}" for x in self.lines)
        return f"{_MARK}\n{head} (status: {self.status}).\n\n{log}\n\n```json\n{data}\n```\n"

    @classmethod
    def parse(cls, body: str) -> WatchRecord | None:
        if _MARK not in body:
            return None
        m = _JSON.search(body)
        try:
            d = json.loads(m[1]) if m else {}
            return cls(
                str(d["package"]),
                str(d["version"]),
                float(d["started"]),
                float(d["window"]),
                str(d["status"]),
                [str(x) for x in d.get("lines", [])],
            )
        except (ValueError, KeyError, TypeError):
            return None


@dataclass
class WatchOutcome:
    record: WatchRecord
    issue: IssueInfo | None
    decision: str  # fail | verified | watching | done (already decided by an earlier run)
    verdict: str | None = None  # this run's guard verdict
    signals: list[int] = field(default_factory=list)  # the signal issues' numbers
    tasks: list[Task] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        code = exit_code_of(self.tasks)
        if code:
            return code
        if self.decision == "fail" or (self.decision == "done" and self.record.status == "failed"):
            return 1
        return 3 if self.verdict not in (None, "pass") and self.decision == "watching" else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.record.package,
            "version": self.record.version,
            "decision": self.decision,
            "status": self.record.status,
            "verdict": self.verdict,
            "signals": self.signals,
            "issue": {"number": self.issue.number, "url": self.issue.url} if self.issue else None,
            "ends": now_iso(self.record.started + self.record.window),
            "lines": self.record.lines,
            "steps": [t.to_step().to_json() for t in self.tasks],
        }


def find_record(forge: Forge, package: str, version: str) -> tuple[IssueInfo, WatchRecord] | None:
    """The watch record of PACKAGE VERSION (the oldest, when there are several)."""
    for issue in sorted(forge.find_issues(WATCH_LABEL, "all"), key=lambda i: i.number):
        rec = WatchRecord.parse(issue.body)
        if rec and rec.package == package and rec.version == version:
            return issue, rec
    return None


def count_signals(forge: Forge, signals: Signals, version: str, skip: int | None) -> list[int]:
    """Open issues carrying a signal label that mention VERSION (not the watch record)."""
    word = re.compile(rf"(?<![\w.]){re.escape(version)}(?![\w]|\.\d)")
    found: set[int] = set()
    for label in signals.labels:
        for issue in forge.find_issues(label, "open"):
            if issue.number != skip and word.search(issue.body or ""):
                found.add(issue.number)
    return sorted(found)


def watch(
    forge: Forge,
    package: str,
    version: str,
    *,
    window: float,
    run_guard: Callable[[], GuardResult],
    signals: Signals,
    clock: Clock,
    who: str,
) -> WatchOutcome:
    """One evaluation of the watch of PACKAGE VERSION (see the module's docstring)."""
    now = clock.time()
    found = find_record(forge, package, version)
    issue, rec = found if found else (None, WatchRecord(package, version, now, window))
    if rec.status != "watching":
        return WatchOutcome(rec, issue, "done")
    result = run_guard()
    numbers = count_signals(forge, signals, version, issue.number if issue else None)
    if result.verdict == "fail" or (signals.labels and len(numbers) >= signals.threshold):
        decision = "fail"
    elif now >= rec.started + rec.window and result.verdict == "pass":
        decision = "verified"
    else:
        decision = "watching"
    refs = f" ({', '.join(f'#{n}' for n in numbers)})" if numbers else ""
    failed = (
        f": {', '.join(sorted({c.name for c in result.failed}))} failed" if result.failed else ""
    )
    rec.lines.append(
        f"{now_iso(now)}: guard {result.verdict}{failed}; {len(numbers)} signal issue(s){refs}"
        f" (threshold {signals.threshold}); {decision}"
    )
    rec.status = {"fail": "failed", "verified": "verified"}.get(decision, "watching")
    out = WatchOutcome(rec, issue, decision, result.verdict, numbers)
    out.tasks = _tasks(forge, out, result, who, now)
    Runner(out.tasks).run()
    return out


def _tasks(
    forge: Forge, out: WatchOutcome, result: GuardResult, who: str, now: float
) -> list[Task]:
    rec = out.record
    title = f"{rec.package} {rec.version}: watch"

    def write() -> str | None:
        if out.issue is None:
            if forge.missing_labels([WATCH_LABEL]):
                forge.create_label(LabelSpec(WATCH_LABEL, "0e8a16", "unrelease watch records"))
            out.issue = forge.create_issue(title, rec.body(), [WATCH_LABEL])
        else:
            out.issue = forge.update_issue(out.issue.number, rec.body())
        return out.issue.url

    record = FnTask("record", f"append this evaluation to the watch record ({title})", write)
    tasks: list[Task] = [record]
    if out.decision == "verified":
        point = Checkpoint(rec.package, rec.version, who, now_iso(now), evidence_of(result))
        mark = FnTask(
            "checkpoint",
            f"record {rec.package} {rec.version} as verified",
            lambda: (save(forge, point), None)[1],
            needs=[record],
        )

        def close() -> str | None:
            assert out.issue is not None  # made by the record step
            forge.close_issue(out.issue.number, rec.body())
            return None

        tasks += [mark, FnTask("close", "close the watch record", close, needs=[mark])]
    return tasks
