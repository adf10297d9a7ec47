"""Integration: `unrelease undo` after a real delete-mode rollback, on real devpi and pypiserver
indexes and the GitHub fake, through the real CLI and PyGithub."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.cli_helpers import Run, invoke
from tests.fakes.github import FakeGitHub, seed_repo
from tests.servers import DevpiServer, SeededPackage, Target
from unrelease.errors import ServiceError
from unrelease.indexes import open_index
from unrelease.texts import find_record
from unrelease.undo_work import undo_marker

REASON = "imports fail on Python 3.12"


def env_for(fake: FakeGitHub, target: Target) -> dict[str, str]:
    return {
        "GITHUB_TOKEN": fake.token,
        "UNRELEASE_INDEX_USERNAME": target.username,
        "UNRELEASE_INDEX_PASSWORD": target.password,
        "GITHUB_ACTOR": "octo-maintainer",
    }


def rollback(fake: FakeGitHub, pkg: SeededPackage, tmp_path: Path, *extra: str) -> Run:
    args = ["rollback", pkg.name, "1.2.0", "--reason", REASON, "--index", pkg.target.url]
    args += ["--repo", fake.full_name, "--github-url", fake.api_url, "--yes", "--json"]
    args += ["--mode", "delete", "--backup-dir", str(tmp_path / "backup"), *extra]
    return invoke(args, env_for(fake, pkg.target))


def undo(fake: FakeGitHub, pkg: SeededPackage, *extra: str, yes: bool = True) -> Run:
    args = ["undo", pkg.name, "1.2.0", "--repo", fake.full_name, "--github-url", fake.api_url]
    args += ["--index", pkg.target.url, "--json", *(["--yes"] if yes else []), *extra]
    return invoke(args, env_for(fake, pkg.target))


def files_on(target: Target, name: str, version: str = "1.2.0") -> dict[str, str | None]:
    index = open_index(target.url, target.kind, auth=target.auth)
    return {
        f.filename: f.sha256 for r in index.releases(name) if r.version == version for f in r.files
    }


def original(pkg: SeededPackage, version: str = "1.2.0") -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in pkg.files[version]}


def drafts(fake: FakeGitHub) -> list[dict[str, Any]]:
    return [r for r in fake.state.releases.values() if r["draft"]]


def release(fake: FakeGitHub, tag: str) -> dict[str, Any]:
    return next(r for r in fake.state.releases.values() if r["tag_name"] == tag and not r["draft"])


def rollback_tags(fake: FakeGitHub) -> list[str]:
    return [r for r in fake.state.refs if "rollback" in r]


@pytest.fixture
def pkg(devpi_dev_pkg: SeededPackage, fake_github: FakeGitHub) -> SeededPackage:
    seed_repo(fake_github, devpi_dev_pkg.versions)
    return devpi_dev_pkg


def test_undo_reverses_a_delete_rollback(
    pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake = fake_github
    before_bad = release(fake, "v1.2.0")
    first = rollback(fake, pkg, tmp_path, "--mark-release")
    assert first.exit_code == 0, first.stdout + first.stderr
    tag = first.json["tag"]["name"]
    assert files_on(pkg.target, pkg.name) == {}
    latest = fake.latest()
    assert latest is not None and latest["tag_name"] == "v1.1.0"
    record = find_record(fake.state.issues[first.json["issue"]["number"]]["body"])
    assert record is not None
    assert record.latest_before == "v1.2.0" and record.to_tag == "v1.1.0"
    assert record.sha256s == original(pkg)
    assert record.marked_before == {
        "tag": "v1.2.0",
        "title": "v1.2.0",
        "draft": False,
        "prerelease": False,
    }

    run = undo(fake, pkg)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.statuses == {
        "index:1.2.0": "done",
        "mark-release": "done",
        "latest": "done",
        "note": "done",
        "tag": "done",
        "issue": "done",
    }
    data = run.json
    assert data["record_id"] == first.json["record_id"]
    assert data["tag"] == first.json["tag"]
    assert data["issue"]["number"] == first.json["issue"]["number"]
    assert data["restored"] == ["1.2.0"] and data["undone_at"]

    # the index has the very files it had before the rollback
    assert files_on(pkg.target, pkg.name) == original(pkg)
    # the forge is as it was: no rollback tag, no draft, v1.2.0 Latest and unmarked
    assert rollback_tags(fake) == [] and fake.resolve(tag) is None
    assert drafts(fake) == []
    latest = fake.latest()
    assert latest is not None and latest["tag_name"] == "v1.2.0"
    after_bad = release(fake, "v1.2.0")
    for key in ("name", "body", "draft", "prerelease"):
        assert after_bad[key] == before_bad[key], key

    # the issue: closed, one comment saying what was undone, the record marked undone
    (issue,) = fake.state.issues.values()
    assert issue["state"] == "closed"
    (comment,) = fake.state.comments[issue["number"]]
    assert comment.startswith(undo_marker(data["record_id"]))
    for needle in ("Rollback undone", "octo-maintainer", "index:1.2.0", tag, "`1.2.0`"):
        assert needle in comment, needle
    record = find_record(issue["body"])
    assert record is not None and record.undone_at == data["undone_at"]
    assert record.undone_by == "octo-maintainer"
    assert {s.name: s.status.value for s in record.undo_steps} == dict.fromkeys(
        run.statuses, "done"
    )
    assert "### Actions taken" in issue["body"]  # the rest of the body is kept

    # a rerun finds the undone record and changes nothing
    fake.clear_log()
    again = undo(fake, pkg)
    assert again.exit_code == 0, again.stdout + again.stderr
    assert set(again.statuses.values()) == {"already-done"}, again.statuses
    assert fake.writes() == []

    # a new rollback of the same version starts a new record in a new issue
    later = rollback(fake, pkg, tmp_path)
    assert later.exit_code == 0, later.stdout + later.stderr
    assert later.json["issue"]["number"] != data["issue"]["number"]
    assert later.json["record_id"] != data["record_id"]
    assert "issue" in later.statuses and later.statuses["issue"] == "done"


def test_dry_run_and_human_output(
    pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path, mocker: Any
) -> None:
    assert rollback(fake_github, pkg, tmp_path).exit_code == 0
    fake_github.clear_log()
    spy = mocker.spy(requests.Session, "request")
    dry = undo(fake_github, pkg, "--dry-run")
    assert dry.exit_code == 0, dry.stdout + dry.stderr
    assert dry.json["dry_run"] is True
    assert dry.statuses == {
        "index:1.2.0": "planned",
        "mark-release": "planned",  # critical marks the bad release by default
        "latest": "planned",
        "note": "planned",
        "tag": "planned",
        "issue": "planned",
    }
    assert fake_github.writes() == []
    assert {c.args[1].upper() for c in spy.call_args_list} == {"GET"}
    assert files_on(pkg.target, pkg.name) == {}

    args = ["undo", pkg.name, "1.2.0", "--repo", fake_github.full_name, "--index", pkg.target.url]
    args += ["--github-url", fake_github.api_url, "--dry-run"]
    human = invoke(args, env_for(fake_github, pkg.target))
    assert human.exit_code == 0, human.stderr
    assert human.stdout.startswith("Plan (undo): rollback rb-")
    assert "→ index:1.2.0" in human.stdout and "re-upload 2 backed-up file(s)" in human.stdout
    assert "(open)" in human.stdout

    done = invoke([*args[:-1], "--yes"], env_for(fake_github, pkg.target))
    assert done.exit_code == 0, done.stderr
    assert done.stdout.startswith("Undo: rollback rb-")
    assert "✓ tag" in done.stdout and "(closed)" in done.stdout and "undone at" in done.stdout


def test_without_yes_and_no_terminal_nothing_changes(
    pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    assert rollback(fake_github, pkg, tmp_path).exit_code == 0
    fake_github.clear_log()
    run = undo(fake_github, pkg, yes=False)
    assert run.exit_code == 2
    assert "without --yes" in run.stderr and "undo the rollback of" in run.stderr
    assert fake_github.writes() == []
    assert files_on(pkg.target, pkg.name) == {}


UNDO_FAULTS = {
    "mark-release": ("PATCH", r"/releases/\d+$"),
    "latest": ("PATCH", r"/releases/\d+$"),
    "note": ("DELETE", r"/releases/\d+$"),
    "tag": ("DELETE", r"/git/refs/tags/"),
    "issue-comment": ("POST", r"/issues/\d+/comments$"),
    "issue-close": ("PATCH", r"/issues/\d+$"),
}


@pytest.mark.parametrize("step", ["index", *UNDO_FAULTS])
def test_failure_at_each_step_then_rerun(
    step: str,
    pkg: SeededPackage,
    fake_github: FakeGitHub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = fake_github
    mark = step != "latest"  # the latest fault needs the only release PATCH to be Latest's
    first_rb = rollback(fake, pkg, tmp_path, "--mark-release" if mark else "--no-mark-release")
    assert first_rb.exit_code == 0, first_rb.stdout
    tag = first_rb.json["tag"]["name"]
    fake.clear_log()

    from unrelease.indexes.devpi import DevpiIndex

    real_upload = DevpiIndex.upload
    uploads: list[str] = []

    failures = [0]

    # Three faults in a row: more than the runner absorbs in one run (a try, two retries).
    def counting_upload(self: DevpiIndex, path: Path) -> None:
        if step == "index" and not uploads and failures[0] < 3:
            failures[0] += 1
            raise ServiceError("devpi answered 502 Bad Gateway")
        real_upload(self, path)
        uploads.append(path.name)

    monkeypatch.setattr(DevpiIndex, "upload", counting_upload)
    if step != "index":
        method, path = UNDO_FAULTS[step]
        fake.fail(method, path, status=500, times=3)

    first = undo(fake, pkg)
    assert first.exit_code == 1, first.stdout + first.stderr
    failed_step = {"issue-comment": "issue", "issue-close": "issue"}.get(step, step)
    if step == "index":
        failed_step = "index:1.2.0"
    assert first.statuses[failed_step] == "failed", first.statuses
    issue_no = first_rb.json["issue"]["number"]
    if step == "index":
        # nothing on the forge moves while the index is not restored
        assert {k for k, v in first.statuses.items() if v == "skipped"} >= {"tag", "note"}
        assert fake.resolve(tag) is not None and len(drafts(fake)) == 1
    if failed_step != "issue":
        # the issue stays open and its record shows how far undo got
        assert fake.state.issues[issue_no]["state"] == "open"
        record = find_record(fake.state.issues[issue_no]["body"])
        assert record is not None and record.undone_at is None
        assert {s.name: s.status.value for s in record.undo_steps}[failed_step] == "failed"

    second = undo(fake, pkg)
    assert second.exit_code == 0, second.stdout + second.stderr
    assert "failed" not in second.statuses.values()

    fake.clear_log()
    third = undo(fake, pkg)
    assert third.exit_code == 0
    assert set(third.statuses.values()) <= {"already-done", "skipped"}, third.statuses
    assert fake.writes() == []

    # nothing twice: counted from the fake's write log and the index's uploads
    assert sorted(uploads) == sorted(original(pkg))
    assert files_on(pkg.target, pkg.name) == original(pkg)
    assert rollback_tags(fake) == [] and drafts(fake) == []
    assert fake.state.issues[issue_no]["state"] == "closed"
    assert len(fake.state.comments[issue_no]) == 1
    latest = fake.latest()
    assert latest is not None and latest["tag_name"] == "v1.2.0"
    assert not release(fake, "v1.2.0")["name"].startswith("[WITHDRAWN]")


def test_write_counts_of_one_undo(
    pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """One write per change: unmark, Latest, delete note, delete tag, comment, close."""
    assert rollback(fake_github, pkg, tmp_path, "--mark-release").exit_code == 0
    fake_github.clear_log()
    assert undo(fake_github, pkg).exit_code == 0
    writes = [f"{w.method} {w.path.split('/', 4)[-1]}" for w in fake_github.writes()]
    assert len(writes) == 6, writes
    assert sum(w.startswith("DELETE") for w in writes) == 2
    assert sum(w.startswith("POST") for w in writes) == 1


def test_moved_tag_is_refused_and_kept(
    pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake = fake_github
    first = rollback(fake, pkg, tmp_path)
    tag = first.json["tag"]["name"]
    other = fake.add_commit("a later commit")
    fake.add_tag(tag, other)  # someone moved the rollback tag
    run = undo(fake, pkg)
    assert run.exit_code == 1
    assert run.statuses["tag"] == "failed"
    detail = next(s["detail"] for s in run.json["steps"] if s["name"] == "tag")
    assert detail.startswith("refused:") and other[:12] in detail
    assert fake.resolve(tag) == other  # not deleted
    assert run.statuses["index:1.2.0"] == "done" and run.statuses["note"] == "done"
    assert run.statuses["issue"] == "skipped"
    assert fake.state.issues[first.json["issue"]["number"]]["state"] == "open"
    assert fake.count("DELETE", r"/git/refs/") == 0


def test_published_note_is_never_deleted(
    pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake = fake_github
    first = rollback(fake, pkg, tmp_path)
    note_id = first.json["release_note"]["id"]
    resp = requests.patch(
        f"{fake.repo_api}/releases/{note_id}",
        json={"draft": False, "make_latest": "false"},
        headers={"Authorization": f"token {fake.token}"},
        timeout=10,
    )
    assert resp.status_code == 200
    run = undo(fake, pkg)
    assert run.exit_code == 1
    assert run.statuses["note"] == "failed" and run.statuses["tag"] == "failed"
    details = {s["name"]: s["detail"] for s in run.json["steps"]}
    assert "published" in details["note"] and "draft" in details["tag"]
    assert note_id in fake.state.releases
    assert fake.resolve(first.json["tag"]["name"]) is not None
    assert fake.count("DELETE") == 0


@pytest.mark.parametrize("damage", ["missing", "changed"])
def test_bad_backup_refused_before_anything_changes(
    damage: str, pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    assert rollback(fake_github, pkg, tmp_path).exit_code == 0
    wheel = next((tmp_path / "backup").rglob("*.whl"))
    if damage == "missing":
        wheel.unlink()
    else:
        wheel.write_bytes(wheel.read_bytes() + b"x")
    fake_github.clear_log()
    run = undo(fake_github, pkg)
    assert run.exit_code == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1
    assert ("is missing" if damage == "missing" else "does not match the record") in lines[0]
    assert fake_github.writes() == []
    assert files_on(pkg.target, pkg.name) == {}


def test_backup_dir_option_finds_moved_backups(
    pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    assert rollback(fake_github, pkg, tmp_path).exit_code == 0
    moved = tmp_path / "artifact"
    shutil.move(tmp_path / "backup", moved)
    run = undo(fake_github, pkg, "--backup-dir", str(moved))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert files_on(pkg.target, pkg.name) == original(pkg)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["1.1.0"], "no rollback record of"),
        (["not-a-version"], "not a valid version"),
        (["1.2.0", "--label", " "], "--label must not be empty"),
        (["1.2.0", "--label", "other"], "labelled 'other'"),
        (["1.2.0", "--repo", "acme/widget; rm -rf /"], "not a valid repository"),
        (["1.2.0", "--index", "ftp:/nowhere"], "not a valid index URL"),
    ],
)
def test_bad_input_exit_2_nothing_changed(
    args: list[str], message: str, pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    assert rollback(fake_github, pkg, tmp_path).exit_code == 0
    fake_github.clear_log()
    cmd = ["undo", pkg.name, args[0], "--repo", fake_github.full_name, "--index", pkg.target.url]
    cmd += ["--github-url", fake_github.api_url, "--yes", *args[1:]]
    run = invoke(cmd, env_for(fake_github, pkg.target))
    assert run.exit_code == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert fake_github.writes() == []
    assert files_on(pkg.target, pkg.name) == {}


def test_another_index_than_the_records_is_refused(
    pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path, devpi_server: DevpiServer
) -> None:
    """The record is issue text: undo never follows it elsewhere, nor acts on another index."""
    assert rollback(fake_github, pkg, tmp_path).exit_code == 0
    fake_github.clear_log()
    run = undo(fake_github, pkg, "--index", devpi_server.stable.url)
    assert run.exit_code == 2
    assert f"was on {pkg.target.url}, not on {devpi_server.stable.url}" in run.stderr
    assert f"pass --index {pkg.target.url}" in run.stderr
    default = invoke(
        [
            "undo",
            pkg.name,
            "1.2.0",
            "--repo",
            fake_github.full_name,
            "--github-url",
            fake_github.api_url,
            "--index-kind",
            "devpi",
            "--yes",
        ],
        {**env_for(fake_github, pkg.target), "UNRELEASE_INDEX": devpi_server.dev.url + "/"},
    )
    assert default.exit_code == 0, default.stdout + default.stderr  # the same index, spelt apart
    assert fake_github.state.issues[1]["state"] == "closed"


def test_wrong_index_password_refused_before_any_write(
    pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    assert rollback(fake_github, pkg, tmp_path).exit_code == 0
    fake_github.clear_log()
    env = {**env_for(fake_github, pkg.target), "UNRELEASE_INDEX_PASSWORD": "wrong-password-123"}
    args = ["undo", pkg.name, "1.2.0", "--repo", fake_github.full_name, "--index", pkg.target.url]
    run = invoke([*args, "--github-url", fake_github.api_url, "--yes"], env)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert "UNRELEASE_INDEX" in run.stderr
    assert fake_github.writes() == []


@pytest.mark.slow
def test_pypiserver_undo_and_pip_sees_it(
    pypiserver_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    seed_repo(fake_github, pypiserver_pkg.versions)
    assert rollback(fake_github, pypiserver_pkg, tmp_path).exit_code == 0
    assert files_on(pypiserver_pkg.target, pypiserver_pkg.name) == {}
    run = undo(fake_github, pypiserver_pkg, "--index", pypiserver_pkg.target.url)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert files_on(pypiserver_pkg.target, pypiserver_pkg.name) == original(pypiserver_pkg)
    from unrelease.verify import pip_resolves

    index = open_index(pypiserver_pkg.target.url, "pypiserver", auth=pypiserver_pkg.target.auth)
    assert pip_resolves(pypiserver_pkg.name, index.simple_url) == "1.2.0"


def test_secrets_never_written(pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path) -> None:
    fake = fake_github
    assert rollback(fake, pkg, tmp_path, "--mark-release").exit_code == 0
    fake.fail("DELETE", r"/git/refs/tags/", status=500)  # an error path too
    runs = [undo(fake, pkg), undo(fake, pkg), undo(fake, pkg, "--dry-run")]
    args = ["undo", pkg.name, "1.2.0", "--repo", fake.full_name, "--github-url", fake.api_url]
    args += ["--index", pkg.target.url]
    bad = invoke(
        [*args, "--yes"], {**env_for(fake, pkg.target), "GITHUB_TOKEN": "ghp_wrongwrong12345678"}
    )
    assert bad.exit_code == 2
    state = fake.state
    written = [r.stdout + r.stderr for r in [*runs, bad]]
    written += [repr(state.issues), repr(state.comments), repr(state.releases)]
    written += [repr([r.body for r in fake.requests])]
    for secret in (fake.token, pkg.target.password, "ghp_wrongwrong12345678"):
        for text in written:
            assert secret not in text
