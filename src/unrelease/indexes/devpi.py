"""devpi: one index (stage) at ``http://host:port/USER/INDEX/``.

Reads use devpi's project JSON (``GET {base}{name}``, ``Accept: application/json``): it has
each file's sha256 and its upload time (the file's log), which devpi's PEP 691 page (api-version
1.0) lacks. Neither gives sizes. Deletes are plain HTTP DELETEs; a non-volatile index refuses
them unless ``?force`` is added, which only the index owner may do. Private stages have no
yanking (PEP 592).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from unrelease import secrets
from unrelease.errors import AuthError, BadInput, NotFound, Refused, ServiceError
from unrelease.indexes.base import Capabilities, Index, Project
from unrelease.indexes.identify import kind_from_answer, wrong_kind
from unrelease.indexes.simple import (
    file_version,
    parse_version,
    raise_for_status,
    safe_url,
    server_message,
)
from unrelease.indexes.upload import upload_file
from unrelease.model import DistFile, Release

_JSON = {"Accept": "application/json"}
_AUTH_HINT = (
    "set UNRELEASE_INDEX_USERNAME and UNRELEASE_INDEX_PASSWORD to the index owner's "
    "(or an acl_upload user's) devpi account"
)


def _upload_time(log: Any) -> str | None:
    """ISO 8601 UTC time of the file's upload (devpi logs ``when`` as [Y, M, D, h, m, s])."""
    if not isinstance(log, list):
        return None
    entries = [e for e in log if isinstance(e, dict) and isinstance(e.get("when"), list)]
    uploads = [e for e in entries if e.get("what") == "upload"] or entries
    if not uploads:
        return None
    when = uploads[0]["when"]
    if len(when) < 6 or not all(isinstance(x, int) for x in when[:6]):
        return None
    y, mo, d, h, mi, s = when[:6]
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}Z"


def _sha256(link: dict[str, Any]) -> str | None:
    hashes = link.get("hashes")
    value = hashes.get("sha256") if isinstance(hashes, dict) else None
    if isinstance(value, str):
        return value.lower()
    spec = link.get("hash_spec")
    if isinstance(spec, str) and spec.startswith("sha256="):
        return spec[len("sha256=") :].lower()
    return None


def _files(verdata: Any) -> list[DistFile]:
    if not isinstance(verdata, dict):
        return []
    yanked = verdata.get("yanked")
    out = []
    for link in verdata.get("+links") or []:
        if not isinstance(link, dict) or link.get("rel") != "releasefile":
            continue
        href = link.get("href")
        if not isinstance(href, str) or not href:
            continue
        out.append(
            DistFile(
                filename=href.rstrip("/").rsplit("/", 1)[-1],
                url=href,
                sha256=_sha256(link),
                upload_time=_upload_time(link.get("log")),
                yanked=bool(yanked),
                yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
            )
        )
    return sorted(out, key=lambda f: f.filename)


class DevpiIndex(Index):
    kind = "devpi"
    capabilities = Capabilities(
        delete_release=True, delete_file=True, filename_reusable=True, upload=True
    )
    probe_note: str | None = None

    def __init__(self, url: str, session: requests.Session) -> None:
        super().__init__(url, session)
        # devpi checks a password with argon2 on every request that carries one (about a
        # tenth of a second each): reads go anonymous, and the first write logs in once for
        # a token that is cheap to check.
        self.session.auth = None
        self._logged_in = False

    def _login(self) -> None:
        """``POST /+login`` once; from then on every request carries ``X-Devpi-Auth``."""
        if self._logged_in:
            return
        if self.credentials is None:
            raise AuthError(f"no credentials for devpi at {safe_url(self.url)}", hint=_AUTH_HINT)
        user, password = self.credentials
        resp = self.session.post(
            urljoin(self.url, "../../+login"),
            json={"user": user, "password": password},
            headers=_JSON,
            allow_redirects=False,
        )
        if resp.status_code in (401, 403):
            raise AuthError(
                f"devpi at {safe_url(self.url)} did not accept the credentials of {user}",
                hint=_AUTH_HINT,
            )
        if resp.status_code != 200:
            self._check_kind(resp)
        raise_for_status(resp, f"logging in to devpi at {safe_url(self.url)}")
        try:
            token = resp.json()["result"]["password"]
        except (ValueError, KeyError, TypeError):
            token = None
        if not isinstance(token, str) or not token:
            self._check_kind(resp)
            raise ServiceError(f"devpi at {safe_url(self.url)} gave no login token")
        header = base64.b64encode(f"{user}:{token}".encode()).decode()
        secrets.register(token)
        secrets.register(header)
        self.session.headers["X-Devpi-Auth"] = header
        self._logged_in = True

    @property
    def simple_url(self) -> str:
        return urljoin(self.url, "+simple/")

    @property
    def _stage(self) -> str:
        """USER/INDEX, for messages."""
        return urlsplit(self.url).path.strip("/")

    # --- reads -----------------------------------------------------------------------------
    def _project_json(self, package: str) -> dict[str, Any]:
        url = urljoin(self.url, canonicalize_name(package))
        resp = self.session.get(url, headers=_JSON)
        if resp.status_code in (401, 403) and self.credentials and not self._logged_in:
            self._login()  # an index that hides its files from anonymous readers
            resp = self.session.get(url, headers=_JSON)
        if resp.status_code == 404 and kind_from_answer(resp) is None:
            # devpi's own 404s carry its headers: this server is something else.
            self._check_kind(resp)
        raise_for_status(
            resp,
            f"reading {safe_url(url)}",
            not_found=f"package {package} is not on the index",
            auth_hint=_AUTH_HINT,
        )
        try:
            data = resp.json()
        except ValueError:
            self._check_kind(resp)
            raise ServiceError(f"devpi answered no JSON at {safe_url(url)}") from None
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, dict):
            self._check_kind(resp)
            raise ServiceError(f"unexpected devpi answer at {safe_url(url)}")
        return result

    def _check_kind(self, resp: requests.Response | None = None) -> None:
        """Raise BadInput when the server is plainly not devpi (a wrong --index-kind)."""
        mismatch = wrong_kind(self.kind, self.url, self.session, resp)
        if mismatch is not None:
            raise mismatch

    def _versions(
        self, package: str, data: dict[str, Any] | None = None
    ) -> dict[Version, tuple[str, list[DistFile]]]:
        """Parsed version → (devpi's own spelling, files); versions with no files left out."""
        out: dict[Version, tuple[str, list[DistFile]]] = {}
        data = self._project_json(package) if data is None else data
        for raw, verdata in data.items():
            try:
                version = Version(raw)
            except InvalidVersion:
                continue
            files = _files(verdata)
            if files:
                out[version] = (raw, files)
        return out

    def project(self, package: str) -> Project:
        """The name as registered on devpi (each version's ``name``); devpi has no PEP 792
        status for its own stages: active."""
        data = self._project_json(package)
        versions = self._versions(package, data)
        names = [v["name"] for v in data.values() if isinstance(v, dict) and v.get("name")]
        name = next((n for n in names if isinstance(n, str)), package)
        releases = [Release(str(v), tuple(versions[v][1])) for v in sorted(versions)]
        return Project(name=name, releases=releases)

    def releases(self, package: str) -> list[Release]:
        return self.project(package).releases

    def check_auth(self, package: str | None = None, version: str | None = None) -> None:
        """Raise AuthError unless devpi accepts our credentials, changing nothing: the login
        the writes need anyway (one request, once)."""
        self._login()

    # --- writes ----------------------------------------------------------------------------
    def _check_delete(self, resp: requests.Response, what: str, not_found: str) -> None:
        if resp.status_code == 403 and "non-volatile" in server_message(resp):
            raise Refused(
                f"{what}: {self._stage} is a non-volatile devpi index",
                hint="pass --force to delete anyway (allowed for the index owner only)",
            )
        if resp.status_code == 410:
            # devpi keeps a deleted file's entry and answers 410 "deleted in later serial":
            # the file is gone just as surely as with a 404.
            raise NotFound(f"{not_found} (already deleted)")
        raise_for_status(resp, what, not_found=not_found, auth_hint=_AUTH_HINT)

    def delete_release(self, package: str, version: str, *, force: bool = False) -> None:
        wanted = parse_version(version)
        found = self._versions(package).get(wanted)
        if found is None:
            raise NotFound(f"{package} {version} is not on the index")
        raw = found[0]
        url = urljoin(self.url, f"{canonicalize_name(package)}/{raw}")
        if self.credentials is not None:
            self._login()
        resp = self.session.delete(
            url, params={"force": ""} if force else None, headers=_JSON, allow_redirects=False
        )
        self._check_delete(
            resp,
            f"deleting {package} {version} on {safe_url(self.url)}",
            not_found=f"{package} {version} is not on the index",
        )

    def delete_file(
        self, package: str, version: str, file: DistFile, *, force: bool = False
    ) -> None:
        if file_version(file.filename) != parse_version(version):
            raise BadInput(f"{file.filename} is not a file of {package} {version}")
        # Only files of this very stage: a base's files (other USER/INDEX) are not ours to
        # delete, and the request goes to the index's own host whatever the link says.
        path = urlsplit(file.url).path
        own = urlsplit(self.url)
        if not (path.startswith(own.path + "+f/") or path.startswith(own.path + "+e/")):
            raise Refused(f"{file.filename} is not stored on {self._stage}; nothing was deleted")
        url = urlunsplit((own.scheme, own.netloc, path, "", ""))
        if self.credentials is not None:
            self._login()
        resp = self.session.delete(
            url, params={"force": ""} if force else None, headers=_JSON, allow_redirects=False
        )
        self._check_delete(
            resp,
            f"deleting {file.filename} on {safe_url(self.url)}",
            not_found=f"{file.filename} is not on the index",
        )

    def upload(self, path: Path) -> None:
        if self.credentials is not None:
            self._login()
        upload_file(self, path, auth_hint=_AUTH_HINT)
