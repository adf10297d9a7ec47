"""The ready-to-copy workflows in workflows-examples/: their shape (triggers, permissions,
approval gate, pinned actions), and each one's rollback step run end to end: its `if:` and
`with:` expressions evaluated as GitHub would for a realistic event, then the action's steps
in bash against the GitHub fake and the PyPI (warehouse) fake, with the named secrets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.fakes.github import FakeGitHub
from tests.test_action import dispatch_payload, push_payload, seed_repo, workflow_run_payload
from tests.test_action_harness import (
    ActionRun,
    condition,
    evaluate,
    interpolate,
    load_action,
    run_action,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "workflows-examples"
ACTION = "unrelease/unrelease@v1"
ROLLBACK_PERMISSIONS = {"contents": "write", "issues": "write", "actions": "read"}
PKG, USER, PASSWORD = "demo-pkg", "alice", "correct horse battery staple 71"
TOTP = "JBSWY3DPEHPK3PXPJBSWY3DP"


def load(name: str) -> dict[str, Any]:
    data = YAML(typ="safe").load((EXAMPLES / name).read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def rollback_step(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if s.get("uses") == ACTION]
    return step


# --------------------------------------------------------------------------------- shape
@pytest.mark.parametrize(
    "name", ["manual-rollback.yml", "auto-rollback.yml", "release-with-rollback.yml"]
)
def test_example_shape(name: str) -> None:
    wf = load(name)
    inputs = set(load_action()["inputs"])
    assert wf["permissions"] == {}, "no permission at the workflow level"
    uses_action = 0
    for job_id, job in wf["jobs"].items():
        assert job.get("timeout-minutes"), job_id
        for step in job["steps"]:
            uses = step.get("uses", "")
            if uses == ACTION:
                uses_action += 1
                assert set(step.get("with", {})) <= inputs, set(step["with"]) - inputs
                assert job["permissions"] == ROLLBACK_PERMISSIONS, job_id
                assert "environment" in job, "the PyPI secrets live in an environment"
            elif uses:
                assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", uses), uses
            if "run" in step:
                assert "${{" not in step["run"], f"expression in a run: script of {job_id}"
        if job.get("permissions", {}).get("contents") == "write":
            assert any(s.get("uses") == ACTION for s in job["steps"]), job_id
    assert uses_action == 1
    # one rollback of a package at a time, whichever of the three starts it
    (rollback_job,) = [
        j for j in wf["jobs"].values() if any(s.get("uses") == ACTION for s in j["steps"])
    ]
    assert rollback_job["concurrency"] == {
        "group": "unrelease-rollback-${{ vars.UNRELEASE_PACKAGE || github.repository }}",
        "cancel-in-progress": False,
    }
    assert "concurrency" not in wf
    for step in (s for j in wf["jobs"].values() for s in j["steps"]):
        for value in step.get("with", {}).values():
            for secret in re.findall(r"secrets\.(\w+)", str(value)):
                assert secret in {
                    "PYPI_USERNAME",
                    "PYPI_PASSWORD",
                    "PYPI_TOTP_SECRET",
                    "PYPI_REMEMBER_DEVICE",
                    "INDEX_USERNAME",
                    "INDEX_PASSWORD",
                }


def test_manual_example_is_gated_and_dry_by_default() -> None:
    wf = load("manual-rollback.yml")
    dispatch = wf["on"]["workflow_dispatch"]["inputs"]
    assert dispatch["dry-run"] == {
        "description": "Only show what would be done",
        "required": True,
        "type": "boolean",
        "default": True,
    }
    assert dispatch["mode"]["type"] == "choice" and dispatch["mode"]["default"] == "yank"
    assert dispatch["version"]["required"] and dispatch["reason"]["required"]
    assert wf["jobs"]["rollback"]["environment"] == "release-rollback"


def test_auto_example_runs_on_failures_only_and_says_why_it_is_safe() -> None:
    text = (EXAMPLES / "auto-rollback.yml").read_text()
    wf = load("auto-rollback.yml")
    assert wf["on"]["workflow_run"] == {"workflows": ["Release"], "types": ["completed"]}
    assert "zizmor: ignore[dangerous-triggers]" in text
    assert "never checks out or runs the triggering run's code" in text
    assert not any("checkout" in s.get("uses", "") for s in wf["jobs"]["rollback"]["steps"])
    job_if = wf["jobs"]["rollback"]["if"]
    for event, runs in [
        ("push", True),
        ("release", True),  # a Release workflow started by publishing a GitHub release
        ("workflow_dispatch", True),
        ("pull_request", False),
        ("schedule", False),
    ]:
        run = {"conclusion": "failure", "event": event, "head_repository": {"full_name": "a/b"}}
        ctx = {"github": {"repository": "a/b", "event": {"workflow_run": run}}}
        assert condition(job_if, ctx, "success") is runs, event


def test_release_example_warns_about_who_can_push_tags() -> None:
    """The in-job rollback runs the tag's workflow file with the PyPI Owner's secrets."""
    text = (EXAMPLES / "release-with-rollback.yml").read_text()
    wf = load("release-with-rollback.yml")
    assert (
        "Anyone who can push a\n# tag matching v* can push one whose workflow prints them" in text
    )
    assert "Restrict creations" in text and "required\n#   reviewers" in text
    assert wf["name"] != load("auto-rollback.yml")["on"]["workflow_run"]["workflows"][0]
    # its own environment: the automatic one stays limited to the default branch
    assert wf["jobs"]["rollback"]["environment"] == "release-rollback-tag"
    assert load("auto-rollback.yml")["jobs"]["rollback"]["environment"] == "release-rollback-auto"


# ----------------------------------------------------------------------------- end to end
@pytest.fixture
def wh(fake_warehouse: Any) -> Any:
    fake_warehouse.add_user(USER, PASSWORD, totp_secret=TOTP, known_ip=False)
    fake_warehouse.add_project(PKG, owner=USER)
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        fake_warehouse.add_release(PKG, v, {f"demo_pkg-{v}.tar.gz": f"sdist {v}".encode()})
    return fake_warehouse


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    seed_repo(fake_github, ("1.0.0", "1.1.0", "1.2.0"))
    return fake_github


def contexts(gh: FakeGitHub, wh: Any, event: dict[str, Any], **more: Any) -> dict[str, Any]:
    """What GitHub gives the workflow's expressions; the secrets a user added as told."""
    return {
        "github": {
            "event": event,
            "repository": gh.full_name,
            "run_id": "8080",
            "token": gh.token,
        },
        "vars": {"UNRELEASE_PACKAGE": PKG},
        "secrets": {
            "PYPI_USERNAME": USER,
            "PYPI_PASSWORD": PASSWORD,
            "PYPI_TOTP_SECRET": TOTP,
            "PYPI_REMEMBER_DEVICE": wh.issue_remember_device(USER),
        },
        **more,
    }


def run_example(
    tmp: Path,
    gh: FakeGitHub,
    wh: Any,
    name: str,
    job_id: str,
    event_name: str,
    ctx: dict[str, Any],
    ref: str = "refs/heads/main",
    status: str = "success",
) -> ActionRun | None:
    """Evaluate the job's `if:` and the step's `with:`; run the action when the job runs.
    The workspace's pyproject points unrelease at the warehouse fake instead of pypi.org."""
    job = load(name)["jobs"][job_id]
    if "if" in job and not condition(job["if"], ctx, status):
        return None
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
            "ref": ref,
            "run_id": ctx["github"]["run_id"],
        },
        workspace_files={
            "pyproject.toml": f'[tool.unrelease]\nindex = "{wh.url}"\nindex-kind = "warehouse"\n'
        },
    )


@pytest.mark.slow
def test_manual_example_dry_run_then_rollback(gh: FakeGitHub, wh: Any, tmp_path: Path) -> None:
    typed = {"version": "1.2.0", "reason": "imports fail", "to": "", "mode": "yank"}
    typed |= {"severity": "critical", "dry-run": True}  # the form's defaults
    ctx = contexts(gh, wh, dispatch_payload(gh, **{k: str(v) for k, v in typed.items()}))
    ctx["inputs"] = typed
    dry = run_example(
        tmp_path / "dry", gh, wh, "manual-rollback.yml", "rollback", "workflow_dispatch", ctx
    )
    assert dry is not None and dry.outputs["status"] == "dry-run", dry and dry.log
    assert gh.writes() == [] and not wh.release_state(PKG, "1.2.0")["yanked"]

    ctx["inputs"] = typed | {"dry-run": False}
    real = run_example(
        tmp_path / "real", gh, wh, "manual-rollback.yml", "rollback", "workflow_dispatch", ctx
    )
    assert real is not None and real.outputs["status"] == "done", real and real.log
    assert wh.release_state(PKG, "1.2.0")["yanked"] is True
    assert real.outputs["to-version"] == "1.1.0"
    assert set(ctx["secrets"].values()) - {USER} <= set(real.masks)


@pytest.mark.slow
def test_auto_example_rolls_back_a_failed_release_run(
    gh: FakeGitHub, wh: Any, tmp_path: Path
) -> None:
    ok = workflow_run_payload(gh, conclusion="success", package=PKG)
    skipped = run_example(
        tmp_path / "ok",
        gh,
        wh,
        "auto-rollback.yml",
        "rollback",
        "workflow_run",
        contexts(gh, wh, ok),
    )
    assert skipped is None, "the job's if: skips a run that succeeded"

    failed = workflow_run_payload(gh, package=PKG)
    run = run_example(
        tmp_path / "failed",
        gh,
        wh,
        "auto-rollback.yml",
        "rollback",
        "workflow_run",
        contexts(gh, wh, failed),
    )
    assert run is not None and run.outputs["status"] == "done", run and run.log
    assert wh.release_state(PKG, "1.2.0")["yanked"] is True
    assert f"--run={failed['workflow_run']['id']}" in run.step("rollback").log

    fork = workflow_run_payload(gh, package=PKG, head_repo="evil/widget")
    assert (
        run_example(
            tmp_path / "fork",
            gh,
            wh,
            "auto-rollback.yml",
            "rollback",
            "workflow_run",
            contexts(gh, wh, fork),
        )
        is None
    )


@pytest.mark.slow
def test_release_example_rolls_back_only_a_failed_publish(
    gh: FakeGitHub, wh: Any, tmp_path: Path
) -> None:
    failed_run = workflow_run_payload(gh, package=PKG)["workflow_run"]["id"]  # publish failed
    push = push_payload(gh, "refs/tags/v1.2.0")
    ctx = contexts(gh, wh, push, needs={"publish": {"result": "success"}})
    ctx["github"]["run_id"] = str(failed_run)
    args = ("release-with-rollback.yml", "rollback", "push", ctx, "refs/tags/v1.2.0")
    assert run_example(tmp_path / "ok", gh, wh, *args, status="success") is None
    ctx["needs"] = {"publish": {"result": "skipped"}}  # the build failed: nothing published
    assert run_example(tmp_path / "build", gh, wh, *args, status="failure") is None

    ctx["needs"] = {"publish": {"result": "failure"}}
    run = run_example(tmp_path / "publish", gh, wh, *args, status="failure")
    assert run is not None and run.outputs["status"] == "done", run and run.log
    assert wh.release_state(PKG, "1.2.0")["yanked"] is True
    assert "version from the tag" in run.summary
    assert evaluate("github.run_id", ctx) == str(failed_run)
    # a publish over its timeout-minutes is cancelled, not failed: rolled back too
    job_if = load("release-with-rollback.yml")["jobs"]["rollback"]["if"]
    ctx["needs"] = {"publish": {"result": "cancelled"}}
    assert condition(job_if, ctx, "cancelled") is True
    ctx["needs"] = {"publish": {"result": "skipped"}}
    assert condition(job_if, ctx, "cancelled") is False
