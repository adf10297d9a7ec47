"""Faults at every request position of a rollback and of an undo, each kind, then one rerun:
exactly one issue, tag, note and withdrawal; the record complete; undo works afterwards.
Transient faults are absorbed in the run (>= 90 % finish in one run)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub, seed_repo
from tests.memindex import PKG, Fault, MemoryIndex
from unrelease.engine import Engine, Options
from unrelease.forges.github import GitHubForge
from unrelease.texts import find_record
from unrelease.undo import UndoEngine, UndoOptions

pytestmark = pytest.mark.slow

VERSIONS = ("1.0.0", "1.1.0", "1.2.0")
KINDS = {
    "500": {"status": 500},
    "502": {"status": 502},
    "429": {"status": 429, "retry_after": 0},
    "403-secondary": {
        "status": 403,
        "retry_after": 0,
        "body": {"message": "You have exceeded a secondary rate limit. Please wait a few minutes"},
    },
    "reset": {"kind": "reset"},
}


def clock() -> datetime:
    return datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


@dataclass
class World:
    fake: FakeGitHub
    forge: GitHubForge
    index: MemoryIndex
    backup: Path


@contextmanager
def world(tmp: Path) -> Iterator[World]:
    with FakeGitHub() as fake:
        seed_repo(fake, VERSIONS)
        forge = GitHubForge(fake.full_name, fake.token, fake.api_url, sleep=lambda s: None)
        try:
            yield World(fake, forge, MemoryIndex(VERSIONS), tmp / "backup")
        finally:
            forge.close()


def rollback(w: World, mode: str) -> int:
    options = Options(package=PKG, version="1.2.0", reason="broken", mode=mode, backup_dir=w.backup)
    e = Engine(options, w.index, w.forge, now=clock)
    return e.run(e.plan()).exit_code


def undo(w: World) -> int:
    options = UndoOptions(PKG, "1.2.0", index=w.index.url, backup_dir=w.backup)
    e = UndoEngine(options, w.forge, lambda url: w.index, now=clock)
    return e.run(e.plan()).exit_code


def check_once(w: World, mode: str) -> None:
    """Exactly one of each effect, and a record that undo can rely on."""
    state = w.fake.state
    assert len(state.issues) == 1, state.issues
    tags = [t for t in state.refs if t.startswith("refs/tags/v1.1.0-rollback")]
    assert len(tags) == 1, tags
    assert len([r for r in state.releases.values() if r["draft"]]) == 1
    verb = "yank" if mode == "yank" else "delete"
    assert [x for x in w.index.writes if x[0] == verb] == [(verb, "1.2.0")]
    (issue,) = state.issues.values()
    record = find_record(issue["body"])
    assert record is not None
    assert {s.status.value for s in record.steps} <= {"done", "skipped"}, record.steps
    if mode == "delete":
        assert len(record.files) == 2 and set(record.sha256s) == set(record.files)
        assert record.backup


def clean_requests(tmp: Path, mode: str) -> int:
    with world(tmp) as w:
        assert rollback(w, mode) == 0
        return len(w.fake.requests)


@pytest.mark.parametrize("mode", ["yank", "delete"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_github_fault_at_every_position(kind: str, mode: str, tmp_path: Path) -> None:
    total = clean_requests(tmp_path / "clean", mode)
    first_run_ok = 0
    for position in range(1, total + 1):
        with world(tmp_path / f"{position}") as w:
            w.fake.fail("*", ".*", times=1, after=position - 1, **KINDS[kind])  # type: ignore[arg-type]
            code = rollback(w, mode)
            if code == 0:
                first_run_ok += 1
            else:
                assert rollback(w, mode) == 0, f"rerun after a {kind} at request {position}"
            check_once(w, mode)
            assert undo(w) == 0, f"undo after a {kind} at request {position}"
            assert w.index.files["1.2.0"], "undo put 1.2.0 back"
    assert first_run_ok / total >= 0.9, f"{first_run_ok}/{total} finished in one run"


@pytest.mark.parametrize("mode", ["yank", "delete"])
@pytest.mark.parametrize("kind", ["error", "lost"])
def test_an_index_fault_at_every_position(kind: str, mode: str, tmp_path: Path) -> None:
    with world(tmp_path / "clean") as w:
        assert rollback(w, mode) == 0
        total = w.index.requests
    for position in range(1, total + 1):
        with world(tmp_path / f"{position}") as w:
            w.index.faults = [Fault(position, kind)]
            if rollback(w, mode) != 0:
                assert rollback(w, mode) == 0, f"rerun after {kind} at index request {position}"
            check_once(w, mode)
            assert undo(w) == 0


@pytest.mark.parametrize("kind", ["500", "reset"])
def test_a_github_fault_at_every_position_of_an_undo(kind: str, tmp_path: Path) -> None:
    with world(tmp_path / "clean") as w:
        assert rollback(w, "delete") == 0
        before = len(w.fake.requests)
        assert undo(w) == 0
        total = len(w.fake.requests) - before
    for position in range(1, total + 1):
        with world(tmp_path / f"{position}") as w:
            assert rollback(w, "delete") == 0
            w.fake.fail("*", ".*", times=1, after=position - 1, **KINDS[kind])  # type: ignore[arg-type]
            if undo(w) != 0:
                assert undo(w) == 0, f"undo rerun after a {kind} at request {position}"
            (issue,) = w.fake.state.issues.values()
            assert issue["state"] == "closed"
            assert len(w.fake.state.comments.get(issue["number"], [])) == 1
            uploads = [x for x in w.index.writes if x[0].startswith("upload")]
            assert len(uploads) == 2, uploads
