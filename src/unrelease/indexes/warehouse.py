"""PyPI and TestPyPI (warehouse): reads through the JSON API, writes through the web session.

PyPI has no API for yank, unyank or delete. With credentials (``--pypi-auth session``) the
writes go through the management pages as a person's browser would; without them
(``--pypi-auth manual``) each write becomes a manual step: the exact link, the text to type
and the reason to paste, then the JSON API is polled until the change shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from unrelease.clock import Clock, SystemClock
from unrelease.errors import BadInput, NotFound, Refused, ServiceError
from unrelease.indexes import html
from unrelease.indexes.base import Capabilities, Index, ManualStep, Project
from unrelease.indexes.identify import wrong_kind
from unrelease.indexes.simple import SIMPLE_JSON, raise_for_status, status_from_json
from unrelease.indexes.warehouse_session import PypiCredentials, WebSession
from unrelease.model import DistFile, Release

SITES = {"pypi": "https://pypi.org/", "testpypi": "https://test.pypi.org/"}
AUTH_MODES = ("auto", "session", "manual")
FRESH_WAIT_S = 60.0  # how long a read waits for the JSON API to show our own change
POLL_S = 5.0
# Warehouse refuses a delete unless each of its form's acknowledgment boxes comes checked; the
# set differs per form and changes over time, so it is read from the one form being posted.
ACKNOWLEDGE = "acknowledge_"


def _row_form(
    field: str, release_path: str | None
) -> Callable[[list[html.Form]], html.Form | None]:
    """Picks the first form with FIELD; with RELEASE_PATH, the one posting to that release
    (a releases list has one row of forms per release)."""

    def pick(forms: list[html.Form]) -> html.Form | None:
        return next(
            (
                f
                for f in forms
                if f.has(field)
                and (
                    release_path is None
                    or unquote(urlsplit(f.action).path).rstrip("/")
                    == unquote(release_path).rstrip("/")
                )
            ),
            None,
        )

    return pick


class WarehouseIndex(Index):
    kind = "warehouse"
    capabilities = Capabilities(
        yank=True, unyank=True, delete_release=True, delete_file=True, filename_reusable=False
    )

    def __init__(
        self,
        url: str,
        session: requests.Session,
        *,
        creds: PypiCredentials | None = None,
        auth_mode: str = "auto",
        clock: Clock | None = None,
    ) -> None:
        super().__init__(url, session)
        if auth_mode not in AUTH_MODES:
            raise BadInput(f"unknown --pypi-auth {auth_mode!r}", hint="auto, session or manual")
        if auth_mode == "session" and creds is None:
            raise BadInput(
                "--pypi-auth session needs PYPI_USERNAME and PYPI_PASSWORD",
                hint="set them (and PYPI_TOTP_SECRET or PYPI_REMEMBER_DEVICE), or use "
                "--pypi-auth manual",
            )
        self.clock = clock or SystemClock()
        self.manual = auth_mode == "manual" or (auth_mode == "auto" and creds is None)
        self.web = (
            WebSession(self.url, session, creds, self.clock) if creds and not self.manual else None
        )
        self.serial = 0  # the newest last_serial seen
        self._min_serial = 0  # reads wait until the API shows at least this serial
        self._names: dict[str, str] = {}  # canonical → the project name as PyPI stores it
        self._versions: dict[tuple[str, str], str] = {}  # (canonical, normalised) → as stored
        self._last_page = ""  # the management page that had no form for the last action
        if creds is not None and creds.remember_device is not None:
            warning = creds.remember_device.expiry_warning(self.clock.time())
            if warning:
                self.warnings.append(warning)

    @property
    def simple_url(self) -> str:
        return self.url + "simple/"

    # --- reads -----------------------------------------------------------------------------
    def _read(self, package: str) -> tuple[dict[str, Any], int]:
        name = canonicalize_name(package)  # PyPI redirects other spellings here
        resp = self.session.get(
            f"{self.url}pypi/{quote(name)}/json", headers={"Accept": "application/json"}
        )
        if resp.status_code == 404:
            raise NotFound(f"{package} is not on {self.url}")
        raise_for_status(resp, f"reading {package} from {self.url}")
        try:
            data = resp.json()
            serial = int(data.get("last_serial") or resp.headers.get("X-PyPI-Last-Serial") or 0)
        except (ValueError, AttributeError):
            raise ServiceError(f"{self.url} answered unreadable JSON for {package}") from None
        return data, serial

    def _simple_status(self, package: str) -> tuple[str | None, str | None]:
        """(status, reason) from the PEP 691 page (PEP 792), or (None, None) when it has none."""
        resp = self.session.get(
            f"{self.url}simple/{quote(canonicalize_name(package))}/",
            headers={"Accept": SIMPLE_JSON},
        )
        if resp.status_code != 200:
            return None, None
        try:
            return status_from_json(resp.json().get("project-status"))
        except (ValueError, AttributeError):
            return None, None

    def _check_kind(self) -> None:
        """Raise BadInput when the server is plainly not warehouse (a wrong --index-kind)."""
        mismatch = wrong_kind(self.kind, self.url, self.session)
        if mismatch is not None:
            raise mismatch

    def _refuse_quarantined(self, package: str, status: str | None) -> None:
        """The JSON API hides a quarantined project: say so rather than that it is missing."""
        if status == "quarantined":
            raise Refused(
                f"{self.url} holds {package} in quarantine: installers see none of its files "
                "now, and no release of it can be changed",
                hint="PyPI's admins must release it first (https://pypi.org/help/#admin-"
                "intervention); rerun after that if a version must still be withdrawn",
            )

    def releases(self, package: str) -> list[Release]:
        """Every version with its files, from ``/pypi/<name>/json``. After our own write the
        read waits (bounded) until the API shows it: PyPI's CDN may answer stale for a while."""
        try:
            data = self._fresh(package)
        except NotFound:
            self._refuse_quarantined(package, self._simple_status(package)[0])
            self._check_kind()
            raise
        return self._parse(package, data)

    def project(self, package: str) -> Project:
        """Display name (``info.name``), PEP 792 status and releases: one read of the JSON API
        when it carries ``project-status``, else the PEP 691 page tells the status; a
        quarantined project (hidden from the JSON API) comes with no releases."""
        try:
            data = self._fresh(package)
        except NotFound:
            status, reason = self._simple_status(package)
            if status in (None, "active"):
                self._check_kind()
                raise
            name = self._names.get(canonicalize_name(package), package)
            return Project(name, [], status or "active", reason)
        releases = self._parse(package, data)
        info: dict[str, Any] = data["info"] if isinstance(data.get("info"), dict) else {}
        marker = data.get("project-status", info.get("project-status", info.get("project_status")))
        status, reason = status_from_json(marker)
        if status is None:
            status, reason = self._simple_status(package)
        shown = info.get("name")
        name = shown if isinstance(shown, str) and shown else package
        return Project(name, releases, status or "active", reason)

    def _fresh(self, package: str) -> dict[str, Any]:
        """The JSON API's answer, once it shows at least our last write (bounded wait)."""
        data, serial = self._read(package)
        deadline = self.clock.time() + FRESH_WAIT_S
        while serial < self._min_serial and self.clock.time() < deadline:
            self.clock.sleep(min(POLL_S, max(0.0, deadline - self.clock.time())))
            data, serial = self._read(package)
        if serial < self._min_serial:
            raise ServiceError(
                f"{self.url} still shows {package} as it was before our change "
                f"(serial {serial} < {self._min_serial}) after {FRESH_WAIT_S:.0f} s",
                hint="its cache should catch up within minutes; rerun to verify",
            )
        self.serial = max(self.serial, serial)
        return data

    def _parse(self, package: str, data: dict[str, Any]) -> list[Release]:
        canonical = canonicalize_name(package)
        info = data.get("info") or {}
        if isinstance(info.get("name"), str):
            self._names[canonical] = info["name"]
        out = []
        for version, files in (data.get("releases") or {}).items():
            try:
                key = str(Version(version))
            except InvalidVersion:
                continue
            self._versions[(canonical, key)] = version
            dist = tuple(
                DistFile(
                    filename=f["filename"],
                    url=f["url"],
                    sha256=(f.get("digests") or {}).get("sha256"),
                    size=f.get("size"),
                    upload_time=f.get("upload_time_iso_8601"),
                    yanked=bool(f.get("yanked")),
                    yanked_reason=f.get("yanked_reason") or None,
                )
                for f in files or []
            )
            out.append(Release(version=version, files=dist))
        out.sort(key=lambda r: Version(r.version))
        return out

    def _stored(self, package: str, version: str) -> tuple[str, str]:
        """The project name and version exactly as PyPI stores them (confirmations compare
        them exactly)."""
        canonical = canonicalize_name(package)
        if canonical not in self._names:
            self.releases(package)
        stored = self._versions.get((canonical, str(Version(version))), version)
        return self._names.get(canonical, package), stored

    def manage_path(self, package: str, version: str) -> str:
        name, stored = self._stored(package, version)
        return f"/manage/project/{quote(name)}/release/{quote(stored)}/"

    # --- credentials ---------------------------------------------------------------------------
    def check_auth(self, package: str | None = None, version: str | None = None) -> None:
        """Log in and open the release's management page: wrong credentials, a Maintainer
        role, a missing second factor or a device check stop here, before anything changes.
        Manual mode needs nothing."""
        if self.web is None:
            return
        if package is None or version is None:
            self.web.login()
            return
        self.web.manage_page(self.manage_path(package, version))

    # --- writes ----------------------------------------------------------------------------
    def _session(self) -> WebSession:
        assert self.web is not None, "manual mode: the engine asks a person instead"
        return self.web

    def _act(
        self,
        package: str,
        version: str,
        pick: Callable[[list[html.Form]], html.Form | None],
        values: Callable[[html.Form], dict[str, str]],
        success: str,
        *,
        on_list: bool = False,
    ) -> bool:
        """Find the form (on the release's page, or ON_LIST the project's releases list) and
        post it. False when the page has no such form (the change is there already)."""
        web = self._session()
        release = path = self.manage_path(package, version)
        if on_list:
            path = path.split("/release/")[0] + "/releases/"
        page = web.manage_page(path, fresh_for=release)
        form = pick(html.forms(page))
        if form is None:
            if "quarantine" in html.page_text(page).lower():
                raise Refused(
                    f"{self.url} holds {package} {version} in quarantine: it cannot be changed",
                    hint="PyPI's admins must release it first (https://pypi.org/help/#admin-"
                    "intervention); nothing was changed",
                )
            self._last_page = page
            return False
        web.submit(path, form, values(form), success=success)
        # Reads from now on wait until the API shows this write (one serial per write).
        self._min_serial = max(self._min_serial, self.serial) + 1
        return True

    def yank(self, package: str, version: str, reason: str) -> None:
        """Yank from the release's page when it was read already (the preflight reads the
        first one), else from the releases list: one read serves every release on it."""
        _, stored = self._stored(package, version)
        release_path = self.manage_path(package, version)
        for on_list in (True, False) if not self._session().has_page(release_path) else (False,):
            done = self._act(
                package,
                version,
                _row_form("confirm_yank_version", release_path if on_list else None),
                lambda f: {"confirm_yank_version": stored, "yanked_reason": reason},
                f"Yanked release '{stored}'",
                on_list=on_list,
            )
            if done:
                return
            if on_list and _row_form("confirm_unyank_version", release_path)(
                html.forms(self._last_page)
            ):
                return  # the list offers to un-yank it: it is yanked
            if not on_list and html.find_form(self._last_page, "confirm_delete_version"):
                # Warehouse hides the yank form only when the release is yanked; the
                # release's delete form shows the page is the release's own.
                return
            # Not on the list as expected: the release's own page tells (quarantine...).
        raise ServiceError(f"the management page of {package} {version} has no yank form")

    def unyank(self, package: str, version: str) -> None:
        _, stored = self._stored(package, version)
        release_path = self.manage_path(package, version)
        # The releases list holds one un-yank form per yanked release, each posting to
        # that release's page.
        done = self._act(
            package,
            version,
            _row_form("confirm_unyank_version", release_path),
            lambda f: {"confirm_unyank_version": stored},
            f"Un-yanked release '{stored}'",
            on_list=True,
        )
        if not done:
            return  # no un-yank form for it on the list: it is not yanked

    def delete_release(self, package: str, version: str, *, force: bool = False) -> None:
        _, stored = self._stored(package, version)
        try:
            done = self._act(
                package,
                version,
                lambda fs: next((f for f in fs if f.has("confirm_delete_version")), None),
                lambda f: {**f.checked(ACKNOWLEDGE), "confirm_delete_version": stored},
                f"Deleted release '{stored}'",
            )
        except NotFound:
            return  # the release's page is gone: it was deleted (a stale read planned this)
        if not done:
            raise ServiceError(f"the management page of {package} {version} has no delete form")

    def delete_file(
        self, package: str, version: str, file: DistFile, *, force: bool = False
    ) -> None:
        name, _ = self._stored(package, version)

        def pick(forms: list[html.Form]) -> html.Form | None:
            # The file's form holds its hidden file_id and shows its filename.
            hits = [f for f in forms if f.has("file_id") and file.filename in f.text.split()]
            return hits[0] if len(hits) == 1 else None

        done = self._act(
            package,
            version,
            pick,
            lambda f: {**f.checked(ACKNOWLEDGE), "confirm_project_name": name},
            f"Deleted file '{file.filename}'",
        )
        if not done:
            raise ServiceError(
                f"no delete form for {file.filename} on the management page of {package} {version}"
            )

    # --- the manual path -----------------------------------------------------------------------
    def manual_step(
        self,
        package: str,
        version: str,
        action: str,
        reason: str | None = None,
        filename: str | None = None,
    ) -> ManualStep:
        name, stored = self._stored(package, version)
        url = self.url.rstrip("/") + self.manage_path(package, version)
        if action == "yank":
            return ManualStep(url, "Yank release", "the version", stored, reason)
        if action == "unyank":
            listing = url.split("/release/")[0] + "/releases/"
            return ManualStep(listing, f"Options ▸ Un-yank for {stored}", "the version", stored)
        if action == "delete" and filename:
            return ManualStep(url, f"Options ▸ Delete for {filename}", "the project name", name)
        return ManualStep(url, "Delete release", "the version", stored)

    def wait_until(
        self, package: str, done: Callable[[list[Release]], bool], seconds: float
    ) -> bool:
        """Poll the JSON API until DONE holds for an answer newer than the one seen at the
        start (its last_serial grew), at most SECONDS. True when it did."""
        last = -1
        deadline = self.clock.time() + seconds
        while True:
            data, serial = self._read(package)
            if serial != last:  # only a new serial can carry the change
                last = serial
                if done(self._parse(package, data)):
                    self.serial = max(self.serial, serial)
                    return True
            left = deadline - self.clock.time()
            if left <= 0:
                return False
            self.clock.sleep(min(POLL_S * 2, left))
