"""The fake GitHub answers like GitHub: driven through PyGithub and through raw HTTP."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import pytest
import requests
from github import Auth, Github, GithubException
from github.GithubException import BadCredentialsException, UnknownObjectException
from github.Repository import Repository

from tests.fakes.github import FakeGitHub


def client(fake: FakeGitHub, token: str | None = None, per_page: int = 30) -> Github:
    return Github(
        auth=Auth.Token(token or fake.token),
        base_url=fake.api_url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
        per_page=per_page,
    )


def repo_of(fake: FakeGitHub, token: str | None = None, per_page: int = 30) -> Repository:
    return client(fake, token, per_page).get_repo(fake.full_name)


def call(
    fake: FakeGitHub, method: str, path: str, token: str | None = None, **kw: Any
) -> requests.Response:
    headers = {"Authorization": f"token {token or fake.token}"}
    return requests.request(
        method, f"{fake.repo_api}{path}", headers=headers, timeout=10, allow_redirects=False, **kw
    )


def on_own_host(fake: FakeGitHub, url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname == "127.0.0.1" and parts.port == fake.port


# ---------------------------------------------------------------------- basics and auth
def test_repository_user_and_rate_limit(fake_github: FakeGitHub) -> None:
    gh = client(fake_github)
    repo = gh.get_repo("acme/widget")
    assert repo.default_branch == "main"
    assert repo.html_url == f"{fake_github.web_url}/acme/widget"
    assert gh.get_user().login == "octo-bot"
    assert gh.get_rate_limit().resources.core.limit == 5000
    assert fake_github.count("GET") == 3


def test_lazy_client_sends_nothing_until_a_field_is_read(fake_github: FakeGitHub) -> None:
    repo = repo_of(fake_github)
    ref = repo.get_git_ref("tags/nope")
    assert fake_github.requests == []
    with pytest.raises(UnknownObjectException):
        _ = ref.object
    assert fake_github.count("GET", r"/git/ref/tags/nope$") == 1


def test_unknown_token_is_bad_credentials(fake_github: FakeGitHub) -> None:
    repo = repo_of(fake_github, token="ghp_wrong")
    with pytest.raises(BadCredentialsException) as info:
        repo.get_labels().get_page(0)
    assert info.value.status == 401
    assert info.value.data["message"] == "Bad credentials"
    assert fake_github.requests[-1].status == 401


def test_missing_authorization_and_bearer_scheme(fake_github: FakeGitHub) -> None:
    anon = requests.get(f"{fake_github.repo_api}/labels", timeout=10)
    assert anon.status_code == 401
    assert anon.json()["message"] == "Requires authentication"
    bearer = requests.get(
        f"{fake_github.repo_api}/labels",
        headers={"Authorization": f"Bearer {fake_github.token}"},
        timeout=10,
    )
    assert bearer.status_code == 200


def test_removed_token_is_rejected(fake_github: FakeGitHub) -> None:
    fake_github.set_token("ghp_other")
    assert call(fake_github, "GET", "/labels", token="ghp_other").status_code == 200
    fake_github.remove_token("ghp_other")
    assert call(fake_github, "GET", "/labels", token="ghp_other").status_code == 401


def test_read_only_token_gets_403_on_writes(fake_github: FakeGitHub) -> None:
    fake_github.set_token("ghp_ro", {"contents": "read", "issues": "read"})
    repo = repo_of(fake_github, token="ghp_ro")
    assert list(repo.get_labels()) == []
    with pytest.raises(GithubException) as info:
        repo.create_label("release", "ff0000")
    assert info.value.status == 403
    assert info.value.data["message"] == "Resource not accessible by integration"
    assert (info.value.headers or {})["x-accepted-github-permissions"] == "issues=write"
    resp = call(fake_github, "POST", "/git/refs", token="ghp_ro", json={"ref": "refs/tags/x"})
    assert resp.status_code == 403
    assert resp.headers["X-Accepted-GitHub-Permissions"] == "contents=write"


def test_token_without_an_area_cannot_even_read_it(fake_github: FakeGitHub) -> None:
    fake_github.set_token("ghp_contents_only", {"contents": "write"})
    assert call(fake_github, "GET", "/issues", token="ghp_contents_only").status_code == 403
    assert call(fake_github, "GET", "/releases", token="ghp_contents_only").status_code == 200
    assert call(fake_github, "GET", "", token="ghp_contents_only").status_code == 200


def test_other_repository_and_unknown_route_are_404(fake_github: FakeGitHub) -> None:
    other = requests.get(
        f"{fake_github.api_url}/repos/acme/other",
        headers={"Authorization": f"token {fake_github.token}"},
        timeout=10,
    )
    assert other.status_code == 404
    assert other.json()["message"] == "Not Found"
    assert "documentation_url" in other.json()
    assert call(fake_github, "GET", "/nothing/here").status_code == 404


def test_paths_without_the_api_prefix_are_served(fake_github: FakeGitHub) -> None:
    resp = requests.get(
        f"{fake_github.web_url}/repos/acme/widget",
        headers={"Authorization": f"token {fake_github.token}"},
        timeout=10,
    )
    assert resp.json()["full_name"] == "acme/widget"


def test_malformed_json_is_400(fake_github: FakeGitHub) -> None:
    resp = call(fake_github, "POST", "/labels", data=b"{nope")
    assert resp.status_code == 400
    assert resp.json()["message"] == "Problems parsing JSON"


# ---------------------------------------------------------------------- git
def test_lightweight_and_annotated_refs(fake_github: FakeGitHub) -> None:
    sha = fake_github.add_commit("release 1.0")
    tag_sha = fake_github.add_tag("v1.0", sha, annotated=True, message="1.0\n")
    assert fake_github.add_tag("v1.0-light", sha) == sha
    repo = repo_of(fake_github)
    annotated = repo.get_git_ref("tags/v1.0")
    assert annotated.object.type == "tag"
    assert annotated.object.sha == tag_sha
    tag = repo.get_git_tag(tag_sha)
    assert (tag.tag, tag.message, tag.object.sha, tag.object.type) == (
        "v1.0",
        "1.0\n",
        sha,
        "commit",
    )
    light = repo.get_git_ref("tags/v1.0-light")
    assert (light.object.type, light.object.sha) == ("commit", sha)
    assert on_own_host(fake_github, light.url)
    with pytest.raises(UnknownObjectException):
        repo.get_git_tag(sha)
    with pytest.raises(ValueError, match="unknown commit"):
        fake_github.add_tag("bad", "0" * 40)


def test_matching_refs_lists_by_prefix(fake_github: FakeGitHub) -> None:
    sha = fake_github.head
    for name in ("v1.0", "v1.0-rollback-2024-05-01", "v1.01", "v2.0"):
        fake_github.add_tag(name, sha)
    repo = repo_of(fake_github)
    names = [r.ref for r in repo.get_git_matching_refs("tags/v1.0")]
    assert names == ["refs/tags/v1.0", "refs/tags/v1.0-rollback-2024-05-01", "refs/tags/v1.01"]
    assert list(repo.get_git_matching_refs("tags/v9")) == []
    assert fake_github.count("GET", r"/git/matching-refs/tags/v1\.0$") == 1


def test_create_tag_object_then_ref_and_delete(fake_github: FakeGitHub) -> None:
    sha = fake_github.head
    repo = repo_of(fake_github)
    tag = repo.create_git_tag("v2.0", "two", sha, "commit")
    ref = repo.create_git_ref("refs/tags/v2.0", tag.sha)
    assert ref.object.type == "tag"
    state = fake_github.state
    assert state.tags["v2.0"] == {
        "sha": sha,
        "annotated": True,
        "message": "two",
        "object_sha": tag.sha,
    }
    with pytest.raises(GithubException) as info:
        repo.create_git_ref("refs/tags/v2.0", sha)
    assert info.value.status == 422
    assert info.value.data["message"] == "Reference already exists"
    assert info.value.data["errors"][0]["code"] == "already_exists"
    ref.delete()
    assert "refs/tags/v2.0" not in fake_github.state.refs
    assert fake_github.requests[-1].status == 204
    assert call(fake_github, "DELETE", "/git/refs/tags/v2.0").status_code == 422


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"ref": "refs/tags/x"}, "Validation Failed"),
        ({"ref": "tags/x", "sha": "a" * 40}, "Reference name is invalid"),
        ({"ref": "refs/tags/x", "sha": "a" * 40}, "Object does not exist"),
    ],
)
def test_create_ref_validation(
    fake_github: FakeGitHub, payload: dict[str, str], message: str
) -> None:
    resp = call(fake_github, "POST", "/git/refs", json=payload)
    assert resp.status_code == 422
    assert resp.json()["message"] == message


def test_create_tag_object_validation(fake_github: FakeGitHub) -> None:
    sha = fake_github.head
    base = {"tag": "t", "message": "m", "object": sha, "type": "commit"}
    assert call(fake_github, "POST", "/git/tags", json={"tag": "t"}).status_code == 422
    bad_type = call(fake_github, "POST", "/git/tags", json={**base, "type": "x"})
    assert bad_type.json()["errors"][0]["field"] == "type"
    missing = call(fake_github, "POST", "/git/tags", json={**base, "object": "b" * 40})
    assert missing.json()["message"] == "Object does not exist"
    tagger = {"name": "Rel Bot", "email": "bot@example.org"}
    made = call(fake_github, "POST", "/git/tags", json={**base, "tagger": tagger})
    assert made.status_code == 201
    assert made.json()["tagger"]["name"] == "Rel Bot"


def test_commits(fake_github: FakeGitHub) -> None:
    first = fake_github.head
    sha = fake_github.add_commit("second")
    repo = repo_of(fake_github)
    commit = repo.get_commit(sha)
    assert commit.commit.message == "second"
    assert [p.sha for p in commit.parents] == [first]
    assert repo.get_commit("main").html_url.endswith(sha)
    assert repo.get_commit(sha[:10]).html_url.endswith(sha)
    resp = call(fake_github, "GET", f"/commits/{'c' * 40}")
    assert resp.status_code == 422
    assert resp.json()["message"].startswith("No commit found for SHA")
    assert repo.get_git_commit(sha).message == "second"
    assert call(fake_github, "GET", f"/git/commits/{'c' * 40}").status_code == 404
    assert call(fake_github, "GET", "/git/refs/heads/main").json()["object"]["sha"] == sha


# ---------------------------------------------------------------------- labels
def test_labels_paginate_with_absolute_links(fake_github: FakeGitHub) -> None:
    for i in range(150):
        fake_github.add_label(f"label-{i:03}", "00ff00", f"number {i}")
    repo = repo_of(fake_github)
    names = [label.name for label in repo.get_labels()]
    assert names == [f"label-{i:03}" for i in range(150)]
    assert fake_github.count("GET", r"/labels$") == 5  # 30 per page by default
    assert [r.query.get("page") for r in fake_github.requests] == [None, "2", "3", "4", "5"]

    resp = call(fake_github, "GET", "/labels", params={"per_page": 100, "page": 2})
    assert len(resp.json()) == 50
    links = requests.utils.parse_header_links(resp.headers["Link"])
    by_rel = {link["rel"]: link["url"] for link in links}
    assert set(by_rel) == {"prev", "first"}
    assert all(on_own_host(fake_github, url) for url in by_rel.values())
    assert "per_page=100" in by_rel["prev"]
    assert "page=1" in by_rel["first"]
    first = call(fake_github, "GET", "/labels", params={"per_page": 1000})
    assert len(first.json()) == 100  # per_page is capped at 100
    assert {link["rel"] for link in requests.utils.parse_header_links(first.headers["Link"])} == {
        "next",
        "last",
    }
    odd = call(fake_github, "GET", "/labels", params={"per_page": "x"})
    assert len(odd.json()) == 30


def test_single_page_has_no_link_header(fake_github: FakeGitHub) -> None:
    fake_github.add_label("release", "0000ff", "releases")
    resp = call(fake_github, "GET", "/labels")
    assert "Link" not in resp.headers
    assert resp.json()[0] == {
        "id": resp.json()[0]["id"],
        "node_id": resp.json()[0]["node_id"],
        "url": f"{fake_github.repo_api}/labels/release",
        "name": "release",
        "color": "0000ff",
        "default": False,
        "description": "releases",
    }


def test_label_get_and_duplicate_is_case_insensitive(fake_github: FakeGitHub) -> None:
    repo = repo_of(fake_github)
    repo.create_label("Critical", "B60205", "drop everything")
    assert repo.get_label("critical").description == "drop everything"
    assert fake_github.state.labels["Critical"]["color"] == "b60205"
    with pytest.raises(GithubException) as info:
        repo.create_label("CRITICAL", "000000")
    assert info.value.status == 422
    assert info.value.data["message"] == "Validation Failed"
    assert info.value.data["errors"] == [
        {"resource": "Label", "code": "already_exists", "field": "name"}
    ]
    with pytest.raises(UnknownObjectException):
        _ = repo.get_label("absent").color
    assert call(fake_github, "POST", "/labels", json={"color": "ffffff"}).status_code == 422
    bad = call(fake_github, "POST", "/labels", json={"name": "x", "color": "zz"})
    assert bad.json()["errors"][0]["code"] == "invalid"


# ---------------------------------------------------------------------- issues
def test_issue_listing_filters_and_includes_prs(fake_github: FakeGitHub) -> None:
    a = fake_github.add_issue("a", "body a", ["release", "critical"])
    fake_github.add_issue("b", "body b", ["release"])
    pr = fake_github.add_issue("pr", "pr body", ["release", "critical"], is_pr=True)
    fake_github.add_issue("closed", "", ["release", "critical"], state="closed")
    repo = repo_of(fake_github)
    both = list(repo.get_issues(state="open", labels=["release", "CRITICAL"]))
    assert sorted(i.number for i in both) == [a, pr]
    assert [i.number for i in both] == [pr, a]  # newest first, like GitHub
    pull = next(i for i in both if i.number == pr)
    assert pull.pull_request is not None
    assert pull.html_url.endswith(f"/pull/{pr}")
    raw = call(fake_github, "GET", "/issues", params={"labels": "release"}).json()
    assert {"pull_request" in i for i in raw} == {True, False}
    assert len(list(repo.get_issues(state="all"))) == 4
    assert len(list(repo.get_issues(state="closed"))) == 1
    asc = call(fake_github, "GET", "/issues", params={"direction": "asc", "sort": "updated"})
    assert asc.json()[0]["number"] == a
    assert call(fake_github, "GET", "/issues", params={"state": "bogus"}).status_code == 422


def test_issues_paginate(fake_github: FakeGitHub) -> None:
    for i in range(150):
        fake_github.add_issue(f"issue {i}", "", ["release"])
    repo = repo_of(fake_github, per_page=100)
    assert len(list(repo.get_issues(state="open", labels=["release"]))) == 150
    assert fake_github.count("GET", r"/issues$") == 2


def test_create_issue_makes_missing_labels_grey(fake_github: FakeGitHub) -> None:
    fake_github.add_label("release", "0e8a16", "a release")
    repo = repo_of(fake_github)
    issue = repo.create_issue("Rollback 1.2.0", "the record", labels=["Release", "critical"])
    assert [label.name for label in issue.labels] == ["release", "critical"]
    assert fake_github.state.labels["critical"]["color"] == "ededed"
    assert issue.html_url == f"{fake_github.repo_web}/issues/{issue.number}"
    assert on_own_host(fake_github, issue.url)
    assert fake_github.requests[-1].status == 201
    assert fake_github.requests[-1].body["labels"] == ["Release", "critical"]
    assert call(fake_github, "POST", "/issues", json={"body": "no title"}).status_code == 422
    bad = call(fake_github, "POST", "/issues", json={"title": "t", "labels": "x"})
    assert bad.status_code == 422


def test_get_edit_and_comment_on_issue(fake_github: FakeGitHub) -> None:
    n = fake_github.add_issue("t", "old", ["release"])
    repo = repo_of(fake_github)
    issue = repo.get_issue(n)
    issue.edit(body="new", title="T2", state="closed", labels=["other"])
    got = repo.get_issue(n)
    assert (got.body, got.title, got.state) == ("new", "T2", "closed")
    assert [label.name for label in got.labels] == ["other"]
    assert got.closed_at is not None
    comment = got.create_comment("hello")
    fake_github.add_comment(n, "second")
    assert [c.body for c in got.get_comments()] == ["hello", "second"]
    assert comment.html_url.startswith(f"{fake_github.repo_web}/issues/{n}#issuecomment-")
    assert fake_github.state.comments == {n: ["hello", "second"]}
    assert fake_github.state.issues[n]["state"] == "closed"
    issue.edit(state="open")
    assert repo.get_issue(n).closed_at is None
    with pytest.raises(UnknownObjectException):
        _ = repo.get_issue(999).title
    for payload in ({"state": "done"}, {"title": ""}, {"labels": "x"}):
        assert call(fake_github, "PATCH", f"/issues/{n}", json=payload).status_code == 422
    assert call(fake_github, "POST", f"/issues/{n}/comments", json={}).status_code == 422
    assert call(fake_github, "GET", "/issues/999/comments").status_code == 404
    with pytest.raises(Exception, match="Not Found"):
        fake_github.add_comment(999, "x")


# ---------------------------------------------------------------------- releases
def test_releases_list_drafts_only_for_writers(fake_github: FakeGitHub) -> None:
    fake_github.add_release("v1.0", "1.0")
    draft = fake_github.add_release("v1.1", "1.1 draft", draft=True)
    repo = repo_of(fake_github)
    listed = list(repo.get_releases())
    assert [r.tag_name for r in listed] == ["v1.1", "v1.0"]  # newest first
    shown = next(r for r in listed if r.id == draft)
    assert shown.draft
    assert shown.published_at is None
    assert "/releases/tag/untagged-" in shown.html_url
    fake_github.set_token("ghp_reader", {"contents": "read"})
    reader = repo_of(fake_github, token="ghp_reader")
    assert [r.tag_name for r in reader.get_releases()] == ["v1.0"]
    assert call(fake_github, "GET", f"/releases/{draft}", token="ghp_reader").status_code == 404
    assert "refs/tags/v1.1" not in fake_github.state.refs  # a draft creates no tag


def test_latest_release_rules(fake_github: FakeGitHub) -> None:
    repo = repo_of(fake_github)
    with pytest.raises(UnknownObjectException):
        _ = repo.get_latest_release().tag_name
    fake_github.add_release("v1.0", "1.0")
    fake_github.add_release("v1.1", "1.1")
    fake_github.add_release("v2.0rc1", "rc", prerelease=True)
    fake_github.add_release("v2.0", "2.0 draft", draft=True)
    assert repo.get_latest_release().tag_name == "v1.1"  # newest published, not pre
    marked = fake_github.add_release("v0.9", "0.9", latest=True)
    assert repo.get_latest_release().id == marked
    assert fake_github.state.latest_release_id == marked


def test_release_by_tag_finds_published_only(fake_github: FakeGitHub) -> None:
    fake_github.add_release("v1.0", "1.0", body="notes")
    fake_github.add_release("v1.1", "draft", draft=True)
    repo = repo_of(fake_github)
    assert repo.get_release("v1.0").body == "notes"
    with pytest.raises(UnknownObjectException):
        repo.get_release("v1.1")


def test_create_release_make_latest_false_keeps_latest(fake_github: FakeGitHub) -> None:
    first = fake_github.add_release("v1.0", "1.0")
    repo = repo_of(fake_github)
    rel = repo.create_git_release(
        "v1.0-rollback", "withdrawn", "text", make_latest="false", target_commitish="main"
    )
    assert rel.html_url == f"{fake_github.repo_web}/releases/tag/v1.0-rollback"
    assert on_own_host(fake_github, rel.url)
    assert on_own_host(fake_github, rel.upload_url)
    assert repo.get_latest_release().id == first
    assert fake_github.state.tags["v1.0-rollback"]["sha"] == fake_github.head
    newer = repo.create_git_release("v1.2", "1.2", "x")  # make_latest defaults to "true"
    assert repo.get_latest_release().id == newer.id
    repo.create_git_release("v1.3", "1.3", "x", make_latest="legacy")
    assert repo.get_latest_release().tag_name == "v1.3"
    with pytest.raises(GithubException) as info:
        repo.create_git_release("v1.2", "again", "x")
    assert info.value.status == 422
    assert info.value.data["errors"][0] == {
        "resource": "Release",
        "code": "already_exists",
        "field": "tag_name",
    }
    assert repo.create_git_release("v1.2", "a draft may share it", "x", draft=True).draft


def test_create_release_validation(fake_github: FakeGitHub) -> None:
    assert call(fake_github, "POST", "/releases", json={"name": "x"}).status_code == 422
    bad = call(fake_github, "POST", "/releases", json={"tag_name": "v1", "make_latest": "yes"})
    assert bad.json()["errors"][0]["field"] == "make_latest"
    nowhere = call(
        fake_github, "POST", "/releases", json={"tag_name": "v1", "target_commitish": "nope"}
    )
    assert nowhere.json()["errors"][0]["field"] == "target_commitish"


def test_first_release_with_make_latest_false(fake_github: FakeGitHub) -> None:
    repo = repo_of(fake_github)
    only = repo.create_git_release("v1.0", "1.0", "x", make_latest="false")
    assert repo.get_latest_release().id == only.id  # nothing else could be Latest


def test_update_release_publish_and_latest(fake_github: FakeGitHub) -> None:
    old = fake_github.add_release("v1.0", "1.0")
    draft = fake_github.add_release("v1.1", "1.1", draft=True, target_commitish=fake_github.head)
    repo = repo_of(fake_github)
    quiet = repo.get_release(draft).update_release(
        "1.1", "published quietly", draft=False, make_latest="false", tag_name="v1.1"
    )
    assert quiet.published_at is not None
    assert repo.get_latest_release().id == old
    assert "refs/tags/v1.1" in fake_github.state.refs
    other = fake_github.add_release("v1.2", "1.2", draft=True)
    repo.get_release(other).update_release("1.2", "published", draft=False, tag_name="v1.2")
    assert repo.get_latest_release().id == other  # publishing defaults to Latest
    call(fake_github, "PATCH", f"/releases/{old}", json={"make_latest": "true"})
    assert repo.get_latest_release().id == old
    back = repo.get_release(old).update_release("1.0", "again a draft", draft=True, tag_name="v1.0")
    assert back.draft
    assert back.published_at is None
    assert repo.get_latest_release().id == other
    call(fake_github, "PATCH", f"/releases/{other}", json={"make_latest": "false"})
    assert repo.get_latest_release().id == draft
    conflict = call(fake_github, "PATCH", f"/releases/{other}", json={"tag_name": "v1.1"})
    assert conflict.status_code == 422


def test_immutable_release_allows_title_notes_prerelease_and_latest(
    fake_github: FakeGitHub,
) -> None:
    rid = fake_github.add_release("v1.0", "1.0", immutable=True)
    ok = call(fake_github, "PATCH", f"/releases/{rid}", json={"name": "new", "body": "b"})
    assert ok.json()["name"] == "new"
    assert ok.json()["immutable"] is True
    pre = call(fake_github, "PATCH", f"/releases/{rid}", json={"prerelease": True})
    assert pre.status_code == 200
    latest = call(fake_github, "PATCH", f"/releases/{rid}", json={"make_latest": "true"})
    assert latest.status_code == 200
    for change in ({"draft": True}, {"tag_name": "v1.0-moved"}):
        refused = call(fake_github, "PATCH", f"/releases/{rid}", json=change)
        assert refused.status_code == 422
        assert "immutable release" in refused.json()["message"]


def test_delete_release(fake_github: FakeGitHub) -> None:
    rid = fake_github.add_release("v1.0", "1.0", latest=True)
    repo = repo_of(fake_github)
    repo.get_release(rid).delete_release()
    assert fake_github.state.releases == {}
    assert fake_github.state.latest_release_id is None
    assert call(fake_github, "DELETE", f"/releases/{rid}").status_code == 404


# ---------------------------------------------------------------------- faults, log, lifecycle
def test_fault_injection_once_forever_and_custom(fake_github: FakeGitHub) -> None:
    repo = repo_of(fake_github)
    fake_github.fail("GET", r"/labels$")
    with pytest.raises(GithubException) as info:
        list(repo.get_labels())
    assert info.value.status == 500
    assert info.value.data["message"] == "Server Error"
    assert list(repo.get_labels()) == []
    fake_github.fail("*", r"/issues", status=502, times=None)
    for _ in range(3):
        assert call(fake_github, "GET", "/issues").status_code == 502
    fake_github.fail(
        "POST", r"/git/refs$", status=409, body={"message": "busy"}, headers={"X": "1"}
    )
    resp = call(fake_github, "POST", "/git/refs", json={})
    assert (resp.status_code, resp.json(), resp.headers["X"]) == (409, {"message": "busy"}, "1")


def test_request_log_helpers(fake_github: FakeGitHub) -> None:
    repo = repo_of(fake_github)
    repo.create_label("release", "00ff00", "d")
    list(repo.get_labels())
    log = fake_github.requests
    assert [(r.method, r.path, r.status) for r in log] == [
        ("POST", "/repos/acme/widget/labels", 201),
        ("GET", "/repos/acme/widget/labels", 200),
    ]
    assert log[0].body == {"name": "release", "color": "00ff00", "description": "d"}
    assert [r.method for r in fake_github.writes()] == ["POST"]
    assert fake_github.count() == 2
    assert fake_github.count("get") == 1
    assert fake_github.count(path_regex=r"/labels") == 2
    fake_github.clear_log()
    assert fake_github.requests == []


def test_latency_is_added_server_side() -> None:
    with FakeGitHub(latency_s=0.05) as fake:
        start = time.monotonic()
        assert call(fake, "GET", "/labels").status_code == 200
        assert time.monotonic() - start >= 0.05


def test_context_manager_stops_the_server() -> None:
    with FakeGitHub(owner="o", repo="r", token="t0k") as fake:
        url = fake.repo_api
        assert fake.full_name == "o/r"
        resp = requests.get(url, headers={"Authorization": "token t0k"}, timeout=10)
        assert resp.json()["url"] == url
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)


def test_quick_looks_resolve_and_latest(fake_github: FakeGitHub) -> None:
    sha = fake_github.add_commit("1.0")
    fake_github.add_tag("v1.0", sha, annotated=True, message="m")
    fake_github.add_tag("light", sha)
    assert fake_github.resolve("v1.0") == sha
    assert fake_github.resolve("light") == sha
    assert fake_github.resolve("nope") is None
    assert fake_github.latest() is None
    rid = fake_github.add_release("v1.0", "1.0")
    latest = fake_github.latest()
    assert latest is not None
    assert (latest["id"], latest["tag_name"]) == (rid, "v1.0")
