"""Secrets known to this process, and the redaction every output goes through."""

from __future__ import annotations

import json
import logging
import os
import re

SECRET_ENV = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "PYPI_PASSWORD",
    "PYPI_TOTP_SECRET",
    "PYPI_REMEMBER_DEVICE",
    "UNRELEASE_INDEX_PASSWORD",
)
_extra: set[str] = set()
# user, then optionally ":password" -- passwords typed raw may hold "/" or "@" (a URL should
# percent-encode them; people do not), so everything up to the last "@" before a space counts.
# A URL with a port and an "@" in its path loses its host in output: safe rather than sorry.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@:]*(?::\S*)?@")


def register(value: str | None) -> None:
    """Treat VALUE as a secret from now on (short values are ignored: they'd mask everything)."""
    if value and len(value) >= 4:
        _extra.add(value)


def known() -> list[str]:
    values = {os.environ.get(name, "") for name in SECRET_ENV} | _extra
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def redact(text: str) -> str:
    """TEXT with every known secret replaced by ``***`` and URL credentials removed."""
    for value in known():
        # the value as typed, and as JSON writes it (quotes, backslashes, non-ASCII escaped)
        for form in {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}:
            text = text.replace(form, "***")
    return _USERINFO.sub(r"\g<scheme>", text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in every record it lets through."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True
