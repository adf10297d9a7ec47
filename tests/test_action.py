"""The composite action, run for real: action.yml's steps in bash as the runner runs them
(tests/test_action_harness.py), with realistic event payloads for each trigger, against the
GitHub fake and a real devpi server. Injection tests feed shell, quoting and workflow-command
text through inputs and event fields and check it arrives as data."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.github import FakeGitHub, seed_repo
from tests.servers import DevpiServer, SeededPackage
from tests.test_action_harness import ActionRun, run_action
from unrelease.indexes import open_index
from unrelease.texts import find_record

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REASON = "imports fail on Python 3.12"


# ------------------------------------------------------------------------------ payloads
def repo_json(fake: FakeGitHub) -> dict[str, Any]:
    return {
        "id": 1296269,
        "name": fake.repo,
        "full_name": fake.full_name,
        "private": False,
        "owner": {"login": fake.owner, "id": 1, "type": "Organization"},
        "html_url": fake.repo_web,
        "default_branch": "main",
    }


def workflow_run_payload(
    fake: FakeGitHub,
    *,
    head_branch: str = "v1.2.0",
    status: str = "completed",
    conclusion: str | None = "failure",
    display_title: str = "Release 1.2.0",
    event: str = "push",
    head_repo: str | None = None,
    package: str = "pkg",
) -> dict[str, Any]:
    """The event GitHub sends for a run of the Release workflow, and that run in the fake."""
    wheel = f"{package.replace('-', '_')}-1.2.0-py3-none-any.whl"
    log = (
        "2024-01-01T10:04:00.0000000Z Uploading distributions to https://upload.pypi.org/legacy/\n"
        f"2024-01-01T10:04:01.0000000Z Uploading {wheel}\n"
        "2024-01-01T10:04:09.0000000Z ERROR    HTTPError: 502 Bad Gateway from "
        "https://upload.pypi.org/legacy/\n"
        "2024-01-01T10:04:09.1000000Z ##[error]Process completed with exit code 1.\n"
    )
    job_conclusion = "failure" if conclusion == "failure" else conclusion
    run_id = fake.actions.add_run(
        None,  # the fake's default workflow: Release, .github/workflows/release.yml
        status=status,
        conclusion=conclusion,
        head_branch=head_branch,
        head_sha=fake.head,
        event=event,
        display_title=display_title,
        jobs=[("publish", job_conclusion, [("Publish to PyPI", job_conclusion or "")], log)],
    )
    base = f"{fake.repo_api}/actions/runs/{run_id}"
    return {
        "action": "completed" if status == "completed" else "in_progress",
        "workflow_run": {
            "id": run_id,
            "name": "Release",
            "node_id": "WFR_kwLOAbc",
            "head_branch": head_branch,
            "head_sha": fake.head,
            "path": ".github/workflows/release.yml",
            "display_title": display_title,
            "run_number": 57,
            "event": event,
            "status": status,
            "conclusion": conclusion,
            "workflow_id": 161335,
            "check_suite_id": 42,
            "url": base,
            "html_url": f"{fake.repo_web}/actions/runs/{run_id}",
            "jobs_url": f"{base}/jobs",
            "logs_url": f"{base}/logs",
            "run_attempt": 1,
            "run_started_at": "2024-01-01T10:00:00Z",
            "created_at": "2024-01-01T10:00:00Z",
            "updated_at": "2024-01-01T10:05:00Z",
            "actor": {"login": "octo-user"},
            "triggering_actor": {"login": "octo-user"},
            "head_commit": {"id": fake.head, "message": display_title},
            "repository": repo_json(fake),
            "head_repository": {**repo_json(fake), "full_name": head_repo or fake.full_name},
        },
        "workflow": {
            "id": 161335,
            "name": "Release",
            "path": ".github/workflows/release.yml",
            "state": "active",
        },
        "repository": repo_json(fake),
        "sender": {"login": "octo-user", "type": "User"},
    }


def dispatch_payload(fake: FakeGitHub, **inputs: str) -> dict[str, Any]:
    return {
        "inputs": inputs,
        "ref": "refs/heads/main",
        "repository": repo_json(fake),
        "sender": {"login": "octo-user", "type": "User"},
        "workflow": ".github/workflows/manual-rollback.yml",
    }


def release_payload(fake: FakeGitHub, tag: str) -> dict[str, Any]:
    return {
        "action": "published",
        "release": {
            "id": 1,
            "tag_name": tag,
            "target_commitish": "main",
            "name": tag,
            "draft": False,
            "prerelease": False,
            "html_url": f"{fake.repo_web}/releases/tag/{tag}",
        },
        "repository": repo_json(fake),
        "sender": {"login": "octo-user", "type": "User"},
    }


def push_payload(fake: FakeGitHub, ref: str) -> dict[str, Any]:
    return {
        "ref": ref,
        "before": "0" * 40,
        "after": fake.head,
        "created": True,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "repository": repo_json(fake),
        "pusher": {"name": "octo-user"},
        "sender": {"login": "octo-user", "type": "User"},
    }


# ------------------------------------------------------------------------------ helpers


def act(
    tmp_path: Path,
    fake: FakeGitHub,
    pkg: SeededPackage,
    event_name: str,
    payload: dict[str, Any],
    ref: str = "refs/heads/main",
    workspace_files: dict[str, str] | None = None,
    **inputs: str,
) -> ActionRun:
    with_inputs = {
        "package": pkg.name,
        "mode": "delete",
        "index": pkg.target.url,
        "index-username": pkg.target.username,
        "index-password": pkg.target.password,
        **inputs,
    }
    return run_action(
        tmp_path / uuid.uuid4().hex[:8],
        with_inputs,
        event_name=event_name,
        payload=payload,
        github={
            "token": fake.token,
            "repository": fake.full_name,
            "api_url": fake.api_url,
            "server_url": fake.web_url,
            "ref": ref,
            "run_id": "4242",
        },
        workspace_files=workspace_files,
    )


def versions_on(pkg: SeededPackage) -> list[str]:
    idx = open_index(pkg.target.url, pkg.target.kind, auth=pkg.target.auth)
    return [r.version for r in idx.releases(pkg.name)]


def annotations(run: ActionRun) -> list[tuple[str, str, str]]:
    return [
        (c.name, c.props.get("title", ""), c.message)
        for c in run.commands
        if c.name in ("error", "warning", "notice")
    ]


def assert_secrets_masked_first(run: ActionRun, secrets: list[str]) -> None:
    """The first step only registers masks; no secret shows anywhere else in the log."""
    first = run.steps[0]
    assert first.name == "Mask credentials" and first.exit_code == 0
    assert all(line.startswith("::add-mask::") for line in first.log.splitlines())
    for secret in secrets:
        assert secret in run.masks
        rest = "".join(s.log for s in run.steps[1:]) + run.summary + repr(run.outputs)
        assert secret not in rest


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    return fake_github


@pytest.fixture
def pkg(devpi_server: DevpiServer, seed: Any, fake: FakeGitHub) -> SeededPackage:
    """A fresh package on devpi (volatile index) and its tags and releases on the fake."""
    seeded: SeededPackage = seed(devpi_server.dev)
    seed_repo(fake, seeded.versions)
    return seeded


@pytest.fixture(scope="module")
def shared_pkg(devpi_server: DevpiServer, dist_factory: Any) -> SeededPackage:
    """One package for the tests that change nothing on the index (dry runs, refusals)."""
    from tests.servers import upload

    name = f"shared-{uuid.uuid4().hex[:6]}"
    files = dist_factory.many(name, ("1.0.0", "1.1.0", "1.2.0"))
    upload(devpi_server.dev, [p for fs in files.values() for p in fs])
    return SeededPackage(name, devpi_server.dev, ("1.0.0", "1.1.0", "1.2.0"), files)


@pytest.fixture
def ro_pkg(shared_pkg: SeededPackage, fake: FakeGitHub) -> SeededPackage:
    seed_repo(fake, shared_pkg.versions)
    return shared_pkg


# --------------------------------------------------------------------------------- tests
def test_dispatch_rollback_outputs_summary_and_rerun(
    pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    payload = dispatch_payload(fake, version="1.2.0", reason=REASON, **{"dry-run": "false"})
    run = act(tmp_path, fake, pkg, "workflow_dispatch", payload, version="1.2.0", reason=REASON)
    assert not run.failed, run.log
    assert [s.name for s in run.steps if s.ran] == [
        "Mask credentials",
        "Find Python",
        "Install unrelease",
        "Run unrelease (rollback, guard or watch)",
        "Keep the backup of the deleted files",
    ]
    assert not run.step("setup-python").ran
    assert run.step("backup").env["name"] == "unrelease-backup-4242-1"
    out = run.outputs
    state = fake.state
    (number,) = state.issues
    assert out["status"] == "done"
    assert out["issue-number"] == str(number)
    assert out["issue-url"] == f"{fake.repo_web}/issues/{number}"
    assert re.fullmatch(r"v1\.1\.0-rollback-\d{8}", out["tag"])
    assert fake.resolve(out["tag"]) == fake.resolve("v1.1.0")
    (note,) = [r for r in state.releases.values() if r["draft"]]
    note_url = f"{fake.repo_web}/releases/tag/untagged-{note['untagged']}"
    assert out["release-note-url"] == note_url
    assert out["record-id"].startswith("rb-")
    assert out["to-version"] == "1.1.0"
    assert out["withdrawn-versions"] == "1.2.0"
    assert versions_on(pkg) == ["1.0.0", "1.1.0"]
    record = find_record(state.issues[number]["body"])
    assert record is not None and record.id == out["record-id"] and record.reason == REASON

    summary = run.summary
    assert "## unrelease: rolled back" in summary
    assert "| Step | Status | Detail |" in summary
    for step in ("index:1.2.0", "tag", "labels", "issue", "note", "latest", "verify"):
        assert re.search(rf"^\| \S*{re.escape(step)}\S* \| ✅ done \|", summary, re.M), step
    assert f"[\\#{number}]({out['issue-url']})" in summary
    tag_link = f"{fake.web_url}/{fake.full_name}/releases/tag/{out['tag']}"
    assert f"({tag_link})" in summary
    assert f"({note_url})" in summary
    assert "```mermaid\nflowchart LR" in summary
    assert re.search(r'w0\["\S+ 1\.2\.0: done"\]:::done -->\|delete\| target', summary)
    assert "1.1.0 (target)" in summary

    notes = annotations(run)
    assert notes == [
        ("notice", "unrelease", f"rolled back {pkg.name} 1.2.0 → 1.1.0 {out['issue-url']}")
    ]
    assert any(c.name == "group" for c in run.commands)
    assert_secrets_masked_first(run, [fake.token, pkg.target.password])

    fake.clear_log()
    again = act(tmp_path, fake, pkg, "workflow_dispatch", payload, version="1.2.0", reason=REASON)
    assert not again.failed, again.log
    assert again.outputs["status"] == "already-done"
    assert again.outputs["issue-number"] == out["issue-number"]
    assert again.outputs["tag"] == out["tag"]
    assert "## unrelease: already rolled back" in again.summary
    assert fake.writes() == []


def test_dry_run_changes_nothing(ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path) -> None:
    payload = dispatch_payload(fake, version="1.2.0", reason=REASON)
    run = act(
        tmp_path,
        fake,
        ro_pkg,
        "workflow_dispatch",
        payload,
        version="1.2.0",
        reason=REASON,
        **{"dry-run": "true"},
    )
    assert not run.failed, run.log
    assert run.outputs["status"] == "dry-run"
    assert run.outputs["to-version"] == "1.1.0"
    assert run.outputs["withdrawn-versions"] == "1.2.0"
    assert run.outputs["issue-number"] == ""
    assert fake.writes() == []
    assert versions_on(ro_pkg) == ["1.0.0", "1.1.0", "1.2.0"]
    assert "## unrelease: dry run (nothing changed)" in run.summary
    assert "📝 planned" in run.summary
    assert ("notice", "unrelease dry run", f"would roll back {ro_pkg.name} 1.2.0 → 1.1.0") in (
        annotations(run)
    )


def test_dispatch_version_from_the_event_inputs(
    ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    payload = dispatch_payload(fake, version="1.1.0")
    run = act(
        tmp_path, fake, ro_pkg, "workflow_dispatch", payload, reason=REASON, **{"dry-run": "1"}
    )
    assert run.outputs["status"] == "dry-run", run.log
    assert run.outputs["withdrawn-versions"] == "1.1.0"
    assert run.outputs["to-version"] == "1.0.0"
    assert "version from the dispatch inputs" in run.summary


def test_workflow_run_failure_rolls_back_with_the_run(
    pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    payload = workflow_run_payload(fake, package=pkg.name)
    rid = payload["workflow_run"]["id"]
    run = act(tmp_path, fake, pkg, "workflow_run", payload)
    assert not run.failed, run.log
    assert run.outputs["status"] == "done"
    assert run.outputs["withdrawn-versions"] == "1.2.0"
    assert versions_on(pkg) == ["1.0.0", "1.1.0"]
    (issue,) = fake.state.issues.values()
    record = find_record(issue["body"])
    assert record is not None
    # no reason input: the CLI states the run's failure, read through the API
    assert record.reason.startswith(f"release run {rid} failed"), record.reason
    assert "publish" in record.reason
    assert record.run_url == f"{fake.repo_web}/actions/runs/{rid}"
    assert f"[run {rid}]({fake.repo_web}/actions/runs/{rid})" in run.summary
    assert "version from the failed run's tag" in run.summary
    assert f"--run={rid}" in run.step("rollback").log


def test_rollback_job_of_the_release_workflow_names_its_own_run(
    pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    """release-with-rollback.yml: a tag push, and run-id set to the run whose publish failed."""
    payload = workflow_run_payload(fake, package=pkg.name)  # seeds the failed run in the fake
    rid = payload["workflow_run"]["id"]
    push = push_payload(fake, "refs/tags/v1.2.0")
    run = act(tmp_path, fake, pkg, "push", push, ref="refs/tags/v1.2.0", **{"run-id": str(rid)})
    assert run.outputs["status"] == "done", run.log
    assert run.outputs["withdrawn-versions"] == "1.2.0"
    (issue,) = fake.state.issues.values()
    record = find_record(issue["body"])
    assert record is not None and record.reason.startswith(f"release run {rid} failed")
    assert "version from the tag" in run.summary


@pytest.mark.parametrize(
    ("branch", "said"),
    [
        ("v1.1.0", "ran commit {head}, but tag v1.1.0 points at {tag}"),
        ("v1.3.0", "ran on 'v1.3.0', which is no tag of acme/widget"),
    ],
)
def test_workflow_run_on_a_branch_named_like_a_tag_is_refused(
    branch: str, said: str, ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    """Whoever can push a branch can name it v1.1.0 and make a Release run on it fail: its
    head_branch then reads like a tag. The tag must exist and be at the run's commit."""
    payload = workflow_run_payload(fake, head_branch=branch, display_title=f"Release {branch}")
    fake.clear_log()
    run = act(tmp_path, fake, ro_pkg, "workflow_run", payload)
    assert run.exit_code == 2, run.log
    assert run.outputs["status"] == "refused"
    head, tag = fake.head[:12], (fake.resolve(branch) or "")[:12]
    ((kind, title, message),) = annotations(run)
    assert (kind, title) == ("error", "unrelease refused")
    assert said.format(head=head, tag=tag) in message and "nothing is rolled back" in message
    assert "Nothing was changed." in run.summary
    assert fake.writes() == []
    assert all("/git/" in r.path for r in fake.requests)  # the tag, and nothing else
    assert versions_on(ro_pkg) == ["1.0.0", "1.1.0", "1.2.0"]


@pytest.mark.parametrize(
    ("status", "conclusion", "said"),
    [
        ("completed", "success", "concluded success"),
        ("completed", "cancelled", "concluded cancelled"),
        ("in_progress", None, "is still in progress"),
        ("queued", None, "is still queued"),
    ],
)
def test_workflow_run_that_did_not_fail_is_not_rolled_back(
    status: str,
    conclusion: str | None,
    said: str,
    ro_pkg: SeededPackage,
    fake: FakeGitHub,
    tmp_path: Path,
) -> None:
    payload = workflow_run_payload(fake, status=status, conclusion=conclusion)
    fake.clear_log()
    run = act(tmp_path, fake, ro_pkg, "workflow_run", payload)
    assert not run.failed, run.log
    assert run.outputs["status"] == "skipped"
    assert "## unrelease: nothing rolled back" in run.summary
    assert said in run.summary and "nothing is rolled back" in run.summary
    assert fake.requests == []
    assert versions_on(ro_pkg) == ["1.0.0", "1.1.0", "1.2.0"]
    ((kind, title, message),) = annotations(run)
    assert kind == "notice" and "nothing to roll back" in title and said in message


@pytest.mark.parametrize(
    ("event", "ref", "payload_kind"),
    [
        ("release", "refs/tags/v1.2.0", "release"),
        ("push", "refs/tags/v1.2.0", "push"),
    ],
)
def test_release_and_tag_push_take_the_version_from_the_ref(
    event: str,
    ref: str,
    payload_kind: str,
    ro_pkg: SeededPackage,
    fake: FakeGitHub,
    tmp_path: Path,
) -> None:
    payload = (
        release_payload(fake, "v1.2.0") if payload_kind == "release" else push_payload(fake, ref)
    )
    run = act(tmp_path, fake, ro_pkg, event, payload, ref=ref, **{"dry-run": "true"})
    assert not run.failed, run.log
    assert run.outputs["status"] == "dry-run"
    assert run.outputs["withdrawn-versions"] == "1.2.0"
    # no reason given: the current (release) run is named as the reason
    assert "version from the tag" in run.summary


def test_branch_push_has_no_version(
    ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    run = act(tmp_path, fake, ro_pkg, "push", push_payload(fake, "refs/heads/main"))
    assert run.failed and run.exit_code == 2
    assert run.outputs["status"] == "refused"
    assert "## unrelease: refused" in run.summary and "Nothing was changed." in run.summary
    ((kind, title, message),) = annotations(run)
    assert (kind, title) == ("error", "unrelease refused") and "not a tag" in message
    assert fake.writes() == []


def test_failed_step_is_an_error_annotation_and_exit_1(
    pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    fake.fail("POST", r"/releases$", status=500, times=None)  # beyond every retry
    run = act(
        tmp_path,
        fake,
        pkg,
        "workflow_dispatch",
        dispatch_payload(fake),
        version="1.2.0",
        reason=REASON,
    )
    assert run.failed and run.exit_code == 1
    assert run.outputs["status"] == "failed"
    assert run.outputs["issue-number"] != ""
    errors = [a for a in annotations(run) if a[0] == "error"]
    assert [a[1] for a in errors] == ["unrelease: step note failed"]
    assert "## unrelease: rollback incomplete (rerun to resume)" in run.summary
    assert re.search(r"^\| note \| ❌ failed \|", run.summary, re.M)
    assert 'n_note["withdrawn note (draft): failed"]:::failed' in run.summary
    # the rerun resumes: only the note is left to do
    with fake._lock:
        fake._faults.clear()
    again = act(
        tmp_path,
        fake,
        pkg,
        "workflow_dispatch",
        dispatch_payload(fake),
        version="1.2.0",
        reason=REASON,
    )
    assert again.outputs["status"] == "done", again.log
    assert re.search(r"^\| \S*note\S* \| ✅ done \|", again.summary, re.M)


def test_bad_inputs_are_refused_before_anything(
    ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    fake.clear_log()
    run = act(
        tmp_path,
        fake,
        ro_pkg,
        "workflow_dispatch",
        dispatch_payload(fake),
        version="1.2.0",
        reason=REASON,
        **{"dry-run": "maybe"},
    )
    assert run.exit_code == 2 and run.outputs["status"] == "refused"
    assert "dry-run must be true or false" in run.summary
    no_reason = act(
        tmp_path, fake, ro_pkg, "workflow_dispatch", dispatch_payload(fake), version="1.2.0"
    )
    assert no_reason.exit_code == 2 and "reason input is required" in no_reason.summary
    assert fake.requests == []


# ---------------------------------------------------------------------------- injection
def hostile(canary: Path) -> str:
    """Text that would run commands, break quoting or issue workflow commands if it were
    ever treated as code or printed raw."""
    return (
        f'$(touch {canary}-dollar) `touch {canary}-tick` "; touch {canary}-quote; echo " '
        f"'; touch {canary}-single; '\n"
        "::error title=pwned::injected error\n"
        "::add-mask::imports\n"
        "::set-output name=status::pwned\n"
        "%0A::warning::escaped injection ${{ github.token }} <script>alert(1)</script>"
    )


def assert_no_injection(run: ActionRun, canary: Path) -> None:
    assert list(canary.parent.glob(canary.name + "*")) == [], "a command ran"
    for c in run.commands:
        assert c.name in ("add-mask", "group", "endgroup", "notice", "error", "warning"), c
        assert "pwned" not in c.props.get("title", "")
        if c.name != "add-mask":
            assert not c.message.startswith(("::", "pwned")), c
    assert "imports" not in run.masks and "pwned" not in run.outputs.values()
    assert "<script>" not in run.summary


def outside_stop_commands(log: str) -> str:
    kept, stop = [], None
    for line in log.splitlines():
        if stop is None and line.startswith("::stop-commands::"):
            stop = line.removeprefix("::stop-commands::")
        elif stop is not None and line == f"::{stop}::":
            stop = None
        elif stop is None:
            kept.append(line)
    return "\n".join(kept)


def test_hostile_inputs_arrive_as_data(
    pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    reason = hostile(canary)
    run = act(
        tmp_path,
        fake,
        pkg,
        "workflow_dispatch",
        dispatch_payload(fake, reason=reason),
        version="1.2.0",
        reason=reason,
        labels="release,critical",
    )
    assert not run.failed, run.log
    assert_no_injection(run, canary)
    (issue,) = fake.state.issues.values()
    record = find_record(issue["body"])
    assert record is not None and record.reason == reason.strip()  # every byte, as data
    # the reason reached the log only inside a stop-commands block
    log = run.step("rollback").log
    stop = re.search(r"^::stop-commands::(\w+)$", log, re.M)
    assert stop is not None
    block = log[stop.end() : log.index(f"::{stop.group(1)}::")]
    assert "::error title=pwned::" in block


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("head_branch", "v1.2.0$(touch CANARY)"),
        ("head_branch", "v1.2.0`touch CANARY`"),
        ("head_branch", 'v1.2.0"; touch CANARY; echo "'),
        ("head_branch", "v1.2.0\n::error title=pwned::injected"),
        ("head_branch", "v1.2.0 "),
        ("head_branch", "main"),
        ("head_branch", None),
        ("id", "123; touch CANARY"),
    ],
)
def test_hostile_workflow_run_fields_are_refused(
    field: str,
    value: str | None,
    ro_pkg: SeededPackage,
    fake: FakeGitHub,
    tmp_path: Path,
) -> None:
    canary = tmp_path / "canary"
    payload = workflow_run_payload(fake)
    payload["workflow_run"][field] = value.replace("CANARY", str(canary)) if value else value
    fake.clear_log()
    run = act(tmp_path, fake, ro_pkg, "workflow_run", payload)
    assert run.exit_code == 2, run.log
    assert run.outputs["status"] == "refused"
    assert_no_injection(run, canary)
    ((kind, title, _message),) = annotations(run)
    assert (kind, title) == ("error", "unrelease refused")
    assert fake.requests == []


def test_hostile_display_title_is_never_used(
    ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    payload = workflow_run_payload(fake, display_title=hostile(canary))
    payload["workflow_run"]["name"] = hostile(canary)
    run = act(tmp_path, fake, ro_pkg, "workflow_run", payload, **{"dry-run": "true"})
    assert run.outputs["status"] == "dry-run", run.log
    assert_no_injection(run, canary)
    assert "injected" not in run.summary
    # the CLI's JSON may show the run's title: only inside the stop-commands block
    assert "injected" not in outside_stop_commands(run.log)


@pytest.mark.parametrize(
    "payload_kind", ["fork", "pull_request", "dispatch-version", "release-mismatch"]
)
def test_untrusted_event_shapes_are_refused(
    payload_kind: str, ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    ref = "refs/heads/main"
    if payload_kind == "fork":
        event, payload = "workflow_run", workflow_run_payload(fake, head_repo="evil/widget")
    elif payload_kind == "pull_request":
        event, payload = "workflow_run", workflow_run_payload(fake, event="pull_request")
    elif payload_kind == "dispatch-version":
        event = "workflow_dispatch"
        payload = dispatch_payload(fake, version=f'1.2.0"; touch {canary}; echo "')
    else:
        event, payload, ref = "release", release_payload(fake, "v9.9.9"), "refs/tags/v1.2.0"
    run = act(tmp_path, fake, ro_pkg, event, payload, ref=ref, reason=REASON)
    assert run.exit_code == 2 and run.outputs["status"] == "refused", run.log
    assert_no_injection(run, canary)


def test_hostile_package_input_is_refused_by_the_cli(
    ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    run = act(
        tmp_path,
        fake,
        ro_pkg,
        "workflow_dispatch",
        dispatch_payload(fake),
        version="1.2.0",
        reason=REASON,
        package=f"--dry-run; touch {canary}",
    )
    assert run.exit_code == 2 and run.outputs["status"] == "refused", run.log
    assert "not a valid package name" in run.summary
    assert_no_injection(run, canary)
    assert fake.writes() == []


def test_multiline_secrets_are_masked_line_by_line(
    ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    run = act(
        tmp_path,
        fake,
        ro_pkg,
        "workflow_dispatch",
        dispatch_payload(fake),
        version="1.2.0",
        reason=REASON,
        **{
            "dry-run": "true",
            "pypi-password": "first-line%25\r\nsecond::line",
            "pypi-totp-secret": "JBSWY3DPEHPK3PXP",
            "pypi-remember-device": "remember-cookie-value",
        },
    )
    assert run.outputs["status"] == "dry-run", run.log
    assert run.masks[:1] == [fake.token]
    assert {"first-line%25", "second::line", "JBSWY3DPEHPK3PXP", "remember-cookie-value"} <= set(
        run.masks
    )
    assert ro_pkg.target.password in run.masks


def test_secrets_are_masked_in_the_forms_unrelease_uses(
    ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    """The TOTP secret as typed (groups of four) and without spaces; the remembered-device
    value and the cookie inside it."""
    run = act(
        tmp_path,
        fake,
        ro_pkg,
        "workflow_dispatch",
        dispatch_payload(fake),
        version="1.2.0",
        reason=REASON,
        **{
            "dry-run": "true",
            "pypi-totp-secret": "JBSW Y3DP EHPK 3PXP",
            "pypi-remember-device": " unrelease-rd1.1767225600.c00kie.Value-x ",
        },
    )
    assert run.outputs["status"] == "dry-run", run.log
    for form in (
        "JBSW Y3DP EHPK 3PXP",
        "JBSWY3DPEHPK3PXP",
        "unrelease-rd1.1767225600.c00kie.Value-x",
        "c00kie.Value-x",
    ):
        assert form in run.masks, form
    raw = act(
        tmp_path,
        fake,
        ro_pkg,
        "workflow_dispatch",
        dispatch_payload(fake),
        version="1.2.0",
        reason=REASON,
        **{"dry-run": "true", "pypi-remember-device": "plain.cookie.value"},
    )
    assert "plain.cookie.value" in raw.masks and "value" not in raw.masks


def test_a_module_in_the_workspace_cannot_stand_in_for_a_dependency(
    ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    """The steps run in the workspace; a packaging.py (or venv.py, pip.py) there must not be
    imported instead of the real one by any of the action's Pythons."""
    trap = "import pathlib\npathlib.Path('SHADOWED').write_text(__name__)\nraise SystemExit(9)\n"
    workspace = {f"{name}.py": trap for name in ("packaging", "venv", "ensurepip", "click")}
    run = act(
        tmp_path,
        fake,
        ro_pkg,
        "workflow_dispatch",
        dispatch_payload(fake),
        version="1.2.0",
        reason=REASON,
        workspace_files=workspace,
        **{"dry-run": "true"},
    )
    assert run.outputs["status"] == "dry-run", run.log
    assert run.step("python").outputs.get("ok") == "true"
    assert not list(tmp_path.glob("*/workspace/SHADOWED"))


def test_setup_python_runs_when_the_runner_python_is_too_old(
    ro_pkg: SeededPackage, fake: FakeGitHub, tmp_path: Path
) -> None:
    old = tmp_path / "old-python"
    old.mkdir()
    (old / "python3").write_text("#!/bin/sh\necho 'Python 3.10.12'\nexit 1\n")
    (old / "python3").chmod(0o755)
    run = run_action(
        tmp_path / "run",
        {"package": ro_pkg.name, "python-version": "3.13"},
        event_name="workflow_dispatch",
        payload=dispatch_payload(fake),
        path_dirs=[old],
        stop_at_uses=True,
    )
    assert run.step("python").outputs == {"ok": "false"}
    setup = run.step("setup-python")
    assert setup.env == {"python-version": "3.13", "update-environment": "false"}


# ------------------------------------------------------------------------------- PyPI
def test_pypi_pending_then_finished_with_the_remembered_device(
    fake_warehouse: Any, fake: FakeGitHub, tmp_path: Path
) -> None:
    """PyPI (the warehouse fake): without credentials the index step waits on a person (exit 3,
    a warning, the how-to in the summary); with the account and a remembered-device value
    mapped from the action's inputs, a rerun yanks through the web session and finishes."""
    wh = fake_warehouse
    password, totp = "correct horse battery staple 71", "JBSWY3DPEHPK3PXPJBSWY3DP"
    wh.add_user("alice", password, totp_secret=totp, known_ip=False)
    wh.add_project("Demo-Pkg", owner="alice")
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        wh.add_release("Demo-Pkg", v, {f"demo_pkg-{v}.tar.gz": f"sdist {v}".encode()})
    seed_repo(fake, ("1.0.0", "1.1.0", "1.2.0"))
    base = {"package": "Demo-Pkg", "index": wh.url, "index-kind": "warehouse"}
    payload = dispatch_payload(fake)
    github = {
        "token": fake.token,
        "repository": fake.full_name,
        "api_url": fake.api_url,
        "server_url": fake.web_url,
    }

    pending = run_action(
        tmp_path / "pending",
        {**base, "version": "1.2.0", "reason": REASON},
        event_name="workflow_dispatch",
        payload=payload,
        github=github,
    )
    assert pending.exit_code == 3, pending.log
    assert pending.outputs["status"] == "pending"
    warnings = [a for a in annotations(pending) if a[0] == "warning"]
    assert "unrelease: step index:1.2.0 waits on a person" in [w[1] for w in warnings]
    manage = f"{wh.url}/manage/project/Demo-Pkg/release/1.2.0/"
    assert any(manage in w[2] for w in warnings)
    assert "## unrelease: waiting on a person" in pending.summary
    assert "### Waiting on a person" in pending.summary
    assert re.search(r"^\| index:1\.2\.0 \| ⏳ pending \|", pending.summary, re.M)
    assert wh.release_state("Demo-Pkg", "1.2.0")["yanked"] is False

    remember = wh.issue_remember_device("alice")
    done = run_action(
        tmp_path / "done",
        {
            **base,
            "version": "1.2.0",
            "reason": REASON,
            "pypi-username": "alice",
            "pypi-password": password,
            "pypi-remember-device": remember,
        },
        event_name="workflow_dispatch",
        payload=payload,
        github={**github, "run_attempt": "2"},  # a re-run of the job
    )
    assert done.exit_code == 0, done.log
    assert done.outputs["status"] == "done"
    assert done.outputs["issue-number"] == pending.outputs["issue-number"]
    assert wh.release_state("Demo-Pkg", "1.2.0")["yanked"] is True
    assert_secrets_masked_first(done, [fake.token, password, remember])
