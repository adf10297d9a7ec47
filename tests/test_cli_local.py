"""The real CLI with the local forge (a temp git repo) and a real pypiserver."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.cli_helpers import invoke
from tests.servers import SeededPackage
from tests.test_forge_local import git, make_repo
from unrelease import __version__
from unrelease.forges.local import LocalForge
from unrelease.texts import find_record

REASON = "imports fail on Python 3.12"


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty directory: no pyproject.toml of this project leaks in."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


def env_for(pkg: SeededPackage) -> dict[str, str]:
    return {
        "UNRELEASE_INDEX_USERNAME": pkg.target.username,
        "UNRELEASE_INDEX_PASSWORD": pkg.target.password,
    }


def rollback_args(pkg: SeededPackage, repo: Path, backup: Path, *extra: str) -> list[str]:
    args = ["rollback", pkg.name, "1.2.0", "--reason", REASON, "--mode", "delete"]
    args += ["--index", pkg.target.url, "--repo", str(repo), "--yes"]
    return [*args, "--backup-dir", str(backup), *extra]


@pytest.fixture
def local_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Tags v1.0.0, v1.1.0 (lightweight), v1.2.0 at distinct commits; a published release
    per tag, v1.2.0 Latest."""
    path = tmp_path / "repo"
    shas = make_repo(path, lightweight="1.1.0")
    forge = LocalForge(path)
    notes = [
        forge.create_release(
            f"v{v}", f"v{v}", f"Notes {v}", draft=False, prerelease=False, target=None
        )
        for v in ("1.0.0", "1.1.0", "1.2.0")
    ]
    forge.make_latest(notes[-1])
    return path, shas


def versions_on_index(pkg: SeededPackage) -> list[str]:
    run = invoke(["status", pkg.name, "--index", pkg.target.url, "--json"], env_for(pkg))
    return [v["version"] for v in run.json["versions"]]


# --- rollback -----------------------------------------------------------------------------------
def test_rollback_delete_then_rerun(
    pypiserver_pkg: SeededPackage, local_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, shas = local_repo
    backup = tmp_path / "backup"
    run = invoke([*rollback_args(pypiserver_pkg, repo, backup), "--json"], env_for(pypiserver_pkg))
    assert run.exit_code == 0, run.stdout + run.stderr
    data = run.json
    assert data["package"] == pypiserver_pkg.name
    assert data["version"] == "1.2.0"
    assert data["to"] == "1.1.0"
    assert data["mode"] == "delete"
    assert data["withdrawn"] == ["1.2.0"]
    assert run.statuses == {
        "backup:1.2.0": "done",
        "index:1.2.0": "done",
        "tag": "done",
        "labels": "done",
        "issue": "done",
        "note": "done",
        "latest": "done",
        "mark-release": "done",
        "verify": "done",
    }
    assert re.fullmatch(r"rb-\d{8}-[0-9a-f]{8}", data["record_id"])
    assert pypiserver_pkg.target.password not in run.stdout

    # the index: 1.2.0 gone, its files backed up byte for byte
    assert versions_on_index(pypiserver_pkg) == ["1.1.0", "1.0.0"]
    backups = sorted(p for p in backup.rglob("*") if p.is_file())
    assert {p.name for p in backups} == {p.name for p in pypiserver_pkg.files["1.2.0"]}
    for p in backups:
        assert p.read_bytes() == pypiserver_pkg.file(p.name).read_bytes()

    # the tag: annotated, at v1.1.0's commit (a lightweight tag), message names bad/target/reason
    tag = data["tag"]["name"]
    assert re.fullmatch(r"v1\.1\.0-rollback-\d{8}", tag)
    assert data["tag"]["sha"] == shas["1.1.0"]
    assert git(repo, "rev-parse", f"{tag}^{{commit}}") == shas["1.1.0"]
    assert git(repo, "cat-file", "-t", f"refs/tags/{tag}") == "tag"
    message = git(repo, "tag", "-l", "--format=%(contents)", tag)
    assert "Bad version: 1.2.0" in message
    assert "Target: 1.1.0" in message
    assert f"Reason: {REASON}" in message
    assert f"Record: {data['record_id']}" in message

    # the state files of the local forge
    state = repo / ".unrelease"
    assert sorted(p.name for p in (state / "issues").iterdir()) == ["1.json", "1.md"]
    issue = json.loads((state / "issues" / "1.json").read_text())
    assert issue["title"] == f"ROLLBACK: {pypiserver_pkg.name} 1.2.0"
    assert issue["labels"] == ["release", "critical"]
    assert issue["state"] == "open"
    assert data["issue"] == {"number": 1, "url": (state / "issues" / "1.md").as_uri()}
    record = find_record(issue["body"])
    assert record is not None
    assert record.id == data["record_id"]
    assert record.files == sorted(p.name for p in pypiserver_pkg.files["1.2.0"])
    assert record.backup is not None
    assert not Path(record.backup).is_absolute()  # never an absolute local path
    assert (Path.cwd() / record.backup).resolve() == backup.resolve()
    assert {s.name: s.status.value for s in record.steps} == dict.fromkeys(run.statuses, "done")
    labels = json.loads((state / "labels.json").read_text())
    assert labels["release"]["color"] == "1d76db"
    assert labels["critical"]["color"] == "b60205"

    releases = [json.loads(p.read_text()) for p in sorted((state / "releases").glob("*.json"))]
    (note,) = [r for r in releases if r["draft"]]
    assert note["title"] == "1.2.0 [WITHDRAWN]"
    assert note["tag"] == tag
    assert note["target"] == shas["1.1.0"]
    assert data["issue"]["url"] in note["body"]
    assert data["release_note"] == {
        "id": note["id"],
        "url": (state / "releases" / f"{note['id']}.md").as_uri(),
    }
    latest = [r["tag"] for r in releases if r["latest"]]
    assert latest == ["v1.1.0"]
    assert 'pip install "' + pypiserver_pkg.name + '==1.1.0"' in data["notice"]

    # rerun: nothing done twice
    again = invoke(
        [*rollback_args(pypiserver_pkg, repo, backup), "--json"], env_for(pypiserver_pkg)
    )
    assert again.exit_code == 0, again.stdout + again.stderr
    assert set(again.statuses.values()) == {"already-done"}, again.statuses
    assert again.json["issue"] == data["issue"]
    assert again.json["tag"] == data["tag"]
    assert again.json["release_note"] == data["release_note"]
    assert again.json["record_id"] == data["record_id"]
    assert sorted(p.name for p in (state / "issues").iterdir()) == ["1.json", "1.md"]
    assert len(list((state / "releases").glob("*.json"))) == 4
    assert git(repo, "tag", "-l", "v1.1.0-rollback-*").split() == [tag]


def test_rollback_human_output(
    pypiserver_pkg: SeededPackage, local_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, shas = local_repo
    run = invoke(rollback_args(pypiserver_pkg, repo, tmp_path / "b"), env_for(pypiserver_pkg))
    assert run.exit_code == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    name = pypiserver_pkg.name
    assert lines[0] == f"Rollback: {name} 1.2.0 → 1.1.0 (delete on {pypiserver_pkg.target.url})"
    for step in ("index:1.2.0", "tag", "labels", "issue", "note", "latest", "verify"):
        assert any(re.match(rf"  ✓ {re.escape(step)}\s+done\s+\S", line) for line in lines), step
    assert any(line.startswith("issue: file://") for line in lines)
    assert any(
        re.fullmatch(rf"tag: v1\.1\.0-rollback-\d{{8}} at {shas['1.1.0'][:12]}", ln) for ln in lines
    )
    assert any(line.startswith("release note: file://") for line in lines)
    assert any(re.fullmatch(r"record: rb-\d{8}-[0-9a-f]{8}", line) for line in lines)
    # the notice for users, after a blank line
    assert f"# Release withdrawn: {name} " in run.stdout
    assert f'pip install "{name}==1.1.0"' in run.stdout
    assert pypiserver_pkg.target.password not in run.stdout + run.stderr

    again = invoke(rollback_args(pypiserver_pkg, repo, tmp_path / "b"), env_for(pypiserver_pkg))
    assert again.exit_code == 0
    assert re.search(r"  = index:1\.2\.0\s+already-done", again.stdout)


def test_dry_run_and_plan_change_nothing(
    pypiserver_pkg: SeededPackage, local_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, _ = local_repo
    before = sorted(p.name for p in (repo / ".unrelease").rglob("*"))
    tags_before = git(repo, "tag", "-l")
    run = invoke(
        [*rollback_args(pypiserver_pkg, repo, tmp_path / "b"), "--dry-run"], env_for(pypiserver_pkg)
    )
    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith(f"Plan: {pypiserver_pkg.name} 1.2.0 → 1.1.0")
    assert re.search(r"→ index:1\.2\.0\s+planned\s+delete 2 file\(s\)", run.stdout)
    assert re.search(r"→ backup:1\.2\.0\s+planned\s+back up 2 file\(s\)", run.stdout)
    assert "# Release withdrawn" not in run.stdout  # no notice on a dry run

    args = ["plan", pypiserver_pkg.name, "1.2.0", "--reason", REASON, "--mode", "delete"]
    args += ["--index", pypiserver_pkg.target.url, "--repo", str(repo), "--json"]
    plan = invoke(args, env_for(pypiserver_pkg))
    assert plan.exit_code == 0, plan.stderr
    assert plan.json["dry_run"] is True
    assert plan.statuses["index:1.2.0"] == "planned"
    assert plan.statuses["issue"] == "planned"
    assert sorted(p.name for p in (repo / ".unrelease").rglob("*")) == before
    assert git(repo, "tag", "-l") == tags_before
    assert not (tmp_path / "b").exists()
    assert "1.2.0" in versions_on_index(pypiserver_pkg)


def test_rollback_without_yes_and_no_terminal_is_refused(
    pypiserver_pkg: SeededPackage, local_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, _ = local_repo
    args = [a for a in rollback_args(pypiserver_pkg, repo, tmp_path / "b") if a != "--yes"]
    run = invoke(args, env_for(pypiserver_pkg))
    assert run.exit_code == 2
    assert "without --yes" in run.stderr
    assert "1.2.0" in versions_on_index(pypiserver_pkg)
    assert not (repo / ".unrelease" / "issues").exists()


def test_mode_yank_on_pypiserver_names_delete(
    pypiserver_pkg: SeededPackage, local_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, _ = local_repo
    args = ["rollback", pypiserver_pkg.name, "1.2.0", "--reason", REASON, "--mode", "yank"]
    args += ["--index", pypiserver_pkg.target.url, "--repo", str(repo), "--yes"]
    run = invoke(args, env_for(pypiserver_pkg))
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert "cannot yank" in run.stderr
    assert "delete" in run.stderr


# --- status -------------------------------------------------------------------------------------
def test_status_json(pypiserver_pkg: SeededPackage) -> None:
    run = invoke(
        ["status", pypiserver_pkg.name, "--index", pypiserver_pkg.target.url, "--json"],
        env_for(pypiserver_pkg),
    )
    assert run.exit_code == 0, run.stderr
    data = run.json
    assert data["package"] == pypiserver_pkg.name
    assert data["index"] == pypiserver_pkg.target.url
    assert data["index_kind"] == "pypiserver"
    assert "pypiserver" in data["probe"]
    assert data["latest_stable"] == "1.2.0"
    assert [v["version"] for v in data["versions"]] == ["1.2.0", "1.1.0", "1.0.0"]
    for v in data["versions"]:
        assert v["yanked"] is False
        files = {f["filename"]: f for f in v["files"]}
        assert set(files) == {p.name for p in pypiserver_pkg.files[v["version"]]}
        for name, f in files.items():
            digest = hashlib.sha256(pypiserver_pkg.file(name).read_bytes()).hexdigest()
            assert f["sha256"] == digest


def test_status_human(pypiserver_pkg: SeededPackage) -> None:
    url = pypiserver_pkg.target.url
    run = invoke(["status", pypiserver_pkg.name, "--index", url], env_for(pypiserver_pkg))
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"{pypiserver_pkg.name} on {url} (pypiserver)"
    assert "pypiserver" in lines[1]
    assert lines[-1] == "latest stable: 1.2.0"
    version_lines = [ln.split()[0] for ln in lines if re.match(r"  \d", ln)]
    assert version_lines == ["1.2.0", "1.1.0", "1.0.0"]
    for path in pypiserver_pkg.all_files:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert any(path.name in ln and f"sha256={digest}" in ln for ln in lines), path.name
    assert "available" in run.stdout


def test_status_unknown_package(pypiserver_server: object) -> None:
    url = pypiserver_server.url  # type: ignore[attr-defined]
    run = invoke(["status", "no-such-package-here", "--index", url])
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr == f"error: package no-such-package-here is not on {url}\n"


@pytest.mark.parametrize("name", ["bad name", "x-", "a;b"])
def test_status_bad_package_name(name: str) -> None:
    run = invoke(["status", name, "--index", "http://127.0.0.1:9/"])
    assert run.exit_code == 2
    assert run.stderr.startswith("error: not a valid package name")
    assert run.stderr.count("\n") == 1


def test_status_credentials_half_set() -> None:
    run = invoke(
        ["status", "demo", "--index", "http://127.0.0.1:9/"], {"UNRELEASE_INDEX_USERNAME": "u"}
    )
    assert run.exit_code == 2
    assert "set both UNRELEASE_INDEX_USERNAME" in run.stderr


# --- start-up, help and input checks ------------------------------------------------------------
def test_version() -> None:
    run = invoke(["--version"])
    assert run.exit_code == 0
    assert run.stdout == f"unrelease {__version__}\n"


@pytest.mark.parametrize(
    "args", [["--help"], ["-h"], ["rollback", "--help"], ["status", "--help"], ["plan", "-h"]]
)
def test_help_needs_no_credentials(args: list[str]) -> None:
    run = invoke(args)
    assert run.exit_code == 0
    assert "Usage:" in run.stdout
    assert run.stderr == ""


def test_rollback_help_lists_the_interface() -> None:
    out = invoke(["rollback", "--help"]).stdout
    for option in (
        "--reason",
        "--to",
        "--mode",
        "--index",
        "--repo",
        "--dry-run",
        "--yes",
        "--json",
    ):
        assert option in out, option


def test_plan_without_repo() -> None:
    run = invoke(["plan", "demo", "1.2.0", "--reason", REASON, "--index", "http://127.0.0.1:9/"])
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.startswith("error: no repository: pass --repo OWNER/NAME")
    assert run.stderr.count("\n") == 1


def test_plan_github_repo_without_token() -> None:
    run = invoke(["plan", "demo", "1.2.0", "--reason", REASON, "--repo", "owner/name"])
    assert run.exit_code == 2
    assert "no GitHub token for owner/name" in run.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--reason", "   "], "--reason must not be empty"),
        (["--labels", " , ,"], "--labels needs at least one label"),
        (["--tag-format", "release"], "--tag-format must contain {version}"),
        (["--tag-format", "v{nope}"], "--tag-format 'v{nope}' may use only {version}"),
        (["--rollback-tag", "{to_tag}-{"], "--rollback-tag '{to_tag}-{' is not a valid template"),
        (["--rollback-tag", "{0}"], "--rollback-tag '{0}' may use only"),
        (["--run", "12ab"], "--run takes a workflow run id (digits), not '12ab'"),
        (["--to", "latest"], "not a valid --to version: 'latest'"),
    ],
)
def test_rollback_input_checks(
    extra: list[str], message: str, local_repo: tuple[Path, dict[str, str]]
) -> None:
    args = ["rollback", "demo", "1.2.0", "--reason", REASON, "--repo", str(local_repo[0])]
    args += ["--index", "http://127.0.0.1:9/", "--yes", *extra]
    run = invoke(args)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert message in run.stderr
    assert run.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("package", "version", "message"),
    [("bad name", "1.0", "not a valid package name"), ("demo", "one", "not a valid version")],
)
def test_rollback_bad_arguments(package: str, version: str, message: str) -> None:
    run = invoke(["rollback", package, version, "--reason", REASON, "--yes"])
    assert run.exit_code == 2
    assert message in run.stderr


def test_unreachable_index(local_repo: tuple[Path, dict[str, str]]) -> None:
    args = ["plan", "demo", "1.2.0", "--reason", REASON, "--repo", str(local_repo[0])]
    run = invoke([*args, "--index", "http://127.0.0.1:9/"])
    assert run.exit_code == 2
    assert "cannot reach the index at http://127.0.0.1:9/" in run.stderr


def test_version_not_on_index(
    pypiserver_pkg: SeededPackage, local_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    args = ["plan", pypiserver_pkg.name, "9.9.9", "--reason", REASON, "--mode", "delete"]
    args += ["--index", pypiserver_pkg.target.url, "--repo", str(local_repo[0])]
    run = invoke(args, env_for(pypiserver_pkg))
    assert run.exit_code == 2
    assert f"{pypiserver_pkg.name} 9.9.9 is not on" in run.stderr
