"""Integration: the whole rollback against a real index (devpi, pypiserver) and the GitHub fake,
driven through the real CLI and PyGithub."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import Run, invoke
from tests.fakes.github import FakeGitHub, seed_repo
from tests.servers import SeededPackage, Target
from unrelease.errors import ServiceError
from unrelease.indexes import open_index
from unrelease.texts import find_record

REASON = "imports fail on Python 3.12"


def env_for(fake: FakeGitHub, target: Target) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": fake.token,
        "UNRELEASE_INDEX_USERNAME": target.username,
        "UNRELEASE_INDEX_PASSWORD": target.password,
    }


def rollback(
    fake: FakeGitHub,
    pkg: SeededPackage,
    tmp_path: Path,
    *extra: str,
    version: str = "1.2.0",
    env: dict[str, str] | None = None,
) -> Run:
    args = ["rollback", pkg.name, version, "--reason", REASON, "--index", pkg.target.url]
    args += ["--repo", fake.full_name, "--github-url", fake.api_url, "--yes", "--json"]
    args += ["--backup-dir", str(tmp_path / "backup"), *extra]
    return invoke(args, env if env is not None else env_for(fake, pkg.target))


def versions_on(target: Target, name: str) -> list[str]:
    return [r.version for r in open_index(target.url, target.kind, auth=target.auth).releases(name)]


def drafts(fake: FakeGitHub) -> list[dict[str, Any]]:
    return [r for r in fake.state.releases.values() if r["draft"]]


@pytest.fixture
def devpi_pkg(devpi_dev_pkg: SeededPackage, fake_github: FakeGitHub) -> SeededPackage:
    seed_repo(fake_github, devpi_dev_pkg.versions)
    return devpi_dev_pkg


def test_full_rollback_on_devpi(
    devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake = fake_github
    result = rollback(fake, devpi_pkg, tmp_path, "--mode", "delete", "--mark-release")
    assert result.exit_code == 0, result.stderr
    data = result.json
    assert data["to"] == "1.1.0"
    assert data["withdrawn"] == ["1.2.0"]
    assert set(result.statuses.values()) == {"done"}, result.statuses
    assert versions_on(devpi_pkg.target, devpi_pkg.name) == ["1.0.0", "1.1.0"]

    # backup: every file of 1.2.0, byte-identical to what was uploaded
    backups = sorted(p for p in (tmp_path / "backup").rglob("*") if p.is_file())
    assert {p.name for p in backups} == {p.name for p in devpi_pkg.files["1.2.0"]}
    for p in backups:
        original = devpi_pkg.file(p.name)
        assert (
            hashlib.sha256(p.read_bytes()).digest()
            == hashlib.sha256(original.read_bytes()).digest()
        )

    # tag: annotated, at the commit v1.1.0 points to, message names bad, target and reason
    state = fake.state
    tag_name = data["tag"]["name"]
    assert re.fullmatch(r"v1\.1\.0-rollback-\d{8}", tag_name)
    assert data["tag"]["sha"] == fake.resolve("v1.1.0")
    tag_obj = state.tag_objects[state.refs[f"refs/tags/{tag_name}"]]
    assert "1.2.0" in tag_obj["message"] and "1.1.0" in tag_obj["message"]
    assert REASON in tag_obj["message"]

    # labels with colours and descriptions
    assert state.labels["release"]["color"] == "1d76db" and state.labels["release"]["description"]
    assert state.labels["critical"]["color"] == "b60205"

    # issue: title, labels, body sections, the record
    (issue,) = state.issues.values()
    assert issue["title"] == f"ROLLBACK: {devpi_pkg.name} 1.2.0"
    assert set(issue["labels"]) == {"release", "critical"}
    body = issue["body"]
    for needle in (
        "### Reason",
        "### Scope",
        "### Actions taken",
        f'pip install "{devpi_pkg.name}==1.1.0"',
        "Re-release checklist",
        "Prevention",
        tag_name,
    ):
        assert needle in body, needle
    record = find_record(body)
    assert record is not None and record.id == data["record_id"]
    assert {s.name: s.status.value for s in record.steps} == {
        "index:1.2.0": "done",
        "tag": "done",
        "labels": "done",
        "issue": "done",
        "note": "done",
        "latest": "done",
        "mark-release": "done",
        "verify": "done",
    }
    assert record.files == sorted(p.name for p in devpi_pkg.files["1.2.0"])
    assert record.backup and Path(record.backup).is_dir()

    # the withdrawn note: a draft on the rollback tag, never Latest; 1.1.0 Latest again
    (note,) = drafts(fake)
    assert note["name"] == "1.2.0 [WITHDRAWN]" and note["tag_name"] == tag_name
    assert "1.1.0" in note["body"] and data["issue"]["url"] in note["body"]
    latest = fake.latest()
    assert latest is not None and latest["tag_name"] == "v1.1.0"

    # --mark-release: title, notice, prerelease, still published (draft flag kept)
    bad = next(r for r in state.releases.values() if r["tag_name"] == "v1.2.0")
    assert bad["name"].startswith("[WITHDRAWN]") and bad["prerelease"] and not bad["draft"]
    assert bad["body"].startswith("> [!WARNING]") and bad["body"].endswith("Notes for 1.2.0")

    # the notice is in the JSON output
    assert "pip install" in data["notice"] and "1.1.0" in data["notice"]


def test_second_run_changes_nothing(
    devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    first = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete")
    assert first.exit_code == 0, first.stderr
    fake_github.clear_log()
    second = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete")
    assert second.exit_code == 0, second.stderr
    assert set(second.statuses.values()) == {"already-done"}, second.statuses
    assert fake_github.writes() == []
    assert second.json["issue"] == first.json["issue"]
    assert second.json["tag"] == first.json["tag"]
    assert second.json["release_note"] == first.json["release_note"]


def test_request_budget(devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path) -> None:
    """The figures the benchmark reports, held here so a regression shows: 6 reads (issues,
    labels, releases, latest, matching refs, the target's tag object) and 6 writes (issue,
    tag object, tag ref, draft note, Latest, the final record)."""
    fake_github.add_label("release")
    fake_github.add_label("critical")
    fake_github.clear_log()
    result = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete")
    assert result.exit_code == 0, result.stderr
    log = [f"{r.method} {r.path}" for r in fake_github.requests]
    assert len(log) == 12, log
    assert len(fake_github.writes()) == 6, log


def test_dry_run_writes_nothing(
    devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path, mocker: Any
) -> None:
    import requests

    spy = mocker.spy(requests.Session, "request")
    result = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert set(result.statuses.values()) == {"planned"} | (
        {"already-done"} & set(result.statuses.values())
    )
    assert result.statuses["index:1.2.0"] == "planned"
    assert fake_github.writes() == []
    index_methods = {c.args[1].upper() for c in spy.call_args_list}
    assert index_methods == {"GET"}, index_methods
    assert "1.2.0" in versions_on(devpi_pkg.target, devpi_pkg.name)
    assert not (tmp_path / "backup").exists()


def test_plan_command_is_a_dry_run(
    devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    args = ["plan", devpi_pkg.name, "1.2.0", "--reason", REASON, "--index", devpi_pkg.target.url]
    args += [
        "--repo",
        fake_github.full_name,
        "--github-url",
        fake_github.api_url,
        "--mode",
        "delete",
    ]
    result = invoke(args, env_for(fake_github, devpi_pkg.target))
    assert result.exit_code == 0, result.stderr
    assert "Plan:" in result.stdout and "index:1.2.0" in result.stdout
    assert fake_github.writes() == []


FAULTS = {
    "labels": ("POST", r"/labels$"),
    "issue": ("POST", r"/issues$"),
    "tag": ("POST", r"/git/tags$"),
    "note": ("POST", r"/releases$"),
    "latest": ("PATCH", r"/releases/\d+$"),
}


@pytest.mark.parametrize("step", ["index", *FAULTS])
def test_failure_at_each_step_then_rerun(
    step: str,
    devpi_pkg: SeededPackage,
    fake_github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_github
    if step == "index":
        from unrelease.indexes.devpi import DevpiIndex

        real = DevpiIndex.delete_release
        calls = {"n": 0}

        def flaky(self: DevpiIndex, package: str, version: str, *, force: bool = False) -> None:
            calls["n"] += 1
            if calls["n"] == 1:
                raise ServiceError("devpi answered 502 Bad Gateway")
            real(self, package, version, force=force)

        monkeypatch.setattr(DevpiIndex, "delete_release", flaky)
    else:
        method, path = FAULTS[step]
        fake.fail(method, path, status=500)

    first = rollback(fake, devpi_pkg, tmp_path, "--mode", "delete")
    assert first.exit_code == 1, first.stdout + first.stderr
    assert first.statuses[step if step != "index" else "index:1.2.0"] == "failed"

    second = rollback(fake, devpi_pkg, tmp_path, "--mode", "delete")
    assert second.exit_code == 0, second.stdout + second.stderr
    assert "failed" not in second.statuses.values()

    third = rollback(fake, devpi_pkg, tmp_path, "--mode", "delete")
    assert set(third.statuses.values()) == {"already-done"}, third.statuses

    # nothing twice: one tag, one issue, one draft, labels once, index withdrawn
    state = fake.state
    assert [r for r in state.refs if "rollback" in r] == [f"refs/tags/{second.json['tag']['name']}"]
    assert len(state.issues) == 1
    assert len(drafts(fake)) == 1
    assert fake.count("POST", r"/issues$") == 1 + (step == "issue")
    assert fake.count("POST", r"/git/refs$") == 1
    assert fake.count("POST", r"/releases$") == 1 + (step == "note")
    assert versions_on(devpi_pkg.target, devpi_pkg.name) == ["1.0.0", "1.1.0"]
    record = find_record(next(iter(state.issues.values()))["body"])
    assert record is not None
    assert {s.status.value for s in record.steps} == {"done"}


def test_crash_after_index_resumes_from_record(
    devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """The version is gone from the index; the record in the open issue says why: no refusal."""
    fake_github.fail("POST", r"/git/tags$", status=500)
    fake_github.fail("POST", r"/releases$", status=500)
    fake_github.fail("PATCH", r"/issues/\d+$", status=500)
    first = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete")
    assert first.exit_code == 1
    assert "1.2.0" not in versions_on(devpi_pkg.target, devpi_pkg.name)
    second = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete")
    assert second.exit_code == 0, second.stderr
    assert second.statuses["index:1.2.0"] == "already-done"
    assert second.statuses["tag"] == "done" and second.statuses["note"] == "done"


def test_issue_found_by_record_not_title(
    devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    decoy = fake_github.add_issue(f"ROLLBACK: {devpi_pkg.name} 1.2.0", "hand-written", ["release"])
    result = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete", "--dry-run")
    assert result.statuses["issue"] == "planned"
    result = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete")
    assert result.exit_code == 0
    assert result.json["issue"]["number"] != decoy
    # a recorded issue whose title a person changed is still found
    number = result.json["issue"]["number"]
    fake_github.state.issues[number]["title"] = "renamed by a person"
    again = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete")
    assert again.json["issue"]["number"] == number


def test_missing_target_tag_fails_that_step_only(
    devpi_dev_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    sha = fake_github.add_commit("Release 1.2.0")
    fake_github.add_tag("v1.2.0", sha, annotated=False)
    result = rollback(fake_github, devpi_dev_pkg, tmp_path, "--mode", "delete")
    assert result.exit_code == 1
    statuses = result.statuses
    assert statuses["tag"] == "failed"
    assert {k: v for k, v in statuses.items() if k != "tag"} == {
        "index:1.2.0": "done",
        "labels": "done",
        "issue": "done",
        "note": "done",
        "latest": "skipped",
        "verify": "done",
    }
    detail = next(s["detail"] for s in result.json["steps"] if s["name"] == "tag")
    assert "v1.1.0" in detail and "missing" in detail


def test_lightweight_target_tag_resolves(
    devpi_dev_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    shas = seed_repo(fake_github, devpi_dev_pkg.versions, annotated=False)
    result = rollback(fake_github, devpi_dev_pkg, tmp_path, "--mode", "delete")
    assert result.exit_code == 0, result.stderr
    assert result.json["tag"]["sha"] == shas["1.1.0"]


def test_files_pattern_deletes_only_matching(
    devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    result = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete", "--files", "*.whl")
    assert result.exit_code == 0, result.stderr
    idx = open_index(devpi_pkg.target.url, "devpi", auth=devpi_pkg.target.auth)
    left = {
        f.filename for r in idx.releases(devpi_pkg.name) if r.version == "1.2.0" for f in r.files
    }
    assert left == {p.name for p in devpi_pkg.files["1.2.0"] if p.suffix != ".whl"}
    again = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete", "--files", "*.whl")
    assert set(again.statuses.values()) == {"already-done"}


def test_non_volatile_devpi_needs_force(
    devpi_stable_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    seed_repo(fake_github, devpi_stable_pkg.versions)
    first = rollback(fake_github, devpi_stable_pkg, tmp_path, "--mode", "delete")
    assert first.exit_code == 1
    detail = next(s["detail"] for s in first.json["steps"] if s["name"] == "index:1.2.0")
    assert "--force" in detail
    assert "1.2.0" in versions_on(devpi_stable_pkg.target, devpi_stable_pkg.name)
    second = rollback(fake_github, devpi_stable_pkg, tmp_path, "--mode", "delete", "--force")
    assert second.exit_code == 0, second.stdout
    assert "1.2.0" not in versions_on(devpi_stable_pkg.target, devpi_stable_pkg.name)


def test_incremental_to_withdraws_each_newer_version(
    devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    result = rollback(fake_github, devpi_pkg, tmp_path, "--mode", "delete", "--to", "1.0.0")
    assert result.exit_code == 0, result.stderr
    assert result.json["withdrawn"] == ["1.2.0", "1.1.0"]
    names = [s["name"] for s in result.json["steps"]]
    assert names[:2] == ["index:1.2.0", "index:1.1.0"]
    assert versions_on(devpi_pkg.target, devpi_pkg.name) == ["1.0.0"]


@pytest.mark.slow
def test_pypiserver_rollback_with_verify_install(
    pypiserver_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    seed_repo(fake_github, pypiserver_pkg.versions)
    result = rollback(fake_github, pypiserver_pkg, tmp_path, "--mode", "delete", "--verify-install")
    assert result.exit_code == 0, result.stdout + result.stderr
    verify = next(s for s in result.json["steps"] if s["name"] == "verify")
    assert "pip installs 1.1.0" in verify["detail"]


def test_secrets_never_written(
    devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake = fake_github
    secrets = [fake.token, devpi_pkg.target.password]
    fake.fail("POST", r"/releases$", status=500)  # an error path too
    runs = [rollback(fake, devpi_pkg, tmp_path, "--mode", "delete") for _ in range(2)]
    bad_token = invoke(
        [
            "rollback",
            devpi_pkg.name,
            "1.2.0",
            "--reason",
            "x",
            "--index",
            devpi_pkg.target.url,
            "--repo",
            fake.full_name,
            "--github-url",
            fake.api_url,
            "--yes",
        ],
        {**env_for(fake, devpi_pkg.target), "GITHUB_TOKEN": "ghp_wrongwrongwrongwrong1234"},
    )
    assert bad_token.exit_code == 2
    written = [r.stdout + r.stderr for r in [*runs, bad_token]]
    written += [repr(fake.state.issues), repr(fake.state.releases), repr(fake.state.tag_objects)]
    written += [repr(fake.state.comments)]
    written += [p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file()]
    for secret in [*secrets, "ghp_wrongwrongwrongwrong1234"]:
        for text in written:
            assert secret not in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not a version"], "not a valid version"),
        (["1.2.0", "--to", "1.3.0"], "not older"),
        (["1.2.0", "--to", "1.2.0"], "not older"),
        (["9.9.9"], "not on"),
        (["1.2.0", "--tag-format", "{nope}"], "not a valid template"),
        (["1.2.0", "--mode", "yank"], "it can do: delete"),
        (["1.2.0", "--labels", " , "], "at least one label"),
        (["1.2.0", "--run", "abc"], "--run"),
    ],
)
def test_bad_input_exit_2_nothing_changed(
    args: list[str], message: str, devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    base = [
        "rollback",
        devpi_pkg.name,
        *args[:1],
        "--reason",
        REASON,
        "--index",
        devpi_pkg.target.url,
    ]
    base += ["--repo", fake_github.full_name, "--github-url", fake_github.api_url, "--yes"]
    if "--mode" not in args:
        base += ["--mode", "delete"]
    result = invoke(base + args[1:], env_for(fake_github, devpi_pkg.target))
    assert result.exit_code == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert fake_github.writes() == []
    assert "1.2.0" in versions_on(devpi_pkg.target, devpi_pkg.name)


@pytest.mark.parametrize(
    ("what", "message"),
    [
        ("unknown-package", "not on"),
        ("bad-url", "not a valid index URL"),
        ("wrong-index-password", "UNRELEASE_INDEX"),
        ("wrong-token", "Bad credentials"),
        ("read-only-token", "write"),
        ("no-tty", "without --yes"),
        ("bad-repo", "not a valid repository"),
    ],
)
def test_refusals_exit_2_nothing_changed(
    what: str, message: str, devpi_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake = fake_github
    name, index, env = devpi_pkg.name, devpi_pkg.target.url, env_for(fake, devpi_pkg.target)
    repo, yes = fake.full_name, ["--yes"]
    if what == "unknown-package":
        name = "no-such-package-here"
    elif what == "bad-url":
        index = "ftp:/nowhere"
    elif what == "wrong-index-password":
        env["UNRELEASE_INDEX_PASSWORD"] = "wrong-password-123"
    elif what == "wrong-token":
        env["GITHUB_TOKEN"] = "ghp_not_a_real_token_0000000000"
    elif what == "read-only-token":
        fake.set_token("ghp_readonly_token_000000000000", {"contents": "read", "issues": "read"})
        env["GITHUB_TOKEN"] = "ghp_readonly_token_000000000000"
    elif what == "no-tty":
        yes = []
    elif what == "bad-repo":
        repo = "acme/widget; rm -rf /"
    args = ["rollback", name, "1.2.0", "--reason", REASON, "--index", index, "--mode", "delete"]
    args += [
        "--repo",
        repo,
        "--github-url",
        fake.api_url,
        "--backup-dir",
        str(tmp_path / "b"),
        *yes,
    ]
    result = invoke(args, env)
    assert result.exit_code == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert [w for w in fake.writes() if w.status < 400] == []
    assert "1.2.0" in versions_on(devpi_pkg.target, devpi_pkg.name)
