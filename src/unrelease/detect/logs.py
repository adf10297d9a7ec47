"""Reading a GitHub Actions job log: clean lines, the failed step's part, a short redacted
excerpt, and the distribution files the log names (twine's ``Uploading``/``Checking`` lines).

A job log is plain text, one line per output line, each prefixed with a timestamp
(``2024-05-01T10:00:00.1234567Z``). The runner marks each step's start with
``##[group]Run <command or action>`` and a failure with ``##[error]...`` (the web page shows
it as ``Error: ...``); a failed step ends with ``##[error]Process completed with exit code N.``
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from unrelease import secrets

_TIMESTAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_STEP_START = "##[group]Run "
_ERROR = "##[error]"
MAX_EXCERPT_LINES = 20
MAX_EXCERPT_CHARS = 2000
MAX_LINE_CHARS = 300
MAX_SCAN_CHARS = 1024  # the part of a line matched for files and failure classes

# A private key block (PEM, OpenSSH, PGP), to its END line or the end of the text; its lines
# become one marker and empty lines (the line count stays, for the excerpt's indexes).
_KEY_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
    r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
_KEY_MARK = "*** (private key) ***"

# Things that look like credentials. GitHub masks the secrets it knows as ***, but not tokens
# a step minted or printed itself; these patterns catch the common shapes. None of them spans
# a line break it does not keep.
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # the END line and base64 body lines of a key whose BEGIN line is not in the text
    (re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"), _KEY_MARK),
    (
        re.compile(
            r"(?m)^[ \t]*(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*\d)"
            r"[A-Za-z0-9+/]{40,}={0,2}[ \t]*$"
        ),
        _KEY_MARK,
    ),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), "***"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), "***"),
    (re.compile(r"\bpypi-Ag[A-Za-z0-9_\-]{16,}"), "***"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "***"),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"), "***"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"), "***"),
    (re.compile(r"\bnpm_[A-Za-z0-9]{20,}"), "***"),
    (re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}"), "***"),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"), "***"),
    (re.compile(r"\bsk-(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{20,}"), "***"),
    (re.compile(r"(?i)\b(authorization\s*:\s*(?:bearer|basic|token)\s+)\S+"), r"\1***"),
    # URL credentials, also with a password holding '/' (unrelease.secrets stops at a '/')
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/@:]*:[^\s@]+@"), r"\1***@"),
    # a cookie header's whole value; session and remember-device cookies anywhere
    (re.compile(r"(?i)\b((?:set-)?cookie[ \t]*:[ \t]*)[^\n]+"), r"\1***"),
    (
        re.compile(
            r"(?i)\b([a-z0-9_.\-]*(?:session|remember[_\-]?device|csrf)[a-z0-9_\-]*[ \t]*=[ \t]*)"
            r"(?!\*\*\*)[^\s;,&\"']+"
        ),
        r"\1***",
    ),
    # curl -u USER:PASSWORD, --user USER:PASSWORD; --password X, --token X (a space, no '=')
    (
        re.compile(
            r"(?<!\S)(-u[ \t]*|--user(?:[ \t]+|=))([\"']?)[^\s\"':]*:(?!//|\*\*\*)[^\s\"']+"
        ),
        r"\1\2***",
    ),
    (
        re.compile(
            r"(?i)(?<!\S)(--?(?:password|passwd|pass|token|secret|api[_\-]?key|"
            r"access[_\-]?key|client[_\-]?secret)[ \t]+)([\"']?)(?!\*\*\*)(?!-)[^\s\"']+"
        ),
        r"\1\2***",
    ),
    (
        re.compile(
            r"(?i)\b([a-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|"
            r"access[_\-]?key|private[_\-]?key)[a-z0-9_\-]*[\"']?\s*[=:]\s*)"
            r"([\"']?)(?!\*\*\*)[^\s\"'&,;]+"
        ),
        r"\1\2***",
    ),
)

# A distribution file name: NAME-VERSION(.tar.gz|.zip) or a wheel NAME-VERSION-...-....whl.
_DIST = r"(?P<file>[A-Za-z0-9][A-Za-z0-9._+\-]*?-\d[A-Za-z0-9._+!\-]*?(?:\.tar\.gz|\.zip|\.whl))"
_DIST_LINE = re.compile(rf"^\s*(?:Uploading|Checking)\s+(?:\S*/)?{_DIST}(?=$|[\s:])")
_DIST_PATH = re.compile(rf"(?:^|\s)(?:\S*/)?dist/{_DIST}(?=$|[\s:])")


def _key_marks(match: re.Match[str]) -> str:
    return _KEY_MARK + "\n" * match.group(0).count("\n")


def redact(text: str) -> str:
    """TEXT with known secrets (``unrelease.secrets``) and token-like strings replaced. Line
    breaks are kept (a private key's lines become empty), except inside a known secret."""
    text = _KEY_BLOCK.sub(_key_marks, secrets.redact(text))
    for pattern, repl in _REDACTIONS:
        text = pattern.sub(repl, text)
    return text


def redact_lines(lines: list[str]) -> list[str]:
    """LINES redacted as one text (a key block spans lines), line for line."""
    out = redact("\n".join(lines)).split("\n")
    if len(out) != len(lines):  # a known secret held a line break: keep the indexes
        out = [redact(line) for line in lines]
    # each line of a multi-line secret is a secret too
    parts = sorted(
        {p for v in secrets.known() if "\n" in v for p in v.splitlines() if len(p) >= 4},
        key=len,
        reverse=True,
    )
    for part in parts:
        out = [line.replace(part, "***") for line in out]
    return out


def clean_lines(text: str) -> list[str]:
    """The log's lines without timestamps, colour codes or trailing blanks."""
    return [_ANSI.sub("", _TIMESTAMP.sub("", line)).rstrip() for line in text.splitlines()]


@dataclass(frozen=True)
class Region:
    """The lines of the step that failed: from its ``##[group]Run`` header to its last
    ``##[error]`` line (the whole log when no error is marked)."""

    lines: list[str]
    marked: bool  # an ##[error] line was found


def failed_region(lines: list[str]) -> Region:
    first = next((i for i, line in enumerate(lines) if line.startswith(_ERROR)), None)
    if first is None:
        return Region(lines=list(lines), marked=False)
    start = next((i for i in range(first, -1, -1) if lines[i].startswith(_STEP_START)), 0)
    # The step goes on to the next step's header; it ends at its last ##[error] line (an
    # error annotation may be followed by plain lines that belong to it).
    stop = next(
        (i for i in range(first + 1, len(lines)) if lines[i].startswith(_STEP_START)), len(lines)
    )
    end = max(i for i in range(first, stop) if lines[i].startswith(_ERROR)) + 1
    return Region(lines=lines[start:end], marked=True)


def _header_lines(region: list[str]) -> set[int]:
    """Indexes of the lines the runner prints inside a step's ``##[group]Run`` header (the
    command again, ``shell:``, ``env:``...): noise in an excerpt. A header never closed by
    ``##[endgroup]`` is not one."""
    out: set[int] = set()
    pending: list[int] | None = None
    for i, line in enumerate(region):
        if line.startswith(_STEP_START):
            pending = []
        elif pending is not None:
            pending.append(i)
            if line.startswith("##[endgroup]"):
                out.update(pending)
                pending = None
    return out


def _shown(line: str) -> str | None:
    """A log line as the web page shows it (None for group end markers)."""
    if line.startswith("##[endgroup]"):
        return None
    if line.startswith(_ERROR):
        line = "Error: " + line[len(_ERROR) :]
    elif line.startswith("##["):
        line = re.sub(r"^##\[(\w+)\]", lambda m: f"{m.group(1).capitalize()}: ", line)
        line = line.replace("Group: ", "", 1)
    if len(line) > MAX_LINE_CHARS:
        line = line[: MAX_LINE_CHARS - 1] + "…"
    return line


def excerpt(region: list[str], hits: list[int]) -> str:
    """A short, redacted excerpt: around the first line that told the failure class (HITS are
    indexes into REGION), else the region's last lines; the ##[error] lines always close it.
    The whole region is redacted before any line is picked or cut: a key block whose BEGIN
    line is not picked, or a token the cut would leave half of, is gone already."""
    region = redact_lines(region)
    errors = [i for i, line in enumerate(region) if line.startswith(_ERROR)]
    if hits:
        first = hits[0]
        last = max(h for h in hits if h - first < MAX_EXCERPT_LINES - 4)
        start = max(0, first - 3)
        stop = min(len(region), max(last + 4, first + 8))
    else:
        stop = errors[0] if errors else len(region)
        start = max(0, stop - (MAX_EXCERPT_LINES - 4))
    noise = _header_lines(region)
    picked = [i for i in range(start, stop) if i not in noise]
    picked = picked[: MAX_EXCERPT_LINES - min(2, len(errors))]
    for i in errors[:2]:
        if i not in picked:
            picked.append(i)
    shown = [s for i in picked if (s := _shown(region[i])) is not None and s.strip()]
    text = redact("\n".join(shown)).strip("\n")
    if len(text) > MAX_EXCERPT_CHARS:
        text = "…" + text[-(MAX_EXCERPT_CHARS - 1) :]
    return text


@dataclass(frozen=True)
class Artifact:
    filename: str
    name: str  # canonical project name
    version: str


def artifact(filename: str) -> Artifact | None:
    """FILENAME as a distribution (name, version), or None when it is not one."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return Artifact(filename=filename, name=canonicalize_name(name), version=str(version))


def artifacts(lines: list[str]) -> list[Artifact]:
    """The distribution files the log names as checked or uploaded (twine's ``Checking``
    and ``Uploading`` lines, ``dist/...`` paths), in order, once each."""
    seen: dict[str, Artifact] = {}
    for line in lines:
        line = line[:MAX_SCAN_CHARS]  # the patterns backtrack: quadratic on a long line
        for pattern in (_DIST_LINE, _DIST_PATH):
            for match in pattern.finditer(line):
                found = artifact(match.group("file"))
                if found is not None and found.filename not in seen:
                    seen[found.filename] = found
    return list(seen.values())
