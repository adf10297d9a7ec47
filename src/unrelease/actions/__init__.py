"""The GitHub Actions runtime of the composite action (``action.yml``).

``python -m unrelease.actions`` reads the action's inputs (``INPUT_*`` variables the action's
step sets from its ``env:``) and the event (``$GITHUB_EVENT_PATH``), decides which version to
roll back, runs ``unrelease rollback --json`` and reports what happened: step outputs through
``$GITHUB_OUTPUT``, a job summary (steps table, links, mermaid diagram) through
``$GITHUB_STEP_SUMMARY``, and ``::error``/``::warning``/``::notice`` annotations.

Everything that comes from an event payload or an input is data, never code or a command:
versions are checked with a strict character set and ``packaging``; the text of every workflow
command is escaped; output that may carry data is printed between ``::stop-commands::``
markers; markdown and mermaid text is escaped. The exit code is the rollback's (0, 1, 2, 3).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from unrelease.actions.event import (
    Inputs,
    Trigger,
    check_version_text,
    read_trigger,
    version_from_tag,
)
from unrelease.actions.guard import (
    command_of,
    guard_argv,
    guard_outputs,
    guard_summary,
    guard_version,
)
from unrelease.actions.report import (
    OUTPUT_NAMES,
    annotate,
    link,
    mermaid,
    outputs,
    summary,
    tag_url,
)
from unrelease.actions.rollback import Result, rollback_argv, run_rollback
from unrelease.actions.runner import (
    Console,
    append_summary,
    escape_data,
    escape_property,
    write_outputs,
)
from unrelease.actions.runtag import check_run_tag
from unrelease.errors import BadInput, UnreleaseError

__all__ = [
    "OUTPUT_NAMES",
    "Console",
    "Inputs",
    "Result",
    "Trigger",
    "annotate",
    "append_summary",
    "backup_outputs",
    "check_run_tag",
    "check_version_text",
    "escape_data",
    "escape_property",
    "link",
    "main",
    "mermaid",
    "outputs",
    "read_trigger",
    "rollback_argv",
    "run_rollback",
    "summary",
    "tag_url",
    "version_from_tag",
    "write_outputs",
]


# --------------------------------------------------------------------------------- main
def main(env: Mapping[str, str] | None = None, stream: IO[str] | None = None) -> int:
    env = os.environ if env is None else env
    console = Console(stream)
    output_path = Path(env["GITHUB_OUTPUT"]) if env.get("GITHUB_OUTPUT") else None
    summary_path = Path(env["GITHUB_STEP_SUMMARY"]) if env.get("GITHUB_STEP_SUMMARY") else None
    trigger: Trigger | None = None

    def report(text: str, values: dict[str, str]) -> None:
        if summary_path is not None:
            append_summary(summary_path, text)
        if output_path is not None:
            write_outputs(output_path, values)

    try:
        inputs = Inputs.from_env(env)
        if command_of(inputs) != "rollback":
            return _guard_main(command_of(inputs), inputs, env, console, report)
        event = env.get("GITHUB_EVENT_NAME", "")
        payload = _read_payload(env.get("GITHUB_EVENT_PATH"))
        trigger = read_trigger(event, payload, env, inputs)
        if trigger.skip:
            console.notice(trigger.skip, title="unrelease: nothing to roll back")
            report(summary(trigger, None, env), outputs(None, skip=True))
            return 0
        argv = rollback_argv(inputs, trigger)
        check_run_tag(trigger, env)
    except UnreleaseError as exc:
        console.error(str(exc), title="unrelease refused")
        values = dict.fromkeys(OUTPUT_NAMES, "") | {"status": "refused"}
        report(summary(trigger, None, env, refusal=str(exc)), values)
        return exc.exit_code

    result = run_rollback(argv, console)
    annotate(console, result)
    kept = backup_outputs(env)
    text = summary(trigger, result, env)
    if kept:
        text += (
            f"\nThe deleted files are kept as the artifact `{kept['backup-artifact']}` "
            "of this run (90 days): `unrelease undo` needs them.\n"
        )
    report(text, outputs(result) | kept)
    return result.exit_code


def backup_outputs(env: Mapping[str, str]) -> dict[str, str]:
    """The ``backup-artifact`` and ``backup-dir`` outputs when the rollback kept files in
    ``$UNRELEASE_BACKUP_DIR`` (delete mode): the action's next step uploads them as that
    artifact. Empty when there is no backup, so that step is skipped."""
    folder, name = env.get("UNRELEASE_BACKUP_DIR"), env.get("UNRELEASE_BACKUP_ARTIFACT")
    if not folder or not name or not Path(folder).is_dir():
        return {}
    if not any(p.is_file() for p in Path(folder).rglob("*")):
        return {}
    return {"backup-artifact": name, "backup-dir": folder}


def _guard_main(
    command: str,
    inputs: Inputs,
    env: Mapping[str, str],
    console: Console,
    report: Callable[[str, dict[str, str]], None],
) -> int:
    """``command: guard`` or ``watch``: run it, report the verdict and the checks table."""
    try:
        argv = guard_argv(command, inputs, guard_version(inputs, env))
    except UnreleaseError as exc:
        console.error(str(exc), title="unrelease refused")
        report(guard_summary(command, Result(exc.exit_code), str(exc)), {"status": "refused"})
        return exc.exit_code
    result = run_rollback(argv, console)
    values = guard_outputs(command, result)
    if values["status"] == "failed":
        console.error(f"{command}: {values['verdict'] or result.message}", title="unrelease")
    report(guard_summary(command, result), values)
    return result.exit_code


def _read_payload(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read the event payload: {exc}") from None
    if not isinstance(data, dict):
        raise BadInput("the event payload is not a JSON object")
    return data
