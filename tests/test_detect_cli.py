"""Integration: `unrelease detect` and `rollback --run` through the real CLI, PyGithub against
the GitHub fake (runs, jobs, logs behind the 302), and real pypiserver / devpi indexes holding
partial publishes (a wheel without its sdist) built and uploaded with build and twine."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import Run, invoke
from tests.fakes.github import FakeGitHub
from tests.fakes.github import seed_repo as seed_releases
from tests.servers import DevpiServer, DistFactory, PypiserverServer, Target, upload
from unrelease.indexes import open_index
from unrelease.texts import find_record

LOGS = Path(__file__).parent / "fixtures" / "logs"
_names = iter(range(1, 1000))


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


class Pkg:
    """A package on a real index: 1.0.0 and 1.1.0 complete, 1.2.0 as PARTIAL says."""

    def __init__(self, target: Target, dists: DistFactory, partial: str | None) -> None:
        self.name = f"detect-pkg-{next(_names)}"
        self.target = target
        self.files = dists.many(self.name, ("1.0.0", "1.1.0", "1.2.0"))
        wheel = next(p for p in self.files["1.2.0"] if p.suffix == ".whl")
        self.dist = wheel.name.split("-")[0]  # the file-name spelling: detect_pkg_3
        sent = [*self.files["1.0.0"], *self.files["1.1.0"]]
        if partial == "wheel":
            sent.append(wheel)
        upload(target, sent)

    def log(self, stem: str, version: str = "1.2.0") -> str:
        text = (LOGS / f"{stem}.txt").read_text("utf-8")
        return text.replace("{dist}", self.dist).replace("{version}", version)

    def versions(self) -> list[str]:
        index = open_index(self.target.url, self.target.kind, auth=self.target.auth)
        return [r.version for r in index.releases(self.name)]


def git_repo(tmp_path: Path) -> str:
    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return str(path)


def seed_repo(fake: FakeGitHub, versions: Sequence[str] = ("1.0.0", "1.1.0")) -> None:
    """The repository's releases, and a Release workflow whose last run succeeded."""
    seed_releases(fake, versions)
    fake.actions.add_workflow("Release", ".github/workflows/release.yml")
    fake.actions.add_run("release.yml", conclusion="success", head_branch="v1.1.0")


def failed_run(
    fake: FakeGitHub,
    log: str,
    *,
    ref: str = "v1.2.0",
    job: str = "publish",
    step: str = "Upload to PyPI",
    **kw: Any,
) -> int:
    jobs = [
        ("build", "success", [("Build sdist and wheel", "success")], "built\n"),
        (job, "failure", [(step, "failure"), ("Notify", "skipped")], log),
    ]
    if ref.startswith("v") and "head_sha" not in kw:  # a release run: its tag, at its commit
        kw["head_sha"] = fake.resolve(ref) or fake.add_commit(f"Release {ref}")
        if fake.resolve(ref) is None:
            fake.add_tag(ref, kw["head_sha"], annotated=True, message=f"Release {ref}")
    return fake.actions.add_run(
        "release.yml", head_branch=ref, display_title=kw.pop("title", "Release"), jobs=jobs, **kw
    )


def env(fake: FakeGitHub, target: Target) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": fake.token,
        "UNRELEASE_INDEX_USERNAME": target.username,
        "UNRELEASE_INDEX_PASSWORD": target.password,
    }


def detect(fake: FakeGitHub, pkg: Pkg, *extra: str) -> Run:
    args = ["detect", "--repo", fake.full_name, "--github-url", fake.api_url]
    args += ["--index", pkg.target.url, "--index-kind", pkg.target.kind, *extra]
    return invoke(args, env(fake, pkg.target))


def rollback(fake: FakeGitHub, pkg: Pkg, tmp_path: Path, *extra: str, cmd: str = "rollback") -> Run:
    args = [cmd, pkg.name, *extra, "--index", pkg.target.url, "--mode", "delete"]
    args += ["--repo", fake.full_name, "--github-url", fake.api_url, "--json"]
    return invoke([*args, "--backup-dir", str(tmp_path / "backup")], env(fake, pkg.target))


@pytest.fixture
def partial_pkg(pypiserver_server: PypiserverServer, dist_factory: DistFactory) -> Pkg:
    return Pkg(pypiserver_server, dist_factory, partial="wheel")


# --------------------------------------------------------------------------------- detect
def test_detect_explains_partial_and_unpublished_runs(
    fake_github: FakeGitHub, partial_pkg: Pkg
) -> None:
    fake, pkg = fake_github, partial_pkg
    seed_repo(fake)
    partial = failed_run(fake, pkg.log("publish-partial"))
    tests = failed_run(
        fake, pkg.log("tests", "1.2.1"), ref="v1.2.1", job="test (3.12)", step="Run pytest"
    )
    fake.clear_log()
    result = detect(fake, pkg, "--workflow", "release.yml", "--package", pkg.name, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json
    assert (data["scanned"], data["stopped"], data["strategy"]) == (3, "success", "auto")
    assert data["last_success"]["id"] == partial - 1
    newest, older = data["runs"]
    assert newest["run"]["id"] == tests and older["run"]["id"] == partial

    assert (newest["version"], newest["version_source"]) == ("1.2.1", "tag")
    assert newest["reached"]["state"] == "nothing"
    assert (newest["failure_class"], newest["job"], newest["step"]) == (
        "tests",
        "test (3.12)",
        "Run pytest",
    )
    assert "FAILED tests/test_api.py::test_get_widget" in newest["excerpt"]

    wheel = f"{pkg.dist}-1.2.0-py3-none-any.whl"
    assert (older["version"], older["version_source"]) == ("1.2.0", "tag")
    assert older["evidence"] == {"tag": "1.2.0", "log": "1.2.0"}
    assert older["reached"] == {
        "state": "partial",
        "files": [wheel],
        "missing": [f"{pkg.dist}-1.2.0.tar.gz"],
        "rule": "every file the run's log names is on the index",
        "detail": "1 of the 2 files the run named",
    }
    assert older["failure_class"] == "publish"
    assert f"/actions/runs/{partial}/job/" in older["job_url"]
    assert "HTTPError: 503 Service Unavailable" in older["excerpt"]
    assert older["impact"]["detail"] == "unknown (not PyPI)"
    assert older["run"]["head_sha"] and older["run"]["attempt"] == 1
    # one page of runs, then per reported run: its jobs, and its failed job's log (302 + blob)
    assert fake.count() == 1 + 2 * 3
    assert fake.count(path_regex=r"/actions/runs/\d+/logs") == 0  # never the whole-run zip

    text = detect(fake, pkg, "--package", pkg.name)  # the default: the workflow named Release
    assert text.exit_code == 0
    out = text.stdout
    assert out.startswith("2 failed run(s) of Release (release.yml) in acme/widget since the")
    assert "RUN" in out and "REACHED" in out
    assert "1.2.0 (tag)" in out and "partial" in out and "publish/upload" in out
    assert f"reached the index: partial: {wheel} on the index; missing " in out
    assert "    | ERROR    HTTPError: 503 Service Unavailable" in out


def test_detect_learns_the_package_from_the_log_and_honours_limit_and_since(
    fake_github: FakeGitHub, partial_pkg: Pkg
) -> None:
    fake, pkg = fake_github, partial_pkg
    seed_repo(fake)
    failed_run(fake, pkg.log("publish-partial"))
    failed_run(fake, pkg.log("unknown"), ref="main", job="smoke", step="Run ./scripts/smoke.sh")
    data = detect(fake, pkg, "--json").json
    newest, older = data["runs"]
    assert newest["package"] is None and newest["version"] is None
    assert newest["reached"]["state"] == "unknown"
    assert newest["failure_class"] == "unknown" and "Killed" in newest["excerpt"]
    assert older["package"] == pkg.name.replace("_", "-")
    assert older["reached"]["state"] == "partial"

    limited = detect(fake, pkg, "--limit", "1", "--json").json
    assert [r["run"]["id"] for r in limited["runs"]] == [newest["run"]["id"]]
    assert limited["stopped"] == "limit"
    text = detect(fake, pkg, "--limit", "1").stdout
    assert "stopped at --limit, older failures may exist" in text

    everything = detect(fake, pkg, "--since", "2024-01-01", "--json").json
    assert len(everything["runs"]) == 2 and everything["since"] == "2024-01-01T00:00:00Z"
    assert detect(fake, pkg, "--since", "2999-01-01", "--json").json["runs"] == []


def test_detect_errors(fake_github: FakeGitHub, partial_pkg: Pkg, tmp_path: Path) -> None:
    fake, pkg = fake_github, partial_pkg
    seed_repo(fake)
    no_runs = detect(fake, pkg, "--workflow", "release.yml")
    assert no_runs.exit_code == 0
    assert no_runs.stdout.startswith("0 failed run(s) of release.yml in acme/widget since")
    for extra, message in (
        (["--workflow", "Deploy"], "no workflow named 'Deploy'"),
        (["--package", "bad name"], "not a valid package name"),
        (["--tag-format", "release"], "--tag-format must contain {version}"),
    ):
        result = detect(fake, pkg, *extra)
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith("error: ") and message in result.stderr
        assert result.stderr.count("\n") == 1
    assert detect(fake, pkg, "--since", "yesterday").exit_code == 2  # click's own check
    repo = git_repo(tmp_path)
    local = invoke(["detect", "--repo", repo, "--index", pkg.target.url])
    assert local.exit_code == 2
    assert local.stderr == (
        "error: detect reads GitHub Actions: --repo must be OWNER/NAME on GitHub\n"
    )
    fake.fail("GET", r"/actions/workflows/release.yml/runs", status=500, times=None)
    broken = detect(fake, pkg, "--workflow", "release.yml")
    assert broken.exit_code == 1
    assert "GitHub answered 500 while trying to list the runs of workflow release.yml" in (
        broken.stderr
    )


# --------------------------------------------------------------------------------- rollback
def test_rollback_run_of_a_partial_publish_withdraws_it(
    fake_github: FakeGitHub, devpi_server: DevpiServer, dist_factory: DistFactory, tmp_path: Path
) -> None:
    fake = fake_github
    pkg = Pkg(devpi_server.dev, dist_factory, partial="wheel")
    seed_repo(fake)
    run_id = failed_run(fake, pkg.log("publish-partial"))
    fake.clear_log()
    result = rollback(fake, pkg, tmp_path, "--run", str(run_id), "--yes")  # no VERSION, no reason
    assert result.exit_code == 0, result.stdout + result.stderr
    data = result.json
    assert data["version"] == "1.2.0" and data["withdrawn"] == ["1.2.0"]
    assert result.statuses["index:1.2.0"] == "done"
    assert data["run"]["reached"]["state"] == "partial"
    assert data["run"]["failure_class"] == "publish"
    assert pkg.versions() == ["1.0.0", "1.1.0"]
    (issue,) = fake.state.issues.values()
    body = issue["body"]
    for needle in (
        f"release run {run_id} failed: publish/upload in publish / Upload to PyPI",  # the reason
        "### Root cause",
        f"The release run [{run_id}](",
        "- Failure class: **publish/upload**",
        "- Failed job: `publish`, step `Upload to PyPI`",
        "- Version it was shipping: `1.2.0` (from its tag)",
        f"- What reached the index: partial; on the index: `{pkg.dist}-1.2.0-py3-none-any.whl`; "
        f"missing: `{pkg.dist}-1.2.0.tar.gz`",
        "```text\n",
        "ERROR    HTTPError: 503 Service Unavailable from https://upload.pypi.org/legacy/",
        "Prevention (publish/upload):",
        "### Impact\n- Downloads of `1.2.0`: unknown (not PyPI)",
        f"- Failed run: {fake.repo_web}/actions/runs/{run_id}",
    ):
        assert needle in body, needle
    record = find_record(body)
    assert record is not None and record.root_cause is not None
    assert record.root_cause["run"]["id"] == run_id
    assert record.run_url == f"{fake.repo_web}/actions/runs/{run_id}"
    diagnosis_reads = [r.path for r in fake.requests if "/actions/" in r.path or "_blobs" in r.path]
    assert len(diagnosis_reads) == 4  # the run, its jobs, the log's 302 and the log itself


def test_rollback_run_that_never_published(
    fake_github: FakeGitHub,
    pypiserver_server: PypiserverServer,
    dist_factory: DistFactory,
    tmp_path: Path,
) -> None:
    fake = fake_github
    pkg = Pkg(pypiserver_server, dist_factory, partial=None)  # 1.2.0 never uploaded
    seed_repo(fake)
    run_id = failed_run(fake, pkg.log("tests"), job="test (3.12)", step="Run pytest")
    # no --yes and no terminal: nothing is withdrawn, so nothing needs confirming
    first = rollback(fake, pkg, tmp_path, "--run", str(run_id))
    assert first.exit_code == 0, first.stdout + first.stderr
    steps = first.statuses
    assert not any(name.startswith("index:") for name in steps)
    # nothing reached the index: only the labels and the issue (with the root cause); no
    # rollback tag, no withdrawn note, Latest left where it is
    assert steps == {
        "tag": "skipped",
        "mark-release": "skipped",
        "labels": "done",
        "issue": "done",
        "note": "skipped",
        "latest": "skipped",
        "verify": "already-done",
    }
    for s in first.json["steps"]:
        if s["name"] in ("tag", "note", "latest"):
            assert s["detail"] == "the release never went out", s
    assert first.json["tag"] is None and first.json["release_note"] is None
    writes = fake.writes()  # no tag: the only git writes are the run's claim (a ref to a blob)
    assert writes and not any(r.path.endswith("/git/tags") for r in writes)
    refs = [str((r.body or {}).get("ref", "")) for r in writes if r.path.endswith("/git/refs")]
    assert not any(ref.startswith("refs/tags/") for ref in refs), refs
    assert not any(r["draft"] for r in fake.state.releases.values())
    assert fake.latest() is not None and fake.latest()["tag_name"] == "v1.1.0"
    verify = next(s for s in first.json["steps"] if s["name"] == "verify")
    assert verify["detail"] == "index has no file of 1.2.0"
    assert first.json["withdrawn"] == [] and first.json["to"] == "1.1.0"
    assert pkg.versions() == ["1.0.0", "1.1.0"]
    (issue,) = fake.state.issues.values()
    body = issue["body"]
    assert f"- `1.2.0` never went out: no file of it reached `{pkg.target.url}`" in body
    assert "Withdrawn from" not in body
    assert "Users keep `1.1.0`: nothing changed for them" in body
    assert "Users go back to" not in body and "downgrade" not in body
    assert "never reached the index, so nobody can have installed it" in body
    assert "- What reached the index: nothing: the release never went out" in body
    assert "- Failure class: **tests**" in body
    assert "FAIL Required test coverage of 85% not reached" in body

    # a rerun without --run finds the record, changes nothing, keeps the root cause
    fake.clear_log()
    again = invoke(
        [
            "rollback",
            pkg.name,
            "1.2.0",
            "--reason",
            "again",
            "--index",
            pkg.target.url,
            "--mode",
            "delete",
            "--repo",
            fake.full_name,
            "--github-url",
            fake.api_url,
            "--json",
        ],
        env(fake, pkg.target),
    )
    assert again.exit_code == 0, again.stderr
    assert again.statuses == {
        "tag": "skipped",
        "labels": "already-done",
        "issue": "already-done",
        "note": "skipped",
        "latest": "skipped",
        "verify": "already-done",
    }
    assert fake.writes() == []
    (issue_after,) = fake.state.issues.values()
    assert "### Root cause" in issue_after["body"]
    assert "never went out" in issue_after["body"]


def test_rollback_run_refusals(fake_github: FakeGitHub, partial_pkg: Pkg, tmp_path: Path) -> None:
    fake, pkg = fake_github, partial_pkg
    seed_repo(fake)
    tagged = failed_run(fake, pkg.log("publish-partial"))
    titled = failed_run(
        fake, pkg.log("unknown"), ref="main", job="smoke", step="Run smoke", title="Release 1.2.0"
    )
    succeeded = fake.actions.add_run("release.yml", conclusion="success", head_branch="v1.2.0")
    running = fake.actions.add_run(
        "release.yml",
        status="in_progress",
        conclusion=None,
        head_branch="v1.2.0",
        jobs=[("build", "success", [("Build", "success")], "built\n")],
    )
    cases = [
        (
            ["1.1.0", "--run", str(tagged)],
            f"run {tagged} was shipping 1.2.0 (from its tag), not 1.1.0",
        ),
        (
            ["--run", str(titled)],
            f"cannot tell which version run {titled} was shipping (its title says 1.2.0, "
            "unverified): give VERSION",
        ),
        (["--run", "999"], "there is no workflow run 999 in github:acme/widget"),
        (
            ["--run", str(succeeded)],
            f"run {succeeded} succeeded: it is no failed release to roll back",
        ),
        (
            ["1.2.0", "--run", str(running)],
            f"run {running} is still in progress and none of its jobs has failed: nothing to "
            "roll back yet",
        ),
        (["--run", "²"], "--run takes a workflow run id (digits), not '²'"),
        (["1.2.0"], "--reason is required (or --run ID to take it from the failed run)"),
        ([], "VERSION is missing: give it, or --run ID to take it from the failed run"),
    ]
    for extra, message in cases:
        fake.clear_log()
        result = rollback(fake, pkg, tmp_path, *extra, "--yes")
        assert result.exit_code == 2, (extra, result.stdout, result.stderr)
        assert result.json["error"] == message  # --json: the error is the JSON object
        assert fake.writes() == []
    assert pkg.versions() == ["1.0.0", "1.1.0", "1.2.0"]
    local = invoke(
        ["plan", pkg.name, "--run", "5", "--repo", git_repo(tmp_path), "--index", pkg.target.url]
    )
    assert local.exit_code == 2
    assert "--run needs a GitHub repository" in local.stderr
    # a rollback job inside the release workflow: its own run is in progress, the publish
    # job failed already (or was cancelled at its timeout-minutes)
    for conclusion in ("failure", "cancelled"):
        own = fake.actions.add_run(
            "release.yml",
            status="in_progress",
            conclusion=None,
            head_branch="v1.2.0",
            jobs=[("publish", conclusion, [("Upload", conclusion)], pkg.log("publish-partial"))],
        )
        planned = rollback(fake, pkg, tmp_path, "1.2.0", "--run", str(own), cmd="plan")
        assert planned.exit_code == 0, planned.stderr
        assert planned.json["run"]["job"] == "publish"
    # with VERSION given, an unverified title is good enough to explain the run
    plan = rollback(fake, pkg, tmp_path, "1.2.0", "--run", str(titled), cmd="plan")
    assert plan.exit_code == 0, plan.stderr
    assert plan.json["run"]["version_source"] == "display_title"
    assert plan.json["dry_run"] is True and fake.writes() == []


def test_rollback_run_from_the_workflow_run_event(
    fake_github: FakeGitHub, partial_pkg: Pkg, tmp_path: Path
) -> None:
    """What the action does on `workflow_run`: --run ID, the repository and API from the
    environment, the run's details from the event payload (one request fewer)."""
    fake, pkg = fake_github, partial_pkg
    seed_repo(fake)
    run_id = failed_run(fake, pkg.log("publish-partial"))
    run_json = json.loads(json.dumps(fake.actions._run_json(fake.actions.runs[run_id])))
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "completed", "workflow_run": run_json}))
    fake.clear_log()
    args = ["plan", pkg.name, "--run", str(run_id), "--index", pkg.target.url, "--json"]
    result = invoke(
        [*args, "--mode", "delete"],
        {
            **env(fake, pkg.target),
            "GITHUB_REPOSITORY": fake.full_name,
            "GITHUB_API_URL": fake.api_url,
            "GITHUB_EVENT_NAME": "workflow_run",
            "GITHUB_EVENT_PATH": str(event),
        },
    )
    assert result.exit_code == 0, result.stderr
    assert result.json["run"]["run"]["id"] == run_id
    assert result.json["version"] == "1.2.0"
    assert fake.count(path_regex=rf"^/repos/acme/widget/actions/runs/{run_id}$") == 0
    assert fake.count(path_regex=rf"/actions/runs/{run_id}/jobs") == 1


def test_rollback_run_on_a_branch_named_like_a_tag_is_refused(
    fake_github: FakeGitHub, partial_pkg: Pkg, tmp_path: Path
) -> None:
    """A branch can carry a tag's name: its failing run must not withdraw that good version."""
    fake = fake_github
    seed_repo(fake)
    rid = failed_run(fake, "##[error]tests failed\n", ref="v1.1.0", head_sha="f" * 40)
    fake.clear_log()
    result = rollback(fake, partial_pkg, tmp_path, "--run", str(rid))
    assert result.exit_code == 2, result.stdout
    error = result.json["error"]  # --json: the error is the JSON object
    assert "ran on 'v1.1.0'" in error and "did not release" in error
    assert fake.writes() == []
