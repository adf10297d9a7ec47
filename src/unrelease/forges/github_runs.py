"""What ``detect`` and ``rollback --run`` read about GitHub Actions runs: workflows, runs,
jobs and job logs (a mixin of GitHubForge, which brings the client and the error mapping)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC
from typing import Any

import requests
from github.GithubException import GithubException, UnknownObjectException
from github.PaginatedList import PaginatedList
from github.Repository import Repository
from github.WorkflowJob import WorkflowJob
from github.WorkflowRun import WorkflowRun

from unrelease.errors import ServiceError
from unrelease.http import make_session
from unrelease.model import JobInfo, RunInfo, StepInfo, WorkflowInfo

ACTIONS_READ = "actions: read"
LOG_MAX_BYTES = 8 * 1024 * 1024  # a longer job log keeps its end, where the failure is


class GitHubRuns:
    """Workflow runs of one repository; needs ``_repo`` and ``_call`` from the forge."""

    _blob_session: requests.Session | None

    @property
    def _repo(self) -> Repository:
        raise NotImplementedError

    def _call(self, what: str, need: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def workflows(self) -> list[WorkflowInfo]:
        with self._call("list the workflows", ACTIONS_READ):
            return [
                WorkflowInfo(id=w.id, name=w.name, path=w.path, state=w.state)
                for w in self._repo.get_workflows()
            ]

    def workflow_runs(
        self,
        workflow: str | int,
        *,
        status: str | None = None,
        created: str | None = None,
        per_page: int | None = None,
    ) -> Iterator[RunInfo]:
        """Runs of WORKFLOW (id or file name), newest first. Pages (100 runs each) are fetched
        as the caller iterates: stopping the iteration stops the paging."""
        params: dict[str, Any] = {}
        if status:
            params["status"] = status
        if created:
            params["created"] = created
        if per_page:
            params["per_page"] = per_page
        key = urllib.parse.quote(str(workflow), safe="")
        listing = PaginatedList(
            WorkflowRun,
            self._repo.requester,
            f"{self._repo.url}/actions/workflows/{key}/runs",
            params,
            list_item="workflow_runs",
        )
        with self._call(f"list the runs of workflow {workflow}", ACTIONS_READ):
            for run in listing:
                yield _run_info(run)

    def workflow_run(self, run_id: int) -> RunInfo:
        with self._call(f"read workflow run {run_id}", ACTIONS_READ):
            return _run_info(self._repo.get_workflow_run(run_id))

    def run_jobs(self, run_id: int) -> list[JobInfo]:
        """The jobs of the run's latest attempt, with their steps."""
        with self._call(f"list the jobs of workflow run {run_id}", ACTIONS_READ):
            listing = PaginatedList(
                WorkflowJob,
                self._repo.requester,
                f"{self._repo.url}/actions/runs/{run_id}/jobs",
                {},
                list_item="jobs",
            )
            return [_job_info(job) for job in listing]

    def job_log(self, job_id: int, max_bytes: int = LOG_MAX_BYTES) -> str | None:
        """The plain-text log of one job (its last MAX_BYTES), or None when GitHub no longer
        has it. The API answers a 302 to short-lived storage that must get no token."""
        url = f"{self._repo.url}/actions/jobs/{job_id}/logs"
        with self._call(f"read the log of job {job_id}", ACTIONS_READ):
            try:
                headers, _ = self._repo.requester.requestBlobAndCheck("GET", url)
            except UnknownObjectException:
                return None  # expired or deleted
            except GithubException as exc:
                if exc.status == 410:
                    return None
                raise
        location = {k.lower(): v for k, v in headers.items()}.get("location")
        if not location:
            raise ServiceError(f"GitHub gave no download location for the log of job {job_id}")
        return self._download_log(job_id, str(location), max_bytes)

    def _download_log(self, job_id: int, location: str, max_bytes: int) -> str:
        if self._blob_session is None:
            self._blob_session = make_session()  # no auth: the URL carries its own signature
        what = f"download the log of job {job_id}"  # never the URL: its query is a credential
        try:
            with self._blob_session.get(location, stream=True, timeout=60) as resp:
                if resp.status_code != 200:
                    raise ServiceError(f"cannot {what}: HTTP {resp.status_code}")
                buf = bytearray()
                for chunk in resp.iter_content(65536):
                    buf += chunk
                    if len(buf) > max_bytes:
                        del buf[: len(buf) - max_bytes]
        except requests.RequestException as exc:
            raise ServiceError(f"cannot {what}: {type(exc).__name__}") from None
        return buf.decode("utf-8", "replace")


def _iso(when: Any) -> str | None:
    return None if when is None else when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _run_info(run: WorkflowRun) -> RunInfo:
    return RunInfo(
        id=run.id,
        url=run.html_url,
        attempt=run.run_attempt or 1,
        event=run.event,
        status=run.status,
        conclusion=run.conclusion,
        head_branch=run.head_branch,
        head_sha=run.head_sha,
        display_title=run.display_title or "",
        created_at=_iso(run.created_at) or "",
        run_number=run.run_number,
        started_at=_iso(run.run_started_at),
        updated_at=_iso(run.updated_at),
        workflow=run.name or "",
    )


def _job_info(job: WorkflowJob) -> JobInfo:
    return JobInfo(
        id=job.id,
        name=job.name,
        status=job.status,
        conclusion=job.conclusion,
        url=job.html_url,
        started_at=_iso(job.started_at),
        completed_at=_iso(job.completed_at),
        steps=tuple(
            StepInfo(number=s.number, name=s.name, status=s.status, conclusion=s.conclusion)
            for s in job.steps
        ),
    )
