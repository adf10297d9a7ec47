"""GitHub Actions through the real clients: the fake's runs, jobs and logs (raw HTTP and
PyGithub), GitHubForge's run methods and their request cost, and the scan for failed runs."""

from __future__ import annotations

import datetime as dt
import io
import re
import urllib.parse
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.fakes.github import FakeGitHub, hold_two_requests_midway
from tests.fakes.pypistats import FakePypiStats
from unrelease.detect import Detector, runs
from unrelease.detect.impact import PypiStats
from unrelease.errors import AuthError, BadInput, NotFound, ServiceError
from unrelease.forges.base import RunReader
from unrelease.forges.github import GitHubForge
from unrelease.model import DistFile, Reached, Release

UTC = dt.UTC


@pytest.fixture
def forge(fake_github: FakeGitHub) -> Iterator[GitHubForge]:
    f = GitHubForge(fake_github.full_name, fake_github.token, base_url=fake_github.api_url)
    yield f
    f.close()


def call(fake: FakeGitHub, path: str, token: str | None = None, **params: str) -> requests.Response:
    return requests.get(
        f"{fake.repo_api}{path}",
        params=params,
        headers={"Authorization": f"token {token or fake.token}"},
        allow_redirects=False,
        timeout=10,
    )


def on_own_host(fake: FakeGitHub, url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname == "127.0.0.1" and parts.port == fake.port


def failing_job(log: str = "##[group]Run pytest\n##[endgroup]\nboom\n##[error]exit 1\n") -> tuple:  # type: ignore[type-arg]
    return ("test", "failure", [("Run pytest", "failure")], log)


# ----------------------------------------------------------------------- the fake, raw HTTP
def test_runs_listing_pages_newest_first_with_links(fake_github: FakeGitHub) -> None:
    fake = fake_github
    ids = fake.actions.add_runs(["success", *["failure"] * 249])
    resp = call(fake, "/actions/workflows/release.yml/runs", per_page="100")
    assert resp.status_code == 200
    data = resp.json()
    assert data["total_count"] == 250
    assert [r["id"] for r in data["workflow_runs"]] == ids[::-1][:100]
    found = re.findall(r'<([^>]+)>; rel="(\w+)"', resp.headers["Link"])
    links = {rel: url for url, rel in found}
    assert set(links) == {"next", "last"}
    assert all(on_own_host(fake, u) for u in links.values())
    last = requests.get(links["last"], headers={"Authorization": f"token {fake.token}"}, timeout=10)
    assert [r["id"] for r in last.json()["workflow_runs"]] == ids[::-1][200:]
    first = data["workflow_runs"][0]
    for key in ("html_url", "url", "jobs_url", "logs_url", "workflow_url"):
        assert on_own_host(fake, first[key]), key
    assert first["path"] == ".github/workflows/release.yml"
    assert first["run_attempt"] == 1 and first["previous_attempt_url"] is None


def test_run_filters_and_the_1000_cap(fake_github: FakeGitHub) -> None:
    fake = fake_github
    start = dt.datetime(2024, 3, 1, tzinfo=UTC)
    fake.actions.add_runs(["failure"] * 1100 + ["success"], start=start)
    failures = call(fake, "/actions/workflows/release.yml/runs", status="failure")
    assert failures.json()["total_count"] == 1000  # GitHub's cap on filtered listings
    everything = call(fake, "/actions/runs", per_page="1")
    assert everything.json()["total_count"] == 1101
    success = call(fake, "/actions/workflows/release.yml/runs", status="success", per_page="1")
    (newest,) = success.json()["workflow_runs"]
    assert newest["conclusion"] == "success"
    after = call(fake, "/actions/workflows/release.yml/runs", created=">=2024-03-08T00:00:00Z")
    assert 0 < after.json()["total_count"] < 1101
    day = call(fake, "/actions/workflows/release.yml/runs", created="2024-03-02")
    assert day.json()["total_count"] == 144  # every 10 minutes
    span = call(fake, "/actions/runs", created="2024-03-01T00:00:00Z..2024-03-01T01:00:00Z")
    assert span.json()["total_count"] == 6
    less = call(fake, "/actions/runs", created="<2024-03-01T00:20:00Z")
    assert less.json()["total_count"] == 1
    for bad in ({"status": "broken"}, {"created": ">=yesterday"}):
        resp = call(fake, "/actions/runs", **bad)
        assert resp.status_code == 422
        assert resp.json()["message"] == "Validation Failed"
    assert call(fake, "/actions/workflows/nope.yml/runs").status_code == 404


def test_workflows_attempts_and_jobs(fake_github: FakeGitHub) -> None:
    fake = fake_github
    wid = fake.actions.add_workflow("Release", ".github/workflows/release.yml")
    fake.actions.add_workflow("CI", ".github/workflows/ci.yml")
    rid = fake.actions.add_run("release.yml", jobs=[failing_job()])
    assert fake.actions.rerun(rid, jobs=[("test", "success", [("Run pytest", "success")], "")]) == 2
    flows = call(fake, "/actions/workflows").json()
    assert [w["name"] for w in flows["workflows"]] == ["Release", "CI"]
    assert call(fake, f"/actions/workflows/{wid}").json()["path"].endswith("release.yml")
    assert call(fake, "/actions/workflows/ci.yml").json()["name"] == "CI"
    assert call(fake, "/actions/workflows/404.yml").status_code == 404
    run = call(fake, f"/actions/runs/{rid}").json()
    assert (run["run_attempt"], run["conclusion"]) == (2, "success")
    assert run["previous_attempt_url"].endswith(f"/actions/runs/{rid}/attempts/1")
    first = call(fake, f"/actions/runs/{rid}/attempts/1").json()
    assert (first["run_attempt"], first["conclusion"]) == (1, "failure")
    assert call(fake, f"/actions/runs/{rid}/attempts/3").status_code == 404
    latest = call(fake, f"/actions/runs/{rid}/jobs").json()
    assert [j["conclusion"] for j in latest["jobs"]] == ["success"]
    every = call(fake, f"/actions/runs/{rid}/jobs", filter="all").json()
    assert [j["run_attempt"] for j in every["jobs"]] == [1, 2]
    assert call(fake, f"/actions/runs/{rid}/jobs", filter="some").status_code == 422
    old = call(fake, f"/actions/runs/{rid}/attempts/1/jobs").json()["jobs"][0]
    assert [(s["name"], s["conclusion"]) for s in old["steps"]] == [
        ("Set up job", "success"),
        ("Run pytest", "failure"),
        ("Complete job", "success"),
    ]
    assert call(fake, f"/actions/jobs/{old['id']}").json()["name"] == "test"
    assert call(fake, "/actions/jobs/1").status_code == 404
    assert call(fake, "/actions/runs/1").status_code == 404


def test_logs_redirect_to_storage_that_refuses_the_token(fake_github: FakeGitHub) -> None:
    fake = fake_github
    rid = fake.actions.add_run(
        jobs=[failing_job("job one log\n"), ("docs", "success", [], "job two log\n")]
    )
    job_id = call(fake, f"/actions/runs/{rid}/jobs").json()["jobs"][0]["id"]
    resp = call(fake, f"/actions/jobs/{job_id}/logs")
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert on_own_host(fake, location) and "/_blobs/" in location and "sig=" in location
    with_token = requests.get(
        location, headers={"Authorization": f"token {fake.token}"}, timeout=10
    )
    assert with_token.status_code == 403  # the storage wants the signature, not the token
    assert requests.get(location, timeout=10).text == "job one log\n"
    forged = location.replace("sig=", "sig=x")
    assert requests.get(forged, timeout=10).status_code == 403
    assert requests.get(f"{fake.web_url}/_blobs/nothing", timeout=10).status_code == 404
    # a client that follows the redirect with its token gets the storage's refusal
    naive = requests.get(
        f"{fake.repo_api}/actions/jobs/{job_id}/logs",
        headers={"Authorization": f"token {fake.token}"},
        timeout=10,
    )
    assert naive.status_code == 403

    for path in (f"/actions/runs/{rid}/logs", f"/actions/runs/{rid}/attempts/1/logs"):
        zipped = call(fake, path)
        assert zipped.status_code == 302
        blob = requests.get(zipped.headers["Location"], timeout=10)
        assert blob.headers["Content-Type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(blob.content)) as zf:
            assert zf.namelist() == ["0_test.txt", "1_docs.txt"]
            assert zf.read("1_docs.txt") == b"job two log\n"
    fake.actions.expire_logs(rid)
    assert call(fake, f"/actions/jobs/{job_id}/logs").status_code == 404
    assert call(fake, f"/actions/runs/{rid}/logs").status_code == 404


def test_actions_need_actions_read(fake_github: FakeGitHub) -> None:
    fake = fake_github
    fake.set_token("ghp_noactions", {"contents": "write", "issues": "write", "actions": "none"})
    resp = call(fake, "/actions/runs", token="ghp_noactions")
    assert resp.status_code == 403
    assert resp.headers["X-Accepted-GitHub-Permissions"] == "actions=read"


# ----------------------------------------------------------------------- the forge
def test_forge_reads_runs_jobs_and_logs(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake = fake_github
    reader: RunReader = forge
    fake.actions.add_workflow("Release", ".github/workflows/release.yml")
    rid = fake.actions.add_run(
        head_branch="v1.2.0", display_title="Release 1.2.0", jobs=[failing_job("the log\n")]
    )
    fake.actions.add_runs(["success"] * 150)
    assert [w.file for w in reader.workflows()] == ["release.yml"]
    fake.clear_log()
    listing = reader.workflow_runs("release.yml")
    newest = next(listing)
    assert newest.conclusion == "success"
    assert fake.count() == 1  # one page, no per-run "completion" requests
    assert sum(1 for _ in listing) == 150
    assert fake.count() == 2
    fake.clear_log()
    run = reader.workflow_run(rid)
    assert (run.head_branch, run.display_title, run.attempt, run.event) == (
        "v1.2.0",
        "Release 1.2.0",
        1,
        "push",
    )
    assert run.created_at.endswith("Z") and run.url.endswith(f"/actions/runs/{rid}")
    (job,) = reader.run_jobs(rid)
    assert [(s.name, s.conclusion) for s in job.steps][1] == ("Run pytest", "failure")
    assert job.url.endswith(f"/job/{job.id}")
    assert reader.job_log(job.id) == "the log\n"
    got = [(r.method, r.path, r.status) for r in fake.requests]
    assert got == [
        ("GET", f"/repos/acme/widget/actions/runs/{rid}", 200),
        ("GET", f"/repos/acme/widget/actions/runs/{rid}/jobs", 200),
        ("GET", f"/repos/acme/widget/actions/jobs/{job.id}/logs", 302),
        ("GET", f"/_blobs/job-logs/{job.id}", 200),  # no token sent: the fake answers 403 to one
    ]


def test_forge_log_edge_cases(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake = fake_github
    rid = fake.actions.add_run(jobs=[failing_job("x" * 5000 + "THE END\n")])
    (job,) = forge.run_jobs(rid)
    assert forge.job_log(job.id, max_bytes=100) == ("x" * 92) + "THE END\n"  # the tail
    fake.fail("GET", r"^/_blobs/", status=403, body=b"AuthenticationFailed")  # signature expired
    with pytest.raises(ServiceError) as err:
        forge.job_log(job.id)
    assert str(err.value) == f"cannot download the log of job {job.id}: HTTP 403"
    assert "sig" not in str(err.value)
    fake.fail("GET", r"/logs$", status=302, body=None)  # a redirect without a Location
    with pytest.raises(ServiceError, match="no download location"):
        forge.job_log(job.id)
    fake.fail("GET", r"/logs$", status=410)
    assert forge.job_log(job.id) is None
    fake.actions.expire_logs(rid)
    assert forge.job_log(job.id) is None
    fake.fail("GET", r"/logs$", status=500, times=None)  # a lone 500 is retried
    with pytest.raises(ServiceError, match="500"):
        forge.job_log(job.id)


def test_forge_run_errors(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake = fake_github
    with pytest.raises(NotFound):
        forge.workflow_run(123)
    with pytest.raises(NotFound):
        next(forge.workflow_runs("nope.yml"))
    fake.set_token("ghp_noactions", {"contents": "write", "issues": "write", "actions": "none"})
    no_actions = GitHubForge(fake.full_name, "ghp_noactions", base_url=fake.api_url)
    with pytest.raises(AuthError) as err:
        no_actions.run_jobs(1)
    assert "actions: read" in str(err.value)
    port = fake.port
    fake.close()
    dead = GitHubForge("acme/widget", fake.token, base_url=f"http://127.0.0.1:{port}/api/v3")
    with pytest.raises(ServiceError, match="cannot reach GitHub"):
        dead.job_log(1)
    dead._blob_session = None
    with pytest.raises(ServiceError, match="ConnectionError"):
        dead._download_log(1, f"http://127.0.0.1:{port}/_blobs/x", 10)


# ----------------------------------------------------------------------- the scan
def seed(fake: FakeGitHub, conclusions: list[str | None]) -> list[int]:
    """Runs oldest first, one per conclusion."""
    fake.actions.add_workflow("Release", ".github/workflows/release.yml")
    ids = fake.actions.add_runs(conclusions, start=dt.datetime(2024, 5, 1, tzinfo=UTC))
    fake.clear_log()
    return ids


def test_scan_stops_at_the_last_success(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake = fake_github
    ids = seed(fake, ["failure", "success", "failure", "cancelled", None, "timed_out"])
    found = runs.scan(forge, "release.yml")
    assert [r.id for r in found.failed] == [ids[5], ids[2]]
    assert (found.scanned, found.stopped) == (5, "success")
    assert found.last_success is not None and found.last_success.id == ids[1]
    assert fake.count() == 1


@pytest.mark.parametrize(
    ("strategy", "requests_made", "read"),
    [("all", 3, 251), ("failures", 3, 125), ("auto", 3, 100 + 76)],
)
def test_scan_pages_until_the_success(
    fake_github: FakeGitHub, forge: GitHubForge, strategy: str, requests_made: int, read: int
) -> None:
    fake = fake_github
    ids = seed(fake, ["success", *["failure", "skipped"] * 125])
    found = runs.scan(forge, "release.yml", strategy=strategy)
    assert [r.id for r in found.failed] == ids[1::2][::-1]  # each once, newest first
    assert found.stopped == "success" and found.last_success is not None
    assert found.last_success.id == ids[0]
    assert found.scanned == read
    # all: ceil(251/100); failures: 1 + ceil(125/100); auto: 1 page + 1 + ceil(76/100)
    assert fake.count() == requests_made
    fake.clear_log()
    limited = runs.scan(forge, "release.yml", limit=5, strategy=strategy)
    assert [r.id for r in limited.failed] == ids[1::2][::-1][:5]
    assert limited.stopped == "limit"
    assert fake.count() == (2 if strategy == "failures" else 1)


def test_scan_auto_after_a_full_page_and_githubs_cap(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    fake = fake_github
    ids = seed(fake, ["failure"] * 1200)  # no success at all
    found = runs.scan(forge, "release.yml")
    assert found.strategy == "auto"
    # page 1, then 1000 filtered of which the first is the last of page 1 again
    assert [r.id for r in found.failed] == ids[::-1][:1099]
    assert found.stopped == "cap"
    assert fake.count() == 1 + 1 + 10
    listed = [r.query.get("created") for r in fake.requests]
    assert listed[2].startswith("<=")  # below the oldest run of the first page


@pytest.mark.parametrize("strategy", ["all", "failures", "auto"])
def test_scan_since_a_date(fake_github: FakeGitHub, forge: GitHubForge, strategy: str) -> None:
    fake = fake_github
    ids = seed(fake, ["failure", "failure", "success", "failure"])  # every 10 min from 00:00
    since = dt.datetime(2024, 5, 1, 0, 15, tzinfo=UTC)
    found = runs.scan(forge, "release.yml", since=since, strategy=strategy)
    assert [r.id for r in found.failed] == [ids[3], ids[1]]  # a success does not stop it
    assert found.stopped == "since"
    nothing = runs.scan(forge, "release.yml", since=dt.datetime(2030, 1, 1, tzinfo=UTC))
    assert nothing.failed == [] and nothing.scanned == 1


def test_scan_without_any_success(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    ids = seed(fake_github, ["failure", "failure"])
    for strategy in ("all", "failures", "auto"):
        found = runs.scan(forge, "release.yml", strategy=strategy)
        assert [r.id for r in found.failed] == ids[::-1]
        assert (found.stopped, found.last_success) == ("end", None)
    with pytest.raises(BadInput, match="unknown scan strategy"):
        runs.scan(forge, "release.yml", strategy="fast")


def test_resolve_workflow(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake = fake_github
    wid = fake.actions.add_workflow("Release to PyPI", ".github/workflows/release.yml")
    fake.actions.add_workflow("CI", ".github/workflows/ci.yml")
    assert runs.resolve_workflow(forge, str(wid)) == (wid, f"workflow {wid}")
    assert runs.resolve_workflow(forge, ".github/workflows/release.yml") == (
        "release.yml",
        "release.yml",
    )
    fake.clear_log()
    assert runs.resolve_workflow(forge, "release to pypi") == (wid, "Release to PyPI (release.yml)")
    assert runs.resolve_workflow(forge, None) == (wid, "Release to PyPI (release.yml)")
    assert fake.count() == 2
    with pytest.raises(BadInput, match=r"no workflow named 'Deploy' \(workflows: CI \(ci.yml\)"):
        runs.resolve_workflow(forge, "Deploy")
    with pytest.raises(BadInput, match="no workflow named '²'"):  # '²'.isdigit(), int('²') fails
        runs.resolve_workflow(forge, "²")
    fake.actions.add_workflow("Publish docs", ".github/workflows/docs.yml")
    with pytest.raises(BadInput, match=r"pass --workflow \(one of: docs.yml, release.yml\)"):
        runs.resolve_workflow(forge, None)


# ----------------------------------------------------------------------- many runs at once
def test_parallel_diagnoses_use_a_client_per_thread(
    fake_github: FakeGitHub, forge: GitHubForge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyGithub keeps a request's verb and URL on its one connection object between sending
    it and reading the answer: two threads on one client swap requests. Here two worker
    threads are held between those two halves of their first request until both are there;
    each diagnosis must still be about its own run."""
    fake = fake_github
    fake.actions.add_workflow("Release", ".github/workflows/release.yml")
    fake.actions.add_run("release.yml", conclusion="success", head_branch="v1.1.0")
    expected = {}
    for i in range(6):
        name = f"publish-{i}"
        log = f"##[group]Run step {i}\n##[endgroup]\nlog of {name}\n##[error]exit 1\n"
        rid = fake.actions.add_run(
            "release.yml",
            head_branch="v1.2.0",
            jobs=[(name, "failure", [("Run x", "failure")], log)],
        )
        expected[rid] = name

    entered = hold_two_requests_midway(monkeypatch)
    clients: list[GitHubForge] = []

    def client() -> GitHubForge:
        made = GitHubForge(fake.full_name, fake.token, base_url=fake.api_url)
        clients.append(made)
        return made

    det = Detector(forge, package="demo-pkg", reader_factory=client)  # type: ignore[arg-type]
    report = det.detect(fake.full_name, "release.yml")
    assert len(set(entered)) == 2  # two threads met between sending and reading
    assert {d.run.id: d.job for d in report.diagnoses} == expected
    assert all(f"log of {d.job}" in d.excerpt for d in report.diagnoses)
    assert 2 <= len(clients) <= 4  # one per worker thread, not one per run

    # without a factory the runs are diagnosed one after the other, on the one client
    clients.clear()
    again = Detector(forge, package="demo-pkg").detect(fake.full_name, "release.yml")  # type: ignore[arg-type]
    assert {d.run.id: d.job for d in again.diagnoses} == expected and clients == []


# ----------------------------------------------------------------------- the detector's edges
class StubIndex:
    """An Index stand-in for the detector's error paths (the real ones are in test_detect_cli)."""

    url = "https://pypi.org/"

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.calls = 0

    def releases(self, package: str) -> list[Release]:
        self.calls += 1
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer  # type: ignore[return-value]


def detector(forge: GitHubForge, index: object = None, **kw: Any) -> Detector:
    return Detector(forge, index=index, package="demo-pkg", **kw)  # type: ignore[arg-type]


def test_runs_without_a_failed_job_or_log(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake = fake_github
    startup = fake.actions.add_run(conclusion="startup_failure", head_branch="v1.2.0")
    cancelled = fake.actions.add_run(
        head_branch="v1.2.0", jobs=[("test", "cancelled", [("Run pytest", "cancelled")], "")]
    )
    expired = fake.actions.add_run(
        head_branch="v1.2.0", jobs=[("lint", "failure", [("Run mypy", "failure")], "x\n")]
    )
    fake.actions.expire_logs(expired)
    d = detector(forge)
    first = d.diagnose(forge.workflow_run(startup))
    assert first.note == "no job ran: the workflow could not start (check the workflow file)"
    assert (first.failure_class, first.job, first.excerpt) == ("unknown", None, "")
    assert first.reached == Reached("unknown", detail="no index to read")
    second = d.diagnose(forge.workflow_run(cancelled))
    # a job over its timeout-minutes is cancelled, not failed: it is the root cause
    assert second.note == "no job failed; test was cancelled (its timeout, or a person)"
    assert (second.job, second.step) == ("test", "Run pytest")
    quiet = fake.actions.add_run(
        head_branch="v1.2.0", jobs=[("test", "success", [("Run pytest", "success")], "ok\n")]
    )
    assert d.diagnose(forge.workflow_run(quiet)).note == "no job failed in the latest attempt"
    third = d.diagnose(forge.workflow_run(expired))
    assert third.note == "the job's log is no longer kept by GitHub"
    assert (third.failure_class, third.step) == ("type-check", "Run mypy")  # from the names


@pytest.mark.parametrize(
    ("answer", "state", "detail"),
    [
        (NotFound("gone"), "nothing", "no file of 1.2.0 is on the index"),
        (ServiceError("HTTP 502"), "unknown", "the index could not be read: HTTP 502"),
        (
            requests.ConnectionError("refused"),
            "unknown",
            "the index could not be read: ConnectionError",
        ),
    ],
)
def test_index_errors_become_an_unknown_reach(
    fake_github: FakeGitHub, forge: GitHubForge, answer: object, state: str, detail: str
) -> None:
    rid = fake_github.actions.add_run(head_branch="v1.2.0", jobs=[failing_job()])
    index = StubIndex(answer)
    d = detector(forge, index)
    run = forge.workflow_run(rid)
    got = d.diagnose(run)
    assert (got.reached.state, got.reached.detail) == (state, detail)
    d.diagnose(run)
    assert index.calls == 1  # read once per package


def test_impact_uses_the_upload_day_and_the_given_version(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    rid = fake_github.actions.add_run(head_branch="main", display_title="x", jobs=[failing_job()])
    rel = Release(
        "1.2.0",
        (
            DistFile("demo_pkg-1.2.0.tar.gz", "u", upload_time="2024-05-02T08:00:00Z"),
            DistFile("demo_pkg-1.2.0-py3-none-any.whl", "u", upload_time="2024-05-01T23:59:00Z"),
        ),
    )
    with FakePypiStats() as stats:
        stats.add("demo-pkg", {"2024-04-30": 7, "2024-05-01": 10, "2024-05-02": 20})
        d = detector(forge, StubIndex([rel]), index_name="pypi", stats=PypiStats(stats.url))
        got = d.diagnose(forge.workflow_run(rid), expect_version="1.2")
    assert (got.version, got.version_source) == ("1.2", "given")
    assert got.reached.state == "complete"
    assert got.impact is not None and got.impact.downloads == 30  # from 2024-05-01 on


def test_no_version_known_means_an_unknown_reach(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    rid = fake_github.actions.add_run(
        head_branch="main", display_title="nightly", jobs=[failing_job()]
    )
    got = detector(forge, StubIndex([])).diagnose(forge.workflow_run(rid))
    assert (got.version, got.version_source, got.impact) == (None, None, None)
    assert got.reached == Reached("unknown", detail="the version the run was shipping is not known")
