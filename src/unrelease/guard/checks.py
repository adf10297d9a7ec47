"""The checks of a published release: files, metadata, install, import, smoke.

Each returns a Check with status pass | fail | inconclusive | skipped and its evidence. A check
that could not reach the index, or ran out of time, is inconclusive: the environment, not the
release. Nothing here decides what the findings mean against the baseline (baseline.py does).
"""

from __future__ import annotations

import fnmatch
import glob
import shlex
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.metadata import InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.specifiers import SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_wheel_filename,
)
from packaging.version import Version

from unrelease.errors import BadInput
from unrelease.guard.report import Check, Evidence, tail
from unrelease.guard.venvs import Ran, Runner, Venv, create, pip
from unrelease.model import Release

# The Pythons a requires-python is compared on (with each --python's own version).
KNOWN_PYTHONS = tuple(f"3.{minor}" for minor in range(6, 16))


# --- files ----------------------------------------------------------------------------------
def kinds(release: Release) -> set[str]:
    """``sdist`` and ``wheel:<tags>`` for each file of RELEASE."""
    out = set()
    for f in release.files:
        if f.filename.endswith(".whl"):
            try:
                tags = parse_wheel_filename(f.filename)[3]
            except (InvalidWheelFilename, InvalidSdistFilename):
                continue
            out.add("wheel:" + ".".join(sorted(str(t) for t in tags)))
        elif f.filename.endswith((".tar.gz", ".zip")):
            out.add("sdist")
    return out


def expected_names(globs: list[str]) -> tuple[set[str], list[str]]:
    """--expect GLOBs: the file names of local files they match (a release run's dist/), and
    the globs that match no local file, kept as patterns the index's names must match."""
    names: set[str] = set()
    patterns = []
    for pattern in globs:
        if not pattern.strip():
            raise BadInput("--expect must not be empty")
        found = [Path(p).name for p in glob.glob(pattern) if Path(p).is_file()]
        if found:
            names.update(found)
        else:
            patterns.append(Path(pattern).name)
    return names, patterns


def files_check(
    release: Release, expect: list[str], baseline: Release | None, page_url: str
) -> Check:
    """Every expected file is on the index: --expect when given, else the baseline's kinds."""
    present = sorted(f.filename for f in release.files)
    evidence = Evidence(f"GET {page_url}", None, tail("\n".join(present)))
    if expect:
        names, patterns = expected_names(expect)
        missing = sorted(names - set(present))
        missing += [p for p in patterns if not fnmatch.filter(present, p)]
        what = "every file of --expect"
    elif baseline is not None:
        missing = sorted(kinds(baseline) - kinds(release))
        what = f"the kinds of files {baseline.version} has ({', '.join(sorted(kinds(baseline)))})"
    else:
        return Check("files", None, "skipped", "no --expect and no baseline to compare with")
    if missing:
        return Check("files", None, "fail", f"missing: {', '.join(missing)}", evidence)
    return Check("files", None, "pass", f"{len(present)} file(s), {what}", evidence)


# --- metadata -------------------------------------------------------------------------------
@dataclass(frozen=True)
class WheelInfo:
    filename: str
    metadata: Metadata | None
    problem: str  # why the metadata does not parse, or ""
    modules: tuple[str, ...]  # top-level importable names


def read_wheel(path: Path) -> WheelInfo:
    """METADATA (parsed and validated by packaging) and top-level modules of the wheel PATH."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            info = next((n for n in names if n.count("/") == 1 and ".dist-info/" in n), None)
            if info is None:
                return WheelInfo(path.name, None, "no .dist-info directory", ())
            dist_info = info.split("/", 1)[0]
            raw = zf.read(f"{dist_info}/METADATA")
            top = f"{dist_info}/top_level.txt"
            listed = zf.read(top).decode().split() if top in names else []
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError) as exc:
        return WheelInfo(path.name, None, f"not a readable wheel: {exc}", ())
    modules = tuple(sorted(set(listed) or _modules_from_record(names)))
    try:
        meta = Metadata.from_raw(_raw(raw), validate=True)
    except (InvalidMetadata, ExceptionGroup) as exc:
        problems = exc.exceptions if isinstance(exc, ExceptionGroup) else [exc]
        return WheelInfo(path.name, None, "; ".join(str(p) for p in problems), modules)
    return WheelInfo(path.name, meta, "", modules)


def _raw(data: bytes) -> RawMetadata:
    # Fields packaging does not know (a newer metadata version's) are left out, not failed:
    # pip installs such wheels, and a guard must not fail a release that works.
    raw, _unparsed = parse_email(data)
    return raw


def _modules_from_record(names: list[str]) -> set[str]:
    out = set()
    for name in names:
        first, _, rest = name.partition("/")
        if first.endswith((".dist-info", ".data")) or first == "__pycache__":
            continue
        if not rest and first.endswith(".py"):
            out.add(first[:-3])
        elif rest and first.isidentifier():
            out.add(first)
    return out


def python_drop(new: SpecifierSet | None, old: SpecifierSet | None, extra: list[str]) -> list[str]:
    """The Pythons OLD admitted that NEW does not (X.Y, and each interpreter's X.Y.Z)."""
    if new is None:
        return []
    dropped = []
    for text in sorted(set(KNOWN_PYTHONS) | set(extra), key=Version):
        v = Version(text)
        if (old is None or old.contains(v, prereleases=True)) and not new.contains(
            v, prereleases=True
        ):
            dropped.append(text)
    return dropped


def _from_pip(name: str, venv: Venv, ran: Ran, ok: str, failed: str) -> Check:
    if ran.ok:
        return Check(name, venv.version, "pass", ok, ran.evidence)
    if ran.unreachable:
        why = "pip could not reach the index" if ran.exit_code is not None else "timed out"
        return Check(name, venv.version, "inconclusive", why, ran.evidence)
    last = ran.evidence.tail.splitlines()[-1] if ran.evidence.tail else "no output"
    return Check(name, venv.version, "fail", f"{failed}: {last}", ran.evidence)


def metadata_check(
    runner: Runner, venv: Venv, requirement: str, index_url: str, wheel: WheelInfo, drop: list[str]
) -> Check:
    """METADATA parses; requires-python drops no Python (DROP); dependencies resolve."""
    where = Evidence(f"read METADATA of {wheel.filename}", None, wheel.problem)
    if wheel.problem:
        return Check("metadata", venv.version, "fail", f"METADATA: {wheel.problem}", where)
    if drop:
        spec = str(wheel.metadata.requires_python) if wheel.metadata else "?"
        detail = f"requires-python {spec} drops Python {', '.join(drop)} (the baseline had them)"
        return Check("metadata", venv.version, "fail", detail, where)
    args = ["install", "--dry-run", "--report", "-", "--quiet", "--only-binary", ":all:"]
    ran = pip(runner, venv, [*args, "--index-url", index_url, requirement])
    return _from_pip("metadata", venv, ran, "dependencies resolve", "dependencies do not resolve")


def install_check(runner: Runner, venv: Venv, requirement: str, index_url: str) -> Check:
    args = ["install", "--quiet", "--only-binary", ":all:", "--index-url", index_url]
    ran = pip(runner, venv, [*args, requirement])
    return _from_pip("install", venv, ran, f"{requirement} installs", "pip install fails")


def import_check(runner: Runner, venv: Venv, modules: tuple[str, ...]) -> Check:
    if not modules:
        return Check("import", venv.version, "skipped", "the wheel installs no top-level module")
    for module in modules:
        ran = runner.run([str(venv.python), "-c", f"import {module}"])
        if not ran.ok:
            status = "inconclusive" if ran.exit_code is None else "fail"
            last = ran.evidence.tail.splitlines()[-1] if ran.evidence.tail else "no output"
            return Check("import", venv.version, status, f"import {module}: {last}", ran.evidence)
    return Check("import", venv.version, "pass", "imported " + ", ".join(modules), ran.evidence)


def smoke_argv(command: str) -> list[str]:
    """COMMAND split as a shell would (no shell runs it), or a one-line BadInput."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise BadInput(f"--smoke {command!r} does not parse: {exc}") from None
    if not argv:
        raise BadInput("--smoke must not be empty")
    return argv


def smoke_check(runner: Runner, venv: Venv, command: str) -> Check:
    argv = smoke_argv(command)
    if argv[0] in ("python", "python3"):
        argv[0] = str(venv.python)
    ran = runner.run(argv, path=venv.bin)
    if ran.ok:
        return Check("smoke", venv.version, "pass", command, ran.evidence)
    status = "inconclusive" if ran.exit_code is None else "fail"
    return Check("smoke", venv.version, status, f"{command} → exit {ran.exit_code}", ran.evidence)


def venv_check(venv_ran: Ran, python: str) -> Check:
    """A venv that could not be made: nothing about the release is known on that Python."""
    detail = f"could not make a venv with {Path(python).name}"
    return Check("install", None, "inconclusive", detail, venv_ran.evidence)


__all__ = [
    "WheelInfo",
    "create",
    "files_check",
    "import_check",
    "install_check",
    "kinds",
    "metadata_check",
    "python_drop",
    "read_wheel",
    "smoke_check",
    "venv_check",
]
