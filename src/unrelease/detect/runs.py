"""Finding the failed runs of the release workflow, and the job and step each failed in.

Three ways to list the failed runs since the last success, all newest first, 100 per page:

- ``all``: page through every run; stop at the first ``success`` (or, with ``--since``, at
  the first run older than DATE), or after ``limit`` failures. N runs read cost ceil(N/100)
  requests: one when the last success is recent, a hundred for 10 000 runs without one;
- ``failures``: one request for the newest success (``status=success&per_page=1``), then
  ``status=failure&created=>=T``: 1 + ceil(F/100) requests for F failures whatever lies
  between them. But GitHub stops a filtered listing at 1000 runs, and ``status=failure``
  leaves out ``timed_out`` and ``startup_failure`` runs;
- ``auto`` (the default): the first unfiltered page (one request, every conclusion); when it
  holds no stop, the rest as ``failures`` does, from below the oldest run already read. One
  request in the usual case, 3 + ceil(F/100) in the worst.

``benchmarks/detect.py`` measures the three.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from unrelease.errors import BadInput
from unrelease.forges.base import RunReader
from unrelease.model import JobInfo, RunInfo, StepInfo

FAILED = ("failure", "timed_out", "startup_failure")
STRATEGIES = ("auto", "all", "failures")
PAGE = 100  # runs per page (GitHubForge asks for 100)
FILTER_CAP = 1000  # GitHub lists at most this many runs for a filtered query
_NAMED = ("release", "publish", "pypi", "deploy")


@dataclass
class Scan:
    failed: list[RunInfo] = field(default_factory=list)  # newest first
    scanned: int = 0  # runs read
    stopped: str = "end"  # success, since, limit, cap (GitHub's 1000) or end (no more runs)
    last_success: RunInfo | None = None
    strategy: str = "auto"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _created(run: RunInfo) -> datetime:
    return datetime.fromisoformat(run.created_at.replace("Z", "+00:00"))


def scan(
    reader: RunReader,
    workflow: str | int,
    *,
    since: datetime | None = None,
    limit: int | None = None,
    strategy: str = "auto",
) -> Scan:
    """The failed runs of WORKFLOW since its last success (or since SINCE), newest first."""
    if strategy not in STRATEGIES:
        raise BadInput(f"unknown scan strategy {strategy!r} (one of {', '.join(STRATEGIES)})")
    out = Scan(strategy=strategy)
    if strategy == "failures":
        _failures(reader, workflow, since, limit, out, upper=None)
        return out
    for run in reader.workflow_runs(workflow):
        out.scanned += 1
        if _take(run, out, since, limit):
            return out
        if strategy == "auto" and out.scanned == PAGE:
            # A whole page and no stop: the rest through filtered listings, not page by page.
            _failures(reader, workflow, since, limit, out, upper=run.created_at)
            return out
    out.stopped = "end"
    return out


def _take(run: RunInfo, out: Scan, since: datetime | None, limit: int | None) -> bool:
    """Account for RUN; True when the scan stops here."""
    if since is not None and _created(run) < since:
        out.stopped = "since"
        return True
    if since is None and run.conclusion == "success":
        out.last_success = run
        out.stopped = "success"
        return True
    if run.conclusion in FAILED and all(run.id != r.id for r in out.failed[-PAGE:]):
        out.failed.append(run)
        if limit is not None and len(out.failed) >= limit:
            out.stopped = "limit"
            return True
    return False


def _failures(
    reader: RunReader,
    workflow: str | int,
    since: datetime | None,
    limit: int | None,
    out: Scan,
    upper: str | None,
) -> None:
    """The failed runs created after the last success (or SINCE) and, when UPPER is given, not
    after UPPER (the oldest run read already; GitHub's ranges include both ends)."""
    lower = iso(since) if since is not None else None
    if since is None:
        out.last_success = next(reader.workflow_runs(workflow, status="success", per_page=1), None)
        lower = out.last_success.created_at if out.last_success else None
    if lower and upper:
        created: str | None = f"{lower}..{upper}"
    elif lower or upper:
        created = f">={lower}" if lower else f"<={upper}"
    else:
        created = None
    got = 0
    for run in reader.workflow_runs(workflow, status="failure", created=created):
        got += 1
        out.scanned += 1
        if _take(run, out, since, limit):
            return
    if got >= FILTER_CAP:
        out.stopped = "cap"
    elif out.last_success is not None:
        out.stopped = "success"
    else:
        out.stopped = "since" if since is not None else "end"


def root_cause(jobs: list[JobInfo]) -> tuple[JobInfo | None, StepInfo | None, list[JobInfo]]:
    """The failed job that finished first (the others often fail because of it), its failed
    step, and the other failed jobs. With no failed job, a cancelled one (a job over its
    ``timeout-minutes`` is cancelled, not failed)."""
    failed = [j for j in jobs if j.conclusion in ("failure", "timed_out")]
    if not failed:
        failed = [j for j in jobs if j.conclusion == "cancelled"]
    if not failed:
        return None, None, []
    failed.sort(key=lambda j: (j.completed_at or "~", j.id))
    job = failed[0]
    step = next((s for s in job.steps if s.conclusion == "failure"), None) or next(
        (s for s in job.steps if s.conclusion in ("timed_out", "cancelled")), None
    )
    return job, step, failed[1:]


def resolve_workflow(reader: RunReader, hint: str | None) -> tuple[str | int, str]:
    """The workflow to read (an id or a file name) and how to call it: an id, a file name
    (``release.yml``, or a path to it), a name (one request to list the workflows), or, with
    no hint, the one workflow whose name or file says release, publish, pypi or deploy."""
    if hint and hint.strip().isascii() and hint.strip().isdigit():  # not '²': int() fails
        return int(hint), f"workflow {hint.strip()}"
    if hint and hint.strip().endswith((".yml", ".yaml")):
        file = hint.strip().rsplit("/", 1)[-1]
        return file, file
    flows = reader.workflows()
    if not flows:
        raise BadInput(
            f"{reader.describe()} has no GitHub Actions workflows: no release runs to read"
        )
    if hint:
        wanted = hint.strip().casefold()
        for wf in flows:
            if wf.name.casefold() == wanted:
                return wf.id, f"{wf.name} ({wf.file})"
        names = ", ".join(sorted(f"{w.name} ({w.file})" for w in flows))
        raise BadInput(f"no workflow named {hint!r} (workflows: {names})")
    found = [w for w in flows if any(k in f"{w.name} {w.file}".lower() for k in _NAMED)]
    if len(found) == 1:
        return found[0].id, f"{found[0].name} ({found[0].file})"
    names = ", ".join(sorted(w.file for w in (found or flows)))
    raise BadInput(f"which workflow releases? pass --workflow (one of: {names})")


def run_from_event(run_id: int, environ: Mapping[str, str] | None = None) -> RunInfo | None:
    """The run's details from the ``workflow_run`` event payload ($GITHUB_EVENT_PATH) when it
    is about RUN_ID: one request fewer. None when there is no such payload."""
    env = os.environ if environ is None else environ
    if env.get("GITHUB_EVENT_NAME") != "workflow_run" or not env.get("GITHUB_EVENT_PATH"):
        return None
    try:
        data: Any = json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text("utf-8"))
        run = data["workflow_run"]
        if not isinstance(run, dict) or run.get("id") != run_id:
            return None
        return RunInfo(
            id=int(run["id"]),
            url=str(run["html_url"]),
            attempt=int(run.get("run_attempt") or 1),
            event=str(run["event"]),
            status=str(run["status"]),
            conclusion=run.get("conclusion"),
            head_branch=run.get("head_branch"),
            head_sha=str(run["head_sha"]),
            display_title=str(run.get("display_title") or ""),
            created_at=str(run["created_at"]),
            run_number=int(run.get("run_number") or 0),
            started_at=run.get("run_started_at"),
            updated_at=run.get("updated_at"),
            workflow=str(run.get("name") or ""),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
