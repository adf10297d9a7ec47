"""GitHubForge: claims (refs to blobs), can_write, issue authors, and GitHub's refusals
(immutable releases, tag rulesets) as Refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.fakes.github import FakeGitHub, seed_repo
from unrelease.errors import BadInput, Refused, ServiceError
from unrelease.forges.base import Claim
from unrelease.forges.github import GitHubForge
from unrelease.model import ReleaseNote

KEY = "my-pkg/1.1.0"
A = Claim("gha:111:1", "2026-12-02T03:00:00Z", "record r1")
B = Claim("host:42:abc", "2026-12-02T03:00:05Z")


@pytest.fixture
def forge(fake_github: FakeGitHub) -> Iterator[GitHubForge]:
    f = GitHubForge(fake_github.full_name, fake_github.token, base_url=fake_github.api_url)
    yield f
    f.close()


# ---------------------------------------------------------------------- claims
def test_claim_then_a_second_claim_sees_the_first(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    assert forge.claim(KEY, A) is None
    assert fake_github.count() == 2  # a blob, a ref
    assert fake_github.state.refs[f"refs/unrelease/lock/{KEY}"]
    assert forge.claim(KEY, B) == A
    assert forge.claim("my-pkg/1.2.0", B) is None  # another version: its own claim


def test_two_threads_claiming_at_once_exactly_one_wins(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    barrier = threading.Barrier(2, timeout=30)
    results: dict[str, Claim | None] = {}

    def run(claim: Claim) -> None:
        barrier.wait()
        results[claim.holder] = forge.claim(KEY, claim)

    threads = [threading.Thread(target=run, args=(c,)) for c in (A, B)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    winners = [h for h, got in results.items() if got is None]
    assert len(winners) == 1
    loser = next(h for h in results if h not in winners)
    held = results[loser]
    assert held is not None and held.holder == winners[0]


def test_take_over_replaces_only_the_stale_claim(forge: GitHubForge) -> None:
    assert forge.take_over(KEY, A, B) is False  # nobody holds it: nothing to take over
    forge.claim(KEY, A)
    assert forge.take_over(KEY, B, Claim("x", "now")) is False  # not the claim held
    assert forge.take_over(KEY, A, B) is True
    assert forge.claim(KEY, A) == B


def test_two_take_overs_at_once_exactly_one_wins(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    forge.claim(KEY, A)
    barrier = threading.Barrier(2, timeout=30)
    results: dict[str, bool] = {}
    new = [Claim("t1", "s1"), Claim("t2", "s2")]

    def run(claim: Claim) -> None:
        barrier.wait()
        results[claim.holder] = forge.take_over(KEY, A, claim)

    threads = [threading.Thread(target=run, args=(c,)) for c in new]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results.values()) == [False, True]
    winner = next(h for h, won in results.items() if won)
    held = forge.claim(KEY, A)
    assert held is not None and held.holder == winner
    markers = [r for r in fake_github.state.refs if r.startswith("refs/unrelease/takeover/")]
    assert len(markers) == 1


def test_release_only_by_the_holder(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    forge.release(KEY, A.holder)  # nothing held: nothing happens
    forge.claim(KEY, A)
    forge.release(KEY, B.holder)
    assert forge.claim(KEY, B) == A
    forge.release(KEY, A.holder)
    assert f"refs/unrelease/lock/{KEY}" not in fake_github.state.refs
    assert forge.claim(KEY, B) is None


@pytest.mark.parametrize("key", ["pkg", "pkg/1.0/x", "../x/1.0", "pkg/1.0.lock", "pkg/ 1.0", ""])
def test_bad_keys_are_bad_input(forge: GitHubForge, key: str) -> None:
    with pytest.raises(BadInput):
        forge.claim(key, A)


def test_claim_errors_are_the_projects(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake_github.fail("POST", r"/git/refs$", 500)
    with pytest.raises(ServiceError, match="500"):
        forge.claim(KEY, A)


# ---------------------------------------------------------------------- can_write
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", True),
        ("maintain", True),
        ("write", True),
        ("triage", False),
        ("read", False),
        (None, False),
    ],
)
def test_can_write(
    fake_github: FakeGitHub, forge: GitHubForge, role: str | None, expected: bool
) -> None:
    fake_github.set_permission("someone", role)
    assert forge.can_write("someone") is expected
    assert fake_github.count() == 1


def test_can_write_errors_are_not_false(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake_github.fail("GET", r"/permission$", 500, times=None)
    with pytest.raises(ServiceError):
        forge.can_write("someone")


# ---------------------------------------------------------------------- authors
def test_issue_authors_from_rest(fake_github: FakeGitHub, forge: GitHubForge) -> None:
    fake_github.add_issue("bot", "", ["incident"], author="github-actions[bot]", author_type="Bot")
    fake_github.add_issue("human", "", ["incident"], author="mallory")
    found = forge.find_issues("incident")
    assert sorted((i.author, i.author_is_bot) for i in found) == [
        ("github-actions[bot]", True),
        ("mallory", False),
    ]
    fake_github.set_token("ghp_app", login="release-app[bot]")
    app = GitHubForge(fake_github.full_name, "ghp_app", base_url=fake_github.api_url)
    made = app.create_issue("t", "b", ["incident"])
    assert (made.author, made.author_is_bot) == ("release-app[bot]", False)
    view = forge.view("incident", [], [])
    assert {(i.author, i.author_is_bot) for i in view.issues} >= {("github-actions[bot]", True)}


# ---------------------------------------------------------------------- immutable releases
@pytest.fixture
def immutable(fake_github: FakeGitHub) -> int:
    seed_repo(fake_github, ["1.0.0"])
    rid = next(iter(fake_github.state.releases))
    fake_github.make_immutable(rid)
    return rid


def note_of(forge: GitHubForge, rid: int) -> ReleaseNote:
    return next(n for n in forge.list_releases() if n.id == rid)


def test_an_immutable_releases_tag_cannot_be_deleted(
    fake_github: FakeGitHub, forge: GitHubForge, immutable: int
) -> None:
    with pytest.raises(Refused, match="immutable release") as info:
        forge.delete_tag("v1.0.0")
    assert "--rollback-tag" in str(info.value)
    assert info.value.exit_code == 2
    assert fake_github.resolve("v1.0.0") is not None


def test_an_immutable_release_cannot_become_a_draft(forge: GitHubForge, immutable: int) -> None:
    note = note_of(forge, immutable)
    with pytest.raises(Refused, match="immutable"):
        forge.update_release(note, title=note.title, body=note.body, draft=True, prerelease=False)


def test_an_immutable_release_still_takes_title_notes_prerelease_and_latest(
    fake_github: FakeGitHub, forge: GitHubForge, immutable: int
) -> None:
    note = note_of(forge, immutable)
    updated = forge.update_release(note, title="Withdrawn", body="b", draft=False, prerelease=True)
    assert (updated.title, updated.prerelease) == ("Withdrawn", True)
    forge.update_release(updated, title="Back", body="b", draft=False, prerelease=False)
    forge.make_latest(updated)
    latest = fake_github.latest()
    assert latest is not None and latest["id"] == immutable


def test_a_deleted_immutable_releases_tag_stays_burned(
    fake_github: FakeGitHub, forge: GitHubForge, immutable: int
) -> None:
    forge.delete_release(note_of(forge, immutable))
    with pytest.raises(Refused, match="immutable release"):
        forge.create_release("v1.0.0", "again", "b", draft=False, prerelease=False, target=None)
    with pytest.raises(Refused, match="immutable release"):
        forge.delete_tag("v1.0.0")


# ---------------------------------------------------------------------- tag rulesets
def test_a_tag_ruleset_refusal_names_the_way_out(
    fake_github: FakeGitHub, forge: GitHubForge
) -> None:
    fake_github.add_tag_ruleset("v*-rollback-*")
    with pytest.raises(Refused) as info:
        forge.create_tag("v1-rollback-20261202", fake_github.head, "rollback")
    message = str(info.value)
    assert "a tag ruleset blocks creating refs/tags/v1-rollback-20261202" in message
    assert "bypass list" in message and "--rollback-tag" in message
    assert "\n" not in message
    assert fake_github.resolve("v1-rollback-20261202") is None
    forge.create_tag("other-tag", fake_github.head, "not matched")  # outside the rule: fine
    assert fake_github.resolve("other-tag") == fake_github.head
