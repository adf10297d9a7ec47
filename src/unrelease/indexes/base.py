"""The Index port: what the engine needs from a package index, and what the index can do."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import requests

from unrelease import secrets
from unrelease.clock import Clock, SystemClock
from unrelease.errors import BadInput, Refused, ServiceError
from unrelease.http import unreachable
from unrelease.model import DistFile, Release

MAX_DOWNLOADS = 4  # concurrent downloads of one release's files


@dataclass(frozen=True)
class Capabilities:
    yank: bool = False
    unyank: bool = False
    delete_release: bool = False
    delete_file: bool = False
    filename_reusable: bool = True
    upload: bool = False  # takes distribution files (the legacy upload API)

    def modes(self) -> list[str]:
        out = []
        if self.yank:
            out.append("yank")
        if self.delete_release:
            out.append("delete")
        return out


@dataclass(frozen=True)
class Project:
    """A project as the index shows it: its display name, its PEP 792 status and releases."""

    name: str  # the index's display name (texts use it; lookups use canonicalize_name)
    releases: list[Release]
    status: str = "active"  # active | archived | quarantined | deprecated (PEP 792)
    status_reason: str | None = None


def check_dist_filename(filename: str, package: str, version: str) -> None:
    """Refuse (BadInput, exit 2) a file name that is not a plain basename of a wheel or sdist
    of PACKAGE at VERSION: a hostile index page must not make us write outside the backup
    directory, nor back up or delete another project's or version's files."""
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        canonicalize_name,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import InvalidVersion, Version

    shown = repr(filename)
    check_plain_name(filename)
    try:
        if filename.endswith(".whl"):
            name, ver, _build, _tags = parse_wheel_filename(filename)
        else:
            name, ver = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        raise BadInput(
            f"the index lists a file {shown} that is not a wheel or sdist; refusing"
        ) from None
    try:
        same_version = ver == Version(version)
    except InvalidVersion:
        same_version = False
    if name != canonicalize_name(package) or not same_version:
        raise BadInput(
            f"the index lists {shown} under {package} {version}, but it is another "
            f"project's or version's file; refusing"
        )


def check_plain_name(filename: str) -> None:
    """Refuse (BadInput) a file name that is not a plain basename: no separators, no leading
    dot, no control characters."""
    if (
        not filename
        or filename != Path(filename).name
        or "/" in filename
        or "\\" in filename
        or filename.startswith(".")
        or any(ord(c) < 32 or ord(c) == 127 for c in filename)
    ):
        raise BadInput(
            f"the index lists a file {filename!r} that is not a plain file name; refusing"
        )


def _disk_error(dest_dir: Path, exc: OSError) -> BadInput:
    return BadInput(
        f"cannot write the backup to {dest_dir}: {exc.strerror or type(exc).__name__}",
        hint="free space or fix permissions there, or pass another --backup-dir; "
        "nothing was deleted",
    )


def strip_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """URL without its ``user:password@`` part, and the (user, password) it carried."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, (unquote(user), unquote(password))


_AUTH_HEADERS = ("Authorization", "X-Devpi-Auth")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An auth that adds nothing: stops the session's credentials for one request."""
    return request


def _discard(path: Path) -> None:
    """Remove a partial download, if it is there and can be removed."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def sha256_of(path: Path) -> str:
    """The hex sha256 of the file at PATH."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass(frozen=True)
class ManualStep:
    """What a person does on an index's web page for one write."""

    url: str
    button: str
    field: str
    type_text: str
    reason: str | None = None

    def line(self) -> str:
        text = f"open {self.url}, press '{self.button}', type {self.type_text!r} as {self.field}"
        if self.reason:
            text += f", paste the reason {self.reason!r}"
        return text + ", confirm"


class Index:
    """Base of the index adapters. A missing capability is refused loudly, never ignored."""

    kind = "index"
    capabilities = Capabilities()
    probe_note: str | None = None  # how --index-kind auto decided, when it did
    manual = False  # writes are done by a person (PyPI without credentials)

    def __init__(self, url: str, session: requests.Session) -> None:
        # The URL goes into records and output: never with ``user:password@``. Credentials in
        # it go to the session (unless it has its own) and are registered as secrets.
        clean, creds = strip_userinfo(url)
        if creds is not None:
            secrets.register(creds[1])
            if session.auth is None:
                session.auth = creds
        self.url = clean.rstrip("/") + "/"
        self.session = session
        # The index user and password (for pip's URL in --verify-install), never printed.
        auth = session.auth
        self.credentials: tuple[str, str] | None = (
            (str(auth[0]), str(auth[1])) if isinstance(auth, tuple) and len(auth) == 2 else None
        )
        self.warnings: list[str] = []  # for the person running the tool, printed at start
        self.clock: Clock = SystemClock()  # waits and polls go by it

    # --- reads -----------------------------------------------------------------------------
    @property
    def simple_url(self) -> str:
        """The PEP 503 simple index root, for pip's ``--index-url``."""
        raise NotImplementedError

    def releases(self, package: str) -> list[Release]:
        """Every version of PACKAGE with its files. Raises NotFound for an unknown package."""
        raise NotImplementedError

    def project(self, package: str) -> Project:
        """PACKAGE's display name, PEP 792 status and releases, in one read where the index
        allows. Adapters whose index shows a status or display name override this."""
        return Project(name=package, releases=self.releases(package))

    def download(self, file: DistFile, dest_dir: Path) -> Path:
        """Download FILE into DEST_DIR and check its sha256 when the index tells one.

        A name that is not a plain basename, or a target that resolves outside DEST_DIR, is
        refused (BadInput) before any request; a local disk error is BadInput too (exit 2:
        the set-up is wrong, not the index). The file appears only once complete and checked.
        """
        check_plain_name(file.filename)
        root = dest_dir.resolve()
        target = (root / file.filename).resolve()
        if target.parent != root:
            raise BadInput(f"{file.filename!r} would be written outside {dest_dir}; refusing")
        partial = target.with_name(target.name + ".part")
        try:
            root.mkdir(parents=True, exist_ok=True)
            digest = self._fetch(file, partial)
            if file.sha256 and digest != file.sha256.lower():
                raise ServiceError(
                    f"sha256 of {file.filename} does not match the index "
                    f"({digest} != {file.sha256}); nothing was deleted"
                )
            partial.replace(target)
        except requests.RequestException as exc:
            _discard(partial)
            raise unreachable(exc, file.url) from None
        except OSError as exc:
            _discard(partial)
            raise _disk_error(dest_dir, exc) from None
        except BaseException:
            _discard(partial)
            raise
        return target

    def _fetch(self, file: DistFile, out_path: Path) -> str:
        """Stream FILE's URL into OUT_PATH; the hex sha256 of what came. A file on another
        origin than the index (a page may link anywhere) gets no index credentials."""
        digest = hashlib.sha256()
        extra: dict[str, Any] = {}
        if _origin(file.url) != _origin(self.url):
            extra = {"auth": _no_auth, "headers": dict.fromkeys(_AUTH_HEADERS)}
        with self.session.get(file.url, stream=True, timeout=60, **extra) as resp:
            if resp.status_code != 200:
                raise ServiceError(f"download of {file.filename} failed: HTTP {resp.status_code}")
            with out_path.open("wb") as out:
                for chunk in resp.iter_content(65536):
                    digest.update(chunk)
                    out.write(chunk)
        return digest.hexdigest()

    def download_all(
        self, package: str, version: str, files: Sequence[DistFile], dest_dir: Path
    ) -> dict[str, Path]:
        """Download FILES of PACKAGE VERSION into DEST_DIR, at most four at a time, each
        sha256-checked: filename → path. Every name is checked first: one that is not a plain
        wheel or sdist name of PACKAGE VERSION refuses the lot (BadInput) before any download.
        """
        for file in files:
            check_dist_filename(file.filename, package, version)
        names = [f.filename for f in files]
        if len(set(names)) != len(names):
            raise BadInput(f"the index lists a file twice under {package} {version}; refusing")
        if not files:
            return {}
        with ThreadPoolExecutor(max_workers=min(MAX_DOWNLOADS, len(files))) as pool:
            jobs = [(f.filename, pool.submit(self.download, f, dest_dir)) for f in files]
            return {name: job.result() for name, job in jobs}

    def check_auth(self, package: str | None = None, version: str | None = None) -> None:
        """Raise AuthError unless the credentials may withdraw releases (of PACKAGE VERSION,
        when given); change nothing."""
        raise NotImplementedError

    # --- the manual path (indexes whose writes a person may have to do) -------------------------
    def manual_step(
        self,
        package: str,
        version: str,
        action: str,
        reason: str | None = None,
        filename: str | None = None,
    ) -> ManualStep:
        """What a person does on the index's site for one write."""
        raise self._refuse("be changed by hand through a web page")

    def wait_until(
        self, package: str, done: Callable[[list[Release]], bool], seconds: float
    ) -> bool:
        """Poll until DONE holds for the package's releases, at most SECONDS."""
        raise self._refuse("be watched for a manual change")

    # --- writes ----------------------------------------------------------------------------
    def _refuse(self, what: str) -> Refused:
        modes = " or ".join(self.capabilities.modes()) or "nothing"
        return Refused(f"{self.kind} index cannot {what}; it can do: {modes}")

    def yank(self, package: str, version: str, reason: str) -> None:
        raise self._refuse("yank")

    def unyank(self, package: str, version: str) -> None:
        raise self._refuse("unyank")

    def delete_release(self, package: str, version: str, *, force: bool = False) -> None:
        raise self._refuse("delete a release")

    def delete_file(
        self, package: str, version: str, file: DistFile, *, force: bool = False
    ) -> None:
        raise self._refuse("delete single files")

    def upload(self, path: Path) -> None:
        """Upload the distribution file at PATH (sdist or wheel). A file of that name already
        there with the same sha256 counts as uploaded; with another sha256 it is refused."""
        raise self._refuse("take uploads")
