"""Running the real CLI in-process with a clean environment, and reading what it said."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner

from unrelease.cli import main

CLEAN_ENV_KEYS = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
    "GITHUB_ACTOR",
    "UNRELEASE_INDEX",
    "UNRELEASE_INDEX_USERNAME",
    "UNRELEASE_INDEX_PASSWORD",
    "UNRELEASE_BACKUP_DIR",
    "PYPI_USERNAME",
    "PYPI_PASSWORD",
    "PYPI_TOTP_SECRET",
    "PYPI_REMEMBER_DEVICE",
)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def statuses(self) -> dict[str, str]:
        return {s["name"]: s["status"] for s in self.json["steps"]}


def invoke(args: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``unrelease ARGS`` with only ENV set among the variables unrelease reads."""
    runner = CliRunner()
    full: dict[str, str | None] = dict.fromkeys(CLEAN_ENV_KEYS)
    full.update(env or {})
    result = runner.invoke(main, args, env=full, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)
