"""The human report of ``unrelease detect`` (``--json`` prints ``Report.to_json()``)."""

from __future__ import annotations

import re

from unrelease.detect import Report
from unrelease.detect.classify import BY_KEY
from unrelease.model import Diagnosis

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")  # no terminal escapes from run text


def plain(text: object) -> str:
    return _CONTROL.sub("", str(text))


def label(key: str) -> str:
    return BY_KEY[key].label if key in BY_KEY else key


def version_text(d: Diagnosis) -> str:
    if d.version is None:
        return "?"
    source = "title, unverified" if d.version_source == "display_title" else d.version_source
    return f"{d.version} ({source})"


def reached_text(d: Diagnosis) -> str:
    r = d.reached
    if r.state == "partial":
        return f"partial: {', '.join(r.files)} on the index; missing {', '.join(r.missing)}"
    if r.state == "complete":
        return f"complete: {', '.join(r.files)}"
    if r.state == "nothing":
        return f"nothing: {r.detail}"
    return f"unknown: {r.detail}"


def failed_at(d: Diagnosis) -> str:
    if d.job is None:
        return "-"
    return f"{d.job} / {d.step}" if d.step else d.job


def render(report: Report) -> str:
    scan = report.scan
    last = scan.last_success
    where = f"{report.workflow} in {report.repo}"
    if report.since is not None:
        bound = f"since {report.since.date().isoformat()}"
    elif last is not None:
        bound = f"since the last success (run {last.id}, {last.created_at})"
    else:
        bound = "(no successful run found)"
    head = f"{len(report.diagnoses)} failed run(s) of {where} {bound}; {scan.scanned} run(s) read"
    if scan.stopped == "limit":
        head += "; stopped at --limit, older failures may exist"
    elif scan.stopped == "cap":
        head += "; GitHub lists at most 1000 runs of a filtered query, older failures may exist"
    out = [plain(head)]
    if not report.diagnoses:
        return "\n".join(out)
    rows = [("RUN", "ATT", "EVENT", "SHA", "VERSION", "REACHED", "CLASS", "FAILED AT")]
    for d in report.diagnoses:
        rows.append(
            (
                str(d.run.id),
                str(d.run.attempt),
                d.run.event,
                d.run.head_sha[:7],
                version_text(d),
                d.reached.state,
                label(d.failure_class),
                failed_at(d),
            )
        )
    widths = [max(len(plain(r[i])) for r in rows) for i in range(len(rows[0]) - 1)]
    out.append("")
    for r in rows:
        cells = [plain(c).ljust(w) for c, w in zip(r, widths, strict=False)]
        out.append("  ".join([*cells, plain(r[-1])]).rstrip())
    for d in report.diagnoses:
        out.append("")
        out.extend(details(d))
    return "\n".join(out)


def details(d: Diagnosis) -> list[str]:
    run = d.run
    lines = [f"run {run.id} (attempt {run.attempt}, {run.event}, {run.head_sha}): {run.url}"]
    evidence = ", ".join(f"{k}: {v}" for k, v in d.evidence.items()) or "none"
    lines.append(f"  version: {version_text(d)}; evidence: {evidence}")
    lines.append(f"  reached the index: {reached_text(d)}")
    if d.job:
        lines.append(f"  failed: {label(d.failure_class)} in {failed_at(d)} ({d.job_url})")
    else:
        lines.append(f"  failed: {label(d.failure_class)}")
    if d.other_failed_jobs:
        lines.append(f"  also failed: {', '.join(d.other_failed_jobs)}")
    if d.note:
        lines.append(f"  note: {d.note}")
    if d.impact is not None:
        lines.append(f"  downloads: {d.impact.detail}")
    if d.excerpt:
        lines.append("  log:")
        lines.extend(f"    | {line}" for line in d.excerpt.splitlines())
    return [plain(line) for line in lines]
