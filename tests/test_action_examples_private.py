"""Each example in workflows-examples/ run end to end, as workflows-examples/README.md tells
a user of a private index to set it up, against a real pypiserver and a real devpi in delete
mode: the repository variables UNRELEASE_INDEX (and, for the automatic examples,
UNRELEASE_MODE=delete) and the secrets INDEX_USERNAME, INDEX_PASSWORD. No pyproject.toml in
the workspace: the automatic examples check nothing out. The action keeps the deleted files
as an artifact, which the incident record names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fakes.github import FakeGitHub, seed_repo
from tests.servers import DevpiServer, PypiserverServer, SeededPackage, Target
from tests.test_action import dispatch_payload, push_payload, workflow_run_payload
from tests.test_action_examples import load, rollback_step
from tests.test_action_harness import ActionRun, condition, interpolate, run_action
from unrelease.indexes import open_index
from unrelease.texts import find_record

RUN_ID = "8080"


@pytest.fixture(params=["pypiserver", "devpi"])
def private(
    request: pytest.FixtureRequest, seed: Any, fake_github: FakeGitHub
) -> tuple[SeededPackage, FakeGitHub]:
    """A fresh package on pypiserver or devpi (its volatile index), and its repository."""
    if request.param == "pypiserver":
        target: Target = request.getfixturevalue("pypiserver_server")
        assert isinstance(target, PypiserverServer)
    else:
        devpi = request.getfixturevalue("devpi_server")
        assert isinstance(devpi, DevpiServer)
        target = devpi.dev
    pkg: SeededPackage = seed(target)
    seed_repo(fake_github, pkg.versions)
    return pkg, fake_github


def contexts(gh: FakeGitHub, pkg: SeededPackage, event: dict[str, Any], mode: bool) -> Any:
    """What the workflow's expressions see, set up as the examples' README says."""
    variables = {"UNRELEASE_PACKAGE": pkg.name, "UNRELEASE_INDEX": pkg.target.url}
    if mode:
        variables["UNRELEASE_MODE"] = "delete"
    secrets = {"INDEX_USERNAME": pkg.target.username, "INDEX_PASSWORD": pkg.target.password}
    github = {"event": event, "repository": gh.full_name, "run_id": RUN_ID, "token": gh.token}
    return {"github": github, "vars": variables, "secrets": secrets}


def run_example(
    tmp: Path, gh: FakeGitHub, name: str, event_name: str, ctx: dict[str, Any], **kw: str
) -> ActionRun:
    job = load(name)["jobs"]["rollback"]
    status = kw.get("status", "success")
    assert condition(job.get("if"), ctx, status), "the rollback job runs"
    step = rollback_step(job)
    with_inputs = {k: v if isinstance(v, str) else str(v).lower() for k, v in step["with"].items()}
    with_inputs = {k: interpolate(v, ctx, status) for k, v in with_inputs.items()}
    return run_action(
        tmp,
        with_inputs,
        event_name=event_name,
        payload=ctx["github"]["event"],
        github={
            "token": gh.token,
            "repository": gh.full_name,
            "api_url": gh.api_url,
            "server_url": gh.web_url,
            "ref": kw.get("ref", "refs/heads/main"),
            "run_id": ctx["github"]["run_id"],
        },
    )


def assert_rolled_back_and_backed_up(
    run: ActionRun, gh: FakeGitHub, pkg: SeededPackage, run_id: str = RUN_ID
) -> None:
    assert run.outputs["status"] == "done", run.log
    idx = open_index(pkg.target.url, pkg.target.kind, auth=pkg.target.auth)
    assert [r.version for r in idx.releases(pkg.name)] == ["1.0.0", "1.1.0"]
    upload = run.step("backup")
    artifact = f"unrelease-backup-{run_id}-1"
    assert upload.ran and upload.env["name"] == artifact
    folder = Path(upload.env["path"])
    assert folder.is_relative_to(run_temp(run)), "the backup is outside the work tree"
    kept = sorted(p.name for p in folder.rglob("*") if p.is_file())
    assert kept == sorted(p.name for p in pkg.files["1.2.0"])
    (issue,) = gh.state.issues.values()
    record = find_record(issue["body"])
    assert record is not None
    run_url = f"{gh.web_url}/{gh.full_name}/actions/runs/{run_id}"
    assert record.backup == f"artifact {artifact} of {run_url}"
    assert f"`{artifact}`" in run.summary


def run_temp(run: ActionRun) -> Path:
    return Path(run.step("rollback").env["UNRELEASE_BACKUP_DIR"]).parent


def test_manual_example_on_a_private_index(
    private: tuple[SeededPackage, FakeGitHub], tmp_path: Path
) -> None:
    pkg, gh = private
    typed = {"version": "1.2.0", "reason": "imports fail", "to": "", "mode": "delete"}
    typed |= {"severity": "critical", "dry-run": False}
    ctx = contexts(gh, pkg, dispatch_payload(gh, **{k: str(v) for k, v in typed.items()}), False)
    ctx["inputs"] = typed
    run = run_example(tmp_path, gh, "manual-rollback.yml", "workflow_dispatch", ctx)
    assert_rolled_back_and_backed_up(run, gh, pkg)


def test_auto_example_on_a_private_index(
    private: tuple[SeededPackage, FakeGitHub], tmp_path: Path
) -> None:
    pkg, gh = private
    failed = workflow_run_payload(gh, package=pkg.name)
    ctx = contexts(gh, pkg, failed, True)
    run = run_example(tmp_path, gh, "auto-rollback.yml", "workflow_run", ctx)
    assert_rolled_back_and_backed_up(run, gh, pkg)


def test_release_example_on_a_private_index(
    private: tuple[SeededPackage, FakeGitHub], tmp_path: Path
) -> None:
    pkg, gh = private
    failed_run = workflow_run_payload(gh, package=pkg.name)["workflow_run"]["id"]
    ctx = contexts(gh, pkg, push_payload(gh, "refs/tags/v1.2.0"), True)
    ctx["needs"] = {"publish": {"result": "failure"}}
    ctx["github"]["run_id"] = str(failed_run)  # the rollback job's own run: github.run_id
    kw = {"status": "failure", "ref": "refs/tags/v1.2.0"}
    run = run_example(tmp_path, gh, "release-with-rollback.yml", "push", ctx, **kw)
    assert_rolled_back_and_backed_up(run, gh, pkg, str(failed_run))


def test_without_the_mode_variable_a_private_index_refuses_the_yank(
    pypiserver_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """Why the README's recipe sets UNRELEASE_MODE: yank is refused, nothing changes."""
    pkg, gh = pypiserver_pkg, fake_github
    seed_repo(gh, pkg.versions)
    ctx = contexts(gh, pkg, workflow_run_payload(gh, package=pkg.name), False)
    run = run_example(tmp_path, gh, "auto-rollback.yml", "workflow_run", ctx)
    assert run.outputs["status"] == "refused", run.log
    assert run.exit_code == 2
    assert not run.step("backup").ran
    errors = [c.message for c in run.commands if c.name == "error"]
    assert any("cannot yank" in m and "--mode delete" in m for m in errors), errors
    assert "rolled back" not in run.log
    assert [r.version for r in open_index(pkg.target.url, "pypiserver").releases(pkg.name)] == [
        "1.0.0",
        "1.1.0",
        "1.2.0",
    ]
