"""``unrelease complete --dist``: the real CLI, real twine, real pypiserver and devpi."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli_helpers import Run, invoke
from tests.servers import DevpiServer, DistFactory, PypiserverServer, Target, upload
from tests.test_forge_local import make_repo
from unrelease.forges.local import LocalForge
from unrelease.indexes import open_index
from unrelease.indexes.base import sha256_of
from unrelease.model import Record
from unrelease.texts import record_block


@pytest.fixture(params=["pypiserver", "devpi"])
def target(
    request: pytest.FixtureRequest,
) -> Target:
    if request.param == "pypiserver":
        server: PypiserverServer = request.getfixturevalue("pypiserver_server")
        return server
    devpi: DevpiServer = request.getfixturevalue("devpi_server")
    return devpi.dev


def run_complete(target: Target, name: str, dist: Path, *extra: str) -> Run:
    args = ["complete", name, "1.0.0", "--dist", str(dist), "--index", target.url, "--json"]
    env = {"UNRELEASE_INDEX_USERNAME": target.username, "UNRELEASE_INDEX_PASSWORD": target.password}
    return invoke([*args, "--yes", *extra], env=env)


def on_index(target: Target, name: str) -> dict[str, str | None]:
    index = open_index(target.url, target.kind, auth=target.auth)
    return {f.filename: f.sha256 for r in index.releases(name) for f in r.files}


def half_published(
    target: Target, dist_factory: DistFactory, package_name: str, tmp_path: Path
) -> tuple[Path, Path, Path]:
    """The wheel on the index, the sdist not; both in a dist directory."""
    sdist, wheel = sorted(dist_factory(package_name, "1.0.0"), key=lambda p: p.suffix)
    upload(target, [wheel])
    dist = tmp_path / "dist"
    dist.mkdir()
    for path in (sdist, wheel):
        shutil.copy(path, dist / path.name)
    return dist, sdist, wheel


def test_partial_publish_completed_and_rerun_uploads_nothing(
    target: Target, dist_factory: DistFactory, package_name: str, tmp_path: Path
) -> None:
    dist, sdist, wheel = half_published(target, dist_factory, package_name, tmp_path)
    assert set(on_index(target, package_name)) == {wheel.name}

    first = run_complete(target, package_name, dist)
    assert first.exit_code == 0, first.stdout + first.stderr
    assert first.json["uploaded"] == [sdist.name]
    assert first.json["present"] == [wheel.name]
    held = on_index(target, package_name)
    assert held == {sdist.name: sha256_of(sdist), wheel.name: sha256_of(wheel)}

    again = run_complete(target, package_name, dist)
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.json["uploaded"] == []
    assert sorted(again.json["present"]) == sorted([sdist.name, wheel.name])
    assert again.json["steps"] == []
    assert held == on_index(target, package_name)


def test_differing_file_refused_nothing_uploaded(
    target: Target, dist_factory: DistFactory, package_name: str, tmp_path: Path
) -> None:
    dist, _sdist, wheel = half_published(target, dist_factory, package_name, tmp_path)
    with (dist / wheel.name).open("ab") as fh:
        fh.write(b"\0not what was published")

    run = run_complete(target, package_name, dist)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert "sha256 differs" in run.stdout + run.stderr
    assert set(on_index(target, package_name)) == {wheel.name}


def test_dry_run_uploads_nothing(
    pypiserver_server: PypiserverServer,
    dist_factory: DistFactory,
    package_name: str,
    tmp_path: Path,
) -> None:
    dist, sdist, wheel = half_published(pypiserver_server, dist_factory, package_name, tmp_path)
    run = run_complete(pypiserver_server, package_name, dist, "--dry-run")
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.json["dry_run"] is True
    assert [s["name"] for s in run.json["steps"]] == [f"upload {sdist.name}"]
    assert set(on_index(pypiserver_server, package_name)) == {wheel.name}


def test_wrong_files_and_options_refused(
    pypiserver_server: PypiserverServer,
    dist_factory: DistFactory,
    package_name: str,
    tmp_path: Path,
) -> None:
    dist, _sdist, _wheel = half_published(pypiserver_server, dist_factory, package_name, tmp_path)
    other = run_complete(pypiserver_server, "another-project", dist)
    assert other.exit_code == 2
    assert "is not a file of another-project 1.0.0" in other.stdout + other.stderr
    both = invoke(["complete", package_name, "1.0.0", "--dist", str(dist), "--run", "5"])
    assert both.exit_code == 2
    assert "exactly one of --dist DIR and --run ID" in both.stdout + both.stderr


def test_completion_recorded_once_in_incident_issue(
    pypiserver_server: PypiserverServer,
    dist_factory: DistFactory,
    package_name: str,
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo)
    forge = LocalForge(repo)
    record = Record(
        id="r1",
        package=package_name,
        version="1.0.0",
        to="0.9.0",
        mode="delete",
        reason="half-done publish",
        index=pypiserver_server.url,
        severity="critical",
        who="tester",
        when="2026-01-01T00:00:00Z",
    )
    issue = forge.create_issue("incident", "Incident\n\n" + record_block(record), ["release"])
    dist, sdist, _wheel = half_published(pypiserver_server, dist_factory, package_name, tmp_path)

    run = run_complete(pypiserver_server, package_name, dist, "--repo", str(repo))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.json["uploaded"] == [sdist.name]
    assert run.json["issue"]["number"] == issue.number
    comments = forge.issue_comments(issue.number)
    assert len(comments) == 1
    assert sdist.name in comments[0] and sha256_of(sdist) in comments[0]

    again = run_complete(pypiserver_server, package_name, dist, "--repo", str(repo))
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.json["uploaded"] == []
    assert again.statuses == {"record": "already-done"}
    assert len(forge.issue_comments(issue.number)) == 1
