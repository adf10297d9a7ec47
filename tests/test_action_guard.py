"""The action's ``command: guard`` and ``command: watch``: arguments, outputs, the checks
table in the job summary, and main() running the real CLI against a real pypiserver."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.guard_dists import _Publisher, guard_dists, publish
from tests.servers import PypiserverServer
from tests.test_action_harness import parse_output_file
from tests.test_forge_local import make_repo
from unrelease import actions
from unrelease.actions.event import Inputs
from unrelease.actions.guard import (
    command_of,
    guard_argv,
    guard_outputs,
    guard_summary,
    guard_version,
)
from unrelease.actions.rollback import Result
from unrelease.errors import BadInput

FIXTURES = (guard_dists, publish)


def inputs(**values: str) -> Inputs:
    return Inputs({k.replace("_", "-"): v for k, v in values.items()})


def test_command_defaults_to_rollback_and_is_checked() -> None:
    assert command_of(inputs()) == "rollback"
    assert command_of(inputs(command="watch")) == "watch"
    with pytest.raises(BadInput, match="command must be one of"):
        command_of(inputs(command="rm -rf"))


def test_version_from_the_input_or_the_pushed_tag() -> None:
    assert guard_version(inputs(version="1.2.0"), {}) == "1.2.0"
    tag = {"GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v1.3.0"}
    assert guard_version(inputs(), tag) == "1.3.0"
    with pytest.raises(BadInput):
        guard_version(inputs(version="1.0; rm"), {})
    with pytest.raises(BadInput, match="no version"):
        guard_version(inputs(), {"GITHUB_REF_TYPE": "branch", "GITHUB_REF_NAME": "main"})


def test_argv_keeps_inputs_out_of_options() -> None:
    got = guard_argv(
        "guard",
        inputs(package="--yes", index="pypi", on_fail="rollback", checkpoint="true", window="1h"),
        "1.0",
    )
    assert got == [
        "guard",
        "--json",
        "--index=pypi",
        "--on-fail=rollback",
        "--checkpoint",
        "--yes",
        "--",
        "--yes",
        "1.0",
    ]
    watch = guard_argv("watch", inputs(package="p", on_fail="rollback", window="3d"), "1.0")
    assert watch == ["watch", "--json", "--window=3d", "--", "p", "1.0"]
    with pytest.raises(BadInput, match="package input"):
        guard_argv("guard", inputs(), "1.0")


def test_summary_shows_the_checks_as_a_table_with_data_inert() -> None:
    data = {
        "package": "p",
        "version": "1.0",
        "baseline": "0.9",
        "verdict": "fail",
        "checks": [
            {"name": "install", "python": "3.12.1", "status": "pass", "detail": "ok"},
            {"name": "import", "python": "3.12.1", "status": "fail", "detail": "a|b @x\nc"},
        ],
        "decision": {"action": "report", "why": "import failed"},
    }
    text = guard_summary("guard", Result(1, data))
    assert "| Check | Python | Status | Detail |" in text
    assert "| install | 3.12.1 | ✅ pass | ok |" in text
    row = next(line for line in text.splitlines() if line.startswith("| import"))
    assert row.count(" | ") == 3 and "@x" not in row  # no mention, no extra cell, one line
    assert "❌ fail" in text.splitlines()[0]
    assert guard_outputs("guard", Result(1, data)) == {"status": "failed", "verdict": "fail"}
    watch = {"decision": "watching", "ends": "2026-12-05T00:00:00+00:00", "lines": ["a"]}
    assert guard_outputs("watch", Result(0, watch)) == {"status": "done", "verdict": "watching"}
    assert "- a" in guard_summary("watch", Result(0, watch))
    assert "no verdict" in guard_summary("guard", Result(2), "bad input")


@pytest.mark.integration
def test_main_runs_guard_and_reports_the_verdict(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pypiserver_server: PypiserverServer,
    publish: _Publisher,
) -> None:
    pkg = publish("import-error")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    (tmp_path / "out").touch()
    (tmp_path / "summary").touch()
    env = {
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "INPUT_COMMAND": "guard",
        "INPUT_PACKAGE": pkg.name,
        "INPUT_VERSION": pkg.version,
        "INPUT_INDEX": pypiserver_server.url,
        "INPUT_WAIT": "0",
    }
    out = io.StringIO()
    assert actions.main(env, out) == 1
    values = parse_output_file((tmp_path / "out").read_text())
    assert values == {"status": "failed", "verdict": "fail"}
    summary = (tmp_path / "summary").read_text()
    assert "| import |" in summary and "❌ fail" in summary
    make_repo(tmp_path / "repo")
    env["INPUT_COMMAND"] = "watch"
    monkeypatch.setenv("GITHUB_REPOSITORY", str(tmp_path / "repo"))  # the CLI child reads it
    (tmp_path / "out").write_text("")
    assert actions.main(env, io.StringIO()) == 1
    values = parse_output_file((tmp_path / "out").read_text())
    assert values == {"status": "failed", "verdict": "fail"}
    summary = (tmp_path / "summary").read_text()
    assert "## unrelease watch:" in summary and "guard fail: import failed" in summary
