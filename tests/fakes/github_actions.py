"""GitHub Actions in the GitHub fake: workflows, runs and their attempts, jobs with steps, and
logs behind the real 302 redirect.

Every ``FakeGitHub`` has one ``FakeActions`` as ``fake.actions`` (installed by
``install_actions_routes``). Routes, fields and status codes follow api.github.com:

- ``GET /actions/workflows`` and ``/actions/workflows/{id or file name}``;
- ``GET /actions/workflows/{id or file}/runs`` and ``/actions/runs`` — newest first, with
  ``per_page``/``page`` and ``Link`` headers, filters ``status`` (a status or a conclusion),
  ``created`` (``>=DATE``, ``>DATE``, ``<=DATE``, ``<DATE``, ``A..B`` or a day), ``branch``,
  ``event``, ``head_sha``; like GitHub, a filtered listing stops at 1000 results;
- ``GET /actions/runs/{id}`` and ``/actions/runs/{id}/attempts/{n}``;
- ``GET /actions/runs/{id}/jobs`` (``filter=latest|all``), ``/attempts/{n}/jobs``,
  ``/actions/jobs/{id}``;
- ``GET /actions/jobs/{id}/logs`` → 302 to a plain-text blob, ``/actions/runs/{id}/logs`` and
  ``/attempts/{n}/logs`` → 302 to a zip (one ``{i}_{job name}.txt`` per job). The blob URLs
  live on the fake's host under ``/_blobs/``, carry a signature and, like the storage GitHub
  redirects to, refuse a request that sends an ``Authorization`` header (403). Expired logs
  answer 404 on the API route.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import secrets
import urllib.parse
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.github import FakeGitHub, _Ctx, _Response

BLOB_PREFIX = "/_blobs/"
FILTER_CAP = 1000  # GitHub returns at most 1000 runs for a filtered listing
_FILTERS = ("actor", "branch", "check_suite_id", "created", "event", "head_sha", "status")
_STATUSES = {"completed", "in_progress", "queued", "requested", "waiting", "pending"}
_CONCLUSIONS = {
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "skipped",
    "stale",
    "success",
    "timed_out",
    "startup_failure",
}
_T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

StepSpec = tuple[str, str]  # (name, conclusion)


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@dataclass
class FakeJob:
    id: int
    run_id: int
    attempt: int
    name: str
    conclusion: str | None
    steps: list[dict[str, Any]]
    log: str
    started_at: dt.datetime
    completed_at: dt.datetime
    status: str = "completed"


@dataclass
class FakeAttempt:
    number: int
    status: str
    conclusion: str | None
    started_at: dt.datetime
    updated_at: dt.datetime
    jobs: list[FakeJob] = field(default_factory=list)


@dataclass
class FakeRun:
    id: int
    workflow_id: int
    run_number: int
    event: str
    head_branch: str | None
    head_sha: str
    display_title: str
    created_at: dt.datetime
    attempts: list[FakeAttempt]
    logs_expired: bool = False

    @property
    def latest(self) -> FakeAttempt:
        return self.attempts[-1]


class FakeActions:
    """The Actions state of the fake's one repository, with seeding methods."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.workflows: dict[int, dict[str, Any]] = {}
        self.runs: dict[int, FakeRun] = {}
        self.jobs: dict[int, FakeJob] = {}
        self._blobs: dict[str, tuple[str, bytes, str]] = {}  # path -> (sig, body, type)
        self._next_run = 9_000_000_000
        self._next_job = 25_000_000_000
        self._clock = _T0
        self._numbers: dict[int, int] = {}  # workflow id -> last run number

    # ------------------------------------------------------------------ seeding
    def add_workflow(
        self, name: str = "Release", path: str = ".github/workflows/release.yml"
    ) -> int:
        with self.fake._lock:
            wid = 70_000_000 + len(self.workflows) + 1
            self.workflows[wid] = {"id": wid, "name": name, "path": path, "state": "active"}
            return wid

    def _workflow_id(self, workflow: int | str | None) -> int:
        if workflow is None:
            if not self.workflows:
                return self.add_workflow()
            return next(iter(self.workflows))
        found = self._find_workflow(str(workflow))
        if found is None:
            raise ValueError(f"unknown workflow {workflow!r}")
        return int(found["id"])

    def add_run(
        self,
        workflow: int | str | None = None,
        *,
        conclusion: str | None = "failure",
        status: str = "completed",
        head_branch: str | None = "main",
        head_sha: str | None = None,
        event: str = "push",
        display_title: str | None = None,
        created_at: dt.datetime | None = None,
        duration: dt.timedelta = dt.timedelta(minutes=3),
        jobs: Sequence[tuple[str, str | None, Sequence[StepSpec], str]] = (),
    ) -> int:
        """A run (attempt 1) of WORKFLOW; JOBS are (name, conclusion, steps, log text).
        Runs are listed newest first by ``created_at`` (default: one minute after the last)."""
        with self.fake._lock:
            wid = self._workflow_id(workflow)
            self._next_run += 1
            rid = self._next_run
            if created_at is None:
                self._clock += dt.timedelta(minutes=1)
                created_at = self._clock
            else:
                self._clock = max(self._clock, created_at)
            self._numbers[wid] = number = self._numbers.get(wid, 0) + 1
            sha = head_sha or hashlib.sha1(f"run{rid}".encode()).hexdigest()  # noqa: S324
            run = FakeRun(
                id=rid,
                workflow_id=wid,
                run_number=number,
                event=event,
                head_branch=head_branch,
                head_sha=sha,
                display_title=display_title if display_title is not None else f"Run {number}",
                created_at=created_at,
                attempts=[],
            )
            self.runs[rid] = run
            self._new_attempt(run, status, conclusion, created_at, duration, jobs)
            return rid

    def add_runs(
        self,
        conclusions: Iterable[str | None],
        workflow: int | str | None = None,
        *,
        start: dt.datetime | None = None,
        every: dt.timedelta = dt.timedelta(minutes=10),
    ) -> list[int]:
        """Many job-less runs at once, oldest first (for pagination and benchmarks)."""
        with self.fake._lock:
            when = start or self._clock
            ids = []
            for conclusion in conclusions:
                when += every
                ids.append(self.add_run(workflow, conclusion=conclusion, created_at=when))
            return ids

    def rerun(
        self,
        run_id: int,
        *,
        conclusion: str | None = "success",
        status: str = "completed",
        duration: dt.timedelta = dt.timedelta(minutes=3),
        jobs: Sequence[tuple[str, str | None, Sequence[StepSpec], str]] = (),
    ) -> int:
        """A new attempt of RUN_ID; returns its number."""
        with self.fake._lock:
            run = self.runs[run_id]
            start = run.latest.updated_at + dt.timedelta(minutes=5)
            self._clock = max(self._clock, start)
            return self._new_attempt(run, status, conclusion, start, duration, jobs).number

    def _new_attempt(
        self,
        run: FakeRun,
        status: str,
        conclusion: str | None,
        start: dt.datetime,
        duration: dt.timedelta,
        jobs: Sequence[tuple[str, str | None, Sequence[StepSpec], str]],
    ) -> FakeAttempt:
        attempt = FakeAttempt(
            number=len(run.attempts) + 1,
            status=status,
            conclusion=conclusion if status == "completed" else None,
            started_at=start,
            updated_at=start + duration,
        )
        run.attempts.append(attempt)
        span = duration / max(1, len(jobs))
        for i, (name, job_conclusion, steps, log) in enumerate(jobs):
            self._next_job += 1
            job = FakeJob(
                id=self._next_job,
                run_id=run.id,
                attempt=attempt.number,
                name=name,
                conclusion=job_conclusion,
                steps=self._steps(steps, start + span * i),
                log=log,
                started_at=start + span * i,
                completed_at=start + span * (i + 1),
            )
            attempt.jobs.append(job)
            self.jobs[job.id] = job
        return attempt

    @staticmethod
    def _steps(specs: Sequence[StepSpec], start: dt.datetime) -> list[dict[str, Any]]:
        names = [("Set up job", "success"), *specs, ("Complete job", "success")]
        out = []
        for n, (name, conclusion) in enumerate(names, 1):
            when = _iso(start + dt.timedelta(seconds=n))
            out.append(
                {
                    "name": name,
                    "status": "completed",
                    "conclusion": conclusion,
                    "number": n,
                    "started_at": when,
                    "completed_at": when,
                }
            )
        return out

    def expire_logs(self, run_id: int) -> None:
        """The run's logs are gone (retention): the log routes answer 404."""
        with self.fake._lock:
            self.runs[run_id].logs_expired = True

    # ------------------------------------------------------------------ JSON
    def _find_workflow(self, key: str) -> dict[str, Any] | None:
        if key.isdigit():
            return self.workflows.get(int(key))
        for wf in self.workflows.values():
            if wf["path"].rsplit("/", 1)[-1] == key:
                return wf
        return None

    def _workflow_json(self, wf: dict[str, Any]) -> dict[str, Any]:
        f = self.fake
        file = wf["path"].rsplit("/", 1)[-1]
        return {
            "id": wf["id"],
            "node_id": f"W_{wf['id']}",
            "name": wf["name"],
            "path": wf["path"],
            "state": wf["state"],
            "created_at": _iso(_T0),
            "updated_at": _iso(_T0),
            "url": f"{f.repo_api}/actions/workflows/{wf['id']}",
            "html_url": f"{f.repo_web}/blob/main/{wf['path']}",
            "badge_url": f"{f.repo_web}/workflows/{urllib.parse.quote(file)}/badge.svg",
        }

    def _run_json(self, run: FakeRun, attempt: FakeAttempt | None = None) -> dict[str, Any]:
        f = self.fake
        att = attempt or run.latest
        wf = self.workflows[run.workflow_id]
        api = f"{f.repo_api}/actions/runs/{run.id}"
        previous = f"{api}/attempts/{att.number - 1}" if att.number > 1 else None
        when = _iso(att.updated_at if att.status == "completed" else att.started_at)
        return {
            "id": run.id,
            "name": wf["name"],
            "node_id": f"WFR_{run.id}",
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": wf["path"],
            "display_title": run.display_title,
            "run_number": run.run_number,
            "event": run.event,
            "status": att.status,
            "conclusion": att.conclusion,
            "workflow_id": run.workflow_id,
            "check_suite_id": run.id + 1,
            "check_suite_node_id": f"CS_{run.id + 1}",
            "url": api,
            "html_url": f"{f.repo_web}/actions/runs/{run.id}",
            "pull_requests": [],
            "created_at": _iso(run.created_at),
            "updated_at": when,
            "actor": f._user(),
            "run_attempt": att.number,
            "referenced_workflows": [],
            "run_started_at": _iso(att.started_at),
            "triggering_actor": f._user(),
            "jobs_url": f"{api}/jobs",
            "logs_url": f"{api}/logs",
            "check_suite_url": f"{f.repo_api}/check-suites/{run.id + 1}",
            "artifacts_url": f"{api}/artifacts",
            "cancel_url": f"{api}/cancel",
            "rerun_url": f"{api}/rerun",
            "previous_attempt_url": previous,
            "workflow_url": f"{f.repo_api}/actions/workflows/{run.workflow_id}",
            "head_commit": {
                "id": run.head_sha,
                "tree_id": "0" * 40,
                "message": run.display_title,
                "timestamp": _iso(run.created_at),
                "author": {"name": f.login, "email": f"{f.login}@users.noreply"},
                "committer": {"name": f.login, "email": f"{f.login}@users.noreply"},
            },
            "repository": f._repo_json(),
            "head_repository": f._repo_json(),
        }

    def _job_json(self, job: FakeJob) -> dict[str, Any]:
        f = self.fake
        run = self.runs[job.run_id]
        wf = self.workflows[run.workflow_id]
        return {
            "id": job.id,
            "run_id": job.run_id,
            "workflow_name": wf["name"],
            "head_branch": run.head_branch,
            "run_url": f"{f.repo_api}/actions/runs/{job.run_id}",
            "run_attempt": job.attempt,
            "node_id": f"CR_{job.id}",
            "head_sha": run.head_sha,
            "url": f"{f.repo_api}/actions/jobs/{job.id}",
            "html_url": f"{f.repo_web}/actions/runs/{job.run_id}/job/{job.id}",
            "status": job.status,
            "conclusion": job.conclusion,
            "created_at": _iso(job.started_at),
            "started_at": _iso(job.started_at),
            "completed_at": _iso(job.completed_at),
            "name": job.name,
            "steps": job.steps,
            "check_run_url": f"{f.repo_api}/check-runs/{job.id}",
            "labels": ["ubuntu-latest"],
            "runner_id": 7,
            "runner_name": "GitHub Actions 7",
            "runner_group_id": 2,
            "runner_group_name": "GitHub Actions",
        }

    # ------------------------------------------------------------------ listing
    def _page(self, ctx: _Ctx, items: list[Any], key: str, total: int) -> _Response:
        return self.fake._paginate(ctx, items, lambda chunk: {"total_count": total, key: chunk})

    def _matches(self, run: FakeRun, q: dict[str, str]) -> bool:
        att = run.latest
        status = q.get("status")
        if status and status not in (att.status, att.conclusion):
            return False
        if q.get("branch") and run.head_branch != q["branch"]:
            return False
        if q.get("event") and run.event != q["event"]:
            return False
        if q.get("head_sha") and run.head_sha != q["head_sha"]:
            return False
        return not q.get("created") or _created_matches(run.created_at, q["created"])

    def _list_runs(self, ctx: _Ctx, workflow_id: int | None) -> _Response:
        from tests.fakes.github import ApiError

        q = ctx.query
        status = q.get("status")
        if status and status not in _STATUSES | _CONCLUSIONS:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[{"resource": "WorkflowRun", "code": "invalid", "field": "status"}],
            )
        if q.get("created"):
            try:
                _created_matches(_T0, q["created"])
            except ValueError:
                raise ApiError(
                    422,
                    "Validation Failed",
                    errors=[{"resource": "WorkflowRun", "code": "invalid", "field": "created"}],
                ) from None
        runs = [
            r
            for r in self.runs.values()
            if (workflow_id is None or r.workflow_id == workflow_id) and self._matches(r, q)
        ]
        runs.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        if any(q.get(k) for k in _FILTERS):
            runs = runs[:FILTER_CAP]
        total = len(runs)
        # Only the page asked for is turned into JSON (10 000 runs stay cheap to list).
        per_page, page = _page_args(q)
        shown = runs[(page - 1) * per_page : page * per_page]
        items: list[Any] = [None] * len(runs)
        items[(page - 1) * per_page : (page - 1) * per_page + len(shown)] = [
            self._run_json(r) for r in shown
        ]
        return self._page(ctx, items, "workflow_runs", total)

    # ------------------------------------------------------------------ handlers
    def _run(self, rid: str) -> FakeRun:
        from tests.fakes.github import _not_found

        run = self.runs.get(int(rid))
        if run is None:
            raise _not_found()
        return run

    def _attempt(self, run: FakeRun, n: str) -> FakeAttempt:
        from tests.fakes.github import _not_found

        number = int(n)
        if not 1 <= number <= len(run.attempts):
            raise _not_found()
        return run.attempts[number - 1]

    def list_workflows(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        items = [self._workflow_json(w) for w in self.workflows.values()]
        return self._page(ctx, items, "workflows", len(items))

    def get_workflow(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _not_found, _Response

        wf = self._find_workflow(m["wf"])
        if wf is None:
            raise _not_found()
        return _Response(200, self._workflow_json(wf))

    def workflow_runs(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _not_found

        wf = self._find_workflow(m["wf"])
        if wf is None:
            raise _not_found()
        return self._list_runs(ctx, int(wf["id"]))

    def repo_runs(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        return self._list_runs(ctx, None)

    def get_run(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _Response

        return _Response(200, self._run_json(self._run(m["id"])))

    def get_attempt(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _Response

        run = self._run(m["id"])
        return _Response(200, self._run_json(run, self._attempt(run, m["n"])))

    def run_jobs(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import ApiError

        run = self._run(m["id"])
        which = ctx.query.get("filter", "latest")
        if which not in ("latest", "all"):
            raise ApiError(
                422,
                "Validation Failed",
                errors=[{"resource": "Job", "code": "invalid", "field": "filter"}],
            )
        attempts = run.attempts if which == "all" else [run.latest]
        jobs = [self._job_json(j) for a in attempts for j in a.jobs]
        return self._page(ctx, jobs, "jobs", len(jobs))

    def attempt_jobs(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        run = self._run(m["id"])
        jobs = [self._job_json(j) for j in self._attempt(run, m["n"]).jobs]
        return self._page(ctx, jobs, "jobs", len(jobs))

    def get_job(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _not_found, _Response

        job = self.jobs.get(int(m["id"]))
        if job is None:
            raise _not_found()
        return _Response(200, self._job_json(job))

    def job_logs(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _not_found

        job = self.jobs.get(int(m["id"]))
        if job is None or self.runs[job.run_id].logs_expired:
            raise _not_found()
        return self._redirect(f"job-logs/{job.id}", job.log.encode(), "text/plain")

    def run_logs(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _not_found

        run = self._run(m["id"])
        if run.logs_expired:
            raise _not_found()
        att = self._attempt(run, m["n"]) if m["n"] else run.latest
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for i, job in enumerate(att.jobs):
                zf.writestr(f"{i}_{_zip_name(job.name)}.txt", job.log)
        return self._redirect(f"run-logs/{run.id}-{att.number}.zip", buf.getvalue(), "zip")

    def _redirect(self, name: str, body: bytes, kind: str) -> _Response:
        from tests.fakes.github import _Response

        sig = secrets.token_urlsafe(16)
        path = f"{BLOB_PREFIX}{name}"
        content_type = "application/zip" if kind == "zip" else "text/plain; charset=utf-8"
        self._blobs[path] = (sig, body, content_type)
        query = urllib.parse.urlencode({"sv": "2021-12-02", "se": "2099-01-01T00:00Z", "sig": sig})
        return _Response(302, None, {"Location": f"{self.fake.web_url}{path}?{query}"})

    def serve_blob(
        self, method: str, path: str, query: dict[str, str], auth: str | None
    ) -> _Response:
        """The storage behind the redirect: a valid signature, and no Authorization header."""
        from tests.fakes.github import _Response

        blob = self._blobs.get(path)
        if method not in ("GET", "HEAD") or blob is None:
            return _Response(404, b"BlobNotFound", {"Content-Type": "text/plain"})
        if auth:
            return _Response(
                403,
                b"AuthenticationFailed: an Authorization header is not allowed with a SAS URL",
                {"Content-Type": "text/plain"},
            )
        sig, body, content_type = blob
        if query.get("sig") != sig:
            return _Response(403, b"AuthenticationFailed", {"Content-Type": "text/plain"})
        return _Response(200, body, {"Content-Type": content_type})


def _page_args(q: dict[str, str]) -> tuple[int, int]:
    try:
        return min(max(int(q.get("per_page", "30")), 1), 100), max(int(q.get("page", "1")), 1)
    except ValueError:
        return 30, 1


def _zip_name(name: str) -> str:
    return re.sub(r'[/\\:*?"<>|]', "", name)


def _created_matches(when: dt.datetime, spec: str) -> bool:
    """GitHub's date qualifiers: ``>=D``, ``>D``, ``<=D``, ``<D``, ``A..B`` or a plain day."""
    for op in (">=", "<=", ">", "<"):
        if spec.startswith(op):
            bound = _parse(spec[len(op) :])
            return {
                ">=": when >= bound,
                "<=": when <= bound,
                ">": when > bound,
                "<": when < bound,
            }[op]
    if ".." in spec:
        lo, hi = spec.split("..", 1)
        return (lo == "*" or when >= _parse(lo)) and (hi == "*" or when <= _parse(hi))
    day = dt.date.fromisoformat(spec)
    return when.astimezone(dt.UTC).date() == day


def install_actions_routes(fake: FakeGitHub, add: Callable[[str, str, Any], None]) -> None:
    """Give FAKE its Actions state and routes (called from ``FakeGitHub._install_routes``)."""
    actions = FakeActions(fake)
    fake.actions = actions
    a = r"/actions"
    add("GET", rf"{a}/workflows", actions.list_workflows)
    add("GET", rf"{a}/workflows/(?P<wf>[^/]+)", actions.get_workflow)
    add("GET", rf"{a}/workflows/(?P<wf>[^/]+)/runs", actions.workflow_runs)
    add("GET", rf"{a}/runs", actions.repo_runs)
    add("GET", rf"{a}/runs/(?P<id>\d+)", actions.get_run)
    add("GET", rf"{a}/runs/(?P<id>\d+)/attempts/(?P<n>\d+)", actions.get_attempt)
    add("GET", rf"{a}/runs/(?P<id>\d+)/jobs", actions.run_jobs)
    add("GET", rf"{a}/runs/(?P<id>\d+)/attempts/(?P<n>\d+)/jobs", actions.attempt_jobs)
    add("GET", rf"{a}/runs/(?P<id>\d+)(?:/attempts/(?P<n>\d+))?/logs", actions.run_logs)
    add("GET", rf"{a}/jobs/(?P<id>\d+)", actions.get_job)
    add("GET", rf"{a}/jobs/(?P<id>\d+)/logs", actions.job_logs)
    from tests.fakes.github_artifacts import install_artifacts_routes

    install_artifacts_routes(fake, add)
