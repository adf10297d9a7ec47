"""Detect failed release runs and explain them: which version each was shipping, what of it
reached the index, and why it failed.

What ``gh run list --status failure`` and ``gh run view --log`` give a maintainer, read for
them: ``scan`` lists the failed runs since the last success; ``diagnose`` reads one run's jobs
and the failed job's log (only for the runs reported) and combines ``classify``, ``version``,
``reached`` and ``impact``. Nothing here writes anywhere.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime

import requests
from packaging.version import Version

from unrelease.detect import classify, logs, reached, runs, version
from unrelease.detect.impact import PypiStats
from unrelease.detect.logs import Artifact
from unrelease.errors import BadInput, NotFound, Refused, UnreleaseError
from unrelease.forges.base import RunReader
from unrelease.indexes.base import Index
from unrelease.model import Diagnosis, Impact, Reached, Release, RunInfo
from unrelease.versions import find_release

__all__ = ["Detector", "Report", "default_reason", "for_rollback", "runs"]
WORKERS = 4


@dataclass
class Report:
    repo: str
    workflow: str
    scan: runs.Scan
    diagnoses: list[Diagnosis] = field(default_factory=list)
    since: datetime | None = None

    def to_json(self) -> dict[str, object]:
        last = self.scan.last_success
        return {
            "repo": self.repo,
            "workflow": self.workflow,
            "since": runs.iso(self.since) if self.since else None,
            "strategy": self.scan.strategy,
            "scanned": self.scan.scanned,
            "stopped": self.scan.stopped,
            "last_success": (
                {"id": last.id, "url": last.url, "created_at": last.created_at} if last else None
            ),
            "runs": [d.to_json() for d in self.diagnoses],
        }


class Detector:
    """Reads runs from READER and versions from INDEX (optional); PACKAGE may be learned from
    the files a run's log names.

    A reader is used by one thread at a time: PyGithub keeps each request's verb and URL on
    its one shared connection object, so two threads on one client swap requests. Several
    runs are diagnosed at once only with READER_FACTORY, which gives each worker thread a
    client of its own; without it they are diagnosed one after the other."""

    def __init__(
        self,
        reader: RunReader,
        *,
        index: Index | None = None,
        index_name: str = "",
        package: str | None = None,
        fallback_package: str | None = None,
        tag_format: str = "v{version}",
        stats: PypiStats | None = None,
        reader_factory: Callable[[], RunReader] | None = None,
    ) -> None:
        self.reader = reader
        self.reader_factory = reader_factory
        self.index = index
        self.index_name = index_name or (index.url if index else "")
        self.package = package
        self.fallback_package = fallback_package  # when the logs name no files
        self.tag_format = tag_format
        self.stats = stats
        self._releases: dict[str, list[Release] | str] = {}
        self._lock = threading.Lock()  # runs are diagnosed in parallel; the index read once

    # ------------------------------------------------------------------ the index, read once
    def releases(self, package: str) -> list[Release] | str:
        """Every release of PACKAGE on the index, or why they could not be read."""
        with self._lock:
            return self._read_releases(package)

    def _read_releases(self, package: str) -> list[Release] | str:
        if package not in self._releases:
            if self.index is None:
                self._releases[package] = "no index to read"
            else:
                try:
                    self._releases[package] = self.index.releases(package)
                except NotFound:
                    self._releases[package] = []
                except UnreleaseError as exc:
                    self._releases[package] = f"the index could not be read: {exc}"
                except requests.RequestException as exc:
                    self._releases[package] = f"the index could not be read: {type(exc).__name__}"
        return self._releases[package]

    # ------------------------------------------------------------------ one run
    def diagnose(
        self,
        run: RunInfo,
        expect_version: str | None = None,
        reader: RunReader | None = None,
    ) -> Diagnosis:
        """Read RUN's jobs and its failed job's log (through READER, default the detector's),
        and explain the failure. With EXPECT_VERSION (what ``rollback`` was asked to
        withdraw), a run that names another version from a trusted source (tag, release,
        log, index) is refused."""
        reader = reader or self.reader
        jobs = reader.run_jobs(run.id)
        job, step, others = runs.root_cause(jobs)
        note = ""
        lines: list[str] = []
        if job is None:
            note = (
                "no job ran: the workflow could not start (check the workflow file)"
                if run.conclusion == "startup_failure" or not jobs
                else "no job failed in the latest attempt"
            )
        else:
            if job.conclusion == "cancelled":
                note = f"no job failed; {job.name} was cancelled (its timeout, or a person)"
            text = reader.job_log(job.id)
            if text is None:
                note = "the job's log is no longer kept by GitHub"
            else:
                lines = logs.clean_lines(text)
        region = logs.failed_region(lines)
        verdict = classify.classify(
            job.name if job else None, step.name if step else None, region.lines
        )
        found = logs.artifacts(lines)
        package = self.package or _package_of(found) or self.fallback_package
        rels = self.releases(package) if package else "no package name (pass --package)"
        evidence = version.evidence(
            run, self.tag_format, found, package, rels if isinstance(rels, list) else None
        )
        chosen, source = version.choose(evidence)
        if expect_version is not None:
            wanted = str(Version(expect_version))
            if source not in (None, "display_title") and chosen != wanted:
                raise BadInput(
                    f"run {run.id} was shipping {chosen} (from its {source}), not {wanted}"
                )
            if chosen != wanted:
                chosen, source = wanted, "given"
        return Diagnosis(
            run=run,
            version=chosen,
            version_source=source,
            evidence=evidence,
            reached=self._reached(chosen, rels, found),
            failure_class=verdict.cls.key,
            job=job.name if job else None,
            job_url=job.url if job else None,
            step=step.name if step else None,
            excerpt=logs.excerpt(region.lines, verdict.hits) if lines else "",
            other_failed_jobs=tuple(j.name for j in others),
            note=note,
            package=package,
            impact=self._impact(package, chosen, rels) if package and chosen else None,
        )

    def _reached(
        self, chosen: str | None, rels: list[Release] | str, found: list[Artifact]
    ) -> Reached:
        if isinstance(rels, str):
            return reached.unknown(rels)
        if chosen is None:
            return reached.unknown("the version the run was shipping is not known")
        return reached.reached(chosen, rels, found)

    def _impact(self, package: str, chosen: str, rels: list[Release] | str) -> Impact | None:
        if self.stats is None:
            return None
        upload: date | None = None
        rel = find_release(rels, Version(chosen)) if isinstance(rels, list) else None
        times = [t for f in (rel.files if rel else ()) if (t := version.parse_time(f.upload_time))]
        if times:
            upload = min(times).date()
        return self.stats.impact(package, chosen, self.index_name, upload)

    # ------------------------------------------------------------------ many runs
    def detect(
        self,
        repo: str,
        workflow_hint: str | None,
        *,
        since: datetime | None = None,
        limit: int | None = None,
        strategy: str = "auto",
    ) -> Report:
        workflow, name = runs.resolve_workflow(self.reader, workflow_hint)
        found = runs.scan(self.reader, workflow, since=since, limit=limit, strategy=strategy)
        report = Report(repo=repo, workflow=name, scan=found, since=since)
        if self.reader_factory is None or len(found.failed) < 2:
            report.diagnoses = [self.diagnose(run) for run in found.failed]
        else:
            report.diagnoses = self._diagnose_many(found.failed, self.reader_factory)
        return report

    def _diagnose_many(
        self, failed: list[RunInfo], factory: Callable[[], RunReader]
    ) -> list[Diagnosis]:
        """Each run costs three sequential reads (jobs, the log's 302, the log): a few runs at
        a time keep the wall time near that of one run on a slow network. Each worker thread
        reads through a client of its own (see the class)."""
        local = threading.local()
        made: list[RunReader] = []

        def one(run: RunInfo) -> Diagnosis:
            reader: RunReader | None = getattr(local, "reader", None)
            if reader is None:
                reader = local.reader = factory()
                with self._lock:
                    made.append(reader)
            return self.diagnose(run, reader=reader)

        try:
            with ThreadPoolExecutor(max_workers=min(WORKERS, len(failed))) as pool:
                return list(pool.map(one, failed))
        finally:
            for reader in made:
                close = getattr(reader, "close", None)
                if callable(close):
                    close()

    def diagnose_run(
        self,
        run_id: int,
        expect_version: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Diagnosis:
        """One run by id (``rollback --run``). Its details come from the workflow_run event
        payload when that is about this run (one request fewer), else from the API."""
        run = runs.run_from_event(run_id, environ)
        if run is None:
            try:
                run = self.reader.workflow_run(run_id)
            except NotFound:
                raise BadInput(
                    f"there is no workflow run {run_id} in {self.reader.describe()}"
                ) from None
        if run.conclusion == "success":
            raise Refused(f"run {run_id} succeeded: it is no failed release to roll back")
        found = self.diagnose(run, expect_version)
        if run.status != "completed" and found.job is None:
            # A rollback job inside the release workflow sees its own run in progress, with
            # the publish job failed (or cancelled) already: that one goes on.
            raise Refused(
                f"run {run_id} is still {run.status.replace('_', ' ')[:20]} and none of its "
                "jobs has failed: "
                "nothing to roll back yet"
            )
        return found


def _package_of(found: list[Artifact]) -> str | None:
    names = {a.name for a in found}
    return names.pop() if len(names) == 1 else None


def for_rollback(
    reader: RunReader,
    run_id: int,
    *,
    package: str,
    version: str | None,
    index: Index,
    index_name: str,
    tag_format: str,
    measure_impact: bool,
) -> Diagnosis:
    """The diagnosis ``rollback --run`` puts in the incident issue (and learns VERSION from)."""
    detector = Detector(
        reader,
        index=index,
        index_name=index_name,
        package=package,
        tag_format=tag_format,
        stats=PypiStats() if measure_impact else None,
    )
    return detector.diagnose_run(run_id, version)


def default_reason(d: Diagnosis) -> str:
    """The rollback reason when none was given: what the run's failure says."""
    where = ""
    if d.job:
        where = f" in {d.job}" + (f" / {d.step}" if d.step else "")
    return f"release run {d.run.id} failed: {classify.BY_KEY[d.failure_class].label}{where}"
