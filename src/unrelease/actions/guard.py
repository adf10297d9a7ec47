"""The action's ``command: guard`` and ``command: watch``: their arguments, outputs and job
summary (the guard checks as a table)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from unrelease.actions.event import Inputs, check_version_text, version_from_tag
from unrelease.actions.rollback import Result
from unrelease.errors import BadInput
from unrelease.texts.escape import md_line

COMMANDS = ("rollback", "guard", "watch")
ICONS = {"pass": "✅", "fail": "❌", "inconclusive": "❔", "skipped": "⏭️"}
# inputs both commands take, as --option=value
VALUE_OPTIONS = (
    ("index", "--index"),
    ("index-kind", "--index-kind"),
    ("baseline", "--baseline"),
    ("wait", "--wait"),
    ("python", "--python"),
)
GUARD_ONLY = (
    ("on-fail", "--on-fail"),
    ("mode", "--mode"),
    ("severity", "--severity"),
    ("labels", "--labels"),
    ("tag-format", "--tag-format"),
    ("rollback-tag", "--rollback-tag"),
    ("to", "--to"),
    ("pypi-auth", "--pypi-auth"),
)


def command_of(inputs: Inputs) -> str:
    """The command input: rollback (the default), guard or watch."""
    command = inputs.get("command") or "rollback"
    if command not in COMMANDS:
        raise BadInput(f"input command must be one of {', '.join(COMMANDS)}, not {command!r}")
    return command


def guard_version(inputs: Inputs, env: Mapping[str, str]) -> str:
    """The version input, else the version in the tag that was pushed or released."""
    if inputs.get("version"):
        return check_version_text(inputs.get("version"), "the version input")
    if env.get("GITHUB_REF_TYPE") == "tag" and env.get("GITHUB_REF_NAME"):
        fmt = inputs.get("tag-format") or "v{version}"
        return version_from_tag(env["GITHUB_REF_NAME"], fmt, "the pushed tag")
    raise BadInput("no version: set the version input (or run on a tag)")


def guard_argv(command: str, inputs: Inputs, version: str) -> list[str]:
    """``unrelease guard|watch`` arguments: values as ``--option=value``, positionals after
    ``--``, so no input can be taken for an option."""
    package = inputs.get("package")
    if not package:
        raise BadInput("the package input is required")
    argv = [command, "--json"]
    options = VALUE_OPTIONS + (GUARD_ONLY if command == "guard" else ())
    for name, option in options:
        if inputs.get(name):
            argv.append(f"{option}={inputs.get(name)}")
    if command == "watch":
        argv.append(f"--window={inputs.get('window') or '72h'}")
    elif inputs.get("checkpoint") and inputs.flag("checkpoint"):
        argv.append("--checkpoint")
    if command == "guard" and inputs.get("on-fail") == "rollback":
        argv.append("--yes")
    return [*argv, "--", package, version]


def guard_outputs(command: str, result: Result) -> dict[str, str]:
    """status (the exit's meaning) and verdict: the guard's pass/fail/inconclusive, or for a
    watch its decision (watching, verified, fail, done)."""
    data = result.data or {}
    verdict = str(data.get("decision" if command == "watch" else "verdict") or "")
    status = {0: "done", 1: "failed", 3: "pending"}.get(result.exit_code, "refused")
    return {"status": status, "verdict": verdict}


def guard_summary(command: str, result: Result, refusal: str = "") -> str:
    """The job summary: the verdict, then the guard checks as a table."""
    data = result.data or {}
    package, version = md_line(data.get("package", "")), md_line(data.get("version", ""))
    if refusal or not data:
        why = refusal or result.message
        return f"## unrelease {command}: no verdict\n\n{md_line(why)}\n"
    if command == "watch":
        lines = [
            f"## unrelease watch: {package} {version} — {md_line(data.get('decision'))}",
            "",
            f"Window ends {md_line(data.get('ends'))}; status {md_line(data.get('status'))}.",
            "",
            *(f"- {md_line(x)}" for x in data.get("lines") or []),
        ]
        return "\n".join(lines) + "\n"
    verdict = str(data.get("verdict", ""))
    lines = [
        f"## unrelease guard: {package} {version} — {ICONS.get(verdict, '')} {md_line(verdict)}",
        "",
        f"Baseline: {md_line(data.get('baseline') or 'none')}",
        "",
        "| Check | Python | Status | Detail |",
        "| --- | --- | --- | --- |",
        *(_row(c) for c in data.get("checks") or [] if isinstance(c, dict)),
    ]
    decision = data.get("decision") or {}
    if decision.get("action"):
        lines += ["", f"Decision: {md_line(decision['action'])} — {md_line(decision.get('why'))}"]
    return "\n".join(lines) + "\n"


def _row(check: dict[str, Any]) -> str:
    status = str(check.get("status", ""))
    cells = (
        md_line(check.get("name", "")),
        md_line(check.get("python") or "—"),
        f"{ICONS.get(status, '')} {md_line(status)}",
        md_line(str(check.get("detail", ""))[:300]),
    )
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
