"""A passing ``unrelease guard --checkpoint`` records the release as verified, with evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.guard_dists import _Publisher, guard_dists, publish
from tests.servers import PypiserverServer
from tests.test_forge_local import make_repo
from tests.test_guard import run_guard
from unrelease.checkpoints import load, verified_versions
from unrelease.forges.local import LocalForge

FIXTURES = (guard_dists, publish)


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


def test_passing_guard_with_checkpoint_records_it(
    pypiserver_server: PypiserverServer, publish: _Publisher, tmp_path: Path
) -> None:
    pkg = publish("good")
    repo = tmp_path / "repo"
    make_repo(repo, ("1.0.0", "1.1.0"))
    run = run_guard(pypiserver_server, pkg, "--checkpoint", "--repo", str(repo))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "recorded" in run.json["decision"]["why"]
    forge = LocalForge(repo)
    assert verified_versions(forge, pkg.name) == {"1.1.0"}
    point = load(forge, pkg.name, "1.1.0")
    assert point is not None
    assert point.evidence["verdict"] == "pass" and point.evidence["checks"]["import"] == "pass"
