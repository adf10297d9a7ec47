"""GitHubForge against the fake GitHub: every Forge method, its request cost, its errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from github import Auth, Github
from pytest_mock import MockerFixture

from tests.fakes.github import FakeGitHub, hold_two_requests_midway
from unrelease.errors import AuthError, BadInput, NotFound, ServiceError
from unrelease.forges.base import Forge, LabelSpec
from unrelease.forges.github import GitHubForge, html_base
from unrelease.forges.github_errors import _accepted_permission
from unrelease.forges.github_http import BoundedRetry
from unrelease.model import ReleaseNote, TagInfo


@pytest.fixture
def forge(fake_github: FakeGitHub) -> Iterator[GitHubForge]:
    f = GitHubForge(fake_github.full_name, fake_github.token, base_url=fake_github.api_url)
    yield f
    f.close()


def forge_with(fake: FakeGitHub, token: str) -> GitHubForge:
    return GitHubForge(fake.full_name, token, base_url=fake.api_url)


# ---------------------------------------------------------------------- construction
def test_is_a_forge_and_sends_nothing_when_built(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    as_port: Forge = forge
    assert as_port.kind == "github"
    assert forge.describe() == "github:acme/widget"
    assert fake_github.requests == []


@pytest.mark.parametrize("repo", ["widget", "/widget", "acme/", "a/b/c", ""])
def test_bad_repo_is_bad_input(repo: str) -> None:
    with pytest.raises(BadInput, match="OWNER/NAME"):
        GitHubForge(repo, "tok")


def test_empty_token_is_auth_error() -> None:
    with pytest.raises(AuthError, match="no GitHub token"):
        GitHubForge("acme/widget", "")


def test_retries_on_every_base_url(mocker: MockerFixture) -> None:
    github_cls = mocker.patch("unrelease.forges.github.Github")
    GitHubForge("acme/widget", "tok")._client()  # clients are made per thread, on first use
    public = github_cls.call_args.kwargs
    assert isinstance(public["retry"], BoundedRetry)
    assert public["lazy"] is True
    assert public["seconds_between_requests"] is None
    assert public["seconds_between_writes"] is None
    assert public["per_page"] == 100
    GitHubForge("acme/widget", "tok", base_url="https://ghe.example/api/v3/")._client()
    assert isinstance(github_cls.call_args.kwargs["retry"], BoundedRetry)


# ---------------------------------------------------------------------- tags
def test_resolve_lightweight_annotated_and_absent(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    sha = fake_github.add_commit("1.0")
    fake_github.add_tag("v1.0", sha, annotated=True, message="Release 1.0\n")
    fake_github.add_tag("light", sha)
    assert forge.resolve_tag("v1.0") == TagInfo("v1.0", sha, annotated=True, message="Release 1.0")
    assert forge.resolve_tag("light") == TagInfo("light", sha, annotated=False)
    assert forge.resolve_tag("v9.9") is None
    assert fake_github.count("GET", r"/git/ref/tags/") == 3
    assert fake_github.count("GET", r"/git/tags/") == 1


def test_resolve_tags_with_a_shared_prefix_costs_one_listing(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    sha = fake_github.add_commit("1.2.0")
    fake_github.add_tag("v1.2.0", sha, annotated=True, message="1.2.0")
    fake_github.add_tag("v1.2.0-rc1", sha)
    fake_github.add_tag("v1.2.01", fake_github.add_commit("other"))
    rollback = "v1.2.0-rollback-2024-05-01"
    got = forge.resolve_tags(["v1.2.0", rollback, "v1.2.0"])
    assert got == {
        "v1.2.0": TagInfo("v1.2.0", sha, annotated=True, message="1.2.0"),
        rollback: None,
    }
    assert fake_github.count() == 2
    assert fake_github.count("GET", r"/git/matching-refs/tags/v1\.2\.0$") == 1
    assert fake_github.count("GET", r"/git/tags/") == 1


def test_resolve_tags_lightweight_pair_costs_one_request(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    sha = fake_github.head
    fake_github.add_tag("v2", sha)
    fake_github.add_tag("v2-rollback", sha)
    got = forge.resolve_tags(["v2", "v2-rollback"])
    assert got == {"v2": TagInfo("v2", sha), "v2-rollback": TagInfo("v2-rollback", sha)}
    assert fake_github.count() == 1


def test_resolve_tags_without_a_prefix_asks_one_by_one(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    fake_github.add_tag("a1", fake_github.head)
    assert forge.resolve_tags(["a1", "b1"]) == {"a1": TagInfo("a1", fake_github.head), "b1": None}
    assert forge.resolve_tags([]) == {}
    assert forge.resolve_tags(["a1"]) == {"a1": TagInfo("a1", fake_github.head)}
    assert fake_github.count("GET", r"/git/ref/tags/") == 3
    assert fake_github.count("GET", r"matching-refs") == 0


def test_resolve_tag_of_a_tag(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    sha = fake_github.head
    inner = fake_github.add_tag("inner", sha, annotated=True, message="inner")
    gh = Github(
        auth=Auth.Token(fake_github.token),
        base_url=fake_github.api_url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    repo = gh.get_repo(fake_github.full_name)
    outer = repo.create_git_tag("outer", "outer msg", inner, "tag")
    repo.create_git_ref("refs/tags/outer", outer.sha)
    assert forge.resolve_tag("outer") == TagInfo("outer", sha, annotated=True, message="outer msg")
    deep = outer.sha
    for level in range(5):
        deep = repo.create_git_tag(f"deep{level}", "m", deep, "tag").sha
    repo.create_git_ref("refs/tags/deep", deep)
    with pytest.raises(ServiceError, match="nests more than 5"):
        forge.resolve_tag("deep")


def test_create_tag_is_annotated_and_costs_two_writes(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    sha = fake_github.add_commit("good")
    info = forge.create_tag("v1.0-rollback-2024-05-01", sha, "Roll back to v1.0")
    assert info == TagInfo(
        "v1.0-rollback-2024-05-01", sha, annotated=True, message="Roll back to v1.0"
    )
    assert [(r.method, r.path.rsplit("/", 2)[-2:]) for r in fake_github.writes()] == [
        ("POST", ["git", "tags"]),
        ("POST", ["git", "refs"]),
    ]
    state = fake_github.state.tags["v1.0-rollback-2024-05-01"]
    assert state["sha"] == sha
    assert state["annotated"]
    assert forge.resolve_tag("v1.0-rollback-2024-05-01") == info


def test_create_existing_tag_is_service_error(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake_github.add_tag("v1", fake_github.head)
    with pytest.raises(ServiceError, match=r"422.*Reference already exists") as info:
        forge.create_tag("v1", fake_github.head, "again")
    assert not isinstance(info.value, NotFound)


def test_tag_url(forge: GitHubForge, fake_github: FakeGitHub) -> None:
    assert forge.tag_url("v1.0") == f"{fake_github.web_url}/acme/widget/releases/tag/v1.0"
    public = GitHubForge("acme/widget", "tok")
    assert public.tag_url("v1.0+x") == "https://github.com/acme/widget/releases/tag/v1.0%2Bx"


@pytest.mark.parametrize(
    ("api", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.example/api/v3", "https://ghe.example"),
        ("https://ghe.example/api/v3/", "https://ghe.example"),
        ("https://api.ghe.example", "https://ghe.example"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://x-access-token:ghs_secret@ghe.example/api/v3", "https://ghe.example"),
    ],
)
def test_html_base(api: str, web: str) -> None:
    assert html_base(api) == web


# ---------------------------------------------------------------------- labels
def test_missing_labels_pages_through_150(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    for i in range(150):
        fake_github.add_label(f"label-{i:03}", "cccccc", "")
    fake_github.add_label("Release", "00ff00", "")
    assert forge.missing_labels(["release", "label-149", "critical", "critical"]) == ["critical"]
    assert fake_github.count() == 2  # 151 labels, 100 a page


def test_create_label_and_tolerate_a_concurrent_create(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    spec = LabelSpec("critical", "b60205", "Roll back now")
    forge.create_label(spec)
    assert fake_github.state.labels["critical"] == {
        "name": "critical",
        "color": "b60205",
        "description": "Roll back now",
    }
    forge.create_label(LabelSpec("Critical", "b60205", "again"))  # 422 already_exists: fine
    assert fake_github.count("POST") == 2
    with pytest.raises(ServiceError, match=r"422.*color invalid"):
        forge.create_label(LabelSpec("bad", "nothex", ""))


# ---------------------------------------------------------------------- issues
def test_find_issues_skips_prs_and_pages_in_few_requests(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    for i in range(150):
        fake_github.add_issue(f"incident {i}", f"record {i}", ["unrelease"])
    fake_github.add_issue("a PR", "", ["unrelease"], is_pr=True)
    fake_github.add_issue("old", "", ["unrelease"], state="closed")
    fake_github.add_issue("unrelated", "", ["bug"])
    found = forge.find_issues("unrelease")
    assert len(found) == 150
    assert {i.body for i in found} == {f"record {i}" for i in range(150)}
    assert all(i.state == "open" and i.labels == ("unrelease",) for i in found)
    assert all("/issues/" in i.url for i in found)
    assert fake_github.count() == 2
    first = fake_github.requests[0]
    assert first.query == {"state": "open", "labels": "unrelease", "per_page": "100"}


def test_create_and_update_issue(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    issue = forge.create_issue("Rolled back 1.2.0", "record v1", ["release", "critical"])
    assert issue.number == 1
    assert issue.url == f"{fake_github.repo_web}/issues/1"
    assert issue.labels == ("release", "critical")
    assert issue.body == "record v1"
    fake_github.clear_log()
    updated = forge.update_issue(issue.number, "record v2")
    assert updated.body == "record v2"
    assert updated.number == 1
    assert fake_github.count() == 1
    assert fake_github.requests[0].body == {"body": "record v2"}
    assert fake_github.state.issues[1]["body"] == "record v2"


def test_issue_with_null_body(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    n = fake_github.add_issue("empty", None, ["x"])  # type: ignore[arg-type]
    assert [i.body for i in forge.find_issues("x")] == [""]
    assert n == 1


def test_update_missing_issue_is_not_found(forge: GitHubForge) -> None:
    with pytest.raises(NotFound, match="404"):
        forge.update_issue(404, "x")


# ---------------------------------------------------------------------- releases
def test_list_releases_includes_drafts(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    rid = fake_github.add_release("v1.0", "1.0", body="notes")
    did = fake_github.add_release("v1.1", "", draft=True)
    notes = forge.list_releases()
    assert [(n.id, n.tag, n.draft) for n in notes] == [(did, "v1.1", True), (rid, "v1.0", False)]
    assert notes[1] == ReleaseNote(
        id=rid,
        tag="v1.0",
        title="1.0",
        url=f"{fake_github.repo_web}/releases/tag/v1.0",
        body="notes",
    )
    assert notes[0].title == ""
    assert fake_github.count() == 1


def test_latest_release(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    assert forge.latest_release() is None
    rid = fake_github.add_release("v1.0", "1.0", latest=True)
    latest = forge.latest_release()
    assert latest is not None
    assert latest.id == rid
    assert fake_github.count("GET", r"/releases/latest$") == 2


def test_latest_release_errors_are_not_absence(fake_github: FakeGitHub) -> None:
    bad = forge_with(fake_github, "ghp_revoked")
    with pytest.raises(AuthError):
        bad.latest_release()
    good = forge_with(fake_github, fake_github.token)
    fake_github.fail("GET", r"/releases/latest$", status=500, times=None)
    with pytest.raises(ServiceError, match="500"):
        good.latest_release()


def test_create_release_never_makes_latest(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    current = fake_github.add_release("v1.0", "1.0")
    sha = fake_github.head
    note = forge.create_release(
        "v1.1", "1.1 (withdrawn)", "do not use", draft=False, prerelease=False, target=sha
    )
    assert note.tag == "v1.1"
    assert not note.draft
    sent = fake_github.requests[-1].body
    assert sent["make_latest"] == "false"
    assert sent["target_commitish"] == sha
    assert fake_github.state.latest_release_id == current
    draft = forge.create_release("v1.2", "t", "b", draft=True, prerelease=True, target=None)
    assert (draft.draft, draft.prerelease) == (True, True)
    assert "target_commitish" not in fake_github.requests[-1].body
    assert fake_github.requests[-1].body["make_latest"] == "false"


def test_update_release_keeps_draft_and_prerelease(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    current = fake_github.add_release("v1.0", "1.0")
    did = fake_github.add_release("v1.1", "1.1", draft=True, prerelease=True)
    note = next(n for n in forge.list_releases() if n.id == did)
    fake_github.clear_log()
    kept = forge.update_release(note, title="1.1 withdrawn", body="b", draft=True, prerelease=True)
    assert (kept.draft, kept.prerelease, kept.title, kept.body) == (
        True,
        True,
        "1.1 withdrawn",
        "b",
    )
    assert fake_github.count() == 1
    sent = fake_github.requests[0].body
    assert sent == {
        "tag_name": "v1.1",
        "name": "1.1 withdrawn",
        "body": "b",
        "draft": True,
        "prerelease": True,
    }
    published = forge.update_release(kept, title="t", body="b", draft=False, prerelease=False)
    assert not published.draft
    assert fake_github.requests[-1].body["make_latest"] == "false"
    assert fake_github.state.latest_release_id == current


def test_update_release_with_a_foreign_id_is_bad_input(forge: GitHubForge) -> None:
    note = ReleaseNote(id="local-1", tag="v1", title="", url="")
    with pytest.raises(BadInput, match="release id"):
        forge.update_release(note, title="t", body="b", draft=False, prerelease=False)


def test_make_latest_sends_only_make_latest(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    old = fake_github.add_release("v1.0", "1.0", body="keep me")
    fake_github.add_release("v1.1", "1.1", latest=True)
    note = ReleaseNote(id=old, tag="v1.0", title="stale", url="", body="stale")
    forge.make_latest(note)
    assert fake_github.requests[-1].method == "PATCH"
    assert fake_github.requests[-1].body == {"make_latest": "true"}
    assert fake_github.state.latest_release_id == old
    assert fake_github.state.releases[old]["body"] == "keep me"


# ---------------------------------------------------------------------- errors
def test_bad_credentials_is_auth_error_without_the_token(fake_github: FakeGitHub) -> None:
    secret = "ghp_SuperSecret0123456789"
    forge = forge_with(fake_github, secret)
    with pytest.raises(AuthError) as info:
        forge.resolve_tag("v1")
    text = str(info.value)
    assert "401" in text
    assert "Bad credentials" in text
    assert secret not in text
    assert secret not in repr(info.value.args)


def test_a_token_echoed_by_the_server_is_scrubbed(fake_github: FakeGitHub) -> None:
    secret = "ghp_Echoed0123456789"
    fake_github.set_token(secret)
    forge = forge_with(fake_github, secret)
    fake_github.fail("GET", r"/labels", status=500, body={"message": f"boom {secret}"}, times=None)
    with pytest.raises(ServiceError) as info:
        forge.missing_labels(["x"])
    assert secret not in str(info.value)
    assert "boom ***" in str(info.value)


@pytest.mark.parametrize(
    ("permissions", "action", "needed"),
    [
        ({"contents": "read", "issues": "write"}, "create_tag", "contents: write"),
        ({"contents": "write", "issues": "read"}, "create_label", "issues: write"),
        ({"contents": "write", "issues": "read"}, "create_issue", "issues: write"),
        ({"contents": "read", "issues": "write"}, "create_release", "contents: write"),
        ({"contents": "write"}, "find_issues", "issues: read"),
    ],
)
def test_403_names_the_missing_permission(
    fake_github: FakeGitHub, permissions: dict[str, str], action: str, needed: str
) -> None:
    fake_github.set_token("ghp_limited", permissions)
    forge = forge_with(fake_github, "ghp_limited")
    calls: dict[str, Callable[[], object]] = {
        "create_tag": lambda: forge.create_tag("t", fake_github.head, "m"),
        "create_label": lambda: forge.create_label(LabelSpec("l", "ffffff", "")),
        "create_issue": lambda: forge.create_issue("t", "b", []),
        "create_release": lambda: forge.create_release(
            "t", "t", "b", draft=True, prerelease=False, target=None
        ),
        "find_issues": lambda: forge.find_issues("x"),
    }
    with pytest.raises(AuthError, match=f"the token lacks {needed}") as info:
        calls[action]()
    assert "ghp_limited" not in str(info.value)


def test_403_without_a_hint_header_uses_the_operation(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    fake_github.fail("POST", r"/issues$", status=403, body={"message": "Forbidden"})
    with pytest.raises(AuthError, match="the token lacks issues: write"):
        forge.create_issue("t", "b", [])


def test_rate_limit_is_a_service_error(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake_github.fail(
        "GET", r"/labels", status=403, body={"message": "API rate limit exceeded for installation"}
    )
    with pytest.raises(ServiceError, match="rate limit") as info:
        forge.missing_labels(["x"])
    assert not isinstance(info.value, AuthError)


@pytest.mark.parametrize("status", [500, 502, 409])
def test_server_faults_are_service_errors_never_absence(
    fake_github: FakeGitHub, forge: GitHubForge, status: int
) -> None:
    fake_github.fail("GET", r"/git/ref/tags/", status=status, times=None)
    with pytest.raises(ServiceError, match=str(status)) as info:
        forge.resolve_tag("v1")
    assert not isinstance(info.value, NotFound)
    fake_github.fail("GET", r"/matching-refs/", status=status, times=None)
    with pytest.raises(ServiceError, match=str(status)):
        forge.resolve_tags(["v1", "v1-rollback"])


def test_validation_errors_as_strings_are_reported(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    fake_github.fail(
        "POST",
        r"/releases$",
        status=422,
        body={"message": "Validation Failed", "errors": ["tag_name is not well-formed"]},
    )
    with pytest.raises(ServiceError, match="Validation Failed: tag_name is not well-formed"):
        forge.create_release("bad tag", "t", "b", draft=False, prerelease=False, target=None)
    fake_github.fail("POST", r"/labels$", status=422, body={"errors": [{"code": "custom"}]})
    with pytest.raises(ServiceError, match="no message: None custom"):
        forge.create_label(LabelSpec("x", "ffffff", ""))


def test_unreachable_server_is_service_error() -> None:
    with FakeGitHub() as fake:
        forge = GitHubForge(fake.full_name, fake.token, base_url=fake.api_url)
    with pytest.raises(ServiceError, match="cannot reach GitHub"):
        forge.list_releases()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (None, None),
        ({}, None),
        ({"x-accepted-github-permissions": "issues=write; pull_requests=write"}, "issues: write"),
        ({"X-Accepted-GitHub-Permissions": "contents=read"}, "contents: read"),
        ({"x-accepted-github-permissions": "garbage"}, None),
        ({"x-accepted-github-permissions": "=write"}, None),
    ],
)
def test_accepted_permission_header(headers: dict[str, str] | None, expected: str | None) -> None:
    assert _accepted_permission(headers) == expected


# ---------------------------------------------------------------------- the whole job
def test_a_whole_rollback_stays_within_ten_requests(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    good = fake_github.add_commit("1.1.0")
    fake_github.add_tag("v1.1.0", good, annotated=True, message="1.1.0")
    fake_github.add_tag("v1.2.0", fake_github.add_commit("1.2.0"), annotated=True, message="1.2.0")
    fake_github.add_release("v1.2.0", "1.2.0", latest=True)
    fake_github.add_label("release", "0e8a16", "")
    rollback = "v1.1.0-rollback-2024-05-01"

    tags = forge.resolve_tags(["v1.1.0", rollback])
    target = tags["v1.1.0"]
    assert target is not None
    assert tags[rollback] is None
    forge.create_tag(rollback, target.sha, "Roll back to v1.1.0")
    for name in forge.missing_labels(["release", "critical"]):
        forge.create_label(LabelSpec(name, "b60205", "Roll back now"))
    assert forge.find_issues("release") == []
    forge.create_issue("Rolled back 1.2.0", "record", ["release", "critical"])
    bad = next(n for n in forge.list_releases() if n.tag == "v1.2.0")
    forge.update_release(
        bad, title="1.2.0 (withdrawn)", body="withdrawn", draft=False, prerelease=False
    )

    # 2 tags read + 2 tag written + 2 labels + 2 issues + 2 releases
    assert fake_github.count() <= 10, [(r.method, r.path) for r in fake_github.requests]
    assert fake_github.state.tags[rollback]["sha"] == good


def test_threads_sharing_one_forge_never_swap_requests(
    fake_github: FakeGitHub, forge: GitHubForge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine reads issues, labels, releases and Latest at once through one forge.
    PyGithub keeps a request's verb and URL on its connection between sending and reading:
    two threads are held there together, and each must still get its own answer."""
    from concurrent.futures import ThreadPoolExecutor

    sha = fake_github.add_commit("one")
    fake_github.add_tag("v1.0.0", sha)
    fake_github.add_release("v1.0.0", "v1.0.0", body="notes", latest=True)
    fake_github.add_label("release")
    held = hold_two_requests_midway(monkeypatch)
    with ThreadPoolExecutor(max_workers=2) as pool:
        notes = pool.submit(forge.list_releases)
        latest = pool.submit(forge.latest_release)
        assert [n.tag for n in notes.result()] == ["v1.0.0"]
        got = latest.result()
        assert got is not None and got.tag == "v1.0.0"
    assert len(held) == 2
    forge.close()
