"""GitHubForge.view: everything a rollback reads first, in one GraphQL request, against the
fake's GraphQL API (GitHub's schema names, executed by graphql-core)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.fakes.github import FakeGitHub, seed_repo
from unrelease.errors import AuthError, NotFound
from unrelease.forges.github import GitHubForge
from unrelease.forges.github_view import MAX_PAGES, view_query
from unrelease.model import TagInfo


@pytest.fixture
def forge(fake_github: FakeGitHub) -> Iterator[GitHubForge]:
    f = GitHubForge(fake_github.full_name, fake_github.token, base_url=fake_github.api_url)
    yield f
    f.close()


def test_view_is_one_request_and_reads_everything(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    shas = seed_repo(fake_github, ["1.0.0", "1.1.0"])
    fake_github.add_tag("light", shas["1.0.0"])
    fake_github.add_label("incident")
    bot = fake_github.add_issue(
        "bot", "record", ["incident"], author="github-actions[bot]", author_type="Bot"
    )
    human = fake_github.add_issue("human", "", ["incident", "x"], author="mallory")
    fake_github.add_issue("closed", "", ["incident"], state="closed")
    fake_github.add_issue("a pr", "", ["incident"], is_pr=True)
    fake_github.add_issue("other", "", ["other"])
    draft = fake_github.add_release("v1.2.0", "draft", draft=True, prerelease=True)

    view = forge.view("incident", ["incident", "Missing"], ["v1.0.0", "light", "v9"])

    assert [(r.method, r.path) for r in fake_github.requests] == [("POST", "/graphql")]
    assert view.identity == fake_github.login
    assert [(i.number, i.author, i.author_is_bot) for i in view.issues] == [
        (bot, "github-actions[bot]", True),
        (human, "mallory", False),
    ]
    assert view.issues[0].body == "record"
    assert view.issues[0].url == f"{fake_github.repo_web}/issues/{bot}"
    assert view.issues[1].labels == ("incident", "x")
    assert view.labels == frozenset({"incident"})
    assert [n.tag for n in view.notes] == ["v1.2.0", "v1.1.0", "v1.0.0"]
    assert view.notes[0].id == draft  # the REST id: updates go through REST
    assert (view.notes[0].draft, view.notes[0].prerelease) == (True, True)
    assert view.notes[1].body == "Notes for 1.1.0"
    assert view.latest is not None and view.latest.tag == "v1.1.0"
    assert view.tags == {
        "v1.0.0": TagInfo("v1.0.0", shas["1.0.0"], annotated=True, message="Release 1.0.0"),
        "light": TagInfo("light", shas["1.0.0"], annotated=False),
        "v9": None,
    }


def test_view_matches_the_rest_reads(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    seed_repo(fake_github, ["1.0.0", "2.0.0"])
    fake_github.add_issue("i", "b", ["incident"])
    fake_github.add_release("v3", "d", draft=True)
    view = forge.view("incident", ["incident"], ["v1.0.0", "v2.0.0"])
    assert list(view.notes) == forge.list_releases()
    assert view.latest == forge.latest_release()
    assert list(view.issues) == forge.find_issues("incident")
    assert view.tags == forge.resolve_tags(["v1.0.0", "v2.0.0"])


def test_a_tag_of_a_tag_resolves_to_the_commit(fake_github: FakeGitHub) -> None:
    sha = fake_github.add_commit("c")
    inner = fake_github.add_tag("inner", sha, annotated=True, message="inner\n")
    deep = inner
    for depth in range(4):  # deeper than one query reads: REST finishes the walk
        deep = fake_github._make_tag_object(f"t{depth}", f"m{depth}", deep, "tag", None)
    fake_github._refs["refs/tags/outer"] = fake_github._make_tag_object(
        "outer", "outer\n", inner, "tag", None
    )
    fake_github._refs["refs/tags/deep"] = deep
    forge = GitHubForge(fake_github.full_name, fake_github.token, base_url=fake_github.api_url)
    view = forge.view("incident", [], ["outer", "inner", "deep"])
    assert view.tags["outer"] == TagInfo("outer", sha, annotated=True, message="outer")
    assert view.tags["inner"] == TagInfo("inner", sha, annotated=True, message="inner")
    deep_info = view.tags["deep"]
    assert deep_info is not None and deep_info.sha == sha
    assert fake_github.count("POST", "/graphql") == 1


def test_drafts_are_visible_only_with_push_access(fake_github: FakeGitHub) -> None:
    fake_github.add_release("v1", "one")
    fake_github.add_release("v2", "two", draft=True)
    fake_github.set_token("ghp_reader", {"contents": "read", "issues": "read"}, login="reader")
    reader = GitHubForge(fake_github.full_name, "ghp_reader", base_url=fake_github.api_url)
    view = reader.view("incident", [], [])
    assert [n.tag for n in view.notes] == ["v1"]
    assert view.identity == "reader"


def test_view_pages_past_100_issues_and_releases(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    for i in range(130):
        fake_github.add_issue(f"i{i}", "", ["incident"])
    for i in range(105):
        fake_github.add_release(f"v{i}", f"v{i}")
    view = forge.view("incident", ["incident"], [])
    assert len(view.issues) == 130
    assert len({i.number for i in view.issues}) == 130
    assert len(view.notes) == 105
    assert fake_github.count("POST", "/graphql") == 3  # the view, one more page of each
    assert MAX_PAGES >= 2


def test_view_errors_are_the_projects(fake_github: FakeGitHub) -> None:
    fake_github.set_token("ghp_noissues", {"contents": "write", "issues": "none"})
    no_issues = GitHubForge(fake_github.full_name, "ghp_noissues", base_url=fake_github.api_url)
    with pytest.raises(AuthError, match="lacks issues: read") as info:
        no_issues.view("incident", [], [])
    assert "Resource not accessible" in str(info.value)
    missing = GitHubForge("acme/gone", fake_github.token, base_url=fake_github.api_url)
    with pytest.raises(NotFound):
        missing.view("incident", [], [])
    revoked = GitHubForge(fake_github.full_name, "ghp_revoked", base_url=fake_github.api_url)
    with pytest.raises(AuthError):
        revoked.view("incident", [], [])


def test_the_graphql_url_of_each_layout(fake_github: FakeGitHub) -> None:
    """api.github.com → /graphql; GHES /api/v3 → /api/graphql; both served by the fake."""
    query, variables = view_query(["incident"], ["v1"])
    variables.update(owner="acme", name="widget", label="incident")
    for url in (f"{fake_github.web_url}/api/graphql", f"{fake_github.web_url}/graphql"):
        resp = requests.post(
            url,
            json={"query": query, "variables": variables},
            headers={"Authorization": f"bearer {fake_github.token}"},
            timeout=10,
        )
        assert resp.status_code == 200
        assert resp.json()["data"]["repository"]["t0"] is None
    forge = GitHubForge(fake_github.full_name, fake_github.token, base_url=fake_github.api_url)
    assert forge._repo.requester.graphql_url == f"{fake_github.web_url}/api/graphql"


def test_graphql_rejects_what_github_rejects(fake_github: FakeGitHub) -> None:
    def post(body: object, token: str | None = fake_github.token) -> requests.Response:
        headers = {"Authorization": f"bearer {token}"} if token else {}
        return requests.post(
            f"{fake_github.web_url}/graphql", json=body, headers=headers, timeout=10
        )

    assert post({"query": "{ viewer { login } }"}, token=None).status_code == 401
    unknown = post({"query": "{ viewer { nope } }"}).json()
    assert "Cannot query field 'nope'" in unknown["errors"][0]["message"]
    unpaged = post(
        {"query": '{ repository(owner:"acme", name:"widget") { releases { nodes { tagName } } } }'}
    )
    assert "first" in unpaged.json()["errors"][0]["message"]
    assert post({}).json()["errors"]
