"""Checkpoints (releases recorded as known good): refs to blobs on the fake GitHub, files on
a local forge, and the ``checkpoint create|list|show`` commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import invoke
from tests.fakes.github import FakeGitHub
from tests.test_forge_local import make_repo
from unrelease.checkpoints import Checkpoint, checkpoints, load, save, verified_versions
from unrelease.errors import BadInput, ServiceError
from unrelease.forges.github import GitHubForge
from unrelease.forges.local import LocalForge

GOOD = Checkpoint(
    "my-pkg", "1.1.0", "alice", "2026-12-02T03:00:00+00:00", {"verdict": "pass"}, "abc123"
)


@pytest.fixture
def gh(fake_github: FakeGitHub) -> Iterator[GitHubForge]:
    f = GitHubForge(fake_github.full_name, fake_github.token, base_url=fake_github.api_url)
    yield f
    f.close()


@pytest.fixture
def local(tmp_path: Path) -> LocalForge:
    make_repo(tmp_path / "repo")
    return LocalForge(tmp_path / "repo")


def test_github_checkpoint_is_a_ref_to_a_blob(fake_github: FakeGitHub, gh: GitHubForge) -> None:
    assert verified_versions(gh, "my-pkg") == set()
    save(gh, GOOD)
    assert "refs/unrelease/verified/my-pkg/1.1.0" in fake_github.state.refs
    assert load(gh, "my-pkg", "1.1.0") == GOOD
    assert load(gh, "my-pkg", "1.2.0") is None
    moved = Checkpoint("my-pkg", "1.1.0", "bob", "2026-12-03T03:00:00+00:00")
    save(gh, moved)  # a second record of the same version replaces the first
    assert load(gh, "my-pkg", "1.1.0") == moved
    save(gh, Checkpoint("my-pkg", "1.0.0", "bob", "2026-12-01T00:00:00+00:00"))
    save(gh, Checkpoint("my-pkg-extra", "9.0", "bob", "2026-12-01T00:00:00+00:00"))
    assert verified_versions(gh, "my-pkg") == {"1.0.0", "1.1.0"}
    assert [c.version for c in checkpoints(gh, "my-pkg")] == ["1.0.0", "1.1.0"]


def test_local_checkpoints_are_files(local: LocalForge) -> None:
    assert verified_versions(local, "my-pkg") == set()
    save(local, GOOD)
    save(local, Checkpoint("my-pkg", "1.10.0", "bob", "2026-12-04T00:00:00+00:00"))
    assert (local.state / "verified" / "my-pkg" / "1.1.0.json").is_file()
    assert load(local, "my-pkg", "1.1.0") == GOOD
    assert [c.version for c in checkpoints(local, "my-pkg")] == ["1.1.0", "1.10.0"]


def test_bad_names_and_unreadable_records_are_refused(local: LocalForge) -> None:
    with pytest.raises(BadInput):
        save(local, Checkpoint("../x", "1.0", "a", "t"))
    with pytest.raises(BadInput):
        verified_versions(local, "a/b")
    folder = local.state / "verified" / "my-pkg"
    folder.mkdir(parents=True)
    (folder / "2.0.json").write_text("not json", "utf-8")
    with pytest.raises(ServiceError, match="unreadable"):
        load(local, "my-pkg", "2.0")


def test_checkpoint_commands_on_a_local_forge(local: LocalForge) -> None:
    repo = str(local.path)
    env = {"GITHUB_ACTOR": "carol"}
    made = invoke(["checkpoint", "create", "my-pkg", "1.2.0", "--repo", repo, "--json"], env)
    assert made.exit_code == 0, made.stderr
    assert made.json["who"] == "carol" and made.json["version"] == "1.2.0"
    shown = invoke(["checkpoint", "show", "my-pkg", "1.2.0", "--repo", repo])
    assert shown.exit_code == 0 and "my-pkg 1.2.0: verified by carol" in shown.stdout
    listed = invoke(["checkpoint", "list", "my-pkg", "--repo", repo, "--json"])
    assert [c["version"] for c in listed.json] == ["1.2.0"]
    missing = invoke(["checkpoint", "show", "my-pkg", "9.9", "--repo", repo])
    assert missing.exit_code == 1 and "not recorded as verified" in missing.stderr
    bad = invoke(["checkpoint", "create", "my-pkg", "not a version", "--repo", repo])
    assert bad.exit_code == 2
