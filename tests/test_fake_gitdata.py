"""The fake's Git Data trees and commits, driven by the real client (PyGithub)."""

from __future__ import annotations

from github import Auth, Github, InputGitTreeElement

from tests.fakes.github import FakeGitHub


def test_tree_commit_ref_round_trip(fake_github: FakeGitHub) -> None:
    gh = Github(auth=Auth.Token(fake_github.token), base_url=fake_github.api_url, retry=None)
    repo = gh.get_repo(fake_github.full_name)
    blob = repo.create_git_blob("[project]\nversion = '1.0.1'\n", "utf-8")
    base = repo.create_git_tree(
        [
            InputGitTreeElement("pyproject.toml", "100644", "blob", content="version = 1"),
            InputGitTreeElement("src/pkg/__init__.py", "100644", "blob", content="x = 1\n"),
        ]
    )
    changed = repo.create_git_tree(
        [InputGitTreeElement("pyproject.toml", "100644", "blob", sha=blob.sha)], base
    )
    assert changed.sha != base.sha
    top = {e.path: e.type for e in changed.tree}
    assert top == {"pyproject.toml": "blob", "src": "tree"}
    deep = repo.get_git_tree(changed.sha, recursive=True)
    paths = {e.path: e.sha for e in deep.tree if e.type == "blob"}
    assert paths["pyproject.toml"] == blob.sha
    assert "src/pkg/__init__.py" in paths

    parent = repo.get_git_commit(fake_github.head)
    commit = repo.create_git_commit("Release 1.0.1", changed, [parent])
    assert [p.sha for p in commit.parents] == [fake_github.head]
    assert commit.tree.sha == changed.sha
    repo.create_git_ref("refs/heads/unrelease/forward-1.0.1", commit.sha)
    assert repo.get_git_ref("heads/unrelease/forward-1.0.1").object.sha == commit.sha
    assert repo.get_git_commit(commit.sha).tree.sha == changed.sha
