"""``unrelease watch``: the record on the forge, signals, the window (an injected clock), the
checkpoint at the end; and the command end to end against a real pypiserver."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import invoke
from tests.fakes.clock import FakeClock
from tests.guard_dists import _Publisher, guard_dists, publish
from tests.servers import PypiserverServer
from tests.test_forge_local import make_repo
from unrelease.checkpoints import load, verified_versions
from unrelease.errors import BadInput
from unrelease.forges.base import LabelSpec
from unrelease.forges.local import LocalForge
from unrelease.guard.report import Check, GuardResult
from unrelease.guard.watch import (
    WATCH_LABEL,
    Signals,
    WatchOutcome,
    WatchRecord,
    find_record,
    load_signals,
    parse_window,
    watch,
)

FIXTURES = (guard_dists, publish)
HOUR = 3600.0


@pytest.fixture
def forge(tmp_path: Path) -> LocalForge:
    make_repo(tmp_path / "repo")
    return LocalForge(tmp_path / "repo")


def result(status: str = "pass") -> GuardResult:
    checks = [Check("install", "3.12.0", "pass", "ok"), Check("import", "3.12.0", status, "x")]
    return GuardResult("my-pkg", "1.2.0", "1.1.0", checks)


NO_SIGNALS = Signals()


def run(
    forge: LocalForge, clock: FakeClock, status: str = "pass", signals: Signals = NO_SIGNALS
) -> WatchOutcome:
    return watch(
        forge,
        "my-pkg",
        "1.2.0",
        window=72 * HOUR,
        run_guard=lambda: result(status),
        signals=signals,
        clock=clock,
        who="bot",
    )


def test_window_durations() -> None:
    assert parse_window("72h") == 72 * HOUR
    assert parse_window("3d") == 72 * HOUR
    assert parse_window("90m") == 5400
    for bad in ("", "72", "0h", "-1h", "1w"):
        with pytest.raises(BadInput):
            parse_window(bad)


def test_quiet_window_ends_verified_with_a_checkpoint(forge: LocalForge) -> None:
    clock = FakeClock()
    first = run(forge, clock)
    assert first.decision == "watching" and first.exit_code == 0
    assert first.issue is not None and first.record.started == clock.time()
    assert verified_versions(forge, "my-pkg") == set()
    clock.sleep(24 * HOUR)
    second = run(forge, clock)  # stateless: the record says when the window started
    assert second.issue is not None and second.issue.number == first.issue.number
    assert len(second.record.lines) == 2
    clock.sleep(48 * HOUR)
    last = run(forge, clock)
    assert last.decision == "verified" and last.exit_code == 0
    assert [t.status.name for t in last.tasks] == ["DONE", "DONE", "DONE"]
    point = load(forge, "my-pkg", "1.2.0")
    assert point is not None and point.evidence["verdict"] == "pass" and point.who == "bot"
    found = find_record(forge, "my-pkg", "1.2.0")
    assert found is not None and found[1].status == "verified" and len(found[1].lines) == 3
    assert found[0].state == "closed"
    again = run(forge, clock, status="fail")  # decided: a later run changes nothing
    assert again.decision == "done" and again.tasks == [] and again.exit_code == 0


def test_guard_failure_fails_the_watch(forge: LocalForge) -> None:
    clock = FakeClock()
    run(forge, clock)
    clock.sleep(HOUR)
    out = run(forge, clock, status="fail")
    assert out.decision == "fail" and out.exit_code == 1
    assert "guard fail: import failed" in out.record.lines[-1]
    assert verified_versions(forge, "my-pkg") == set()
    clock.sleep(100 * HOUR)
    assert run(forge, clock).exit_code == 1  # still failed, never verified
    assert verified_versions(forge, "my-pkg") == set()


def test_signal_issues_mentioning_the_version_reach_the_threshold(forge: LocalForge) -> None:
    forge.create_label(LabelSpec("bug", "ff0000", ""))
    signals = Signals(("bug",), 2)
    forge.create_issue("crash", "broken in 1.2.0 on windows", ["bug"])
    forge.create_issue("old", "broken in 1.2.01 and 11.2.0", ["bug"])  # not this version
    clock = FakeClock()
    out = run(forge, clock, signals=signals)
    assert out.decision == "watching" and len(out.signals) == 1
    forge.create_issue("crash too", "Since my-pkg==1.2.0 it fails", ["bug"])
    out = run(forge, clock, signals=signals)
    assert out.decision == "fail" and out.exit_code == 1 and len(out.signals) == 2
    assert "2 signal issue(s)" in out.record.lines[-1]


def test_inconclusive_guard_keeps_watching_and_exits_3(forge: LocalForge) -> None:
    clock = FakeClock()
    run(forge, clock)
    clock.sleep(80 * HOUR)
    out = run(forge, clock, status="inconclusive")
    assert out.decision == "watching" and out.exit_code == 3
    assert verified_versions(forge, "my-pkg") == set()


def test_record_round_trips_and_foreign_bodies_are_ignored() -> None:
    rec = WatchRecord("p", "1.0", 1.0, 2.0, "watching", ["a line"])
    assert WatchRecord.parse(rec.body()) == rec
    assert WatchRecord.parse("just an issue") is None
    assert WatchRecord.parse("<!-- unrelease-watch -->\n```json\n{}\n```") is None


def test_signal_settings_come_from_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[tool.unrelease.policy]\nsignal-labels = ["bug", "regression"]\nsignal-threshold = 3\n'
    )
    assert load_signals(path) == Signals(("bug", "regression"), 3)
    path.write_text("[tool.unrelease.policy]\nsignal-threshold = 0\n")
    with pytest.raises(BadInput):
        load_signals(path)


def test_watch_command_end_to_end(
    pypiserver_server: PypiserverServer,
    publish: _Publisher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    pkg = publish("good")
    repo = tmp_path / "repo"
    make_repo(repo, ("1.0.0", "1.1.0"))
    args = ["watch", pkg.name, pkg.version, "--index", pypiserver_server.url, "--wait", "0"]
    out = invoke([*args, "--repo", str(repo), "--json"])
    assert out.exit_code == 0, out.stdout + out.stderr
    assert out.json["decision"] == "watching" and out.json["verdict"] == "pass"
    issues = LocalForge(repo).find_issues(WATCH_LABEL, "all")
    assert len(issues) == 1 and "guard pass" in issues[0].body
