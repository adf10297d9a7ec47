"""LocalForge: view (files and git, no network), can_write, and claims as O_EXCL lock files."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from tests.test_forge_local import make_repo
from unrelease.errors import BadInput
from unrelease.forges.base import Claim, Forge, LabelSpec
from unrelease.forges.local import STATE_DIR, TAKEOVER_STALE_S, LocalForge

KEY = "my-pkg/1.1.0"
A = Claim("host:1:aaa", "2026-12-02T03:00:00Z", "r1")
B = Claim("host:2:bbb", "2026-12-02T03:00:05Z")


@pytest.fixture
def forge(tmp_path: Path) -> LocalForge:
    make_repo(tmp_path / "repo")
    return LocalForge(tmp_path / "repo")


def test_view_reads_files_and_git(forge: LocalForge, tmp_path: Path) -> None:
    as_port: Forge = forge
    forge.create_label(LabelSpec("incident", "ff0000", ""))
    mine = forge.create_issue("t", "record", ["incident"])
    forge.create_issue("other", "", ["other"])
    note = forge.create_release("v1.2.0", "t", "b", draft=True, prerelease=False, target=None)
    view = as_port.view("incident", ["Incident", "missing"], ["v1.0.0", "v9"])
    assert view.identity
    assert [i.number for i in view.issues] == [mine.number]
    assert view.issues[0].author == view.identity
    assert view.labels == frozenset({"Incident"})
    assert view.notes == (note,)
    assert view.latest is None
    v1 = view.tags["v1.0.0"]
    assert v1 is not None and v1.annotated
    assert view.tags["v9"] is None
    assert forge.can_write("anyone") is True


def test_claim_release_and_take_over(forge: LocalForge) -> None:
    assert forge.claim(KEY, A) is None
    lock = forge.path / STATE_DIR / "locks" / "my-pkg" / "1.1.0.json"
    assert json.loads(lock.read_text())["holder"] == A.holder
    assert forge.claim(KEY, B) == A
    assert forge.take_over(KEY, B, Claim("x", "y")) is False
    assert forge.take_over(KEY, A, B) is True
    assert forge.claim(KEY, A) == B
    forge.release(KEY, A.holder)  # not the holder: nothing changes
    assert lock.exists()
    forge.release(KEY, B.holder)
    assert not lock.exists()
    assert forge.take_over(KEY, A, B) is False  # nothing held
    forge.release(KEY, B.holder)  # absent: no error
    assert forge.claim(KEY, A) is None


def test_two_threads_claiming_at_once_exactly_one_wins(forge: LocalForge) -> None:
    for attempt in range(5):
        key = f"pkg/1.{attempt}"
        barrier = threading.Barrier(2, timeout=30)
        results: dict[str, Claim | None] = {}

        def run(
            claim: Claim,
            key: str = key,
            barrier: threading.Barrier = barrier,
            results: dict[str, Claim | None] = results,
        ) -> None:
            barrier.wait()
            results[claim.holder] = forge.claim(key, claim)

        threads = [threading.Thread(target=run, args=(c,)) for c in (A, B)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        winners = [h for h, got in results.items() if got is None]
        assert len(winners) == 1
        loser = results[A.holder if winners[0] == B.holder else B.holder]
        assert loser is not None and loser.holder == winners[0]


def test_two_take_overs_at_once_exactly_one_wins(forge: LocalForge) -> None:
    forge.claim(KEY, A)
    barrier = threading.Barrier(2, timeout=30)
    results: list[bool] = []
    new = [Claim("t1", "s1"), Claim("t2", "s2")]

    def run(claim: Claim) -> None:
        barrier.wait()
        results.append(forge.take_over(KEY, A, claim))

    threads = [threading.Thread(target=run, args=(c,)) for c in new]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [False, True]
    held = forge.claim(KEY, A)
    assert held in new


def test_a_guard_left_by_a_crash_goes_stale(forge: LocalForge) -> None:
    forge.claim(KEY, A)
    lock = forge.path / STATE_DIR / "locks" / "my-pkg" / "1.1.0.json"
    guard = lock.with_name(lock.name + ".takeover")
    guard.touch()
    assert forge.take_over(KEY, A, B) is False  # another take-over in flight
    old = time.time() - TAKEOVER_STALE_S - 1
    os.utime(guard, (old, old))
    assert forge.take_over(KEY, A, B) is True
    assert not guard.exists()


@pytest.mark.parametrize("key", ["pkg", "../etc/1.0", "pkg/../../x", "pkg/1.0/x", "/abs/1.0"])
def test_bad_keys_never_touch_the_file_system(forge: LocalForge, key: str) -> None:
    with pytest.raises(BadInput):
        forge.claim(key, A)
    assert not (forge.path / STATE_DIR / "locks").exists()
