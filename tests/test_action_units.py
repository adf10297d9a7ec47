"""unrelease.actions in-process: events, arguments, outputs, summary, annotations, and main()
(the composite steps themselves run in tests/test_action.py)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.github import FakeGitHub
from tests.servers import DevpiServer, SeededPackage
from tests.test_action_harness import parse_commands, parse_output_file
from unrelease import actions
from unrelease.actions import (
    Console,
    Inputs,
    Result,
    Trigger,
    check_version_text,
    read_trigger,
    rollback_argv,
    version_from_tag,
)
from unrelease.errors import BadInput, Refused

ENV = {
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "acme/widget",
    "GITHUB_RUN_ID": "31",
}


def inputs(**values: str) -> Inputs:
    return Inputs({k.replace("_", "-"): v for k, v in values.items()})


def wr(**fields: Any) -> dict[str, Any]:
    run = {
        "id": 5,
        "status": "completed",
        "conclusion": "failure",
        "head_branch": "v1.2.0",
        "head_sha": "a" * 40,
        "event": "push",
        "head_repository": {"full_name": "acme/widget"},
    }
    run.update(fields)
    return {"workflow_run": run, "repository": {"full_name": "acme/widget"}}


# ------------------------------------------------------------------ workflow commands
def test_command_escaping_round_trips_through_the_runner_parser() -> None:
    out = io.StringIO()
    console = Console(out)
    console.error("50% done\r\n::warning::no", title="a:b,c")
    console.warning("w")
    console.notice("n", title="")
    console.group("g")
    console.endgroup()
    token = console.start_verbatim()
    console.line("::error::inside")
    console.end_verbatim(token)
    commands = parse_commands(out.getvalue(), {})
    assert [(c.name, c.props, c.message) for c in commands] == [
        ("error", {"title": "a:b,c"}, "50% done\r\n::warning::no"),
        ("warning", {}, "w"),
        ("notice", {}, "n"),
        ("group", {}, "g"),
        ("endgroup", {}, ""),
    ]
    assert len(out.getvalue().splitlines()) == 8  # one line per command: nothing leaked


def test_console_redacts_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYPI_PASSWORD", "hunter2-secret")
    out = io.StringIO()
    Console(out).error("login with hunter2-secret failed", title="hunter2-secret")
    Console(out).line("hunter2-secret")
    assert "hunter2-secret" not in out.getvalue()


def test_outputs_file_survives_hostile_values(tmp_path: Path) -> None:
    path = tmp_path / "out"
    values = {
        "a": "one\ntwo\r\nthree\rfour",
        "b": "x\nghadelimiter_\nEOF\n",
        "c": "",
        "d": "name=value",
    }
    actions.write_outputs(path, values)
    actions.write_outputs(path, {"e": "later"})
    parsed = parse_output_file(path.read_text())
    assert parsed == {
        "a": "one\ntwo\nthree\nfour",
        "b": "x\nghadelimiter_\nEOF\n",
        "c": "",
        "d": "name=value",
        "e": "later",
    }
    with pytest.raises(ValueError, match="output name"):
        actions.write_outputs(path, {"bad name": "x"})


def test_summary_is_cut_at_one_mebibyte(tmp_path: Path) -> None:
    path = tmp_path / "summary"
    actions.append_summary(path, "é" * (1024 * 1024))
    text = path.read_text("utf-8")
    assert len(text.encode()) < 1024 * 1024 and text.endswith("*(cut at 1 MiB)*\n")


# ------------------------------------------------------------------------- events
@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("1.2.0", True),
        ("1.0.0rc1", True),
        ("2!1.0.post1+local.7", True),
        ("1.2.0 ", False),
        (" 1.2.0", False),
        ("1.2.0\n", False),
        ("1.2.0;rm", False),
        ("$(id)", False),
        ("1" * 65, False),
        ("abc", False),
        (None, False),
        (12, False),
    ],
)
def test_check_version_text(text: Any, ok: bool) -> None:
    if ok:
        assert check_version_text(text, "v") == text
    else:
        with pytest.raises(BadInput):
            check_version_text(text, "v")


@pytest.mark.parametrize(
    ("tag", "fmt", "version"),
    [
        ("v1.2.0", "v{version}", "1.2.0"),
        ("1.2.0", "{version}", "1.2.0"),
        ("release-1.2.0-final", "release-{version}-final", "1.2.0"),
        ("widget/1.2.0", "widget/{version}", "1.2.0"),
    ],
)
def test_version_from_tag(tag: str, fmt: str, version: str) -> None:
    assert version_from_tag(tag, fmt, "tag") == version


@pytest.mark.parametrize(
    ("tag", "fmt", "message"),
    [
        ("1.2.0", "v{version}", "does not have the tag format"),
        ("v", "v{version}", "does not have the tag format"),
        ("v1.2.0-x", "v{version}-y", "does not have the tag format"),
        ("v1.2", "v{version}{version}", "once"),
        (None, "v{version}", "not a tag"),
        ("vmain", "v{version}", "not a PEP 440 version"),
    ],
)
def test_version_from_tag_refusals(tag: Any, fmt: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        version_from_tag(tag, fmt, "tag")


def test_workflow_run_trigger() -> None:
    t = read_trigger("workflow_run", wr(), ENV, inputs())
    assert (t.version, t.run_id, t.skip, t.default_reason) == ("1.2.0", 5, None, "")
    assert (t.tag, t.head_sha) == ("v1.2.0", "a" * 40)  # main() checks the tag is there
    assert t.run_url == "https://github.example/acme/widget/actions/runs/5"
    explicit = read_trigger("workflow_run", wr(), ENV, inputs(version="1.1.0"))
    assert explicit.version == "1.1.0" and explicit.source == "input"
    assert explicit.tag == "v1.2.0"
    # the run must be on a release tag even when the version is given
    with pytest.raises(BadInput, match="does not have the tag format"):
        read_trigger("workflow_run", wr(head_branch="main"), ENV, inputs(version="1.1.0"))
    for event in ("release", "workflow_dispatch"):
        assert read_trigger("workflow_run", wr(event=event), ENV, inputs()).version == "1.2.0"
    no_repo = {"workflow_run": wr()["workflow_run"]}  # the repository from the environment
    assert read_trigger("workflow_run", no_repo, ENV, inputs()).version == "1.2.0"
    custom = read_trigger(
        "workflow_run", wr(head_branch="rel-1.3"), ENV, inputs(tag_format="rel-{version}")
    )
    assert custom.version == "1.3"


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"status": "in_progress", "conclusion": None}, "still in progress"),
        ({"status": "bad status!", "conclusion": None}, "still running"),
        ({"conclusion": "success"}, "concluded success"),
        ({"conclusion": "timed_out"}, "concluded timed out"),
        ({"conclusion": "::error::x"}, "concluded without a failure"),
    ],
)
def test_workflow_run_that_did_not_fail_is_skipped(fields: dict[str, Any], said: str) -> None:
    t = read_trigger("workflow_run", wr(**fields), ENV, inputs())
    assert t.skip is not None and said in t.skip and t.version is None


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        ({}, BadInput, "no workflow_run object"),
        (wr(id="5"), BadInput, "not a run id"),
        (wr(id=True), BadInput, "not a run id"),
        (wr(id=-1), BadInput, "not a run id"),
        (wr(head_repository={"full_name": "evil/widget"}), Refused, "fork"),
        (wr(event="pull_request_target"), Refused, "triggered by a pull_request_target event"),
        (wr(event="pull_request"), Refused, "triggered by a pull_request event"),
        (wr(event="schedule"), Refused, "only a run of a push, release or workflow_dispatch"),
        (wr(event="workflow_run"), Refused, "triggered by a workflow_run event"),
        (wr(event="issue_comment"), Refused, "triggered by a issue_comment event"),
        (wr(event=None), Refused, "triggered by an unknown event"),
        (wr(event="Push; id"), Refused, "triggered by an unknown event"),
        (wr(head_repository=None), Refused, "names no head repository"),
        (wr(head_repository={"name": "widget"}), Refused, "names no head repository"),
        (wr(head_sha=None), BadInput, "has no head_sha"),
        (wr(head_sha="HEAD"), BadInput, "has no head_sha"),
        (wr(head_branch="v1.2.0$(id)"), BadInput, "not a version"),
    ],
)
def test_workflow_run_refusals(payload: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        read_trigger("workflow_run", payload, ENV, inputs())


def test_other_triggers() -> None:
    dispatch = read_trigger("workflow_dispatch", {"inputs": {"version": "1.2.0"}}, ENV, inputs())
    assert (dispatch.version, dispatch.default_reason) == ("1.2.0", "")
    with pytest.raises(BadInput, match="set the action's version input"):
        read_trigger("workflow_dispatch", {"inputs": {}}, ENV, inputs())
    env = {**ENV, "GITHUB_REF": "refs/tags/v2.0.0"}
    release = read_trigger("release", {"release": {"tag_name": "v2.0.0"}}, env, inputs())
    assert release.version == "2.0.0"
    # no failure is known here: the reason says what asked for the rollback
    assert release.default_reason == (
        "rollback of 2.0.0 requested from the release of tag v2.0.0 (workflow run 31)"
    )
    pushed = read_trigger("push", {}, env, inputs(version="1.9"))
    assert pushed.default_reason == (
        "rollback of 1.9 requested from the push of tag v2.0.0 (workflow run 31)"
    )
    branch = read_trigger("push", {}, {"GITHUB_REF": "refs/heads/main"}, inputs(version="1.9"))
    assert branch.default_reason == "rollback of 1.9 requested from a push event"
    with pytest.raises(BadInput, match="disagree"):
        read_trigger("release", {"release": {"tag_name": "v3.0.0"}}, env, inputs())
    assert read_trigger("push", {}, env, inputs()).version == "2.0.0"
    with pytest.raises(BadInput, match="not a tag"):
        read_trigger("push", {}, ENV, inputs())
    scheduled = read_trigger("schedule", {}, ENV, inputs(version="1.0"))
    assert scheduled.version == "1.0" and scheduled.default_reason == ""
    with pytest.raises(BadInput, match="a schedule event carries none"):
        read_trigger("schedule", {}, ENV, inputs())


def test_run_id_input_names_the_failed_run() -> None:
    env = {**ENV, "GITHUB_REF": "refs/tags/v2.0.0"}
    t = read_trigger("push", {}, env, inputs(run_id="31"))
    assert (t.version, t.run_id, t.default_reason) == ("2.0.0", 31, "")
    assert t.run_url == "https://github.example/acme/widget/actions/runs/31"
    with pytest.raises(BadInput, match="run-id is not a run id"):
        read_trigger("push", {}, env, inputs(run_id="31 && id"))
    for unicode_digits in ("²", "٣١", "３１"):  # str.isdigit() says yes to each
        with pytest.raises(BadInput, match="run-id is not a run id"):
            read_trigger("push", {}, env, inputs(run_id=unicode_digits))


def test_tag_format_from_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.unrelease]\ntag-format = "rel-{version}"\n')
    env = {**ENV, "GITHUB_REF": "refs/tags/rel-4.0"}
    assert read_trigger("push", {}, env, inputs()).version == "4.0"
    (tmp_path / "pyproject.toml").write_text("[tool.unrelease]\nnope = 1\n")
    assert read_trigger("push", {}, {**ENV, "GITHUB_REF": "refs/tags/v4.1"}, inputs()).version == (
        "4.1"
    )


# -------------------------------------------------------------------- the arguments
def test_rollback_argv_keeps_inputs_out_of_options() -> None:
    t = Trigger("workflow_dispatch", version="1.2.0")
    argv = rollback_argv(
        inputs(
            package="--force",
            reason="--yes; rm -rf /",
            to="1.0.0",
            mode="delete",
            index_kind="devpi",
            dry_run="true",
            mark_release="false",
            force="",
            verify_install="yes",
        ),
        t,
    )
    assert argv == [
        "rollback",
        "--reason=--yes; rm -rf /",
        "--yes",
        "--json",
        "--to=1.0.0",
        "--mode=delete",
        "--index-kind=devpi",
        "--dry-run",
        "--verify-install",
        "--",
        "--force",
        "1.2.0",
    ]
    with_run = rollback_argv(inputs(package="p"), Trigger("workflow_run", version="1", run_id=9))
    assert "--run=9" in with_run and not any(a.startswith("--reason") for a in with_run)
    with pytest.raises(BadInput, match="package input"):
        rollback_argv(inputs(), t)
    with pytest.raises(BadInput, match="reason input"):
        rollback_argv(inputs(package="p"), t)
    with pytest.raises(BadInput, match="true or false"):
        rollback_argv(inputs(package="p", reason="r", force="sure"), t)


def test_inputs_from_env() -> None:
    got = Inputs.from_env({"INPUT_TAG_FORMAT": " v{version} ", "INPUT_DRY_RUN": "TRUE", "X": "1"})
    assert got.values == {"tag-format": "v{version}", "dry-run": "TRUE"}
    assert got.flag("dry-run") and not got.flag("force")


# ------------------------------------------------------------------------- results
def data(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "package": "widget",
        "version": "1.2.0",
        "to": "1.1.0",
        "mode": "yank",
        "index": "https://pypi.org/",
        "withdrawn": ["1.2.0"],
        "steps": [
            {"name": "index:1.2.0", "status": "done", "detail": "yanked 1.2.0"},
            {"name": "issue", "status": "done", "detail": "#7", "url": "https://x/issues/7"},
            {"name": "tag", "status": "done", "detail": "v1.1.0-rollback"},
            {"name": "note", "status": "done", "detail": "draft"},
        ],
        "issue": {"number": 7, "url": "https://github.example/acme/widget/issues/7"},
        "tag": {"name": "v1.1.0-rollback-20240101", "sha": "a" * 40},
        "release_note": {"id": 3, "url": "https://github.example/acme/widget/releases/3"},
        "record_id": "rb-1",
        "notice": "Use 1.1.0.\n# not a heading",
    }
    base.update(over)
    return base


def with_status(d: dict[str, Any], name: str, status: str, detail: str = "") -> dict[str, Any]:
    for s in d["steps"]:
        if s["name"] == name:
            s["status"], s["detail"] = status, detail
    return d


@pytest.mark.parametrize(
    ("result", "status"),
    [
        (Result(0, data()), "done"),
        (Result(0, data(dry_run=True)), "dry-run"),
        (Result(0, data(steps=[{"name": "tag", "status": "already-done"}])), "already-done"),
        (Result(1, with_status(data(), "tag", "failed")), "failed"),
        (Result(3, with_status(data(), "index:1.2.0", "pending")), "pending"),
        (Result(2, None, ["error: no"]), "refused"),
        (Result(3, None), "pending"),
        (Result(1, None), "failed"),
    ],
)
def test_result_status(result: Result, status: str) -> None:
    assert result.status == status


def test_result_message() -> None:
    assert Result(2, None, ["warn", "error: bad input", "x"]).message == "bad input"
    assert Result(1, None, ["a", "b"]).message == "b"
    assert Result(1, None, []).message == "unrelease exited with 1"


def test_outputs_of_a_result() -> None:
    values = actions.outputs(Result(0, data(withdrawn=["1.2.0", "1.1.5"])))
    assert values == {
        "status": "done",
        "issue-number": "7",
        "issue-url": "https://github.example/acme/widget/issues/7",
        "tag": "v1.1.0-rollback-20240101",
        "release-note-url": "https://github.example/acme/widget/releases/3",
        "record-id": "rb-1",
        "to-version": "1.1.0",
        "withdrawn-versions": "1.2.0,1.1.5",
    }
    assert actions.outputs(None, skip=True)["status"] == "skipped"
    assert set(actions.outputs(Result(2, None)).values()) == {"refused", ""}


def test_summary_of_a_pending_rollback_and_its_annotations() -> None:
    d = with_status(data(), "index:1.2.0", "pending", "log in to PyPI and yank 1.2.0 by hand")
    result = Result(3, d)
    trigger = Trigger("workflow_run", version="1.2.0", run_id=5, run_url="https://g/r/5")
    trigger.source = "the failed run's tag"
    text = actions.summary(trigger, result, ENV)
    assert text.startswith("## unrelease: waiting on a person")
    assert "| index:1.2.0 | ⏳ pending | log in to PyPI and yank 1.2.0 by hand |" in text
    assert "[issue](https://x/issues/7)" in text
    assert "- Failed run: [run 5](https://g/r/5)" in text
    tag_link = "https://github.example/acme/widget/releases/tag/v1.1.0-rollback-20240101"
    assert f"- Rollback tag: [v1.1.0-rollback-20240101]({tag_link})" in text
    assert 'w0["widget 1.2.0: pending"]:::pending -->|yank| target' in text
    # the notice is markdown Texts.notice wrote: it goes in as it is, between blank lines
    notice = "<summary>Notice for users</summary>\n\nUse 1.1.0.\n# not a heading\n\n</details>"
    assert notice in text
    assert "### Waiting on a person\n\n**index:1.2.0**\n\nlog in to PyPI" in text
    out = io.StringIO()
    actions.annotate(Console(out), result)
    commands = parse_commands(out.getvalue(), {})
    assert [(c.name, c.props.get("title")) for c in commands] == [
        ("warning", "unrelease: step index:1.2.0 waits on a person")
    ]


def test_summary_variants() -> None:
    t = Trigger("workflow_dispatch", version="1.2.0", source="input")
    refused = actions.summary(t, None, ENV, refusal="bad | <b>input</b>")
    assert "> bad \\| &lt;b>input&lt;/b>" in refused and "Nothing was changed." in refused
    wr_refused = Trigger("workflow_run", run_id=5, run_url="https://g/r/5")
    assert "[run 5](https://g/r/5)" in actions.summary(wr_refused, None, ENV, refusal="x")
    crashed = actions.summary(t, Result(1, None, ["Traceback", "boom"]), ENV)
    assert crashed.startswith("## unrelease: failed") and "> boom" in crashed
    assert "Nothing was changed" not in crashed
    bare = data(issue=None, tag=None, release_note=None, steps=[])
    no_links = actions.summary(t, Result(0, bare), {})
    assert "- none yet" in no_links
    dry = actions.summary(t, Result(0, data(dry_run=True)), ENV)
    assert "Notice for users" not in dry


def test_mermaid_and_links_keep_data_inert() -> None:
    hostile = 'x"]; click target call alert(1) %%{init}%% <b>`'
    d = data(package=hostile, to=hostile, withdrawn=[hostile], tag={"name": hostile}, mode=hostile)
    chart = actions.mermaid(d, [{"name": f"index:{hostile}", "status": "done"}])
    for line in chart.splitlines()[2:-7]:
        inside = re.findall(r'"([^"]*)"', line)
        assert inside, line
        for text in inside:
            assert not set(text) & set('"<>`;%{}[]'), text
    assert actions.link("x", "javascript:alert(1)") == "x"
    assert actions.link("x", None) == "x"
    assert actions.link("a b", "https://e.com/a (b)") == "[a b](https://e.com/a%20%28b%29)"
    assert actions.tag_url({}, "v1") is None


def test_annotations_for_outcomes() -> None:
    def notes(result: Result) -> list[tuple[str, str, str]]:
        out = io.StringIO()
        actions.annotate(Console(out), result)
        return [
            (c.name, c.props.get("title", ""), c.message)
            for c in parse_commands(out.getvalue(), {})
        ]

    assert notes(Result(2, None, ["error: nope"])) == [("error", "unrelease refused", "nope")]
    assert notes(Result(1, None, ["boom"])) == [("error", "unrelease failed", "boom")]
    failed = notes(Result(1, with_status(data(), "tag", "failed", "500 from GitHub")))
    assert failed == [("error", "unrelease: step tag failed", "500 from GitHub")]
    assert notes(Result(0, data(dry_run=True))) == [
        ("notice", "unrelease dry run", "would roll back widget 1.2.0 → 1.1.0")
    ]


# ----------------------------------------------------------------------------- main()
def runner_env(tmp_path: Path, event: str, payload: Any) -> dict[str, str]:
    event_path = tmp_path / "event.json"
    event_path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    (tmp_path / "out").touch()
    (tmp_path / "summary").touch()
    return {
        **ENV,
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "INPUT_PACKAGE": "widget",
    }


def test_main_skips_a_run_that_succeeded(tmp_path: Path) -> None:
    env = runner_env(tmp_path, "workflow_run", wr(conclusion="success"))
    out = io.StringIO()
    assert actions.main(env, out) == 0
    assert parse_output_file((tmp_path / "out").read_text())["status"] == "skipped"
    assert "nothing rolled back" in (tmp_path / "summary").read_text()
    assert "::notice title=unrelease%3A nothing to roll back::" in out.getvalue()


@pytest.mark.parametrize(
    ("payload", "message"),
    [("[1, 2]", "not a JSON object"), ("{not json", "cannot read the event payload")],
)
def test_main_refuses_an_unreadable_payload(tmp_path: Path, payload: str, message: str) -> None:
    env = runner_env(tmp_path, "workflow_run", payload)
    assert actions.main(env, io.StringIO()) == 2
    assert parse_output_file((tmp_path / "out").read_text())["status"] == "refused"
    assert message in (tmp_path / "summary").read_text()


def test_main_without_runner_files_still_reports(capsys: pytest.CaptureFixture[str]) -> None:
    assert actions.main({"GITHUB_EVENT_NAME": "schedule"}) == 2
    assert "::error title=unrelease refused::no version" in capsys.readouterr().out


@pytest.mark.integration
@pytest.mark.slow
def test_main_runs_the_cli(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    devpi_server: DevpiServer,
    seed: Any,
    fake_github: FakeGitHub,
) -> None:
    """main() in this process, the real CLI in a child process: a dry run, then a refusal."""
    pkg: SeededPackage = seed(devpi_server.dev)
    for v in pkg.versions:
        fake_github.add_tag(f"v{v}", fake_github.add_commit(v))
    env = runner_env(tmp_path, "workflow_dispatch", {"inputs": {}})
    env.update(
        {
            "GITHUB_REPOSITORY": fake_github.full_name,
            "GITHUB_API_URL": fake_github.api_url,
            "GITHUB_SERVER_URL": fake_github.web_url,
            "GITHUB_TOKEN": fake_github.token,
            "UNRELEASE_INDEX_USERNAME": pkg.target.username,
            "UNRELEASE_INDEX_PASSWORD": pkg.target.password,
            "INPUT_PACKAGE": pkg.name,
            "INPUT_VERSION": "1.2.0",
            "INPUT_REASON": "broken",
            "INPUT_INDEX": pkg.target.url,
            "INPUT_MODE": "delete",
            "INPUT_DRY_RUN": "true",
        }
    )
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    assert actions.main(None, out) == 0
    values = parse_output_file((tmp_path / "out").read_text())
    assert values["status"] == "dry-run" and values["to-version"] == "1.1.0"
    assert fake_github.writes() == []
    assert pkg.target.password not in out.getvalue()

    monkeypatch.setenv("INPUT_VERSION", "9.9.9")
    (tmp_path / "out").write_text("")
    assert actions.main(None, io.StringIO()) == 2
    values = parse_output_file((tmp_path / "out").read_text())
    assert values["status"] == "refused"
    assert "9.9.9 is not on" in (tmp_path / "summary").read_text()


def test_module_entry_point(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    import runpy

    for key in ("GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GITHUB_EVENT_NAME", "schedule")
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("unrelease.actions", run_name="__main__")
    assert exc.value.code == 2
    assert "::error title=unrelease refused::" in capsys.readouterr().out


def test_backup_outputs_only_when_files_were_kept(tmp_path: Path) -> None:
    from unrelease.actions import backup_outputs

    folder = tmp_path / "unrelease-backup"
    env = {"UNRELEASE_BACKUP_DIR": str(folder), "UNRELEASE_BACKUP_ARTIFACT": "unrelease-backup-1-1"}
    assert backup_outputs(env) == {}  # no folder: yank mode, or nothing deleted
    (folder / "1.2.0").mkdir(parents=True)
    assert backup_outputs(env) == {}  # an empty folder: nothing to upload
    (folder / "1.2.0" / "demo-1.2.0.tar.gz").write_bytes(b"sdist")
    assert backup_outputs(env) == {
        "backup-artifact": "unrelease-backup-1-1",
        "backup-dir": str(folder),
    }
    assert backup_outputs({"UNRELEASE_BACKUP_DIR": str(folder)}) == {}  # no artifact name
