"""``unrelease complete --run``: the run's artifact through the (fake) Actions artifacts API,
then real twine to a real pypiserver."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import requests

from tests.cli_helpers import Run, invoke
from tests.fakes.github import FakeGitHub
from tests.servers import DistFactory, PypiserverServer, upload
from tests.test_complete import on_index
from unrelease.indexes.base import sha256_of


def run_complete(
    fake: FakeGitHub, server: PypiserverServer, name: str, run_id: int, *extra: str
) -> Run:
    args = ["complete", name, "1.0.0", "--run", str(run_id), "--index", server.url]
    args += ["--repo", fake.full_name, "--github-url", fake.api_url, "--yes", "--json"]
    env = {
        "UNRELEASE_INDEX_USERNAME": server.username,
        "UNRELEASE_INDEX_PASSWORD": server.password,
        "GITHUB_TOKEN": fake.token,
    }
    return invoke([*args, *extra], env=env)


def dists(dist_factory: DistFactory, name: str) -> tuple[Path, Path]:
    sdist, wheel = sorted(dist_factory(name, "1.0.0"), key=lambda p: p.suffix)
    return sdist, wheel


def test_artifacts_api_shape(fake_github: FakeGitHub) -> None:
    run_id = fake_github.actions.add_run()
    fake_github.artifacts.add_artifact(run_id, "dist", {"a.whl": b"x"})
    headers = {"Authorization": f"Bearer {fake_github.token}"}
    listing = requests.get(
        f"{fake_github.repo_api}/actions/runs/{run_id}/artifacts", headers=headers, timeout=10
    ).json()
    assert listing["total_count"] == 1
    art = listing["artifacts"][0]
    assert art["name"] == "dist" and art["expired"] is False
    assert art["workflow_run"]["id"] == run_id
    resp = requests.get(
        art["archive_download_url"], headers=headers, allow_redirects=False, timeout=10
    )
    assert resp.status_code == 302
    with_token = requests.get(resp.headers["Location"], headers=headers, timeout=10)
    assert with_token.status_code == 403  # storage takes no Authorization header
    body = requests.get(resp.headers["Location"], timeout=10).content
    assert zipfile.ZipFile(io.BytesIO(body)).read("a.whl") == b"x"


def test_partial_publish_completed_from_run_artifact(
    fake_github: FakeGitHub,
    pypiserver_server: PypiserverServer,
    dist_factory: DistFactory,
    package_name: str,
) -> None:
    sdist, wheel = dists(dist_factory, package_name)
    upload(pypiserver_server, [wheel])
    run_id = fake_github.actions.add_run()
    fake_github.artifacts.add_artifact(run_id, "logs", {"build.log": b"ok"})
    fake_github.artifacts.add_artifact(
        run_id,
        "python-package-distributions",
        {f"dist/{sdist.name}": sdist.read_bytes(), f"dist/{wheel.name}": wheel.read_bytes()},
    )

    run = run_complete(fake_github, pypiserver_server, package_name, run_id)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.json["uploaded"] == [sdist.name]
    assert run.json["present"] == [wheel.name]
    assert on_index(pypiserver_server, package_name) == {
        sdist.name: sha256_of(sdist),
        wheel.name: sha256_of(wheel),
    }
    again = run_complete(fake_github, pypiserver_server, package_name, run_id)
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.json["uploaded"] == []


def test_artifact_differing_from_index_refused(
    fake_github: FakeGitHub,
    pypiserver_server: PypiserverServer,
    dist_factory: DistFactory,
    package_name: str,
) -> None:
    sdist, wheel = dists(dist_factory, package_name)
    upload(pypiserver_server, [wheel])
    run_id = fake_github.actions.add_run()
    fake_github.artifacts.add_artifact(
        run_id, "dist", {sdist.name: sdist.read_bytes(), wheel.name: wheel.read_bytes() + b"!"}
    )
    run = run_complete(fake_github, pypiserver_server, package_name, run_id)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert "sha256 differs" in run.stdout + run.stderr
    assert set(on_index(pypiserver_server, package_name)) == {wheel.name}


@pytest.mark.parametrize("expired", [True, False])
def test_expired_or_missing_artifact_uploads_nothing(
    fake_github: FakeGitHub,
    pypiserver_server: PypiserverServer,
    dist_factory: DistFactory,
    package_name: str,
    expired: bool,
) -> None:
    sdist, wheel = dists(dist_factory, package_name)
    upload(pypiserver_server, [wheel])
    run_id = fake_github.actions.add_run()
    if expired:
        fake_github.artifacts.add_artifact(run_id, "dist", {sdist.name: b""}, expired=True)
    run = run_complete(fake_github, pypiserver_server, package_name, run_id)
    assert run.exit_code == 1, run.stdout + run.stderr
    said = run.stdout + run.stderr
    assert ("only expired artifacts" if expired else "no artifacts") in said
    assert set(on_index(pypiserver_server, package_name)) == {wheel.name}
