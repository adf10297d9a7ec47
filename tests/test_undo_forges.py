"""The forge methods undo uses, on GitHub (the fake, through PyGithub) and on a local git repo;
and undo end to end with the local forge and a real pypiserver."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_helpers import invoke
from tests.fakes.github import FakeGitHub
from tests.servers import SeededPackage
from tests.test_forge_local import make_repo
from unrelease.errors import AuthError, NotFound
from unrelease.forges.github import GitHubForge
from unrelease.forges.local import LocalForge
from unrelease.model import ReleaseNote
from unrelease.texts import find_record


@pytest.fixture
def gh(fake_github: FakeGitHub) -> Iterator[GitHubForge]:
    forge = GitHubForge(fake_github.full_name, fake_github.token, fake_github.api_url)
    yield forge
    forge.close()


# --- GitHub -------------------------------------------------------------------------------------
def test_github_delete_tag(fake_github: FakeGitHub, gh: GitHubForge) -> None:
    sha = fake_github.add_commit("c")
    fake_github.add_tag("v1-rollback/x", sha, annotated=True, message="m")
    gh.delete_tag("v1-rollback/x")
    assert fake_github.resolve("v1-rollback/x") is None
    assert fake_github.count("DELETE", r"^/repos/acme/widget/git/refs/tags/v1-rollback/x$") == 1
    # a missing ref: GitHub answers 422 "Reference does not exist", which is NotFound here
    with pytest.raises(NotFound, match="does not exist"):
        gh.delete_tag("v1-rollback/x")
    assert fake_github.requests[-1].status == 422


def test_github_delete_release(fake_github: FakeGitHub, gh: GitHubForge) -> None:
    sha = fake_github.add_commit("c")
    fake_github.add_tag("rb", sha)
    note = gh.create_release("rb", "1.2 [WITHDRAWN]", "b", draft=True, prerelease=False, target=sha)
    gh.delete_release(note)
    assert fake_github.requests[-1].status == 204
    assert gh.list_releases() == []
    assert fake_github.resolve("rb") == sha  # the tag stays
    with pytest.raises(NotFound):
        gh.delete_release(note)


def test_github_comments_and_close(fake_github: FakeGitHub, gh: GitHubForge) -> None:
    number = fake_github.add_issue("t", "body", ["release"])
    fake_github.add_issue("other", "x", ["release"], state="closed")
    assert gh.issue_comments(number) == []
    gh.comment_issue(number, "first")
    gh.comment_issue(number, "second")
    assert gh.issue_comments(number) == ["first", "second"]
    closed = gh.close_issue(number)
    assert closed.state == "closed" and closed.body == "body"
    again = gh.close_issue(number, body="new body")
    assert again.body == "new body" and fake_github.state.issues[number]["body"] == "new body"
    assert [i.number for i in gh.find_issues("release")] == []
    assert sorted(i.number for i in gh.find_issues("release", state="closed")) == [1, 2]
    assert sorted(i.number for i in gh.find_issues("release", state="all")) == [1, 2]


def test_github_read_only_token_cannot_undo(fake_github: FakeGitHub) -> None:
    fake_github.set_token("ghp_readonly_000000000000000000", {"contents": "read", "issues": "read"})
    forge = GitHubForge(
        fake_github.full_name, "ghp_readonly_000000000000000000", fake_github.api_url
    )
    sha = fake_github.add_commit("c")
    fake_github.add_tag("rb", sha)
    number = fake_github.add_issue("t", "b", ["release"])
    with pytest.raises(AuthError, match="contents: write"):
        forge.delete_tag("rb")
    with pytest.raises(AuthError, match="issues: write"):
        forge.comment_issue(number, "x")
    with pytest.raises(AuthError, match="issues: write"):
        forge.close_issue(number)
    assert fake_github.resolve("rb") == sha
    forge.close()


# --- local --------------------------------------------------------------------------------------
@pytest.fixture
def local(tmp_path: Path) -> tuple[LocalForge, dict[str, str]]:
    shas = make_repo(tmp_path / "repo")
    return LocalForge(tmp_path / "repo"), shas


def test_local_delete_tag(local: tuple[LocalForge, dict[str, str]]) -> None:
    forge, shas = local
    forge.create_tag("rb", shas["1.1.0"], "msg")
    forge.delete_tag("rb")
    assert forge.resolve_tag("rb") is None
    assert forge.resolve_tag("v1.1.0") is not None
    with pytest.raises(NotFound, match="does not exist"):
        forge.delete_tag("rb")


def test_local_delete_release(local: tuple[LocalForge, dict[str, str]]) -> None:
    forge, _ = local
    keep = forge.create_release("v1.0.0", "v1.0.0", "n", draft=False, prerelease=False, target=None)
    note = forge.create_release(
        "rb", "x [WITHDRAWN]", "b", draft=True, prerelease=False, target=None
    )
    forge.delete_release(note)
    assert forge.list_releases() == [keep]
    assert not (forge.state / "releases" / f"{note.id}.md").exists()
    with pytest.raises(NotFound):
        forge.delete_release(note)
    with pytest.raises(NotFound):
        forge.delete_release(ReleaseNote(id=99, tag="t", title="t", url="u"))


def test_local_comments_and_close(local: tuple[LocalForge, dict[str, str]]) -> None:
    forge, _ = local
    issue = forge.create_issue("t", "body", ["release"])
    assert forge.issue_comments(issue.number) == []
    forge.comment_issue(issue.number, "hello")
    assert forge.issue_comments(issue.number) == ["hello"]
    assert forge.find_issues("release")[0].body == "body"  # comments do not touch the body
    closed = forge.close_issue(issue.number, body="new")
    assert closed.state == "closed" and closed.body == "new"
    assert (forge.state / "issues" / "1.md").read_text() == "# t\n\nnew"
    assert forge.close_issue(issue.number).body == "new"
    assert forge.find_issues("release") == []
    assert [i.number for i in forge.find_issues("release", state="closed")] == [1]
    assert [i.number for i in forge.find_issues("release", state="all")] == [1]
    with pytest.raises(NotFound):
        forge.comment_issue(7, "x")


# --- undo end to end with the local forge -------------------------------------------------------
def test_cli_undo_with_local_forge_and_pypiserver(
    pypiserver_pkg: SeededPackage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    repo = tmp_path / "repo"
    make_repo(repo)
    forge = LocalForge(repo)
    notes = [
        forge.create_release(
            f"v{v}", f"v{v}", f"Notes {v}", draft=False, prerelease=False, target=None
        )
        for v in pypiserver_pkg.versions
    ]
    forge.make_latest(notes[-1])
    env = {
        "UNRELEASE_INDEX_USERNAME": pypiserver_pkg.target.username,
        "UNRELEASE_INDEX_PASSWORD": pypiserver_pkg.target.password,
    }
    args = ["rollback", pypiserver_pkg.name, "1.2.0", "--reason", "broken", "--mode", "delete"]
    args += ["--index", pypiserver_pkg.target.url, "--repo", str(repo), "--yes"]
    args += ["--backup-dir", str(tmp_path / "backup"), "--mark-release"]
    assert invoke(args, env).exit_code == 0

    undo = ["undo", pypiserver_pkg.name, "1.2.0", "--repo", str(repo), "--yes", "--json"]
    undo += ["--index", pypiserver_pkg.target.url]
    run = invoke(undo, env)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert set(run.statuses.values()) == {"done"}, run.statuses
    status = invoke(["status", pypiserver_pkg.name, "--index", pypiserver_pkg.target.url, "--json"])
    files = {
        f["filename"]: f["sha256"]
        for v in status.json["versions"]
        if v["version"] == "1.2.0"
        for f in v["files"]
    }
    assert files == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in pypiserver_pkg.files["1.2.0"]
    }
    assert LocalForge(repo).resolve_tag(run.json["tag"]["name"]) is None
    releases = forge.list_releases()
    assert [n.title for n in releases] == ["v1.0.0", "v1.1.0", "v1.2.0"]
    assert not any(n.draft for n in releases) and not releases[-1].prerelease
    latest = forge.latest_release()
    assert latest is not None and latest.tag == "v1.2.0"
    data = json.loads((forge.state / "issues" / "1.json").read_text())
    assert data["state"] == "closed" and len(data["comments"]) == 1
    record = find_record(data["body"])
    assert record is not None and record.undone_at

    again = invoke(undo, env)
    assert again.exit_code == 0 and set(again.statuses.values()) == {"already-done"}
