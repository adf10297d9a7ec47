"""pypiserver: read the PEP 503 page, delete a release with the ``remove_pkg`` form action.

pypiserver has no yanking (PEP 592), no PEP 691 JSON and no HTTP way to remove a single file;
its simple page carries ``#sha256=`` fragments but no sizes or upload times.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import requests
from packaging.utils import canonicalize_name

from unrelease.errors import NotFound, ServiceError
from unrelease.indexes.base import Capabilities, Index, Project
from unrelease.indexes.identify import wrong_kind
from unrelease.indexes.simple import (
    group_releases,
    parse_version,
    raise_for_status,
    read_project_status,
    safe_url,
)
from unrelease.indexes.upload import upload_file
from unrelease.model import Release

# pypiserver 2.4.2 pkg_helpers.py: how it splits a filename into name and version.
_WHEEL = re.compile(
    r"^(?P<name>.+?)-(?P<ver>\d.*?)(-(?P<build>\d.*?))?"
    r"-(?P<pyver>.+?)-(?P<abi>.+?)-(?P<plat>.+?)\.whl$"
)
_ARCHIVE = re.compile(r"(\.zip|\.tar\.gz|\.tgz|\.tar\.bz2|\.tbz|\.tar\.xz|\.tz)$", re.I)
_NAME_END = re.compile(r"-\d+[a-z_.!+]", re.I)
_VERSION_END = re.compile(
    r"[\.\-](?=cp\d|py\d|macosx|linux|sunos|solaris|irix|aix|cygwin|win)", re.I
)


def _spelling(filename: str) -> tuple[str, str] | None:
    """The (name, version) pypiserver itself reads from FILENAME.

    pypiserver's ``remove_pkg`` compares the submitted name and version to these strings
    exactly, without PEP 503 normalisation (pypiserver 2.4.2, ``Backend.find_version``), so
    ``name=tiny-pkg`` does not match ``tiny_pkg-1.0.tar.gz``. We send what the files say.
    """
    if filename.endswith(".whl"):
        m = _WHEEL.match(filename)
        if not m:
            return None
        build = m.group("build")
        return m.group("name"), m.group("ver") + (f"-{build}" if build else "")
    if not _ARCHIVE.search(filename):
        return None
    stem = _ARCHIVE.sub("", filename)
    if "-" not in stem:
        return None
    if stem.count("-") == 1 or "." not in stem:
        name, version = stem.rsplit("-", 1)
        return name, version
    name = _NAME_END.split(stem)[0]
    return name, _VERSION_END.split(stem[len(name) + 1 :])[0]


_HINT = (
    "set UNRELEASE_INDEX_USERNAME and UNRELEASE_INDEX_PASSWORD to an account of "
    "pypiserver's htpasswd file (-P)"
)


class PypiserverIndex(Index):
    kind = "pypiserver"
    capabilities = Capabilities(delete_release=True, filename_reusable=True, upload=True)
    probe_note: str | None = None

    def __init__(self, url: str, session: requests.Session) -> None:
        super().__init__(url, session)
        # The last read of each package (canonical name), so that a delete planned from it
        # does not read the page again; any write forgets it.
        self._last_read: dict[str, list[Release]] = {}

    @property
    def simple_url(self) -> str:
        return urljoin(self.url, "simple/")

    def project(self, package: str) -> Project:
        """pypiserver keeps no display name (the name is as given) and no status but active,
        unless its page carries a PEP 792 marker."""
        try:
            files, (status, reason) = read_project_status(self.session, self.simple_url, package)
        except NotFound:
            self._check_kind()
            raise
        releases = group_releases(files)
        self._last_read[canonicalize_name(package)] = releases
        return Project(package, releases, status or "active", reason)

    def releases(self, package: str) -> list[Release]:
        return self.project(package).releases

    def check_auth(self, package: str | None = None, version: str | None = None) -> None:
        """Raise AuthError unless our credentials may remove packages, changing nothing.

        It asks to remove a version no file can have: pypiserver checks the credentials
        first (401 none, 403 wrong), then answers 404 for the missing version.
        """
        resp = self.session.post(
            self.url,
            data={":action": "remove_pkg", "name": "unrelease-auth-check", "version": "0"},
            allow_redirects=False,
        )
        if resp.status_code == 404:
            return
        if resp.status_code not in (401, 403):
            self._check_kind(resp)
        raise_for_status(resp, f"checking credentials on {safe_url(self.url)}", auth_hint=_HINT)
        raise ServiceError(
            f"checking credentials on {safe_url(self.url)}: unexpected HTTP {resp.status_code}"
        )

    def _check_kind(self, resp: requests.Response | None = None) -> None:
        """Raise BadInput when the server is plainly not pypiserver (a wrong --index-kind)."""
        mismatch = wrong_kind(self.kind, self.url, self.session, resp)
        if mismatch is not None:
            raise mismatch

    def _find(self, package: str, version: str) -> Release:
        wanted = parse_version(version)
        known = self._last_read.pop(canonicalize_name(package), None)
        for release in self.releases(package) if known is None else known:
            if parse_version(release.version) == wanted:
                return release
        raise NotFound(f"{package} {version} is not on the index")

    def delete_release(self, package: str, version: str, *, force: bool = False) -> None:
        """Remove every file of VERSION (``force`` has no meaning here: nothing is protected)."""
        release = self._find(package, version)
        # One POST per distinct spelling; usually a single one for all files of the release.
        spellings = sorted({s for f in release.files if (s := _spelling(f.filename))})
        if not spellings:
            raise NotFound(f"{package} {version} has no files pypiserver can remove")
        for name, file_version in spellings:
            resp = self.session.post(
                self.url,
                data={":action": "remove_pkg", "name": name, "version": file_version},
                allow_redirects=False,
            )
            if resp.status_code >= 300 and resp.status_code not in (401, 403, 404):
                self._check_kind(resp)
            raise_for_status(
                resp,
                f"deleting {package} {version} on {safe_url(self.url)}",
                not_found=f"{package} {version} is not on the index",
                auth_hint=_HINT,
            )

    def upload(self, path: Path) -> None:
        self._last_read.clear()
        upload_file(self, path, auth_hint=_HINT)
