"""One guard of a published release: wait until visible, check it on each Python, compare the
failures with the baseline, and give the verdict. Library code: it prints nothing."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from unrelease.clock import Clock, SystemClock
from unrelease.errors import UnreleaseError
from unrelease.guard import checks
from unrelease.guard.baseline import choose_baseline, excuse
from unrelease.guard.checks import WheelInfo
from unrelease.guard.report import Check, Evidence, GuardResult
from unrelease.guard.venvs import Runner, create
from unrelease.guard.visible import Sighting, wait_visible
from unrelease.indexes.base import Index
from unrelease.model import Release
from unrelease.versions import check_package_name, parse_version


@dataclass
class GuardRequest:
    package: str
    version: str
    baseline: str | None = None
    expect: list[str] = field(default_factory=list)
    pythons: list[str] = field(default_factory=list)  # default: this interpreter
    smoke: list[str] = field(default_factory=list)
    wait: float = 300
    allow_python_drop: bool = False
    timeout: float = 300  # per command (venv, pip, import, smoke)
    auth: tuple[str, str] | None = None  # for pip, when the index needs credentials


def pip_index_url(index: Index, auth: tuple[str, str] | None) -> str:
    """The simple root for pip's --index-url, with the index credentials when there are any
    (evidence and output show it without them: redaction strips URL userinfo)."""
    url = index.simple_url
    if auth is None:
        return url
    parts = urlsplit(url)
    netloc = f"{quote(auth[0], safe='')}:{quote(auth[1], safe='')}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _complete(request: GuardRequest, version: Version) -> Callable[[Sighting], bool]:
    """Whether every expected file is listed (waiting for a publish still in flight)."""

    def done(seen: Sighting) -> bool:
        assert seen.release is not None
        base = None
        if not request.expect:
            base = choose_baseline(seen.releases, version, request.baseline)
        check = checks.files_check(seen.release, request.expect, base, "")
        return check.status != "fail"

    return done


def guard(
    request: GuardRequest,
    open_index: Callable[[], Index],
    *,
    clock: Clock | None = None,
    tmp: Path | None = None,
) -> GuardResult:
    """Guard REQUEST's release on the index OPEN_INDEX gives (asked again while unreachable)."""
    package = request.package
    check_package_name(package)
    version = parse_version(request.version)
    if request.baseline is not None:
        parse_version(request.baseline, what="--baseline version")
    for command in request.smoke:
        checks.smoke_argv(command)  # a command that does not parse is refused before any wait
    with tempfile.TemporaryDirectory(prefix="unrelease-guard-") as scratch:
        root = tmp or Path(scratch)
        seen = wait_visible(
            open_index,
            package,
            version,
            wait=request.wait,
            clock=clock or SystemClock(),
            dest=root / "files",
            complete=_complete(request, version),
        )
        index_url = seen.index.url if seen.index else ""
        if not seen.visible:
            why = f"not visible after {request.wait:g} s: {seen.why}"
            where = f"GET {seen.index.simple_url if seen.index else index_url or 'the index'}"
            tried = Evidence(where, None, f"{seen.polls} poll(s); last: {seen.why}")
            visible = Check("visible", None, "inconclusive", why, tried)
            return GuardResult(package, request.version, None, [visible], index_url=index_url)
        return _checked(request, seen, version, Runner(root, request.timeout))


def _checked(
    request: GuardRequest, seen: Sighting, version: Version, runner: Runner
) -> GuardResult:
    assert seen.index is not None
    assert seen.release is not None
    index = seen.index
    base = choose_baseline(seen.releases, version, request.baseline)
    polls = f"after {seen.polls} poll(s)"
    result: list[Check] = [Check("visible", None, "pass", f"listed and downloadable {polls}")]
    page = index.simple_url + check_package_name(request.package) + "/"
    result.append(checks.files_check(seen.release, request.expect, base, page))
    wheel = _wheel_info(seen.release, seen.downloaded)
    old = _requires_python(index, base, runner.tmp / "baseline-files")
    url = pip_index_url(index, request.auth)
    new = wheel.metadata.requires_python if wheel.metadata else None
    compare = not request.allow_python_drop and base is not None and old is not False
    spec = old if isinstance(old, SpecifierSet) else None

    def drop(pyver: str) -> list[str]:
        """The Pythons the baseline admitted that this release does not (PYVER among them)."""
        return checks.python_drop(new, spec, [pyver] if pyver != "?" else []) if compare else []

    for python in request.pythons or [sys.executable]:
        found = _on_python(runner, request, python, request.version, url, wheel, drop)
        found = _unless_unreachable(found, index, request.package)
        if base is not None and any(c.status == "fail" for c in found):
            base_wheel = _baseline_wheel(index, base, runner.tmp / "baseline-files")
            twin = _on_python(runner, request, python, base.version, url, base_wheel, _none)
            found = excuse(found, twin, base.version)
        result.extend(found)
    return GuardResult(
        request.package,
        request.version,
        base.version if base else None,
        result,
        index_url=index.url,
    )


def _none(pyver: str) -> list[str]:
    return []


def _on_python(
    runner: Runner,
    request: GuardRequest,
    python: str,
    version: str,
    index_url: str,
    wheel: WheelInfo,
    drop: Callable[[str], list[str]],
) -> list[Check]:
    """metadata, install, import and smoke of PACKAGE==VERSION on PYTHON: the dependencies
    resolve (a dry run) in one fresh venv while the install runs in another."""
    requirement = f"{request.package}=={version}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        resolving = pool.submit(_resolve, runner, python, requirement, index_url, wheel, drop)
        venv, ran = create(runner, python, runner.fresh("venv"))
        installed = None
        if venv is not None:
            installed = checks.install_check(runner, venv, requirement, index_url)
        out = [resolving.result()]
    if venv is None or installed is None:
        return [*out, checks.venv_check(ran, python)]
    out.append(installed)
    if installed.status != "pass":
        why = "not installed"
        out.append(Check("import", venv.version, "skipped", why))
        out.extend(Check("smoke", venv.version, "skipped", f"{c}: {why}") for c in request.smoke)
        return out
    out.append(checks.import_check(runner, venv, wheel.modules))
    out.extend(checks.smoke_check(runner, venv, command) for command in request.smoke)
    return out


def _resolve(
    runner: Runner,
    python: str,
    requirement: str,
    index_url: str,
    wheel: WheelInfo,
    drop: Callable[[str], list[str]],
) -> Check:
    venv, ran = create(runner, python, runner.fresh("resolve"))
    if venv is None:
        check = checks.venv_check(ran, python)
        return Check("metadata", None, check.status, check.detail, check.evidence)
    dropped = drop(venv.version)
    return checks.metadata_check(runner, venv, requirement, index_url, wheel, dropped)


def _unless_unreachable(found: list[Check], index: Index, package: str) -> list[Check]:
    """Failures of pip while the index does not answer are the index's, not the release's."""
    if not any(c.status == "fail" and c.name in ("metadata", "install") for c in found):
        return found
    try:
        index.releases(package)
    except (UnreleaseError, requests.RequestException, OSError):
        why = "the index stopped answering"
        return [
            Check(c.name, c.python, "inconclusive", f"{why}: {c.detail}", c.evidence)
            if c.status == "fail"
            else c
            for c in found
        ]
    return found


def _pick_wheel(release: Release) -> str | None:
    wheels = sorted(f.filename for f in release.files if f.filename.endswith(".whl"))
    universal = [w for w in wheels if w.endswith("-none-any.whl")]
    return (universal or wheels)[0] if wheels else None


def _wheel_info(release: Release, downloaded: dict[str, Path]) -> WheelInfo:
    name = _pick_wheel(release)
    if name is None or name not in downloaded:
        return WheelInfo("(no wheel)", None, "the release has no wheel", ())
    return checks.read_wheel(downloaded[name])


def _baseline_wheel(index: Index, base: Release, dest: Path) -> WheelInfo:
    name = _pick_wheel(base)
    file = next((f for f in base.files if f.filename == name), None)
    if file is None:
        return WheelInfo("(no wheel)", None, "the baseline has no wheel", ())
    target = dest / file.filename
    try:
        path = target if target.is_file() else index.download(file, dest)
    except (UnreleaseError, requests.RequestException, OSError) as exc:
        return WheelInfo(file.filename, None, f"could not download: {type(exc).__name__}", ())
    return checks.read_wheel(path)


def _requires_python(index: Index, base: Release | None, dest: Path) -> SpecifierSet | bool:
    """The baseline wheel's requires-python; True when it has none (it admits every Python);
    False when it cannot be read (no comparison is made then)."""
    if base is None:
        return False
    info = _baseline_wheel(index, base, dest)
    if info.metadata is None:
        return False
    return info.metadata.requires_python or True
