"""Bounded retries on every GitHub base URL, and credentials kept out of GitHub URLs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.github import FakeGitHub
from unrelease import secrets
from unrelease.errors import BadInput, ServiceError
from unrelease.forges import open_forge
from unrelease.forges.github import GitHubForge
from unrelease.forges.github_http import clean_api_url, url_password


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def forge(fake_github: FakeGitHub, sleeps: Sleeps) -> Iterator[GitHubForge]:
    f = GitHubForge(
        fake_github.full_name, fake_github.token, base_url=fake_github.api_url, sleep=sleeps
    )
    yield f
    f.close()


def statuses(fake: FakeGitHub, path: str) -> list[int]:
    return [r.status for r in fake.requests if r.path.endswith(path)]


# ---------------------------------------------------------------------- each kind, once
@pytest.mark.parametrize(
    ("kind", "status", "retry_after", "first_status"),
    [
        ("status", 500, None, 500),
        ("status", 502, None, 502),
        ("status", 429, 3, 429),
        ("secondary", 403, 2, 403),
        ("reset", 0, None, 0),
    ],
)
def test_a_read_survives_one_fault_with_exactly_one_retry(
    fake_github: FakeGitHub,
    forge: GitHubForge,
    sleeps: Sleeps,
    kind: str,
    status: int,
    retry_after: int | None,
    first_status: int,
) -> None:
    fake_github.add_label("incident")
    if kind == "secondary":
        fake_github.fail_secondary_rate_limit("GET", r"/labels$", retry_after=retry_after or 0)
    elif kind == "reset":
        fake_github.fail("GET", r"/labels$", kind="reset")
    else:
        fake_github.fail("GET", r"/labels$", status, retry_after=retry_after)
    assert forge.missing_labels(["incident", "other"]) == ["other"]
    assert statuses(fake_github, "/labels") == [first_status, 200]
    assert sleeps == ([float(retry_after)] if retry_after else [])


def test_a_read_held_past_the_timeout_is_retried_once(fake_github: FakeGitHub) -> None:
    fake_github.hold_s = 5  # longer than the client's timeout; closing the fake ends it
    forge = GitHubForge(fake_github.full_name, fake_github.token, fake_github.api_url, timeout=1)
    fake_github.add_label("incident")
    fake_github.fail("GET", r"/labels$", kind="timeout")
    assert forge.missing_labels(["incident"]) == []
    assert statuses(fake_github, "/labels") == [0, 200]


def test_the_fault_lands_on_the_nth_request(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake_github.fail("GET", r"/labels$", 502, after=1)
    forge.missing_labels(["a"])
    forge.missing_labels(["a"])
    assert statuses(fake_github, "/labels") == [200, 502, 200]


def test_the_graphql_read_is_retried(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake_github.fail("POST", r"^/graphql$", 502)
    assert forge.view("incident", [], []).identity == fake_github.login
    assert statuses(fake_github, "/graphql") == [502, 200]


@pytest.mark.parametrize("kind", ["status", "reset"])
def test_writes_are_never_retried(fake_github: FakeGitHub, forge: GitHubForge, kind: str) -> None:
    fake_github.fail("POST", r"/issues$", 502, kind=kind)
    with pytest.raises(ServiceError):
        forge.create_issue("t", "b", [])
    assert len(statuses(fake_github, "/issues")) == 1
    assert fake_github.state.issues == {}


def test_retries_are_bounded(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake_github.fail("GET", r"/labels$", 503, times=None)
    with pytest.raises(ServiceError, match="503"):
        forge.missing_labels(["a"])
    assert statuses(fake_github, "/labels") == [503] * 5  # the request and four retries


def test_a_retry_after_beyond_the_bound_fails_at_once(
    fake_github: FakeGitHub, forge: GitHubForge, sleeps: Sleeps
) -> None:
    fake_github.fail("GET", r"/labels$", 429, retry_after=3600)
    with pytest.raises(ServiceError, match="wait 3600 s") as info:
        forge.missing_labels(["a"])
    assert "rerun after" in str(info.value)
    assert "\n" not in str(info.value)
    assert statuses(fake_github, "/labels") == [429]
    assert sleeps == []


def test_all_waits_of_one_request_stay_under_the_bound(fake_github: FakeGitHub) -> None:
    sleeps = Sleeps()
    forge = GitHubForge(
        fake_github.full_name, fake_github.token, fake_github.api_url, sleep=sleeps, max_wait=5
    )
    fake_github.fail_secondary_rate_limit("GET", r"/labels$", retry_after=2, times=None)
    with pytest.raises(ServiceError, match="wait 2 s"):
        forge.missing_labels(["a"])
    assert sleeps == [2.0, 2.0]
    assert sum(sleeps) <= 5


def test_a_refused_connection_fails_at_once(sleeps: Sleeps) -> None:
    with FakeGitHub() as fake:
        url = fake.api_url
    forge = GitHubForge("acme/widget", "tok1234", base_url=url, sleep=sleeps)
    with pytest.raises(ServiceError, match="cannot reach GitHub"):
        forge.missing_labels(["a"])
    assert sleeps == []


# ---------------------------------------------------------------------- credentials in URLs
def test_credentials_are_stripped_and_registered() -> None:
    url = "https://x-access-token:ghs_UrlSecret0123@ghe.example/api/v3/"
    assert clean_api_url(url) == "https://ghe.example/api/v3"
    assert url_password(url) == "ghs_UrlSecret0123"
    assert "ghs_UrlSecret0123" in secrets.known()
    assert secrets.redact("token ghs_UrlSecret0123") == "token ***"
    assert clean_api_url("https://ghp_AsUser98765@h.example/api/v3") == "https://h.example/api/v3"
    assert "ghp_AsUser98765" in secrets.known()


def test_a_forge_from_a_url_with_credentials_never_shows_them(fake_github: FakeGitHub) -> None:
    token = fake_github.token
    url = fake_github.api_url.replace("http://", f"http://x-access-token:{token}@")
    forge = open_forge(fake_github.full_name, url, None)  # the URL's token is used
    assert isinstance(forge, GitHubForge)
    issue = forge.create_issue("t", "b", [])
    for shown in (forge.describe(), forge.tag_url("v1"), forge.base_url, issue.url):
        assert token not in shown
        assert "x-access-token" not in shown
    assert forge.base_url == fake_github.api_url


@pytest.mark.parametrize(
    "url",
    [
        "https://ghe.example/api/v3\n",
        "https://ghe.example/api/v3 extra",
        "https://ghe.exa\tmple/api/v3",
        "https://ghe.example/api/v3\x00",
        "ftp://ghe.example/api/v3",
        "https:///api/v3",
    ],
)
def test_bad_urls_are_bad_input(url: str) -> None:
    with pytest.raises(BadInput) as info:
        open_forge("acme/widget", url, "tok1234")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "repo",
    ["acme/wid get", "acme/..", "acme/.", "-acme/x", "acme/x\n", "acme/x/y", "a" * 40 + "/x"],
)
def test_bad_repo_names_are_bad_input(repo: str) -> None:
    with pytest.raises(BadInput) as info:
        GitHubForge(repo, "tok1234")
    assert "\n" not in str(info.value)
    with pytest.raises(BadInput):
        open_forge(repo, "https://api.github.com", "tok1234")
