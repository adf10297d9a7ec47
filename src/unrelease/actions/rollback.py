"""Running ``unrelease rollback --json`` for the action: its arguments and its result."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from unrelease.actions.event import Inputs, Trigger
from unrelease.actions.runner import Console
from unrelease.errors import BadInput

# --------------------------------------------------------------------- the rollback run
VALUE_OPTIONS = (
    ("to", "--to"),
    ("mode", "--mode"),
    ("severity", "--severity"),
    ("index", "--index"),
    ("index-kind", "--index-kind"),
    ("labels", "--labels"),
    ("tag-format", "--tag-format"),
    ("rollback-tag", "--rollback-tag"),
    ("files", "--files"),
    ("pypi-auth", "--pypi-auth"),
    ("wait-manual", "--wait-manual"),
)
FLAG_OPTIONS = (
    ("dry-run", "--dry-run"),
    ("mark-release", "--mark-release"),
    ("force", "--force"),
    ("verify-install", "--verify-install"),
)


def rollback_argv(inputs: Inputs, trigger: Trigger) -> list[str]:
    """The ``unrelease rollback`` arguments. Every value goes as ``--option=value`` and the
    positionals after ``--``, so no input can be taken for an option."""
    package = inputs.get("package")
    if not package:
        raise BadInput("the package input is required")
    reason = inputs.get("reason") or trigger.default_reason
    if not reason and trigger.run_id is None:
        raise BadInput("the reason input is required")
    argv = ["rollback", *([f"--reason={reason}"] if reason else []), "--yes", "--json"]
    for name, option in VALUE_OPTIONS:
        if inputs.get(name):
            argv.append(f"{option}={inputs.get(name)}")
    for name, option in FLAG_OPTIONS:
        if inputs.flag(name):
            argv.append(option)
    if trigger.run_id is not None:
        argv.append(f"--run={trigger.run_id}")
    assert trigger.version is not None
    return [*argv, "--", package, trigger.version]


@dataclass
class Result:
    exit_code: int
    data: dict[str, Any] | None = None
    stderr: list[str] = field(default_factory=list)
    stdout: str = ""

    @property
    def message(self) -> str:
        """The CLI's one-line error (``error: ...``), or its last line."""
        for line in reversed(self.stderr):
            if line.startswith("error: "):
                return line.removeprefix("error: ")
        return self.stderr[-1] if self.stderr else f"unrelease exited with {self.exit_code}"

    @property
    def steps(self) -> list[dict[str, str]]:
        steps = (self.data or {}).get("steps") or []
        return [
            {k: str(v) for k, v in s.items() if v is not None} for s in steps if isinstance(s, dict)
        ]

    @property
    def status(self) -> str:
        if self.data is None:
            return {2: "refused", 3: "pending"}.get(self.exit_code, "failed")
        if self.data.get("dry_run"):
            return "dry-run"
        statuses = {s.get("status") for s in self.steps}
        if "failed" in statuses or self.exit_code == 1:
            return "failed"
        if "pending" in statuses or self.exit_code == 3:
            return "pending"
        return "done" if "done" in statuses else "already-done"


def run_rollback(argv: list[str], console: Console) -> Result:
    """Run ``python -I -m unrelease ARGV``; stream its stderr (as data) while it works.
    ``-I``: the working directory (the workspace) is not put on ``sys.path``, so a
    ``packaging/`` or ``unrelease/`` there cannot stand in for the real one; nor do
    ``PYTHON*`` variables an earlier step set reach it."""
    cmd = [sys.executable, "-I", "-m", "unrelease", *argv]
    console.group("unrelease " + " ".join(argv[:1] + argv[-2:]))
    token = console.start_verbatim()
    console.line("$ unrelease " + shlex.join(argv))
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8"
    )
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read() if proc.stdout else ""))
    reader.start()
    errors = []
    assert proc.stderr is not None
    for line in proc.stderr:
        errors.append(line.rstrip("\n"))
        console.line(line.rstrip("\n"))
    code = proc.wait()
    reader.join()
    stdout = "".join(out)
    for line in stdout.splitlines():
        console.line(line)
    console.end_verbatim(token)
    console.endgroup()
    data = None
    if stdout.strip():
        try:
            parsed = json.loads(stdout)
        except json.JSONDecodeError:
            parsed = None
        data = parsed if isinstance(parsed, dict) else None
    if data is not None and code != 0 and "error" in data and "steps" not in data:
        # a refusal or an error before any step ran, as JSON: a message, not a result
        hint = f" ({data['hint']})" if data.get("hint") else ""
        errors.append(f"error: {data['error']}{hint}")
        data = None
    return Result(code, data, errors, stdout)
