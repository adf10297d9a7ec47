"""The fake GitHub's newer parts answer like GitHub, over raw HTTP: git blobs, refs to blobs,
ref updates, collaborator permissions, faults at the N-th request, tag rulesets, and the
GraphQL API through PyGithub's own GraphQL call."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
import requests
from github import Auth, Github

from tests.fakes.github import FakeGitHub


def call(fake: FakeGitHub, method: str, path: str, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"token {fake.token}"}
    return requests.request(method, f"{fake.repo_api}{path}", headers=headers, timeout=10, **kw)


def test_blobs_have_githubs_shapes(fake_github: FakeGitHub) -> None:
    made = call(fake_github, "POST", "/git/blobs", json={"content": "héllo", "encoding": "utf-8"})
    assert made.status_code == 201
    sha = made.json()["sha"]
    data = "héllo".encode()
    git_id = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id
    assert sha == git_id
    assert made.json()["url"] == f"{fake_github.repo_api}/git/blobs/{sha}"
    got = call(fake_github, "GET", f"/git/blobs/{sha}").json()
    assert got["encoding"] == "base64"
    assert base64.b64decode(got["content"]).decode() == "héllo"
    assert got["size"] == len("héllo".encode())
    b64 = call(
        fake_github,
        "POST",
        "/git/blobs",
        json={"content": base64.b64encode(b"h\xc3\xa9llo").decode(), "encoding": "base64"},
    )
    assert b64.json()["sha"] == sha  # the same bytes: the same git object id
    bad = call(fake_github, "POST", "/git/blobs", json={"content": "x", "encoding": "latin-1"})
    assert bad.status_code == 422
    assert call(fake_github, "GET", "/git/blobs/" + "0" * 40).status_code == 404


def test_refs_to_blobs_are_created_once_and_updated_by_force(fake_github: FakeGitHub) -> None:
    sha1 = call(fake_github, "POST", "/git/blobs", json={"content": "1"}).json()["sha"]
    sha2 = call(fake_github, "POST", "/git/blobs", json={"content": "2"}).json()["sha"]
    ref = "refs/unrelease/lock/pkg/1.0"
    assert call(fake_github, "POST", "/git/refs", json={"ref": ref, "sha": sha1}).status_code == 201
    again = call(fake_github, "POST", "/git/refs", json={"ref": ref, "sha": sha2})
    assert again.status_code == 422
    assert again.json()["message"] == "Reference already exists"
    got = call(fake_github, "GET", "/git/ref/unrelease/lock/pkg/1.0").json()
    assert got["object"] == {
        "sha": sha1,
        "type": "blob",
        "url": f"{fake_github.repo_api}/git/blobs/{sha1}",
    }
    slow = call(fake_github, "PATCH", "/git/refs/unrelease/lock/pkg/1.0", json={"sha": sha2})
    assert slow.status_code == 422  # not a fast forward without force
    moved = call(
        fake_github, "PATCH", "/git/refs/unrelease/lock/pkg/1.0", json={"sha": sha2, "force": True}
    )
    assert moved.json()["object"]["sha"] == sha2
    assert call(fake_github, "DELETE", "/git/refs/unrelease/lock/pkg/1.0").status_code == 204
    gone = call(fake_github, "PATCH", "/git/refs/unrelease/lock/pkg/1.0", json={"sha": sha1})
    assert gone.status_code == 422


@pytest.mark.parametrize(
    ("role", "legacy"),
    [("admin", "admin"), ("maintain", "write"), ("write", "write"), ("triage", "read")],
)
def test_collaborator_permission(fake_github: FakeGitHub, role: str, legacy: str) -> None:
    fake_github.set_permission("dev", role)
    got = call(fake_github, "GET", "/collaborators/dev/permission").json()
    assert (got["permission"], got["role_name"], got["user"]["login"]) == (legacy, role, "dev")
    fake_github.set_permission("dev", None)
    assert call(fake_github, "GET", "/collaborators/dev/permission").status_code == 404


def test_faults_land_on_the_nth_request(fake_github: FakeGitHub) -> None:
    fake_github.fail("GET", r"/labels$", 503, after=2, retry_after=7)
    codes = [call(fake_github, "GET", "/labels") for _ in range(4)]
    assert [r.status_code for r in codes] == [200, 200, 503, 200]
    assert codes[2].headers["Retry-After"] == "7"
    fake_github.fail("GET", r"/labels$", kind="reset")
    with pytest.raises(requests.ConnectionError):
        call(fake_github, "GET", "/labels")
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake_github.fail("GET", "x", kind="nope")


def test_tag_rulesets_block_creation_only(fake_github: FakeGitHub) -> None:
    fake_github.add_tag("v1", fake_github.head)
    fake_github.add_tag_ruleset("v*")
    made = call(
        fake_github, "POST", "/git/refs", json={"ref": "refs/tags/v2", "sha": fake_github.head}
    )
    assert made.status_code == 422
    assert made.json()["message"].startswith("Repository rule violations found")
    other = call(
        fake_github, "POST", "/git/refs", json={"ref": "refs/tags/x", "sha": fake_github.head}
    )
    assert other.status_code == 201
    assert call(fake_github, "DELETE", "/git/refs/tags/v1").status_code == 204


def test_graphql_through_pygithub(fake_github: FakeGitHub) -> None:
    gh = Github(
        auth=Auth.Token(fake_github.token),
        base_url=fake_github.api_url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    fake_github.add_release("v1", "one", latest=True)
    _, data = gh.requester.graphql_query(
        "query($o: String!, $n: String!) { viewer { login } "
        "repository(owner: $o, name: $n) { latestRelease { tagName isLatest databaseId } } }",
        {"o": "acme", "n": "widget"},
    )
    repo = data["data"]["repository"]
    assert data["data"]["viewer"]["login"] == fake_github.login
    assert repo["latestRelease"]["tagName"] == "v1"
    assert repo["latestRelease"]["isLatest"] is True
    assert fake_github.requests[-1].path == "/graphql"
