"""The local forge on a real temp git repository, and open_forge's routing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from unrelease.errors import AuthError, BadInput, ServiceError
from unrelease.forges import is_local, open_forge
from unrelease.forges.base import LabelSpec
from unrelease.forges.local import STATE_DIR, LocalForge

IDENT = ["-c", "user.name=Test", "-c", "user.email=test@localhost"]


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(repo), *IDENT, *args], capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def make_repo(
    path: Path, versions: tuple[str, ...] = ("1.0.0", "1.1.0", "1.2.0"), *, lightweight: str = ""
) -> dict[str, str]:
    """A git repo at PATH with one commit and one annotated tag ``v{version}`` per version
    (lightweight for LIGHTWEIGHT); returns version → commit sha."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    shas = {}
    for v in versions:
        (path / "VERSION").write_text(v + "\n")
        git(path, "add", "VERSION")
        git(path, "commit", "-q", "-m", f"Release {v}")
        if v == lightweight:
            git(path, "tag", f"v{v}")
        else:
            git(path, "tag", "-a", f"v{v}", "-m", f"Release {v}\n\nNotes for {v}")
        shas[v] = git(path, "rev-parse", "HEAD")
    return shas


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "repo"
    return path, make_repo(path, lightweight="1.1.0")


@pytest.fixture
def forge(repo: tuple[Path, dict[str, str]]) -> LocalForge:
    return LocalForge(repo[0])


# --- construction -------------------------------------------------------------------------------
def test_describe_and_kind(forge: LocalForge, repo: tuple[Path, dict[str, str]]) -> None:
    assert forge.kind == "local"
    assert forge.describe() == str(repo[0].resolve())
    assert forge.state == repo[0].resolve() / STATE_DIR


def test_subdirectory_resolves_to_top_level(repo: tuple[Path, dict[str, str]]) -> None:
    sub = repo[0] / "docs" / "deep"
    sub.mkdir(parents=True)
    forge = LocalForge(sub)
    assert forge.path == repo[0].resolve()


def test_missing_path_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not a directory"):
        LocalForge(tmp_path / "nope")


def test_file_is_bad_input(tmp_path: Path) -> None:
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(BadInput, match="not a directory"):
        LocalForge(f)


def test_non_git_dir_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(BadInput, match="not a git repository"):
        LocalForge(plain)


# --- tags ---------------------------------------------------------------------------------------
def test_resolve_annotated_tag(forge: LocalForge, repo: tuple[Path, dict[str, str]]) -> None:
    tag = forge.resolve_tag("v1.0.0")
    assert tag is not None
    assert tag.name == "v1.0.0"
    assert tag.sha == repo[1]["1.0.0"]  # the commit, not the tag object
    assert tag.annotated
    assert tag.message is not None
    assert tag.message.startswith("Release 1.0.0\n\nNotes for 1.0.0")


def test_resolve_lightweight_tag(forge: LocalForge, repo: tuple[Path, dict[str, str]]) -> None:
    tag = forge.resolve_tag("v1.1.0")
    assert tag is not None
    assert tag.sha == repo[1]["1.1.0"]
    assert not tag.annotated
    assert tag.message is None


@pytest.mark.parametrize("name", ["v9.9.9", "v1.0", "main", "", "--help"])
def test_resolve_missing_or_non_tag(forge: LocalForge, name: str) -> None:
    assert forge.resolve_tag(name) is None


def test_resolve_tags(forge: LocalForge, repo: tuple[Path, dict[str, str]]) -> None:
    got = forge.resolve_tags(["v1.2.0", "v1.1.0", "nope"])
    assert list(got) == ["v1.2.0", "v1.1.0", "nope"]
    assert got["v1.2.0"] is not None
    assert got["v1.2.0"].sha == repo[1]["1.2.0"]
    assert got["v1.1.0"] is not None
    assert got["nope"] is None


def test_create_tag(forge: LocalForge, repo: tuple[Path, dict[str, str]]) -> None:
    path, shas = repo
    message = "Rollback of demo 1.2.0 to 1.1.0\n\nReason: it broke — ünïcode `x` $HOME\n"
    tag = forge.create_tag("v1.1.0-rollback-20240102", shas["1.1.0"], message)
    assert tag.name == "v1.1.0-rollback-20240102"
    assert tag.sha == shas["1.1.0"]
    assert tag.annotated
    assert tag.message is not None
    assert tag.message.strip() == message.strip()
    assert git(path, "cat-file", "-t", "refs/tags/v1.1.0-rollback-20240102") == "tag"
    assert git(path, "rev-parse", "v1.1.0-rollback-20240102^{commit}") == shas["1.1.0"]
    assert forge.resolve_tag("v1.1.0-rollback-20240102") == tag


def test_create_tag_twice_fails(forge: LocalForge, repo: tuple[Path, dict[str, str]]) -> None:
    forge.create_tag("rb", repo[1]["1.0.0"], "one")
    with pytest.raises(ServiceError, match="git tag failed"):
        forge.create_tag("rb", repo[1]["1.2.0"], "two")
    again = forge.resolve_tag("rb")
    assert again is not None
    assert again.sha == repo[1]["1.0.0"]


def test_create_tag_at_unknown_commit_fails(forge: LocalForge) -> None:
    with pytest.raises(ServiceError, match="git tag failed"):
        forge.create_tag("rb", "0" * 40, "msg")


def test_create_tag_without_git_identity(
    repo: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No user.email anywhere: the forge supplies a tagger, so `git tag -a` never asks."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"):
        monkeypatch.delenv(name, raising=False)
    forge = LocalForge(repo[0])
    forge.create_tag("rb-anon", repo[1]["1.0.0"], "msg")
    tagger = git(repo[0], "for-each-ref", "--format=%(taggeremail)", "refs/tags/rb-anon")
    assert tagger == "<unrelease@localhost>"


def test_create_tag_keeps_configured_identity(repo: tuple[Path, dict[str, str]]) -> None:
    git(repo[0], "config", "user.email", "me@example.invalid")
    git(repo[0], "config", "user.name", "Me")
    forge = LocalForge(repo[0])
    forge.create_tag("rb-me", repo[1]["1.0.0"], "msg")
    tagger = git(repo[0], "for-each-ref", "--format=%(taggeremail)", "refs/tags/rb-me")
    assert tagger == "<me@example.invalid>"


def test_tag_url(forge: LocalForge) -> None:
    url = forge.tag_url("v1.0.0")
    assert url.startswith("file://")
    assert url.endswith("#refs/tags/v1.0.0")
    assert str(forge.path) in url


# --- labels -------------------------------------------------------------------------------------
def test_labels(forge: LocalForge) -> None:
    assert forge.missing_labels(["release", "critical"]) == ["release", "critical"]
    assert not (forge.state / "labels.json").exists()
    forge.create_label(LabelSpec("Release", "1d76db", "Releases"))
    assert forge.missing_labels(["release", "critical"]) == ["critical"]
    forge.create_label(LabelSpec("critical", "b60205", "Now"))
    forge.create_label(LabelSpec("critical", "000000", "changed"))
    assert forge.missing_labels(["RELEASE", "critical"]) == []
    data = json.loads((forge.state / "labels.json").read_text())
    assert data == {
        "Release": {"color": "1d76db", "description": "Releases"},
        "critical": {"color": "000000", "description": "changed"},
    }


# --- issues -------------------------------------------------------------------------------------
def test_issues(forge: LocalForge) -> None:
    assert forge.find_issues("release") == []
    one = forge.create_issue("ROLLBACK: a 1.0", "body one", ["release", "critical"])
    two = forge.create_issue("ROLLBACK: b 2.0", "body two", ["Release"])
    other = forge.create_issue("unrelated", "x", ["bug"])
    assert (one.number, two.number, other.number) == (1, 2, 3)
    assert one.state == "open"
    assert one.labels == ("release", "critical")
    assert one.url == (forge.state / "issues" / "1.md").as_uri()
    assert (forge.state / "issues" / "1.md").read_text() == "# ROLLBACK: a 1.0\n\nbody one"
    stored = json.loads((forge.state / "issues" / "1.json").read_text())
    assert stored["title"] == "ROLLBACK: a 1.0"

    assert [i.number for i in forge.find_issues("release")] == [1, 2]
    assert [i.number for i in forge.find_issues("RELEASE")] == [1, 2]
    assert [i.number for i in forge.find_issues("critical")] == [1]
    assert forge.find_issues("nope") == []

    updated = forge.update_issue(2, "new body")
    assert updated.body == "new body"
    assert updated.number == 2
    assert forge.find_issues("critical")[0].body == "body one"
    assert (forge.state / "issues" / "2.md").read_text() == "# ROLLBACK: b 2.0\n\nnew body"
    assert not list((forge.state / "issues").glob("*.tmp"))


def test_closed_issue_is_not_found(forge: LocalForge) -> None:
    forge.create_issue("t", "b", ["release"])
    path = forge.state / "issues" / "1.json"
    data = json.loads(path.read_text())
    data["state"] = "closed"
    path.write_text(json.dumps(data))
    assert forge.find_issues("release") == []
    # numbering still counts the closed one
    assert forge.create_issue("t2", "b2", ["release"]).number == 2


def test_issue_numbers_sort_numerically(forge: LocalForge) -> None:
    for i in range(11):
        forge.create_issue(f"t{i}", "b", ["release"])
    assert [i.number for i in forge.find_issues("release")] == list(range(1, 12))


def test_update_missing_issue(forge: LocalForge) -> None:
    with pytest.raises(ServiceError, match="issue 5 not found"):
        forge.update_issue(5, "body")


# --- releases -----------------------------------------------------------------------------------
def test_releases(forge: LocalForge, repo: tuple[Path, dict[str, str]]) -> None:
    assert forge.list_releases() == []
    assert forge.latest_release() is None
    a = forge.create_release(
        "v1.1.0", "1.1.0", "notes a", draft=False, prerelease=False, target=None
    )
    b = forge.create_release(
        "rb", "1.2.0 [WITHDRAWN]", "notes b", draft=True, prerelease=False, target=repo[1]["1.1.0"]
    )
    assert (a.id, b.id) == (1, 2)
    assert b.draft
    assert b.url == (forge.state / "releases" / "2.md").as_uri()
    stored = json.loads((forge.state / "releases" / "2.json").read_text())
    assert stored["target"] == repo[1]["1.1.0"]
    assert stored["latest"] is False
    assert [n.id for n in forge.list_releases()] == [1, 2]  # drafts included
    assert forge.latest_release() is None  # never made Latest by creation

    forge.make_latest(a)
    latest = forge.latest_release()
    assert latest is not None
    assert latest.id == 1
    forge.make_latest(b)
    latest = forge.latest_release()
    assert latest is not None
    assert latest.id == 2
    flags = [
        json.loads(p.read_text())["latest"]
        for p in sorted((forge.state / "releases").glob("*.json"))
    ]
    assert flags == [False, True]

    c = forge.update_release(a, title="[WITHDRAWN] 1.1.0", body="x", draft=False, prerelease=True)
    assert c.id == 1
    assert c.title == "[WITHDRAWN] 1.1.0"
    assert c.prerelease
    assert c.body == "x"
    assert c.tag == "v1.1.0"
    assert (forge.state / "releases" / "1.md").read_text() == "# [WITHDRAWN] 1.1.0\n\nx"
    assert forge.list_releases()[0] == c


# --- open_forge ---------------------------------------------------------------------------------
def test_open_forge_path(repo: tuple[Path, dict[str, str]]) -> None:
    forge = open_forge(str(repo[0]), "https://api.github.com", None)
    assert isinstance(forge, LocalForge)
    assert forge.path == repo[0].resolve()


def test_open_forge_file_url(repo: tuple[Path, dict[str, str]]) -> None:
    forge = open_forge(f"file://{repo[0]}", "https://api.github.com", None)
    assert isinstance(forge, LocalForge)
    assert forge.path == repo[0].resolve()


def test_open_forge_relative_path(
    repo: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo[0].parent)
    assert isinstance(open_forge("./repo", "https://api.github.com", None), LocalForge)
    assert isinstance(open_forge("repo", "https://api.github.com", None), LocalForge)


def test_open_forge_missing_local_path(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not a directory"):
        open_forge(str(tmp_path / "missing"), "https://api.github.com", None)


@pytest.mark.parametrize("repo_arg", [None, ""])
def test_open_forge_no_repo(repo_arg: str | None) -> None:
    with pytest.raises(BadInput, match="no repository: pass --repo"):
        open_forge(repo_arg, "https://api.github.com", "tok")


def test_open_forge_github_needs_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AuthError, match="no GitHub token for owner/name") as info:
        open_forge("owner/name", "https://api.github.com", None)
    assert info.value.exit_code == 2


def test_open_forge_github_with_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    forge = open_forge("owner/name", "http://127.0.0.1:9/api/v3", "token-1234")
    assert forge.kind == "github"
    assert forge.describe().endswith("owner/name")


@pytest.mark.parametrize(
    "repo_arg", ["owner", "owner/name/extra", "-owner/name", "own er/name", "owner/na me", "a/"]
)
def test_open_forge_bad_repo(
    repo_arg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput, match="not a valid repository"):
        open_forge(repo_arg, "https://api.github.com", "tok")


@pytest.mark.parametrize("url", ["api.github.com", "ftp://api.github.com", "", "file:///x"])
def test_open_forge_bad_github_url(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput, match="not a valid GitHub API URL"):
        open_forge("owner/name", url, "tok")


def test_is_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "owner" / "name").mkdir(parents=True)
    assert is_local("/abs/path")
    assert is_local("./rel")
    assert is_local("~/x")
    assert is_local("file:///x")
    assert is_local("owner/name")  # an existing directory wins
    assert not is_local("other/name")
