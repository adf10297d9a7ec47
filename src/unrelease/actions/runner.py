"""Talking to the Actions runner: workflow commands on stdout (escaped, secrets redacted, data
between ``::stop-commands::`` markers) and the files it reads ($GITHUB_OUTPUT,
$GITHUB_STEP_SUMMARY).
"""

from __future__ import annotations

import re
import secrets as token_source
import sys
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from unrelease.secrets import redact

SUMMARY_LIMIT = 1024 * 1024 - 4096  # the runner refuses a step summary above 1 MiB
_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


# --------------------------------------------------------------------- workflow commands
def escape_data(text: str) -> str:
    """A workflow command's message: the runner un-escapes exactly these three."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (``title=``): also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


class Console:
    """Everything the action prints goes through here: secrets redacted, workflow commands
    escaped, and data printed only between ``::stop-commands::`` markers."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def _write(self, line: str) -> None:
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def command(self, name: str, message: str = "", **props: str) -> None:
        args = ",".join(f"{k}={escape_property(redact(v))}" for k, v in props.items() if v)
        self._write(f"::{name}{' ' + args if args else ''}::{escape_data(redact(message))}")

    def error(self, message: str, title: str = "") -> None:
        self.command("error", message, title=title)

    def warning(self, message: str, title: str = "") -> None:
        self.command("warning", message, title=title)

    def notice(self, message: str, title: str = "") -> None:
        self.command("notice", message, title=title)

    def group(self, title: str) -> None:
        self.command("group", title)

    def endgroup(self) -> None:
        self.command("endgroup")

    def start_verbatim(self) -> str:
        """Stop the runner from reading workflow commands until ``end_verbatim(token)``."""
        token = token_source.token_hex(16)
        self._write(f"::stop-commands::{token}")
        return token

    def end_verbatim(self, token: str) -> None:
        self._write(f"::{token}::")

    def line(self, text: str) -> None:
        """One line of data (redacted); call it between start_verbatim and end_verbatim."""
        self._write(redact(text))


# ------------------------------------------------------------------------ runner files
def write_outputs(path: Path, values: Mapping[str, str]) -> None:
    """Append VALUES to the $GITHUB_OUTPUT file, each as ``name<<DELIMITER`` with a random
    delimiter that does not occur in the value (so no value can end early or set another)."""
    with path.open("a", encoding="utf-8", newline="\n") as fh:
        for name, value in values.items():
            if not _OUTPUT_NAME.fullmatch(name):
                raise ValueError(f"not an output name: {name!r}")
            value = redact(value).replace("\r\n", "\n").replace("\r", "\n")
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            while delimiter in value:  # pragma: no cover - a random UUID
                delimiter = f"ghadelimiter_{uuid.uuid4()}"
            fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(path: Path, markdown: str) -> None:
    text = redact(markdown)
    if len(text.encode()) > SUMMARY_LIMIT:
        text = text.encode()[:SUMMARY_LIMIT].decode("utf-8", "ignore") + "\n\n*(cut at 1 MiB)*\n"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)
