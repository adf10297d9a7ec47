"""Runs the composite action's steps as the GitHub runner does, and tests that runner.

``run_action(with_inputs, event_name, payload, ...)`` reads ``action.yml``, evaluates each
step's ``if:`` and ``env:`` expressions, runs every ``run:`` step with
``bash --noprofile --norc -eo pipefail FILE`` (the runner's command for ``shell: bash``) in a
clean environment holding only what a runner sets (``GITHUB_*``, ``RUNNER_TEMP``, a fresh
``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY`` file per step, ``GITHUB_ACTION_PATH``), parses
the output files and the workflow commands in the log the way the runner does, and evaluates
the action's ``outputs:``. A ``uses:`` step may only be skipped (its ``if:`` false): these tests
take the path where the runner's python3 is new enough. The backup's
``actions/upload-artifact`` step is not run either: it is recorded (``ran``, its ``with:``
values in ``env``) when its ``if:`` holds.

The expression evaluator covers the forms the action uses (context paths, string literals,
``==``, ``!=``, ``&&``, ``||``, ``!``, parentheses, ``success()``, ``failure()``,
``always()``) with GitHub's loose comparison rules; any other form fails the test.

The install step runs with ``UNRELEASE_ACTION_VENV`` (the switch documented in
``action/install.sh``) pointing at this test environment, which has unrelease installed from
this source tree: the tests need no network.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
UPLOAD_ARTIFACT = "actions/upload-artifact@"


# ------------------------------------------------------------------------- expressions
class ExpressionError(AssertionError):
    """An expression form this evaluator does not understand: fails the test."""


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|&&|\|\||!|\(|\)|\.)|(?P<id>[A-Za-z_][A-Za-z0-9_-]*))"
)


def _tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"cannot read expression {expr!r} at {expr[pos:]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _number(value: Any) -> float:
    """GitHub's coercion of a value to a number for comparisons of different types."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0.0
        try:
            return float(text)
        except ValueError:
            return math.nan
    return math.nan


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()  # GitHub compares strings ignoring case
    if type(a) is type(b) and not isinstance(a, dict | list):
        return bool(a == b)
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return a is b
    return _number(a) == _number(b)


def truthy(value: Any) -> bool:
    if value is None or value is False or value == "":
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        return not (value == 0 or math.isnan(value))
    return True


class _Parser:
    def __init__(self, expr: str, ctx: dict[str, Any], status: str) -> None:
        self.toks = _tokens(expr)
        self.i = 0
        self.ctx = ctx
        self.status = status  # "success" or "failure": the job so far
        self.expr = expr

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise ExpressionError(f"expected {value!r} in {self.expr!r}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()} in {self.expr!r}")
        return value

    def or_(self) -> Any:
        left = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            left = left if truthy(left) else right
        return left

    def and_(self) -> Any:
        left = self.cmp()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.cmp()
            left = right if truthy(left) else left
        return left

    def cmp(self) -> Any:
        left = self.unary()
        tok = self.peek()
        if tok in (("op", "=="), ("op", "!=")):
            self.take()
            right = self.unary()
            same = _equal(left, right)
            return same if tok[1] == "==" else not same
        return left

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if (kind, text) == ("op", "("):
            value = self.or_()
            self.take(")")
            return value
        if kind != "id":
            raise ExpressionError(f"unexpected {text!r} in {self.expr!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == ("op", "("):
            self.take()
            self.take(")")
            functions = {
                "success": self.status == "success",
                "failure": self.status == "failure",
                "always": True,
                "cancelled": False,
            }
            if text not in functions:
                raise ExpressionError(f"function {text}() is not supported here")
            return functions[text]
        if text not in self.ctx:
            raise ExpressionError(f"unknown context {text!r} in {self.expr!r}")
        value: Any = self.ctx[text]
        while self.peek() == ("op", "."):
            self.take()
            kind, name = self.take()
            if kind != "id":
                raise ExpressionError(f"bad property {name!r} in {self.expr!r}")
            value = value.get(name) if isinstance(value, dict) else None
        return value


def evaluate(expr: str, ctx: dict[str, Any], status: str = "success") -> Any:
    return _Parser(expr, ctx, status).parse()


def to_text(value: Any) -> str:
    """How the runner turns an expression's value into text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    return str(value)


def _text(value: Any) -> str:
    """A YAML scalar as the runner reads it: text (true stays 'true', not 'True')."""
    return value if isinstance(value, str) else to_text(value)


def interpolate(text: str, ctx: dict[str, Any], status: str = "success") -> str:
    out, pos = [], 0
    while True:
        start = text.find("${{", pos)
        if start < 0:
            out.append(text[pos:])
            return "".join(out)
        end = text.find("}}", start)
        if end < 0:
            raise ExpressionError(f"unclosed expression in {text!r}")
        out.append(text[pos:start])
        out.append(to_text(evaluate(text[start + 3 : end], ctx, status)))
        pos = end + 2


def condition(text: str | bool | None, ctx: dict[str, Any], status: str) -> bool:
    """A step's ``if:``; without a status function, success() is implied."""
    if text is None:
        return status == "success"
    if isinstance(text, bool):
        return text and status == "success"
    expr = text.strip()
    if expr.startswith("${{") and expr.endswith("}}"):
        expr = expr[3:-2]
    value = truthy(evaluate(expr, ctx, status))
    if not re.search(r"\b(success|failure|always|cancelled)\s*\(", expr):
        value = value and status == "success"
    return value


# ---------------------------------------------------------------- runner file commands
def parse_output_file(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it: ``name=value`` or ``name<<DELIM`` … ``DELIM``."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i].removesuffix("\r")
        i += 1
        if line == "":
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if eq >= 0 and (heredoc < 0 or eq < heredoc):
            name, value = line[:eq], line[eq + 1 :]
        elif heredoc >= 0:
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            if not name or not delimiter:
                raise AssertionError(f"invalid output line {line!r}")
            value_lines = []
            while True:
                if i >= len(lines):
                    raise AssertionError(f"matching delimiter not found: {delimiter!r}")
                current = lines[i].removesuffix("\r")
                i += 1
                if current == delimiter:
                    break
                value_lines.append(current)
            value = "\n".join(value_lines)
        else:
            raise AssertionError(f"invalid output line {line!r}")
        if not name:
            raise AssertionError(f"output with no name: {line!r}")
        out[name] = value
    return out


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return unescape_data(text.replace("%3A", ":").replace("%2C", ","))


@dataclass
class Command:
    name: str
    props: dict[str, str]
    message: str


_COMMAND = re.compile(r"^::(?P<name>[A-Za-z0-9-]+)(?: (?P<props>[^:]*))?::(?P<msg>.*)$")


def parse_commands(log: str, state: dict[str, Any]) -> list[Command]:
    """The workflow commands in LOG (stdout and stderr), honouring ``::stop-commands::``.
    STATE carries the stop token across steps like the runner's does within one step only."""
    commands: list[Command] = []
    stop: str | None = None
    for raw in log.splitlines():
        line = raw.lstrip()  # the runner finds commands after leading whitespace too
        if stop is not None:
            if line == f"::{stop}::":
                stop = None
            continue
        m = _COMMAND.match(line)
        if not m:
            continue
        props = {}
        for part in (m.group("props") or "").split(","):
            if "=" in part:
                k, v = part.split("=", 1)
                props[k.strip()] = unescape_property(v)
        cmd = Command(m.group("name"), props, unescape_data(m.group("msg")))
        if cmd.name == "stop-commands":
            stop = cmd.message
            continue
        commands.append(cmd)
        if cmd.name == "add-mask":
            state.setdefault("masks", []).append(cmd.message)
    return commands


# ------------------------------------------------------------------------- the runner
@dataclass
class StepRun:
    id: str
    name: str
    ran: bool
    exit_code: int | None = None
    log: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    env: dict[str, str] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]
    failed: bool
    masks: list[str]

    @property
    def log(self) -> str:
        return "".join(s.log for s in self.steps)

    @property
    def summary(self) -> str:
        return "".join(s.summary for s in self.steps)

    @property
    def commands(self) -> list[Command]:
        return [c for s in self.steps for c in s.commands]

    def step(self, step_id: str) -> StepRun:
        return next(s for s in self.steps if s.id == step_id)

    @property
    def exit_code(self) -> int:
        return next((s.exit_code or 0 for s in self.steps if s.exit_code), 0)


def load_action() -> dict[str, Any]:
    data = YAML(typ="safe").load(ACTION.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def runner_python_dir(tmp: Path) -> Path:
    """A directory whose python3 is the real interpreter behind this test's Python (the
    "runner's python3"), so that PATH holds nothing else of the developer's machine."""
    bin_dir = tmp / "runner-bin"
    if not bin_dir.exists():
        bin_dir.mkdir(parents=True)
        real = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
        (bin_dir / "python3").symlink_to(real)
    return bin_dir


def run_action(
    tmp: Path,
    with_inputs: dict[str, str],
    *,
    event_name: str,
    payload: dict[str, Any],
    github: dict[str, str] | None = None,
    extra_env: dict[str, str] | None = None,
    path_dirs: list[Path] | None = None,
    stop_at_uses: bool = False,
    workspace_files: dict[str, str] | None = None,
) -> ActionRun:
    """Run action.yml's steps as a runner would, in TMP. GITHUB holds the runner's GITHUB_*
    values (token, repository, api_url, server_url, ref, run_id)."""
    action = load_action()
    gh = {
        "token": "ghs_unset",
        "repository": "acme/widget",
        "api_url": "https://api.github.invalid",
        "server_url": "https://github.invalid",
        "ref": "refs/heads/main",
        "run_id": "4242",
        "run_attempt": "1",
        **(github or {}),
    }
    tmp.mkdir(parents=True, exist_ok=True)
    event_path = tmp / "event.json"
    event_path.write_text(json.dumps(payload), "utf-8")
    runner_temp = tmp / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    workspace = tmp / "workspace"
    workspace.mkdir(exist_ok=True)
    for name, text in (workspace_files or {}).items():
        (workspace / name).write_text(text, "utf-8")
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    dirs = [*(path_dirs or []), runner_python_dir(tmp), Path("/usr/bin"), Path("/bin")]
    base_env = {
        "PATH": os.pathsep.join(str(d) for d in dirs),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": gh["repository"],
        "GITHUB_API_URL": gh["api_url"],
        "GITHUB_SERVER_URL": gh["server_url"],
        "GITHUB_REF": gh["ref"],
        "GITHUB_RUN_ID": gh["run_id"],
        "GITHUB_RUN_ATTEMPT": gh["run_attempt"],
        "GITHUB_ACTOR": "octo-user",
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(runner_temp),
        "RUNNER_OS": "Linux",
        # the documented switch of action/install.sh: use this test environment
        "UNRELEASE_ACTION_VENV": sys.prefix,
        **(extra_env or {}),
    }
    ctx: dict[str, Any] = {
        "github": {
            "token": gh["token"],
            "event_name": event_name,
            "event": payload,
            "repository": gh["repository"],
            "ref": gh["ref"],
            "run_id": gh["run_id"],
            "run_attempt": gh["run_attempt"],
            "server_url": gh["server_url"],
            "api_url": gh["api_url"],
            "action_path": str(ROOT),
            "workspace": str(workspace),
        },
        "runner": {"temp": str(runner_temp), "os": "Linux"},
        "env": {},
        "steps": {},
    }
    unknown = set(with_inputs) - set(action["inputs"])
    assert not unknown, f"the action has no input(s) {unknown}"
    inputs: dict[str, str] = {}
    for name, spec in action["inputs"].items():
        if name in with_inputs:
            inputs[name] = with_inputs[name]
        else:
            inputs[name] = interpolate(str(spec.get("default", "")), ctx)
    ctx["inputs"] = inputs

    status = "success"
    runs: list[StepRun] = []
    state: dict[str, Any] = {}
    for index, step in enumerate(action["runs"]["steps"]):
        step_id = step.get("id", f"__{index}")
        name = step.get("name", step_id)
        if not condition(step.get("if"), ctx, status):
            runs.append(StepRun(step_id, name, ran=False))
            ctx["steps"][step_id] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
            continue
        if "uses" in step and step["uses"].startswith(UPLOAD_ARTIFACT):
            # not run: recorded with its inputs, which the tests check against the files
            with_values = {k: interpolate(_text(v), ctx) for k, v in step.get("with", {}).items()}
            runs.append(StepRun(step_id, name, ran=True, exit_code=0, env=with_values))
            ctx["steps"][step_id] = {"outputs": {}, "outcome": "success", "conclusion": "success"}
            continue
        if "uses" in step:
            if stop_at_uses:
                with_values = {
                    k: interpolate(_text(v), ctx) for k, v in step.get("with", {}).items()
                }
                runs.append(StepRun(step_id, name, ran=False, env=with_values))
                return ActionRun(runs, {}, False, state.get("masks", []))
            raise AssertionError(f"step {name!r} ({step['uses']}) would run: not tested here")
        script = step["run"]
        assert "${{" not in script, f"expression inside the run script of {name!r}"
        assert step.get("shell") == "bash", f"step {name!r} must name shell: bash"
        env = dict(base_env)
        step_env = {k: interpolate(_text(v), ctx, status) for k, v in step.get("env", {}).items()}
        env.update(step_env)
        files = tmp / "runner-files" / uuid.uuid4().hex
        files.mkdir(parents=True)
        env["GITHUB_OUTPUT"] = str(files / "output")
        env["GITHUB_STEP_SUMMARY"] = str(files / "summary")
        env["GITHUB_ENV"] = str(files / "env")
        env["GITHUB_PATH"] = str(files / "path")
        for f in ("output", "summary", "env", "path"):
            (files / f).touch()
        script_file = runner_temp / f"{uuid.uuid4()}.sh"
        script_file.write_text(script, "utf-8")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            env=env,
            cwd=workspace,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
        assert (files / "env").read_text() == "", "the action must not change the job's env"
        assert (files / "path").read_text() == "", "the action must not change the job's PATH"
        outputs = parse_output_file((files / "output").read_text("utf-8"))
        run = StepRun(
            step_id,
            name,
            ran=True,
            exit_code=proc.returncode,
            log=proc.stdout,
            outputs=outputs,
            summary=(files / "summary").read_text("utf-8"),
            env=step_env,
            commands=parse_commands(proc.stdout, state),
        )
        runs.append(run)
        outcome = "success" if proc.returncode == 0 else "failure"
        ctx["steps"][step_id] = {"outputs": outputs, "outcome": outcome, "conclusion": outcome}
        if proc.returncode != 0:
            status = "failure"
    action_outputs = {
        name: interpolate(str(spec["value"]), ctx, status)
        for name, spec in action.get("outputs", {}).items()
    }
    return ActionRun(runs, action_outputs, status == "failure", state.get("masks", []))


# ----------------------------------------------------------------- tests of the runner
CTX = {
    "inputs": {"flag": "true", "empty": "", "name": "Widget"},
    "steps": {"python": {"outputs": {"ok": "true"}}, "none": {"outputs": {}}},
    "github": {"event": {"workflow_run": {"conclusion": "failure"}}},
}


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("steps.python.outputs.ok != 'true'", False),
        ("steps.none.outputs.ok != 'true'", True),
        ("steps.missing.outputs.ok != 'true'", True),
        ("inputs.name == 'widget'", True),  # strings compare ignoring case
        ("inputs.empty == null", True),  # '' and null both coerce to 0
        ("inputs.flag == true", False),  # 'true' coerces to NaN
        ("github.event.workflow_run.conclusion == 'failure' && inputs.name", "Widget"),
        ("inputs.empty || 'default'", "default"),
        ("!(inputs.flag == 'true')", False),
        ("'it''s'", "it's"),
        ("always()", True),
        ("failure()", False),
    ],
)
def test_expressions(expr: str, value: Any) -> None:
    assert evaluate(expr, CTX) == value


@pytest.mark.parametrize(
    "expr",
    ["format('{0}', inputs.name)", "inputs.name[0]", "inputs.*", "1 < 2", "fromJSON('1')"],
)
def test_unknown_expression_forms_fail(expr: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expr, CTX)


def test_interpolate_and_conditions() -> None:
    assert interpolate("a ${{ inputs.name }} b ${{inputs.empty}}c", CTX) == "a Widget b c"
    assert interpolate("${{ steps.python.outputs.ok == 'true' }}", CTX) == "true"
    assert condition(None, CTX, "success") and not condition(None, CTX, "failure")
    assert condition("${{ always() }}", CTX, "failure")
    assert not condition("inputs.flag == 'true'", CTX, "failure")
    with pytest.raises(ExpressionError):
        interpolate("${{ inputs.name ", CTX)


def test_output_file_forms() -> None:
    text = "a=1\nb<<EOF\nline 1\nline 2\nEOF\nc<<X\n\nX\nd=x=y\n"
    assert parse_output_file(text) == {"a": "1", "b": "line 1\nline 2", "c": "", "d": "x=y"}
    with pytest.raises(AssertionError, match="delimiter"):
        parse_output_file("a<<EOF\nvalue\n")
    with pytest.raises(AssertionError, match="invalid"):
        parse_output_file("just text\n")


def test_command_parser_honours_stop_commands() -> None:
    state: dict[str, Any] = {}
    log = (
        "::add-mask::s3cret%25x\n"
        "::stop-commands::tok123\n"
        "::error::not a command\n"
        "::tok123::\n"
        "  ::warning title=T%3A1%2C2::a%0Ab\n"
        "plain\n"
    )
    cmds = parse_commands(log, state)
    assert [(c.name, c.props, c.message) for c in cmds] == [
        ("add-mask", {}, "s3cret%x"),
        ("warning", {"title": "T:1,2"}, "a\nb"),
    ]
    assert state["masks"] == ["s3cret%x"]


def test_action_yml_keeps_expressions_out_of_scripts() -> None:
    """Every run: script is free of ${{ }}; every input reaches a script through env: only;
    the uses: step is pinned by commit SHA."""
    action = load_action()
    assert action["runs"]["using"] == "composite"
    used: set[str] = set()
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"]
            assert step["shell"] == "bash"
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
        for value in [*step.get("env", {}).values(), *step.get("with", {}).values()]:
            used |= set(re.findall(r"inputs\.([\w-]+)", str(value)))
    assert used == set(action["inputs"]), set(action["inputs"]) ^ used
    assert action["branding"]["icon"] and action["branding"]["color"]
    assert set(action["outputs"]) == {
        "status",
        "issue-number",
        "issue-url",
        "tag",
        "release-note-url",
        "record-id",
        "to-version",
        "withdrawn-versions",
    }
