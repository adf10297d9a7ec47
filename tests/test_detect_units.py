"""The parts of detect that need no server: the version a run was shipping, what reached the
index, the root-cause job, the event payload, the report and the issue's root-cause section;
and impact against a fake pypistats (real HTTP on loopback)."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from packaging.version import Version
from pytest_mock import MockerFixture

from tests.fakes.pypistats import FakePypiStats
from unrelease.detect import Report, default_reason, reached, runs, version
from unrelease.detect.impact import PypiStats, index_family
from unrelease.detect.logs import artifact
from unrelease.detect.report import render
from unrelease.engine import Engine, Options
from unrelease.errors import UnreleaseError
from unrelease.model import (
    Diagnosis,
    DistFile,
    Impact,
    JobInfo,
    Reached,
    Record,
    Release,
    RunInfo,
    StepInfo,
)
from unrelease.rollback_steps import verify_task
from unrelease.texts import Texts, find_record


def run_info(**kw: object) -> RunInfo:
    data: dict[str, object] = {
        "id": 42,
        "url": "http://gh.example/acme/widget/actions/runs/42",
        "attempt": 1,
        "event": "push",
        "status": "completed",
        "conclusion": "failure",
        "head_branch": "v1.2.0",
        "head_sha": "a" * 40,
        "display_title": "Release 1.2.0",
        "created_at": "2024-05-01T10:00:00Z",
        "started_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:05:00Z",
        "workflow": "Release",
        **kw,
    }
    return RunInfo(**data)  # type: ignore[arg-type]


def dist(name: str, when: str | None = None, yanked: bool = False) -> DistFile:
    return DistFile(filename=name, url=f"http://i.example/{name}", upload_time=when, yanked=yanked)


RELEASES = [
    Release("1.1.0", (dist("demo_pkg-1.1.0.tar.gz", "2024-04-01T09:00:00Z"),)),
    Release(
        "1.2.0",
        (
            dist("demo_pkg-1.2.0-py3-none-any.whl", "2024-05-01T10:04:00Z"),
            dist("demo_pkg-1.2.0.tar.gz", "2024-05-01T10:04:01Z"),
        ),
    ),
]


# ----------------------------------------------------------------------------------- version
@pytest.mark.parametrize(
    ("ref", "event", "fmt", "expected"),
    [
        ("v1.2.0", "push", "v{version}", ("tag", "1.2.0")),
        ("v1.2.0", "release", "v{version}", ("release", "1.2.0")),
        ("release-2.0rc1", "push", "release-{version}", ("tag", "2.0rc1")),
        ("1.2.0", "push", "{version}", ("tag", "1.2.0")),
        ("main", "push", "v{version}", None),
        ("v1.2.0; rm -rf /", "push", "v{version}", None),
        ("vnot.a.version", "push", "v{version}", None),
        ("v2", "push", "v{version}", None),
        (None, "push", "v{version}", None),
    ],
)
def test_version_from_the_tag_ref(
    ref: str | None, event: str, fmt: str, expected: tuple[str, str] | None
) -> None:
    assert version.from_ref(run_info(head_branch=ref, event=event), fmt) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Release 1.2.0", "1.2.0"),
        ("Release v1.2.0 (hotfix)", "1.2.0"),
        ("bump to 1.2.0 and 1.3.0", None),  # two candidates: no guess
        ("Release 2", None),
        ("Release 1.2.0'; DROP TABLE", "1.2.0"),
        ("<img src=x> 9.9.9.9.9", "9.9.9.9.9"),
        ("no version here", None),
    ],
)
def test_version_from_the_title(title: str, expected: str | None) -> None:
    assert version.from_title(title) == expected


def test_version_from_index_uploads_inside_the_run_window() -> None:
    assert version.from_index(run_info(), RELEASES) == "1.2.0"
    late = run_info(started_at="2024-06-01T00:00:00Z", updated_at="2024-06-01T00:05:00Z")
    assert version.from_index(late, RELEASES) is None
    both = [*RELEASES, Release("1.2.1", (dist("demo_pkg-1.2.1.tar.gz", "2024-05-01T10:03:00Z"),))]
    assert version.from_index(run_info(), both) is None  # two versions: no guess
    no_times = [Release("1.2.0", (dist("demo_pkg-1.2.0.tar.gz"),))]
    assert version.from_index(run_info(), no_times) is None
    assert version.from_index(run_info(started_at=None, created_at="garbage"), RELEASES) is None


def test_evidence_and_the_order_of_trust() -> None:
    found = [artifact("demo_pkg-1.2.0.tar.gz")]
    assert all(found)
    ev = version.evidence(
        run_info(display_title="Release 9.9.9"), "v{version}", found, "demo-pkg", RELEASES
    )  # type: ignore[arg-type]
    assert ev == {"tag": "1.2.0", "log": "1.2.0", "index": "1.2.0", "display_title": "9.9.9"}
    assert version.choose(ev) == ("1.2.0", "tag")
    assert version.choose({"display_title": "9.9.9"}) == ("9.9.9", "display_title")
    assert version.choose({"index": "1.0", "log": "1.1"}) == ("1.1", "log")
    assert version.choose({}) == (None, None)
    other = [artifact("other_pkg-3.0.tar.gz")]
    assert version.from_artifacts(other, "demo-pkg") is None  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------- reached
def test_reached_by_the_files_the_log_names() -> None:
    wheel, sdist = artifact("demo_pkg-1.2.0-py3-none-any.whl"), artifact("demo_pkg-1.2.0.tar.gz")
    assert wheel and sdist
    only_wheel = [Release("1.2.0", (dist("demo_pkg-1.2.0-py3-none-any.whl"),))]
    r = reached.reached("1.2.0", only_wheel, [wheel, sdist])
    assert (r.state, r.files, r.missing) == (
        "partial",
        ("demo_pkg-1.2.0-py3-none-any.whl",),
        ("demo_pkg-1.2.0.tar.gz",),
    )
    assert r.rule == reached.RULE_EXPECTED
    assert reached.reached("1.2.0", RELEASES, [wheel, sdist]).state == "complete"
    nothing = reached.reached("1.3.0", RELEASES, [wheel, sdist])
    assert (nothing.state, nothing.detail) == ("nothing", "no file of 1.3.0 is on the index")
    named = [artifact("demo_pkg-1.3.0.tar.gz"), artifact("demo_pkg-1.3.0-py3-none-any.whl")]
    gone = reached.reached("1.3.0", RELEASES, named)  # type: ignore[arg-type]
    assert gone.detail == "no file of 1.3.0 is on the index (the run named 2)"
    assert gone.rule == reached.RULE_EXPECTED
    assert reached.reached("1.2", RELEASES, [wheel]).state == "complete"  # 1.2 == 1.2.0


def test_reached_by_file_kinds_when_the_log_names_none() -> None:
    assert reached.reached("1.2.0", RELEASES).state == "complete"
    r = reached.reached("1.1.0", RELEASES)
    assert (r.state, r.missing, r.rule) == ("partial", ("wheel",), reached.RULE_KINDS)
    yanked = [Release("1.2.0", (dist("demo_pkg-1.2.0-py3-none-any.whl", yanked=True),))]
    r = reached.reached("1.2.0", yanked)
    assert r.state == "partial"
    assert r.missing == ("sdist",)
    assert "(yanked)" in r.detail
    assert reached.reached("1.9", []).state == "nothing"
    assert reached.unknown("why").state == "unknown"


# ---------------------------------------------------------------------------------- runs
def job(jid: int, name: str, conclusion: str | None, done: str | None, *steps: StepInfo) -> JobInfo:
    return JobInfo(jid, name, "completed", conclusion, f"http://j/{jid}", None, done, steps)


def test_root_cause_is_the_first_failed_job_and_its_failed_step() -> None:
    s_ok = StepInfo(1, "Set up job", "completed", "success")
    s_bad = StepInfo(2, "Run pytest", "completed", "failure")
    s_cancel = StepInfo(2, "Run long thing", "completed", "cancelled")
    jobs = [
        job(1, "build", "success", "2024-05-01T10:01:00Z", s_ok),
        job(3, "test (3.11)", "failure", "2024-05-01T10:03:00Z", s_ok, s_bad),
        job(2, "test (3.12)", "failure", "2024-05-01T10:02:00Z", s_ok, s_bad),
        job(4, "slow", "timed_out", None, s_ok, s_cancel),
    ]
    first, step, others = runs.root_cause(jobs)
    assert first is not None
    assert first.name == "test (3.12)"
    assert step == s_bad
    assert [j.name for j in others] == ["test (3.11)", "slow"]
    _, step, _ = runs.root_cause([jobs[3]])
    assert step == s_cancel
    assert runs.root_cause([jobs[0]]) == (None, None, [])
    _, step, _ = runs.root_cause([job(5, "x", "failure", None, s_ok)])
    assert step is None


def payload_file(tmp_path: Path, run: dict[str, object]) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"action": "completed", "workflow_run": run}))
    return {"GITHUB_EVENT_NAME": "workflow_run", "GITHUB_EVENT_PATH": str(path)}


def test_run_details_from_the_workflow_run_payload(tmp_path: Path) -> None:
    payload = {
        "id": 42,
        "name": "Release",
        "html_url": "http://gh.example/r/42",
        "run_attempt": 2,
        "event": "push",
        "status": "completed",
        "conclusion": "failure",
        "head_branch": "v1.2.0",
        "head_sha": "b" * 40,
        "display_title": "Release 1.2.0",
        "created_at": "2024-05-01T10:00:00Z",
        "run_started_at": "2024-05-01T10:20:00Z",
        "updated_at": "2024-05-01T10:25:00Z",
        "run_number": 7,
    }
    env = payload_file(tmp_path, payload)
    got = runs.run_from_event(42, env)
    assert got is not None
    assert (got.attempt, got.head_branch, got.started_at, got.workflow) == (
        2,
        "v1.2.0",
        "2024-05-01T10:20:00Z",
        "Release",
    )
    assert runs.run_from_event(43, env) is None  # another run
    assert runs.run_from_event(42, {**env, "GITHUB_EVENT_NAME": "push"}) is None
    assert runs.run_from_event(42, {"GITHUB_EVENT_NAME": "workflow_run"}) is None
    broken = payload_file(tmp_path, {"id": 42})  # missing fields
    assert runs.run_from_event(42, broken) is None
    (tmp_path / "event.json").write_text("{not json")
    assert runs.run_from_event(42, env) is None
    assert runs.run_from_event(42, {**env, "GITHUB_EVENT_PATH": str(tmp_path / "nope")}) is None


# ---------------------------------------------------------------------------------- impact
@pytest.fixture
def stats_server() -> FakePypiStats:
    with FakePypiStats() as fake:
        fake.add(
            "demo-pkg", {"2024-04-28": 5, "2024-04-30": 10, "2024-05-01": 100, "2024-05-02": 40}
        )
        yield fake


@pytest.mark.parametrize(
    ("index", "family"),
    [
        ("pypi", "pypi"),
        ("PyPI", "pypi"),
        ("https://pypi.org/simple/", "pypi"),
        ("testpypi", "testpypi"),
        ("https://test.pypi.org/", "testpypi"),
        ("http://127.0.0.1:8080/", "other"),
    ],
)
def test_index_family(index: str, family: str) -> None:
    assert index_family(index) == family


def test_impact_counts_downloads_since_the_upload(stats_server: FakePypiStats) -> None:
    stats = PypiStats(stats_server.url)
    got = stats.impact("Demo_Pkg", "1.2.0", "pypi", date(2024, 5, 1))
    assert got == Impact(
        known=True,
        downloads=140,
        source="pypistats",
        detail="140 downloads of demo-pkg (all versions) from 2024-05-01 to 2024-05-02, per "
        "pypistats; 1.2.0's share is at most that: pypistats has no per-version figures",
    )
    recent = stats.impact("demo-pkg", "1.2.0", "https://pypi.org/", None)
    assert recent.downloads == 155  # the 7 days to 2024-05-02
    assert "in the 7 days to 2024-05-02" in recent.detail
    assert stats_server.requests == ["/api/packages/demo-pkg/overall?mirrors=false"]  # cached
    later = stats.impact("demo-pkg", "1.3.0", "pypi", date(2024, 5, 9))
    assert not later.known
    assert "no figures since the upload on 2024-05-09 yet" in later.detail


def test_impact_only_for_pypi(stats_server: FakePypiStats) -> None:
    stats = PypiStats(stats_server.url)
    assert stats.impact("demo-pkg", "1.2.0", "http://127.0.0.1:1/").detail == "unknown (not PyPI)"
    assert "not TestPyPI" in stats.impact("demo-pkg", "1.2.0", "testpypi").detail
    assert stats_server.requests == []


@pytest.mark.parametrize(
    ("setup", "detail"),
    [
        ("unknown-project", "unknown (pypistats has no figures for other-pkg)"),
        ("500", "unknown (pypistats answered HTTP 500)"),
        ("not-json", "unknown (pypistats answered something unreadable)"),
        ("bad-count", "unknown (pypistats answered something unreadable)"),
        ("empty", "unknown (pypistats has no figures for demo-pkg)"),
        ("no-list", "unknown (pypistats answered something unreadable)"),
        ("mirrors-only", "unknown (pypistats has no figures for demo-pkg)"),
    ],
)
def test_impact_unknown_never_invented(
    setup: str, detail: str, stats_server: FakePypiStats
) -> None:
    name = "demo-pkg"
    if setup == "unknown-project":
        name = "other-pkg"
    elif setup == "500":
        stats_server.status = 500
    elif setup == "not-json":
        stats_server.body = b"<html>oops</html>"
    elif setup == "bad-count":
        stats_server.body = json.dumps(
            {"data": [{"category": "without_mirrors", "date": "2024-05-01", "downloads": "many"}]}
        ).encode()
    elif setup == "empty":
        stats_server.body = b'{"data": []}'
    elif setup == "no-list":
        stats_server.body = b'{"data": {"last_day": 3}}'
    elif setup == "mirrors-only":
        stats_server.body = json.dumps(
            {"data": [{"category": "with_mirrors", "date": "2024-05-01", "downloads": 9}]}
        ).encode()
    got = PypiStats(stats_server.url).impact(name, "1.2.0", "pypi", date(2024, 5, 1))
    assert got == Impact(known=False, detail=detail)


def test_impact_unreachable_and_timeout(stats_server: FakePypiStats) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/api"
    got = PypiStats(closed).impact("demo-pkg", "1.2.0", "pypi")
    assert got.detail == "unknown (pypistats unreachable: ConnectionError)"
    stats_server.hold = True  # accepts, never answers: the client's timeout ends it
    got = PypiStats(stats_server.url, timeout=0.2).impact("demo-pkg", "1.2.0", "pypi")
    assert got.detail == "unknown (pypistats did not answer within 0.2 s)"


class _Trickle(BaseHTTPRequestHandler):
    """Answers at once, then one byte of the body at a time: every read is quick (so no
    per-read timeout fires), the whole answer takes about a minute."""

    protocol_version = "HTTP/1.1"
    stop = threading.Event()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps(
            {"data": [{"category": "without_mirrors", "date": "2024-05-01", "downloads": 9}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for i in range(len(body)):
            if self.stop.wait(0.6):
                return
            try:
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
            except OSError:
                return


def test_impact_bounds_the_whole_request_not_each_read() -> None:
    _Trickle.stop.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/api"
        started = time.monotonic()
        got = PypiStats(url, timeout=1.0).impact("demo-pkg", "1.2.0", "pypi")
        took = time.monotonic() - started
    finally:
        _Trickle.stop.set()
        server.shutdown()
        server.server_close()
    assert got.detail == "unknown (pypistats did not answer within 1 s)"
    assert took < 5  # the answer takes a minute; 1 s and a little


def test_impact_of_an_upload_older_than_pypistats_figures(stats_server: FakePypiStats) -> None:
    got = PypiStats(stats_server.url).impact("demo-pkg", "1.0.0", "pypi", date(2023, 1, 1))
    assert got.known and got.downloads == 155  # everything pypistats has
    assert got.detail.startswith(
        "155 downloads of demo-pkg (all versions) from 2024-04-28 to 2024-05-02, per pypistats "
        "(its figures start on 2024-04-28; the upload was on 2023-01-01);"
    )


def test_impact_base_url_from_the_environment(
    stats_server: FakePypiStats, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNRELEASE_PYPISTATS_URL", stats_server.url + "/")
    assert PypiStats().impact("demo-pkg", "1.2.0", "pypi", date(2024, 5, 2)).downloads == 40
    monkeypatch.delenv("UNRELEASE_PYPISTATS_URL")
    assert PypiStats().base_url == "https://pypistats.org/api"


# ---------------------------------------------------------------------------------- texts
def diagnosis(**kw: object) -> Diagnosis:
    data: dict[str, object] = {
        "run": run_info(),
        "version": "1.2.0",
        "version_source": "tag",
        "evidence": {"tag": "1.2.0", "log": "1.2.0"},
        "reached": Reached(
            "partial",
            ("demo_pkg-1.2.0-py3-none-any.whl",),
            ("demo_pkg-1.2.0.tar.gz",),
            reached.RULE_EXPECTED,
            "1 of the 2 files the run named",
        ),
        "failure_class": "publish",
        "job": "publish `x`",
        "job_url": "http://gh.example/job/9",
        "step": "Upload to PyPI",
        "excerpt": "ERROR    HTTPError: 503 from https://upload.pypi.org/legacy/\n```\n"
        "<!-- unrelease-record:begin -->",
        "other_failed_jobs": ("notify",),
        "package": "demo-pkg",
        "impact": Impact(known=False, detail="unknown (not PyPI)"),
        **kw,
    }
    return Diagnosis(**data)  # type: ignore[arg-type]


def test_diagnosis_json_round_trip() -> None:
    d = diagnosis()
    assert Diagnosis.from_json(json.loads(json.dumps(d.to_json()))) == d
    assert d.trusted_version == "1.2.0"
    assert diagnosis(version_source="display_title").trusted_version is None
    bare = Diagnosis.from_json({"run": run_info().to_json()})
    assert (bare.reached.state, bare.failure_class, bare.impact) == ("unknown", "unknown", None)


def texts_with(run: Diagnosis | None, **kw: object) -> Texts:
    record = Record(
        id="rb-1",
        package="demo-pkg",
        version="1.2.0",
        to="1.1.0",
        mode="delete",
        reason="r",
        index="http://i.example/",
        severity="critical",
        who="me",
        when="2024-05-01T10:00:00+00:00",
        root_cause=run.to_json() if run else None,
    )
    data: dict[str, object] = {
        "package": "demo-pkg",
        "version": "1.2.0",
        "target": "1.1.0",
        "reason": "r",
        "mode": "delete",
        "index": "http://i.example/",
        "severity": "critical",
        "date": "2024-05-01",
        "withdrawn": ["1.2.0"],
        "record": record,
        "run": run,
        "run_url": run.run.url if run else None,
        **kw,
    }
    return Texts(**data)  # type: ignore[arg-type]


def test_issue_root_cause_section() -> None:
    body = texts_with(
        diagnosis(), impact=Impact(known=True, detail="140 downloads", downloads=140)
    ).issue_body()
    for needle in (
        "### Root cause",
        "The release run [42](http://gh.example/acme/widget/actions/runs/42) (attempt 1, "
        "event `push`, commit `" + "a" * 40 + "`) failed.",
        "- Failure class: **publish/upload**",
        "- Failed job: `publish 'x'`, step `Upload to PyPI` ([log](http://gh.example/job/9))",
        "- Other failed jobs: `notify`",
        "- Version it was shipping: `1.2.0` (from its tag)",
        "- What reached the index: partial; on the index: `demo_pkg-1.2.0-py3-none-any.whl`; "
        "missing: `demo_pkg-1.2.0.tar.gz`",
        "````text\nERROR    HTTPError: 503",  # a fence longer than the excerpt's backticks
        "<!-- (quoted) unrelease-record:begin -->",
        "Prevention (publish/upload): publish to TestPyPI first",
        "### Impact\n- Downloads of `1.2.0`: 140 downloads",
        "- Withdrawn from `http://i.example/`: `1.2.0` (removed)",
    ):
        assert needle in body, needle
    record = find_record(body)
    assert record is not None and record.id == "rb-1"  # the quoted marker is not a record
    assert record.root_cause is not None


def test_issue_when_the_release_never_went_out() -> None:
    d = diagnosis(
        reached=Reached("nothing", detail="no file of 1.2.0 is on the index"),
        failure_class="tests",
        excerpt="",
        other_failed_jobs=(),
        version_source="display_title",
        job=None,
        step=None,
        note="the job's log is no longer kept by GitHub",
    )
    body = texts_with(d, withdrawn=[], never_published=True).issue_body()
    assert "- `1.2.0` never went out: no file of it reached `http://i.example/`" in body
    assert "Withdrawn from" not in body
    assert "- What reached the index: nothing: the release never went out" in body
    assert "(from the run's title, unverified)" in body
    assert "- Note: the job's log is no longer kept by GitHub" in body
    assert "Failed job" not in body and "```" not in body.split("### Root cause")[1].split("###")[0]
    assert "- Downloads of `1.2.0`: unknown (not measured)" in body


def test_issue_without_a_run_has_no_root_cause() -> None:
    body = texts_with(None).issue_body()
    assert "### Root cause" not in body
    assert "### Impact" in body
    unknown_state = diagnosis(
        reached=Reached("unknown", detail="no package name (pass --package)"), version=None
    )
    body = texts_with(unknown_state).issue_body()
    assert "- Version it was shipping: unknown" in body
    assert "- What reached the index: unknown (no package name (pass --package))" in body


def test_default_reason() -> None:
    assert default_reason(diagnosis()) == (
        "release run 42 failed: publish/upload in publish `x` / Upload to PyPI"
    )
    assert default_reason(diagnosis(job=None, failure_class="unknown")) == (
        "release run 42 failed: unknown"
    )


# ---------------------------------------------------------------------------------- report
def test_report_renders_a_table_and_details() -> None:
    scan = runs.Scan(failed=[run_info()], scanned=3, stopped="limit", strategy="all")
    scan.last_success = run_info(id=40, conclusion="success")
    d = diagnosis(run=run_info(display_title="\x1b[31mred"), other_failed_jobs=("a", "b"))
    text = render(
        Report(repo="acme/widget", workflow="Release (release.yml)", scan=scan, diagnoses=[d])
    )
    lines = text.splitlines()
    assert lines[0] == (
        "1 failed run(s) of Release (release.yml) in acme/widget since the last success "
        "(run 40, 2024-05-01T10:00:00Z); 3 run(s) read; stopped at --limit, older failures may "
        "exist"
    )
    assert lines[2].split() == [
        "RUN",
        "ATT",
        "EVENT",
        "SHA",
        "VERSION",
        "REACHED",
        "CLASS",
        "FAILED",
        "AT",
    ]
    assert lines[3].split()[:7] == ["42", "1", "push", "aaaaaaa", "1.2.0", "(tag)", "partial"]
    assert "publish/upload" in lines[3] and lines[3].endswith("publish `x` / Upload to PyPI")
    assert "  version: 1.2.0 (tag); evidence: tag: 1.2.0, log: 1.2.0" in lines
    assert (
        "  reached the index: partial: demo_pkg-1.2.0-py3-none-any.whl on the index; "
        "missing demo_pkg-1.2.0.tar.gz"
    ) in lines
    assert "  also failed: a, b" in lines
    assert "  downloads: unknown (not PyPI)" in lines
    assert "    | ERROR    HTTPError: 503 from https://upload.pypi.org/legacy/" in lines
    assert "\x1b" not in text


def test_report_without_failures_and_other_states() -> None:
    empty = Report(repo="a/b", workflow="release.yml", scan=runs.Scan(scanned=0))
    assert (
        render(empty)
        == "0 failed run(s) of release.yml in a/b (no successful run found); 0 run(s) read"
    )
    from datetime import UTC, datetime

    since = Report(
        repo="a/b",
        workflow="release.yml",
        scan=runs.Scan(scanned=5, stopped="since"),
        since=datetime(2024, 5, 1, tzinfo=UTC),
    )
    assert render(since).startswith("0 failed run(s) of release.yml in a/b since 2024-05-01;")
    capped = Report(repo="a/b", workflow="w", scan=runs.Scan(scanned=1100, stopped="cap"))
    assert render(capped).endswith(
        "; GitHub lists at most 1000 runs of a filtered query, older failures may exist"
    )
    assert since.to_json()["since"] == "2024-05-01T00:00:00Z"
    states = [
        diagnosis(reached=Reached("complete", ("a.whl", "a.tar.gz"))),
        diagnosis(reached=Reached("nothing", detail="no file of 1.2.0 is on the index")),
        diagnosis(reached=Reached("unknown", detail="why"), version=None, job=None, note="n"),
    ]
    text = render(Report("a/b", "w", runs.Scan(failed=[], scanned=3), diagnoses=states))
    assert "  reached the index: complete: a.whl, a.tar.gz" in text
    assert "  reached the index: nothing: no file of 1.2.0 is on the index" in text
    assert "  reached the index: unknown: why" in text
    assert "  failed: publish/upload\n" in text
    assert "  note: n" in text


# ---------------------------------------------------------------------------------- engine
def test_engine_keeps_the_root_cause_in_the_record(mocker: MockerFixture) -> None:
    engine = Engine(Options("demo-pkg", "1.2.0", "r"), mocker.Mock(), mocker.Mock())
    record = texts_with(diagnosis()).record
    assert record is not None
    assert engine._diagnosis(record) == diagnosis()  # a rerun without --run
    record.root_cause = {"run": {"id": 1}}  # edited by hand: no root cause, no crash
    assert engine._diagnosis(record) is None
    record.root_cause = None
    assert engine._diagnosis(record) is None
    engine.o.run = diagnosis(failure_class="docs")
    assert engine._diagnosis(record) is engine.o.run


def test_verify_when_nothing_was_withdrawn(mocker: MockerFixture) -> None:
    index = mocker.Mock()
    engine = Engine(Options("demo-pkg", "1.2.0", "r"), index, mocker.Mock())
    plan = SimpleNamespace(withdraw=[], target=RELEASES[0], bad=Version("1.2.0"), options=engine.o)
    task = verify_task(engine, plan, [])  # type: ignore[arg-type]
    index.releases.return_value = RELEASES[:1]
    assert task.apply() == "index has no file of 1.2.0"
    index.releases.return_value = RELEASES  # 1.2.0 appeared since the plan
    with pytest.raises(UnreleaseError, match=r"1\.2\.0 is on the index now: rerun to withdraw it"):
        task.apply()
