"""Rollback's default target: the newest verified release older than the bad one, else the
newest good one; the plan says which rule chose it."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import invoke
from tests.servers import SeededPackage
from tests.test_cli_local import _cwd, env_for, local_repo, rollback_args
from unrelease.checkpoints import Checkpoint, save
from unrelease.forges.local import LocalForge

FIXTURES = (_cwd, local_repo)


def test_target_is_the_newest_verified_release(
    pypiserver_pkg: SeededPackage, local_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, _ = local_repo
    args = [*rollback_args(pypiserver_pkg, repo, tmp_path / "backup"), "--dry-run", "--json"]
    plain = invoke(args, env_for(pypiserver_pkg))
    assert plain.exit_code == 0, plain.stdout + plain.stderr
    assert plain.json["to"] == "1.1.0"
    assert plain.json["to_rule"] == "newest good release before it"
    point = Checkpoint(pypiserver_pkg.name, "1.0.0", "alice", "2026-12-01T00:00:00+00:00")
    save(LocalForge(repo), point)
    save(LocalForge(repo), Checkpoint(pypiserver_pkg.name, "1.2.0", "a", "t"))  # the bad one
    run = invoke(args, env_for(pypiserver_pkg))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.json["to"] == "1.0.0"
    assert run.json["to_rule"] == "newest verified release before it"
    assert run.json["withdrawn"] == ["1.2.0", "1.1.0"]
    pinned = invoke([*args, "--to", "1.1.0"], env_for(pypiserver_pkg))
    assert pinned.json["to"] == "1.1.0" and pinned.json["to_rule"] == "--to"
