"""A faithful, stateful fake of PyPI's warehouse, served over real HTTP on 127.0.0.1.

It answers what a rollback tool, twine and pip touch, the way pypi/warehouse does (routes,
field names, status codes, redirects, flash messages and error texts are taken from its
source, 2026-08):

- the web session: cookie ``session_id``, a CSRF token per session (form field
  ``csrf_token`` or header ``X-CSRF-Token``), ``400 Bad CSRF Origin`` for a POST without a
  matching Origin/Referer and ``400 Bad CSRF Token`` without the token; a new session id and
  token at every login (``_login_user``);
- login, TOTP (pyotp, SHA1/6 digits/30 s, +-1 step, no replay), recovery codes, WebAuthn-only
  accounts (no TOTP form), the ``remember_device`` cookie, the new-device check with its
  "Unrecognized login" e-mail and ``/account/confirm-login/?token=``, the password lockout
  (10 failures per 5 minutes) and the 2FA limit (5 per 5 minutes, then ``429`` with
  ``Retry-After``);
- management: the 2FA requirement, Owner-only ``ProjectsWrite``, the password confirmation
  after 30 minutes (an HTTP 200 page posting to ``/account/reauthenticate/``), yank, un-yank,
  delete release, delete file, quarantine and "deletion temporarily disabled", flash messages
  at ``/_includes/unauthed/flash-messages/``, e-mails to every collaborator and the journal;
- the read APIs: ``/pypi/<name>/json``, ``/pypi/<name>/<version>/json``, the simple API
  (PEP 503 HTML and PEP 691 JSON, PEP 592 yanks, PEP 700 versions), files under
  ``/packages/``, ``last_serial``/``X-PyPI-Last-Serial``, cache headers, CDN staleness;
- the upload API ``POST /legacy/`` as twine uses it (API tokens only, file name reuse, the
  14-day window).

Where warehouse differs from a simpler reading of its behaviour, the fake follows warehouse:
a wrong password on ``/account/reauthenticate/`` still answers 303 (the next page shows the
password form again); un-yank forms live on the releases list, not on the release page; a TOTP
post for an account without TOTP is a 500 (warehouse raises a KeyError there); upload with a
username and password is refused (403) for everyone.

Time comes from the injected clock (a ``FakeClock``'s ``time``): tokens, lockouts, TOTP steps,
re-authentication and the 14-day window all follow it. Seeding and inspection are plain Python
methods (no HTTP): see ``FakeWarehouse``.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import http.cookies
import json
import re
import secrets
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

import pyotp
from markupsafe import escape
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from tests.fakes.loopback import LoopbackServer

# Settings, as warehouse's defaults (warehouse/config.py, manage/__init__.py, forklift).
SESSION_MAX_AGE = 12 * 3600
TWO_FACTOR_MAX_AGE = 300
REMEMBER_DEVICE_DAYS = 30
REMEMBER_DEVICE_SECONDS = REMEMBER_DEVICE_DAYS * 86400
CONFIRM_LOGIN_MAX_AGE = 21600
UNRECOGNIZED_LOGIN_REPEAT_WINDOW = 15 * 60
TIME_TO_REAUTH = 30 * 60
MAX_UPLOAD_AGE_DAYS = 14
LOGIN_LIMITS = ((10, 300.0),)  # "10 per 5 minutes", per user and per IP
TWOFA_USER_LIMITS = ((5, 300.0), (20, 3600.0), (50, 86400.0))
TWOFA_IP_LIMITS = ((10, 300.0), (50, 3600.0))
API_VERSION = "1.4"
PHISHABLE_METHODS = {"totp", "recovery-code"}
CLIENT_IP = "127.0.0.1"

MIME_HTML = "text/html"
MIME_SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
MIME_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"

INVALID_PASSWORD = "The password is invalid. Try again."
REQUIRED = "This field is required."
LOCKED_OUT = (
    "There have been too many unsuccessful login attempts. "
    "You have been locked out for {time}. Please try again later."
)
DELETION_DISABLED = (
    "Project deletion temporarily disabled. "
    "See https://pypi.org/help#admin-intervention for details."
)
QUARANTINED = "This release is in quarantine and cannot be modified."
# warehouse.utils.project: the checkboxes each delete form carries and its view enforces.
DELETE_RELEASE_ACKNOWLEDGMENTS = (
    "acknowledge_delete_files",
    "acknowledge_install_break",
    "acknowledge_no_reupload",
    "acknowledge_irreversible",
    "acknowledge_admins_cannot_undo",
)
DELETE_FILE_ACKNOWLEDGMENTS = ("acknowledge_file_only", "acknowledge_irreversible")
NOT_ACKNOWLEDGED = "Could not delete {what} - acknowledge all of the consequences to continue"
NEEDS_2FA = "Two-factor authentication must be enabled on your account to perform this action."

_SITES = {
    "pypi": {"name": "PyPI", "help": "https://pypi.org/help/"},
    "testpypi": {"name": "TestPyPI", "help": "https://test.pypi.org/help/"},
}


# ---------------------------------------------------------------------- small helpers
def naturaldelta(seconds: float) -> str:
    """What ``humanize.naturaldelta`` says for the lockout texts (seconds to days)."""
    s = int(seconds)
    if s < 1:
        return "a moment"
    if s == 1:
        return "a second"
    if s < 60:
        return f"{s} seconds"
    if s < 120:
        return "a minute"
    if s < 3600:
        return f"{s // 60} minutes"
    if s < 7200:
        return "an hour"
    if s < 86400:
        return f"{s // 3600} hours"
    if s < 2 * 86400:
        return "a day"
    return f"{s // 86400} days"


class _Locked(Exception):
    """warehouse's TooManyFailedLogins."""

    def __init__(self, resets_in: float) -> None:
        super().__init__(resets_in)
        self.resets_in = max(0.0, resets_in)


class _Limiter:
    """A moving-window rate limiter (the ``limits`` library's strategy) on the fake's clock."""

    def __init__(self, rules: Sequence[tuple[int, float]], clock: Callable[[], float]) -> None:
        self.rules = tuple(rules)
        self.clock = clock
        self.hits: dict[str, list[float]] = {}

    def _recent(self, key: str, window: float) -> list[float]:
        now = self.clock()
        return [t for t in self.hits.get(key, []) if now - window < t <= now]

    def check(self, key: str) -> None:
        """Raise _Locked when KEY has used up any of its windows."""
        now = self.clock()
        waits = []
        for limit, window in self.rules:
            recent = self._recent(key, window)
            if len(recent) >= limit:
                waits.append(recent[-limit] + window - now)
        if waits:
            raise _Locked(max(waits))

    def hit(self, key: str) -> None:
        longest = max(w for _, w in self.rules)
        self.hits[key] = [*self._recent(key, longest), self.clock()]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _iso(ts: float) -> str:
    """warehouse's ``upload_time.isoformat() + "Z"``; database times carry microseconds."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _version_key(version: str) -> tuple[int, Any]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _is_prerelease(version: str) -> bool:
    try:
        return Version(version).is_prerelease
    except InvalidVersion:
        return False


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    """multipart/form-data -> (text fields, {name: (filename, bytes)})."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str):
        raise ValueError("no multipart boundary")
    fields: dict[str, str] = {}
    files: dict[str, Any] = {}
    delim = b"--" + boundary.encode("latin-1")
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        head, _, data = chunk.partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        part = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if sep:
                part[key.strip()] = value.strip()
        name = part.get_param("name", header="content-disposition")
        filename = part.get_param("filename", header="content-disposition")
        if not isinstance(name, str):
            continue
        if isinstance(filename, str):
            files[name] = (filename, data)
        else:
            fields.setdefault(name, data.decode("utf-8", "replace"))
    return fields, files


def _accepts(accept: str | None, offers: Sequence[str]) -> str:
    """WebOb's ``acceptable_offers`` reduced to what the simple API needs."""
    if not accept:
        return offers[0]
    prefs: list[tuple[str, float]] = []
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        q = 1.0
        for param in params:
            k, _, v = param.partition("=")
            if k.strip() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        prefs.append((media.lower(), q))
    best, best_q = "", 0.0
    for offer in offers:
        kind = offer.split("/")[0] + "/*"
        q = max((pq for m, pq in prefs if m in (offer, kind, "*/*")), default=0.0)
        if q > best_q:
            best, best_q = offer, q
    return best or offers[0]


# ---------------------------------------------------------------------- state
@dataclass
class _User:
    username: str
    password: str
    totp_secret: str | None
    webauthn: bool
    known_ip: bool
    recovery: dict[str, bool]  # code -> burned
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    last_totp: str | None = None
    last_login: float = 0.0
    pending_login: dict[str, Any] | None = None

    @property
    def has_totp(self) -> bool:
        return self.totp_secret is not None

    @property
    def has_two_factor(self) -> bool:
        return self.has_totp or self.webauthn


@dataclass
class _File:
    id: str
    filename: str
    packagetype: str
    python_version: str
    size: int
    md5: str
    sha256: str
    blake2: str
    upload_time: float
    path: str


@dataclass
class _Release:
    version: str
    created: float
    requires_python: str | None = None
    summary: str | None = None
    yanked: bool = False
    yanked_reason: str = ""
    files: list[_File] = field(default_factory=list)


@dataclass
class _Project:
    name: str
    roles: dict[str, str]  # username -> "Owner" | "Maintainer"
    releases: dict[str, _Release] = field(default_factory=dict)
    last_serial: int = 0

    @property
    def normalized(self) -> str:
        return canonicalize_name(self.name)

    def release(self, version: str) -> _Release | None:
        if version in self.releases:
            return self.releases[version]
        wanted = canonicalize_version(version)
        matches = [r for r in self.releases.values() if canonicalize_version(r.version) == wanted]
        return matches[0] if len(matches) == 1 else None


@dataclass
class _Session:
    sid: str
    created: float
    user: str | None = None
    csrf: str | None = None
    auth_ts: float = 0.0
    flash: dict[str, list[str]] = field(default_factory=dict)  # queue -> messages

    def csrf_token(self) -> str:
        if self.csrf is None:
            self.csrf = secrets.token_urlsafe(32)
        return self.csrf


@dataclass
class Fault:
    method: str
    path_regex: str
    status: int
    times: int | None  # None: forever
    body: str | None
    headers: dict[str, str]


@dataclass
class _Resp:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    reason: str | None = None

    def header(self, key: str, value: str) -> _Resp:
        self.headers.append((key, value))
        return self


@dataclass
class _Ctx:
    method: str
    raw_path: str  # as sent, with the query
    path: str  # decoded, without the query
    query: str
    headers: Mapping[str, str]
    body: bytes
    cookies: dict[str, str]
    sess: _Session | None = None
    new_sid: bool = False
    form: dict[str, str] = field(default_factory=dict)

    @property
    def get(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True))

    @property
    def path_qs(self) -> str:
        return self.raw_path


# ---------------------------------------------------------------------- markup
class _Markup:
    """HTML for one site. ``pypi`` follows warehouse's templates; ``testpypi`` is the staged
    redesign: the same forms and field names with other nesting, classes and attribute order,
    so that a client has to find forms by the names of their fields."""

    def __init__(self, host_name: str) -> None:
        self.alt = host_name == "testpypi"
        self.site = _SITES[host_name]["name"]

    def page(self, title: str, body: str) -> str:
        flash = '<div data-html-include="/_includes/unauthed/flash-messages/"></div>'
        if self.alt:
            return (
                f'<!doctype html>\n<html lang="en" data-theme="redesign"><head><meta '
                f'charset="utf-8"><title>{escape(title)} · {self.site}</title></head>\n'
                f'<body class="tw-body"><div class="tw-shell">{flash}'
                f'<main class="tw-main" id="content">\n{body}\n</main></div></body></html>\n'
            )
        return (
            f'<!DOCTYPE html>\n<html lang="en" dir="ltr">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape(title)} · {self.site}</title>\n</head>\n<body>\n{flash}\n"
            f'<main id="content">\n<div class="horizontal-section">\n<div class="site-container">'
            f"\n{body}\n</div>\n</div>\n</main>\n</body>\n</html>\n"
        )

    def hidden(self, name: str, value: str) -> str:
        if self.alt:
            return f'<input value="{escape(value)}" type="hidden" name="{escape(name)}" />'
        return f'<input name="{escape(name)}" type="hidden" value="{escape(value)}">'

    def text(self, name: str, *, kind: str = "text", value: str = "", label: str = "") -> str:
        if self.alt:
            return (
                f'<label class="tw-label">{escape(label or name)}<input class="tw-input" '
                f'type="{kind}" value="{escape(value)}" autocomplete="off" name="{name}" '
                f'id="tw-{name}" /></label>'
            )
        return (
            f'<label for="{name}" class="form-group__label">{escape(label or name)}</label>\n'
            f'<input autocomplete="off" class="form-group__field" id="{name}" name="{name}" '
            f'type="{kind}" value="{escape(value)}">'
        )

    def checkbox(self, name: str, label: str) -> str:
        if self.alt:
            return (
                f'<label class="tw-check"><input value="true" name="{name}" type="checkbox" />'
                f"{escape(label)}</label>"
            )
        return (
            f'<div class="form-group"><label><input type="checkbox" name="{name}" '
            f'value="true" /> {escape(label)}</label></div>'
        )

    def errors(self, errors: Sequence[str], ident: str = "") -> str:
        if not errors:
            return ""
        items = "".join(f"<li>{escape(e)}</li>" for e in errors)
        if self.alt:
            return f'<div class="tw-alert tw-alert--error" role="alert"><ul>{items}</ul></div>'
        ident_attr = f' id="{ident}"' if ident else ""
        return f'<ul{ident_attr} class="form-errors" role="alert">{items}</ul>'

    def form(self, action: str, inner: str, *, ident: str = "", cls: str = "") -> str:
        ident_attr = f' id="{ident}"' if ident else ""
        if self.alt:
            return (
                f'<form class="tw-form {cls}" action="{escape(action)}"{ident_attr} '
                f'data-turbo="false" method="post">\n<fieldset class="tw-fieldset">\n{inner}\n'
                f'<button class="tw-button tw-button--primary" type="submit">Submit</button>\n'
                f"</fieldset>\n</form>"
            )
        cls_attr = f' class="{cls}"' if cls else ""
        return (
            f'<form method="POST"{cls_attr}{ident_attr} action="{escape(action)}">\n{inner}\n'
            f'<input type="submit" value="Submit" class="button button--primary">\n</form>'
        )

    def modal(self, slug: str, title: str, form: str) -> str:
        if self.alt:
            return (
                f'<dialog class="tw-dialog" id="{slug}" aria-labelledby="{slug}-title">'
                f'<section class="tw-dialog__panel"><header><h3 id="{slug}-title">'
                f"{escape(title)}</h3></header>\n{form}\n</section></dialog>"
            )
        return (
            f'<div id="{slug}" class="modal" data-controller="confirm modal-close">\n'
            f'<div class="modal__content" role="dialog">\n<a href="#modal-close" '
            f'data-action="click->modal-close#cancel" title="Close" class="modal__close">'
            f'<i class="fa fa-times" aria-hidden="true"></i></a>\n{form}\n</div>\n</div>'
        )

    def flash(self, queue: str, message: str) -> str:
        cls = {"error": "danger", "warning": "warning", "success": "success"}.get(queue, "")
        mod = f" notification-bar--{cls}" if cls else ""
        if self.alt:
            return (
                f'<div role="status" class="notification-bar{mod}" data-queue="{queue}">'
                f'<p class="notification-bar__message">{escape(message)}</p></div>\n'
            )
        return (
            f'<div class="notification-bar{mod} notification-bar--dismissable" '
            f'data-controller="notification" data-notification-target="notification">\n'
            f'  <div class="notification-bar__container">\n'
            f'    <span class="notification-bar__message">{escape(message)}</span>\n'
            f'    <button type="button" title="Dismiss this notification" '
            f'class="notification-bar__dismiss" aria-label="Close">'
            f'<i class="fa fa-times" aria-hidden="true"></i></button>\n'
            f"  </div>\n</div>\n"
        )


# ---------------------------------------------------------------------- the fake
class FakeWarehouse:
    """A fake pypi.org (or test.pypi.org with ``host_name="testpypi"``) on 127.0.0.1.

    Seeding: ``add_user``, ``add_project``, ``add_release``, ``add_upload_token``,
    ``set_known_ip``, ``issue_remember_device``; admin switches ``quarantine``, ``archived``
    (PEP 792 status, shown by the simple and JSON APIs) and ``deletion_disabled`` (sets of
    project names); ``acknowledgments``: the boxes each delete form carries and requires.
    Faults: ``fail``; slowness: ``latency_s``; CDN staleness: ``stale_reads``. Inspection:
    ``release_state``, ``journal``, ``emails``, ``requests`` / ``count`` / ``clear_log``,
    ``posted`` (the forms POSTed), ``user_agents``, ``session_user``.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        host_name: str = "pypi",
    ) -> None:
        if host_name not in _SITES:
            raise ValueError(f"host_name must be one of {sorted(_SITES)}")
        timer = getattr(clock, "time", clock)  # a FakeClock itself works too
        self.clock: Callable[[], float] = timer
        self.host_name = host_name
        self.site_name = _SITES[host_name]["name"]
        self.help_url = _SITES[host_name]["help"]
        self.markup = _Markup(host_name)
        self.quarantine: set[str] = set()
        self.archived: set[str] = set()  # PEP 792 "archived" (owners may still manage)
        self.json_project_status = True  # the JSON API shows "project-status" too
        self.deletion_disabled: set[str] = set()
        # The acknowledgment boxes each delete form renders and its view requires (tests may
        # change them, as warehouse does from time to time).
        self.acknowledgments: dict[str, tuple[str, ...]] = {
            "release": DELETE_RELEASE_ACKNOWLEDGMENTS,
            "file": DELETE_FILE_ACKNOWLEDGMENTS,
        }
        self.posted: list[tuple[str, dict[str, str]]] = []  # (path, form) of each form POST
        self.stale_reads = 0
        self.latency_s = 0.0
        self.emails: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, int]] = []
        self.user_agents: list[str | None] = []
        self.journal: list[tuple[str, str, str, str]] = []
        self.server_errors: list[str] = []  # tracebacks of the fake's own failures
        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(32)
        self._users: dict[str, _User] = {}
        self._projects: dict[str, _Project] = {}  # normalized name -> project
        self._deleted: set[tuple[str, str]] = set()  # (normalized name, version)
        self._used_filenames: set[str] = set()
        self._blobs: dict[str, bytes] = {}  # file path -> content
        self._tokens: dict[str, tuple[str | None, str | None]] = {}  # token -> (project, user)
        self._sessions: dict[str, _Session] = {}
        self._faults: list[Fault] = []
        self._serial = 0
        self._previous: tuple[dict[str, _Project], set[str]] | None = None
        self._login_user_limit = _Limiter(LOGIN_LIMITS, self.clock)
        self._login_ip_limit = _Limiter(LOGIN_LIMITS, self.clock)
        self._twofa_user_limit = _Limiter(TWOFA_USER_LIMITS, self.clock)
        self._twofa_ip_limit = _Limiter(TWOFA_IP_LIMITS, self.clock)
        self._server: LoopbackServer | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeWarehouse.start() first")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeWarehouse:
        if self._server is not None:
            return self
        self._server = LoopbackServer(_RequestHandler, self)
        self.port = self._server.port
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        self._server = None

    def __enter__(self) -> FakeWarehouse:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ seeding
    def add_user(
        self,
        username: str,
        password: str,
        *,
        totp_secret: str | None = None,
        webauthn_only: bool = False,
        known_ip: bool = True,
        recovery_codes: Sequence[str] = (),
    ) -> None:
        """An account. TOTP_SECRET (base32) enables TOTP; WEBAUTHN_ONLY gives a security key
        as its only second factor; KNOWN_IP False makes this machine's IP new to the account;
        RECOVERY_CODES are 16 lowercase hex characters each."""
        if totp_secret is not None and webauthn_only:
            raise ValueError("webauthn_only excludes totp_secret")
        for code in recovery_codes:
            if not re.fullmatch(r"[0-9a-f]{16}", code):
                raise ValueError(f"recovery codes are 16 hex characters: {code!r}")
        if totp_secret is not None:
            pyotp.TOTP(totp_secret).at(0)  # a bad secret fails here, not at login
        with self._lock:
            self._users[username] = _User(
                username=username,
                password=password,
                totp_secret=totp_secret,
                webauthn=webauthn_only,
                known_ip=known_ip,
                recovery=dict.fromkeys(recovery_codes, False),
            )

    def set_known_ip(self, username: str, known: bool) -> None:
        with self._lock:
            user = self._users[username]
            user.known_ip = known
            if known:
                user.pending_login = None

    def add_project(self, name: str, owner: str, maintainers: Sequence[str] = ()) -> None:
        with self._lock:
            for who in (owner, *maintainers):
                if who not in self._users:
                    raise ValueError(f"unknown user {who!r}")
            roles = {owner: "Owner", **dict.fromkeys(maintainers, "Maintainer")}
            key = canonicalize_name(name)
            if key in self._projects:
                self._projects[key].roles.update(roles)
            else:
                self._projects[key] = _Project(name=name, roles=roles)

    def add_release(
        self,
        project: str,
        version: str,
        files: dict[str, bytes] | None = None,
        uploaded_at: float | None = None,
        *,
        requires_python: str | None = None,
    ) -> None:
        """A release with FILES (filename -> content), uploaded at UPLOADED_AT (default now),
        as if twine had put it there; the project must exist (``add_project``). Written to
        ``last_serial`` but not to ``journal`` (seeding is history before the test)."""
        with self._lock:
            proj = self._project(project)
            if proj is None:
                raise ValueError(f"unknown project {project!r}: add_project first")
            when = self.clock() if uploaded_at is None else uploaded_at
            self._remember_previous()
            rel = proj.release(version)
            if rel is None:
                rel = _Release(version=version, created=when, requires_python=requires_python)
                proj.releases[version] = rel
            for filename, content in (files or {}).items():
                if filename in self._used_filenames:
                    raise ValueError(f"file name {filename!r} was used before")
                kind, pyver = self._file_kind(filename)
                self._store_file(rel, filename, content, kind, pyver, when)
            self._bump(proj)

    def add_upload_token(
        self, project_or_none: str | None, token: str, *, username: str | None = None
    ) -> None:
        """An API token for ``twine upload -u __token__``. Scoped to one project, or to all
        (None). Bound to USERNAME, uploads also need that user's role on the project and 2FA;
        a project it creates gets that user as Owner."""
        with self._lock:
            if username is not None and username not in self._users:
                raise ValueError(f"unknown user {username!r}")
            scope = None if project_or_none is None else canonicalize_name(project_or_none)
            self._tokens[token] = (scope, username)

    def issue_remember_device(self, username: str, *, days: float = REMEMBER_DEVICE_DAYS) -> str:
        """A ``remember_device`` cookie value for USERNAME, valid DAYS from now."""
        with self._lock:
            user = self._users[username]
            exp = self.clock() + days * 86400
            return self._dumps("remember_device", {"user_id": user.uid, "exp": exp})

    # ------------------------------------------------------------------ faults and log
    def fail(
        self,
        method: str,
        path_regex: str,
        status: int = 500,
        times: int | None = 1,
        body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next TIMES requests (None: all) matching METHOD ('*' for any) and
        PATH_REGEX (re.search on the path with its query, as sent) with STATUS."""
        with self._lock:
            self._faults.append(
                Fault(method.upper(), path_regex, status, times, body, dict(headers or {}))
            )

    def count(self, method: str | None = None, path_prefix: str = "") -> int:
        with self._lock:
            return sum(
                1
                for m, p, _ in self.requests
                if (method is None or m == method.upper()) and p.startswith(path_prefix)
            )

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.user_agents.clear()
            self.posted.clear()

    # ------------------------------------------------------------------ inspection
    def release_state(self, project: str, version: str) -> dict[str, Any]:
        """{"yanked", "yanked_reason", "files": [filenames], "deleted"} of one release."""
        with self._lock:
            proj = self._project(project)
            rel = proj.release(version) if proj is not None else None
            if rel is None:
                key = (canonicalize_name(project), version)
                if proj is not None and key in self._deleted:
                    return {"yanked": False, "yanked_reason": "", "files": [], "deleted": True}
                raise KeyError(f"no release {project} {version}")
            return {
                "yanked": rel.yanked,
                "yanked_reason": rel.yanked_reason,
                "files": sorted(f.filename for f in rel.files),
                "deleted": False,
            }

    def file_ids(self, project: str, version: str) -> dict[str, str]:
        """filename -> file_id (the UUID in each file's delete form)."""
        with self._lock:
            proj = self._project(project)
            rel = proj.release(version) if proj is not None else None
            if rel is None:
                raise KeyError(f"no release {project} {version}")
            return {f.filename: f.id for f in rel.files}

    def session_user(self, session_id: str) -> str | None:
        """The user logged in on the session with this ``session_id`` cookie, or None."""
        with self._lock:
            sess = self._sessions.get(session_id)
            return None if sess is None else sess.user

    def logged_in_users(self) -> list[str]:
        with self._lock:
            return sorted({s.user for s in self._sessions.values() if s.user is not None})

    # ------------------------------------------------------------------ internals: state
    def _project(self, name: str) -> _Project | None:
        return self._projects.get(canonicalize_name(name))

    def _in_quarantine(self, proj: _Project, quarantine: set[str] | None = None) -> bool:
        names = self.quarantine if quarantine is None else quarantine
        return proj.normalized in {canonicalize_name(n) for n in names}

    def _status(self, proj: _Project, quarantine: set[str] | None = None) -> str:
        """The project's PEP 792 status, as the read APIs show it."""
        if self._in_quarantine(proj, quarantine):
            return "quarantined"
        return (
            "archived"
            if proj.normalized in {canonicalize_name(n) for n in self.archived}
            else "active"
        )

    def _deletion_disabled(self, proj: _Project) -> bool:
        return proj.normalized in {canonicalize_name(n) for n in self.deletion_disabled}

    def _remember_previous(self) -> None:
        """Keep the read APIs' view of the state before this change (for ``stale_reads``)."""
        self._previous = (copy.deepcopy(self._projects), set(self.quarantine))

    def _bump(self, proj: _Project) -> None:
        self._serial += 1
        proj.last_serial = self._serial

    def _journal(self, proj: _Project, version: str, action: str, who: str) -> None:
        self.journal.append((proj.name, version, action, who))

    @staticmethod
    def _file_kind(filename: str) -> tuple[str, str]:
        if filename.endswith(".whl"):
            try:
                tags = parse_wheel_filename(filename)[3]
                pyver = ".".join(sorted({t.interpreter for t in tags}))
            except InvalidWheelFilename:
                pyver = "py3"
            return "bdist_wheel", pyver
        return "sdist", "source"

    def _store_file(
        self, rel: _Release, filename: str, content: bytes, kind: str, pyver: str, when: float
    ) -> _File:
        blake2 = hashlib.blake2b(content, digest_size=32).hexdigest()
        path = f"{blake2[:2]}/{blake2[2:4]}/{blake2[4:]}/{filename}"
        f = _File(
            id=str(uuid.uuid4()),
            filename=filename,
            packagetype=kind,
            python_version=pyver,
            size=len(content),
            md5=hashlib.md5(content).hexdigest(),  # noqa: S324 - warehouse still reports it
            sha256=hashlib.sha256(content).hexdigest(),
            blake2=blake2,
            upload_time=when,
            path=path,
        )
        rel.files.append(f)
        self._blobs[path] = content
        self._used_filenames.add(filename)
        return f

    def _email(self, to: str, kind: str, subject: str, **extra: Any) -> None:
        self.emails.append(
            {"to": to, "kind": kind, "subject": f"[{self.site_name}] {subject}", **extra}
        )

    # ------------------------------------------------------------------ internals: tokens
    def _dumps(self, kind: str, data: dict[str, Any]) -> str:
        payload = _b64(json.dumps({"d": data, "t": int(self.clock())}).encode())
        sig = hmac.new(self._secret, f"{kind}.{payload}".encode(), hashlib.sha256).digest()
        return f"{payload}.{_b64(sig)}"

    def _loads(self, kind: str, token: str, max_age: float) -> tuple[dict[str, Any], int] | str:
        """(data, timestamp), or "invalid" / "expired"."""
        payload, _, sig = token.partition(".")
        try:
            want = hmac.new(self._secret, f"{kind}.{payload}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_unb64(sig), want):
                return "invalid"
            body = json.loads(_unb64(payload))
        except (ValueError, TypeError):
            return "invalid"
        if not isinstance(body, dict) or not isinstance(body.get("d"), dict):
            return "invalid"
        stamp = int(body.get("t", 0))
        if self.clock() - stamp > max_age:
            return "expired"
        return body["d"], stamp

    # ------------------------------------------------------------------ internals: sessions
    def _session(self, ctx: _Ctx) -> _Session:
        if ctx.sess is None:
            sess = _Session(sid=secrets.token_urlsafe(32), created=self.clock())
            self._sessions[sess.sid] = sess
            ctx.sess, ctx.new_sid = sess, True
        return ctx.sess

    def _load_session(self, ctx: _Ctx) -> None:
        sid = ctx.cookies.get("session_id")
        sess = self._sessions.get(sid) if sid else None
        if sess is not None and self.clock() - sess.created > SESSION_MAX_AGE:
            del self._sessions[sess.sid]
            sess = None
        ctx.sess = sess

    def _user_of(self, ctx: _Ctx) -> _User | None:
        if ctx.sess is None or ctx.sess.user is None:
            return None
        return self._users.get(ctx.sess.user)

    def _flash(self, ctx: _Ctx, message: str, queue: str = "") -> None:
        self._session(ctx).flash.setdefault(queue, []).append(message)

    def _login_user(self, ctx: _Ctx, user: _User, method: str | None) -> None:
        """warehouse's ``_login_user``: a new session id (data kept unless another user was
        logged in), a new CSRF token, the login time, and the device confirmed unless the
        second factor was a phishable one."""
        sess = self._session(ctx)
        self._sessions.pop(sess.sid, None)
        if sess.user is not None and sess.user != user.username:
            sess.flash.clear()
        sess.sid = secrets.token_urlsafe(32)
        sess.created = self.clock()
        self._sessions[sess.sid] = sess
        ctx.new_sid = True
        sess.user = user.username
        sess.csrf = secrets.token_urlsafe(32)
        sess.auth_ts = self.clock()
        user.last_login = self.clock()
        if method not in PHISHABLE_METHODS:
            user.known_ip = True
            user.pending_login = None

    # ------------------------------------------------------------------ internals: checks
    def _csrf_failure(self, ctx: _Ctx) -> _Resp | None:
        """Pyramid's check_csrf_origin, then check_csrf_token (warehouse runs on https, where
        the origin check applies)."""
        origin = ctx.headers.get("Origin")
        if origin == "null":
            origin = None
        origin = origin or ctx.headers.get("Referer")
        parts = urllib.parse.urlsplit(origin or "")
        if not origin or f"{parts.scheme}://{parts.netloc}" != self.url:
            return self._error(400, "Bad CSRF Origin", "Origin checking failed.")
        token = ctx.form.get("csrf_token") or ctx.headers.get("X-CSRF-Token") or ""
        expected = ctx.sess.csrf if ctx.sess is not None else None
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            return self._error(400, "Bad CSRF Token", "Access is denied.")
        return None

    def _check_password(self, user: _User, password: str) -> bool:
        """UserService.check_password: the rate limits first, a hit on each failure."""
        self._login_ip_limit.check(CLIENT_IP)
        self._login_user_limit.check(user.uid)
        if hmac.compare_digest(password.encode(), user.password.encode()):
            return True
        self._login_user_limit.hit(user.uid)
        self._login_ip_limit.hit(CLIENT_IP)
        return False

    def _check_2fa_limits(self, user: _User) -> None:
        self._twofa_ip_limit.check(CLIENT_IP)
        self._twofa_user_limit.check(user.uid)

    def _hit_2fa(self, user: _User) -> None:
        self._twofa_user_limit.hit(user.uid)
        self._twofa_ip_limit.hit(CLIENT_IP)

    def _check_totp(self, user: _User, code: str) -> bool:
        self._check_2fa_limits(user)
        if user.last_totp is not None and code == user.last_totp:
            return False  # a code accepted before never works again (no limiter hit)
        totp = pyotp.TOTP(user.totp_secret or "")
        now = self.clock()
        if any(hmac.compare_digest(totp.at(now + d), code) for d in (0, -30, 30)):
            return True
        self._hit_2fa(user)
        return False

    def _remembered(self, ctx: _Ctx, user: _User) -> bool:
        token = ctx.cookies.get("remember_device")
        if not token:
            return False
        loaded = self._loads("remember_device", token, REMEMBER_DEVICE_SECONDS)
        if isinstance(loaded, str):
            return False
        data = loaded[0]
        return data.get("user_id") == user.uid and float(data.get("exp", 0)) > self.clock()

    def _device_known(self, user: _User) -> bool:
        """UserService.device_is_known: an unknown IP gets a pending login and the
        "Unrecognized login" e-mail (at most every 15 minutes while one is pending)."""
        if user.known_ip:
            return True
        now = self.clock()
        pending = user.pending_login
        is_new = pending is None
        if pending is None:
            pending = {"id": str(uuid.uuid4()), "expires": now + CONFIRM_LOGIN_MAX_AGE}
            pending["emailed"] = None
            user.pending_login = pending
        lapsed = pending["expires"] < now
        if lapsed:
            pending["expires"] = now + CONFIRM_LOGIN_MAX_AGE
        emailed = pending["emailed"]
        if is_new or lapsed or emailed is None or now - emailed >= UNRECOGNIZED_LOGIN_REPEAT_WINDOW:
            token = self._dumps(
                "confirm_login",
                {"action": "login-confirmation", "user.id": user.uid, "login": pending["id"]},
            )
            self._email(
                user.username,
                "unrecognized-login",
                f"Unrecognized login to your {self.site_name} account",
                ip_address=CLIENT_IP,
                confirm_url=f"{self.url}/account/confirm-login/?token={token}",
            )
            pending["emailed"] = now
        return False

    def _safe_redirect(self, target: str | None) -> bool:
        if not target or target.startswith(("///", "//")) or "\\" in target:
            return False
        parts = urllib.parse.urlsplit(target)
        if parts.scheme or parts.netloc:
            return f"{parts.scheme}://{parts.netloc}" == self.url
        return target.startswith("/")

    # ------------------------------------------------------------------ internals: responses
    def _html(self, body: str, status: int = 200) -> _Resp:
        resp = _Resp(status, body.encode())
        return resp.header("Content-Type", "text/html; charset=UTF-8")

    def _redirect(self, location: str, status: int = 303) -> _Resp:
        return _Resp(status).header("Location", location)

    def _error(self, status: int, title: str, explanation: str = "") -> _Resp:
        body = self.markup.page(
            title, f"<h1>{status} {escape(title)}</h1>\n<p>{escape(explanation)}</p>"
        )
        resp = self._html(body, status)
        resp.reason = title
        return resp

    def _not_found(self) -> _Resp:
        return self._error(404, "Not Found", "The resource could not be found.")

    def _json(self, data: Any, status: int = 200, ctype: str = "application/json") -> _Resp:
        resp = _Resp(status, (json.dumps(data) + "\n").encode())
        return resp.header("Content-Type", ctype)

    # ------------------------------------------------------------------ HTTP plumbing
    def _handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> _Resp:
        split = urllib.parse.urlsplit(raw_path)
        cookies: dict[str, str] = {}
        jar = http.cookies.SimpleCookie()
        try:
            jar.load(headers.get("Cookie") or "")
            cookies = {k: m.value for k, m in jar.items()}
        except http.cookies.CookieError:
            cookies = {}
        ctx = _Ctx(
            method=method,
            raw_path=raw_path,
            path=urllib.parse.unquote(split.path),
            query=split.query,
            headers=headers,
            body=body,
            cookies=cookies,
        )
        ctype = headers.get("Content-Type") or ""
        if method == "POST" and ctype.startswith("application/x-www-form-urlencoded"):
            ctx.form = dict(
                urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            )
        elif (
            method == "POST"
            and ctype.startswith("multipart/form-data")
            and (ctx.path != "/legacy/")
        ):
            try:
                ctx.form = _parse_multipart(ctype, body)[0]
            except ValueError:
                ctx.form = {}
        with self._lock:
            self.user_agents.append(headers.get("User-Agent"))
            if ctx.form:
                self.posted.append((ctx.path, dict(ctx.form)))
            try:
                resp = self._fault(method, raw_path)
                if resp is None:
                    self._load_session(ctx)
                    resp = self._dispatch(ctx)
            except Exception as exc:  # a bug in the fake shows as a 500, like a server's
                self.server_errors.append(traceback.format_exc())
                resp = self._error(500, "Internal Server Error", repr(exc))
            if ctx.new_sid and ctx.sess is not None:
                resp.header(
                    "Set-Cookie",
                    f"session_id={ctx.sess.sid}; Max-Age={SESSION_MAX_AGE}; Path=/; HttpOnly; "
                    "SameSite=Lax",
                )
            self.requests.append((method, raw_path, resp.status))
            return resp

    def _fault(self, method: str, raw_path: str) -> _Resp | None:
        for fault in self._faults:
            if (
                fault.times != 0
                and fault.method in (method, "*")
                and re.search(fault.path_regex, raw_path)
            ):
                if fault.times is not None:
                    fault.times -= 1
                if fault.body is not None:
                    resp = _Resp(fault.status, fault.body.encode())
                    resp.header("Content-Type", "text/plain; charset=UTF-8")
                else:
                    resp = self._error(fault.status, _REASONS.get(fault.status, "Error"))
                for key, value in fault.headers.items():
                    resp.header(key, value)
                return resp
        return None

    _ROUTES: tuple[tuple[str, str], ...] = (
        (r"/", "_index"),
        (r"/account/login/", "_login"),
        (r"/account/two-factor/", "_two_factor"),
        (r"/account/recovery-code/", "_recovery_code"),
        (r"/account/confirm-login/", "_confirm_login"),
        (r"/account/reauthenticate/", "_reauthenticate"),
        (r"/account/logout/", "_logout"),
        (r"/manage/projects/", "_manage_projects"),
        (r"/manage/account/two-factor/", "_manage_two_factor"),
        (r"/manage/project/(?P<name>[^/]+)/releases/", "_manage_releases"),
        (r"/manage/project/(?P<name>[^/]+)/release/(?P<version>[^/]+)/", "_manage_release"),
        (r"/_includes/unauthed/flash-messages/", "_flash_messages"),
        (r"/pypi/(?P<name>[^/]+)/json/?", "_json_project"),
        (r"/pypi/(?P<name>[^/]+)/(?P<version>[^/]+)/json/?", "_json_release"),
        (r"/simple/", "_simple_index"),
        (r"/simple/(?P<name>[^/]+)/", "_simple_detail"),
        (r"/packages/(?P<path>.+)", "_package_file"),
        (r"/legacy/", "_upload"),
        (r"/legacy", "_upload_no_slash"),
    )

    def _dispatch(self, ctx: _Ctx) -> _Resp:
        for pattern, name in self._ROUTES:
            m = re.fullmatch(pattern, ctx.path)
            if m:
                if ctx.method not in ("GET", "HEAD", "POST"):
                    return self._error(405, "Method Not Allowed")
                handler: Callable[..., _Resp] = getattr(self, name)
                return handler(ctx, **m.groupdict())
        return self._not_found()

    # ------------------------------------------------------------------ simple pages
    def _index(self, ctx: _Ctx) -> _Resp:
        if ctx.method == "POST":
            return self._error(405, "Method Not Allowed")
        return self._html(
            self.markup.page(
                f"{self.site_name} · The Python Package Index",
                "<h1>Find, install and publish Python packages</h1>",
            )
        )

    def _login_redirect(self, ctx: _Ctx) -> _Resp:
        query = urllib.parse.urlencode({"next": ctx.path_qs})
        return self._redirect(f"{self.url}/account/login/?{query}")

    def _two_factor_redirect(self, ctx: _Ctx) -> _Resp:
        self._flash(ctx, NEEDS_2FA, "error")
        query = urllib.parse.urlencode({"next": ctx.path_qs})
        return self._redirect(f"{self.url}/manage/account/two-factor/?{query}")

    def _forbidden(self) -> _Resp:
        return self._error(403, "Forbidden", "Access was denied to this resource.")

    def _require_user(self, ctx: _Ctx, *, two_factor: bool = True) -> _User | _Resp:
        user = self._user_of(ctx)
        if user is None:
            return self._login_redirect(ctx)
        if two_factor and not user.has_two_factor:
            return self._two_factor_redirect(ctx)
        return user

    def _stale(self, ctx: _Ctx) -> bool:
        return ctx.sess is None or self.clock() - ctx.sess.auth_ts >= TIME_TO_REAUTH

    def _manage_projects(self, ctx: _Ctx) -> _Resp:
        if ctx.method == "POST":
            return self._error(405, "Method Not Allowed")
        user = self._require_user(ctx)
        if isinstance(user, _Resp):
            return user
        rows = "".join(
            f'<li><a href="/manage/project/{escape(p.name)}/releases/">{escape(p.name)}</a> '
            f"({p.roles[user.username]})</li>"
            for p in sorted(self._projects.values(), key=lambda p: p.normalized)
            if user.username in p.roles
        )
        body = f'<h1 class="page-title">Your projects</h1>\n<ul class="projects">{rows}</ul>'
        return self._html(self.markup.page("Your projects", body))

    def _manage_two_factor(self, ctx: _Ctx) -> _Resp:
        if ctx.method == "POST":
            return self._error(405, "Method Not Allowed")
        user = self._require_user(ctx, two_factor=False)
        if isinstance(user, _Resp):
            return user
        if self._stale(ctx):
            return self._reauth_page(ctx, "manage.account.two-factor", {})
        state = "enabled" if user.has_two_factor else "not enabled"
        body = (
            '<h1 class="page-title">Two factor authentication</h1>\n'
            f"<p>Two factor authentication is {state} for {escape(user.username)}.</p>"
        )
        return self._html(self.markup.page("Two factor authentication", body))

    def _flash_messages(self, ctx: _Ctx) -> _Resp:
        out = []
        if ctx.sess is not None:
            for queue in ("error", "warning", "", "success"):
                for message in ctx.sess.flash.pop(queue, []):
                    out.append(self.markup.flash(queue, message))
        return self._html("".join(out))

    # ------------------------------------------------------------------ login
    def _login_page(
        self, ctx: _Ctx, next_: str | None, username: str, errors: dict[str, list[str]]
    ) -> _Resp:
        m = self.markup
        sess = self._session(ctx)
        inner = m.hidden("csrf_token", sess.csrf_token())
        if next_:
            inner += "\n" + m.hidden("next", next_)
        inner += "\n" + m.errors(errors.get("", []))
        inner += "\n" + m.text("username", value=username, label="Username")
        inner += m.errors(errors.get("username", []), "username-errors")
        inner += "\n" + m.text("password", kind="password", label="Password")
        inner += m.errors(errors.get("password", []), "password-errors")
        title = f"Log in to {self.site_name}"
        body = f'<h1 class="page-title">{title}</h1>\n' + m.form(
            ctx.path_qs, inner, ident="login-form"
        )
        prefix = "Error processing form - " if any(errors.values()) else ""
        return self._html(m.page(prefix + "Log in", body))

    def _login(self, ctx: _Ctx) -> _Resp:
        if ctx.method == "POST" and (bad := self._csrf_failure(ctx)):
            return bad
        if self._user_of(ctx) is not None:
            return self._redirect("/manage/projects/")
        get = ctx.get
        next_ = ctx.form.get("next", get.get("next")) if ctx.method == "POST" else get.get("next")
        username = ctx.form.get("username", "")
        if ctx.method != "POST":
            return self._login_page(ctx, next_, "", {})
        errors: dict[str, list[str]] = {}
        username = username.strip()
        password = ctx.form.get("password", "")
        user = self._users.get(username)
        if not username:
            errors["username"] = [REQUIRED]
        elif "@" in username:
            errors["username"] = [
                "Usernames are not the same as email addresses. "
                "Enter your username instead of your email address."
            ]
        elif user is None:
            errors["username"] = ["No user found with that username"]
        if not password:
            errors["password"] = [REQUIRED]
        elif user is not None and "username" not in errors:
            try:
                if not self._check_password(user, password):
                    errors["password"] = [INVALID_PASSWORD]
            except _Locked as locked:
                errors["password"] = [LOCKED_OUT.format(time=naturaldelta(locked.resets_in))]
        if errors or user is None:
            return self._login_page(ctx, next_, username, errors)
        remembered = self._remembered(ctx, user)
        if user.has_two_factor and not remembered:
            data: dict[str, Any] = {"userid": user.uid}
            if next_:
                data["redirect_to"] = next_
            return self._redirect(f"/account/two-factor/?{self._dumps('two_factor', data)}")
        target = next_ if next_ and self._safe_redirect(next_) else "/manage/projects/"
        self._login_user(ctx, user, "remembered-device" if remembered else None)
        return self._user_cookie(self._redirect(target), user)

    def _user_cookie(self, resp: _Resp, user: _User) -> _Resp:
        digest = hashlib.blake2b(user.uid.encode(), person=b"warehouse.userid").hexdigest()
        return resp.header("Set-Cookie", f"user_id__insecure={digest}; Path=/")

    def _two_factor_data(self, ctx: _Ctx) -> tuple[_User, str] | None:
        """The user and redirect target of the signed token in the query string, or None."""
        loaded = self._loads("two_factor", ctx.query, TWO_FACTOR_MAX_AGE)
        if isinstance(loaded, str):
            return None
        data, stamp = loaded
        user = next((u for u in self._users.values() if u.uid == data.get("userid")), None)
        if user is None or stamp < user.last_login:
            return None  # a token from before the account's last login is spent
        target = data.get("redirect_to")
        if not isinstance(target, str) or not self._safe_redirect(target):
            target = "/"
        return user, target

    def _two_factor_page(self, ctx: _Ctx, user: _User, errors: Sequence[str]) -> _Resp:
        m = self.markup
        sess = self._session(ctx)
        parts = []
        if user.webauthn:
            parts.append(
                '<div class="twofa-login__method"><h2>Authenticate with a security device '
                '(e.g. USB key)</h2>\n<form id="webauthn-auth-form"><button type="submit" '
                'id="webauthn-auth-begin" class="button button--primary" '
                f'value="{sess.csrf_token()}" disabled>Authenticate with device</button>\n'
                '<label><input type="checkbox" id="remember_device_webauthn" '
                'name="remember_device" value="true" /> Remember this device for 30 days'
                "</label></form></div>"
            )
        if user.has_totp:
            inner = "\n".join(
                [
                    "<h2>Authenticate with an app</h2>",
                    m.hidden("csrf_token", sess.csrf_token()),
                    m.hidden("method", "totp"),
                    m.text("totp_value", label="Enter authentication code"),
                    m.errors(errors, "totp-errors"),
                    m.checkbox("remember_device", "Remember this device for 30 days"),
                ]
            )
            parts.append(
                '<div class="twofa-login__method">'
                + m.form(ctx.path_qs, inner, ident="totp-auth-form")
                + "</div>"
            )
        if user.recovery:
            parts.append(
                f'<div class="twofa-recovery"><a href="/account/recovery-code/?{ctx.query}" '
                'class="button button--secondary">Login using recovery codes</a></div>'
            )
        body = '<h1 class="page-title">Two-factor authentication</h1>\n<div class="twofa-login">'
        body += "\n".join(parts) + "</div>"
        prefix = "Error processing form – " if errors else ""
        return self._html(m.page(prefix + "Two-factor authentication", body))

    def _two_factor(self, ctx: _Ctx) -> _Resp:
        if ctx.method == "POST" and (bad := self._csrf_failure(ctx)):
            return bad
        if self._user_of(ctx) is not None:
            return self._redirect("/manage/projects/")
        found = self._two_factor_data(ctx)
        if found is None:
            self._flash(ctx, "Invalid or expired two factor login.", "error")
            return self._redirect("/account/login/")
        user, target = found
        if ctx.method != "POST":
            return self._two_factor_page(ctx, user, [])
        if not user.has_totp:
            # two_factor_state["totp_form"] is missing: warehouse answers a KeyError (500).
            return self._error(500, "Internal Server Error", "KeyError: 'totp_form'")
        code = "".join(ctx.form.get("totp_value", "").split())
        if not code:
            return self._two_factor_page(ctx, user, [REQUIRED])
        if not re.fullmatch(r"[0-9]{6}", code):
            return self._two_factor_page(ctx, user, ["TOTP code must be 6 digits."])
        try:
            ok = self._check_totp(user, code)
        except _Locked as locked:
            return self._too_many(locked)
        if not ok:
            return self._two_factor_page(ctx, user, ["Invalid TOTP code."])
        if not self._device_known(user):
            return self._redirect("/account/confirm-login/")
        self._login_user(ctx, user, "totp")
        user.last_totp = code
        resp = self._user_cookie(self._redirect(target), user)
        if not user.recovery:
            self._email(
                user.username, "recovery-code-reminder", "Two-factor recovery codes are available"
            )
        if ctx.form.get("remember_device", "") not in ("", "false"):
            cookie = self._dumps(
                "remember_device",
                {"user_id": user.uid, "exp": self.clock() + REMEMBER_DEVICE_SECONDS},
            )
            resp.header(
                "Set-Cookie",
                f"remember_device={cookie}; Max-Age={REMEMBER_DEVICE_SECONDS}; "
                "Path=/account/login/; HttpOnly; SameSite=Strict",
            )
        return resp

    def _too_many(self, locked: _Locked) -> _Resp:
        text = LOCKED_OUT.format(time=naturaldelta(locked.resets_in))
        resp = self._error(429, "Too Many Failed Login Attempts", text)
        return resp.header("Retry-After", str(int(locked.resets_in)))

    def _recovery_page(self, ctx: _Ctx, errors: Sequence[str]) -> _Resp:
        m = self.markup
        inner = "\n".join(
            [
                m.hidden("csrf_token", self._session(ctx).csrf_token()),
                m.hidden("method", "recovery-code"),
                m.text("recovery_code_value", label="Enter recovery code"),
                m.errors(errors, "recovery_code-errors"),
            ]
        )
        body = '<h1 class="page-title">Login using recovery codes</h1>\n' + m.form(
            ctx.path_qs, inner
        )
        return self._html(m.page("Recovery codes", body))

    def _recovery_code(self, ctx: _Ctx) -> _Resp:
        if ctx.method == "POST" and (bad := self._csrf_failure(ctx)):
            return bad
        if self._user_of(ctx) is not None:
            return self._redirect("/manage/projects/")
        found = self._two_factor_data(ctx)
        if found is None:
            self._flash(ctx, "Invalid or expired two factor login.", "error")
            return self._redirect("/account/login/")
        user, target = found
        if ctx.method != "POST":
            return self._recovery_page(ctx, [])
        code = "".join(ctx.form.get("recovery_code_value", "").split())
        if not code:
            return self._recovery_page(ctx, [REQUIRED])
        if not re.fullmatch(r"[0-9a-f]{16}", code):
            return self._recovery_page(ctx, ["Recovery Codes must be 16 characters."])
        try:
            self._check_2fa_limits(user)
        except _Locked as locked:
            return self._too_many(locked)
        if code not in user.recovery:
            self._hit_2fa(user)
            return self._recovery_page(ctx, ["Invalid recovery code."])
        if user.recovery[code]:
            return self._recovery_page(ctx, ["Recovery code has been previously used."])
        user.recovery[code] = True
        self._email(user.username, "recovery-code-used", "Recovery code use notification")
        if not self._device_known(user):
            return self._redirect("/account/confirm-login/")
        self._login_user(ctx, user, "recovery-code")
        self._flash(
            ctx, "Recovery code accepted. The supplied code cannot be used again.", "success"
        )
        return self._user_cookie(self._redirect(target), user)

    def _confirm_login(self, ctx: _Ctx) -> _Resp:
        if ctx.method == "POST" and (bad := self._csrf_failure(ctx)):
            return bad
        if self._user_of(ctx) is not None:
            return self._redirect("/")
        token = ctx.get.get("token")
        if not token:
            body = (
                '<h1 class="page-title">Please confirm this login</h1>\n<p>We noticed you are '
                "attempting to log in from a new or previously unrecognized device. To ensure "
                "this is you, please check your email for a login confirmation link.</p>\n"
                f"<p>You should have received an email with the subject line "
                f'"<strong>Unrecognized login to your {self.site_name} account</strong>".</p>'
            )
            return self._html(self.markup.page("Unrecognized device", body))

        def error(message: str) -> _Resp:
            self._flash(ctx, message, "error")
            return self._redirect("/account/login/")

        loaded = self._loads("confirm_login", token, CONFIRM_LOGIN_MAX_AGE)
        if loaded == "expired":
            return error("Expired token: please try to login again")
        if isinstance(loaded, str):
            return error("Invalid token: please try to login again")
        data = loaded[0]
        if data.get("action") != "login-confirmation":
            return error("Invalid token: not a login confirmation token")
        user = next((u for u in self._users.values() if u.uid == data.get("user.id")), None)
        if user is None:
            return error("Invalid token: user not found")
        if user.pending_login is None or user.pending_login["id"] != data.get("login"):
            return error("Invalid login attempt.")
        user.known_ip = True
        user.pending_login = None
        self._login_user(ctx, user, "email-confirmation")
        self._flash(
            ctx, "Your login has been confirmed and this device is now recognized.", "success"
        )
        return self._user_cookie(self._redirect("/manage/projects/"), user)

    def _logout(self, ctx: _Ctx) -> _Resp:
        if ctx.method != "POST":
            body = '<h1 class="page-title">Log out</h1>' + self.markup.form(
                "/account/logout/",
                self.markup.hidden("csrf_token", self._session(ctx).csrf_token()),
            )
            return self._html(self.markup.page("Log out", body))
        if bad := self._csrf_failure(ctx):
            return bad
        if ctx.sess is not None:
            self._sessions.pop(ctx.sess.sid, None)
            ctx.sess = None
        return self._redirect("/").header(
            "Set-Cookie", "session_id=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        )

    # ------------------------------------------------------------------ re-authentication
    _ROUTE_PATHS: Mapping[str, str] = {
        "manage.project.release": "/manage/project/{project_name}/release/{version}/",
        "manage.project.releases": "/manage/project/{project_name}/releases/",
        "manage.projects": "/manage/projects/",
        "manage.account.two-factor": "/manage/account/two-factor/",
        "accounts.reauthenticate": "/account/reauthenticate/",
        "index": "/",
    }

    def _route_path(self, route: str, matchdict: dict[str, Any], query: dict[str, Any]) -> str:
        template = self._ROUTE_PATHS[route]  # KeyError: an unknown route
        names = re.findall(r"{(\w+)}", template)
        path = template.format(**{n: urllib.parse.quote(str(matchdict[n]), safe="") for n in names})
        return f"{path}?{urllib.parse.urlencode(query, doseq=True)}" if query else path

    def _reauth_page(self, ctx: _Ctx, route: str, matchdict: dict[str, str]) -> _Resp:
        """manage/__init__.py reauth_view: HTTP 200, the password form, nothing done."""
        m = self.markup
        user = self._user_of(ctx)
        inner = "\n".join(
            [
                m.hidden("csrf_token", self._session(ctx).csrf_token()),
                m.hidden("next_route", route),
                m.hidden("next_route_matchdict", json.dumps(matchdict)),
                m.hidden("next_route_query", json.dumps(ctx.get)),
                m.text("password", kind="password", label="Password"),
            ]
        )
        body = (
            '<h1 class="page-title">Confirm password to continue</h1>\n'
            + m.form("/account/reauthenticate/", inner)
            + "\n<span><b>Tip:</b> you are about to perform a sensitive action. "
            f"(signed in as {escape(user.username if user else '')})</span>"
        )
        return self._html(m.page("Confirm password", body))

    def _reauthenticate(self, ctx: _Ctx) -> _Resp:
        if ctx.method == "POST" and (bad := self._csrf_failure(ctx)):
            return bad
        user = self._user_of(ctx)
        if user is None:
            return self._redirect("/account/login/")
        form = ctx.form if ctx.method == "POST" else {}
        route = form.get("next_route") or "accounts.reauthenticate"
        matchdict_text = form.get("next_route_matchdict") or "{}"
        query_text = form.get("next_route_query", json.dumps(ctx.get))
        try:
            matchdict = json.loads(matchdict_text)
            query = json.loads(query_text)
            if not isinstance(matchdict, dict) or not isinstance(query, dict):
                raise TypeError
            target = self._route_path(route, matchdict, query)
        except (ValueError, KeyError, TypeError):
            return self._error(400, "Bad Request", "The server could not comply.")
        complete = all(form.get(k) for k in ("next_route", "next_route_matchdict"))
        complete = complete and "next_route_query" in form and bool(form.get("password"))
        if ctx.method == "POST" and complete:
            try:
                if self._check_password(user, form["password"]):
                    self._session(ctx).auth_ts = self.clock()
            except _Locked:
                pass  # a form error on a page nobody sees: the redirect shows the form again
        return self._redirect(target)

    # ------------------------------------------------------------------ release management
    def _release_path(self, proj: _Project, rel: _Release) -> str:
        return self._route_path(
            "manage.project.release", {"project_name": proj.name, "version": rel.version}, {}
        )

    def _releases_path(self, proj: _Project) -> str:
        return self._route_path("manage.project.releases", {"project_name": proj.name}, {})

    def _manage_access(self, ctx: _Ctx, proj: _Project, write: bool) -> _User | _Resp:
        """Permission (login, Owner for writes), then the 2FA requirement."""
        user = self._user_of(ctx)
        if user is None:
            return self._login_redirect(ctx)
        role = proj.roles.get(user.username)
        allowed = role == "Owner" if write else role in ("Owner", "Maintainer")
        if not allowed:
            return self._forbidden()
        if not user.has_two_factor:
            return self._two_factor_redirect(ctx)
        return user

    def _manage_releases(self, ctx: _Ctx, name: str) -> _Resp:
        proj = self._project(name)
        if proj is None:
            return self._not_found()
        if ctx.method == "POST":
            return self._error(405, "Method Not Allowed")
        user = self._manage_access(ctx, proj, write=False)
        if isinstance(user, _Resp):
            return user
        if self._stale(ctx):
            return self._reauth_page(ctx, "manage.project.releases", {"project_name": name})
        return self._html(self._render_releases(ctx, proj))

    _ACTIONS = (
        (("confirm_project_name", "file_id"), "_delete_file"),
        (("confirm_yank_version",), "_yank"),
        (("confirm_unyank_version",), "_unyank"),
        (("confirm_delete_version",), "_delete_release"),
    )

    def _manage_release(self, ctx: _Ctx, name: str, version: str) -> _Resp:
        proj = self._project(name)
        rel = proj.release(version) if proj is not None else None
        if proj is None or rel is None:
            return self._not_found()
        action = None
        if ctx.method == "POST":
            action = next(
                (h for keys, h in self._ACTIONS if all(k in ctx.form for k in keys)), None
            )
            if action is None:  # no view's request_param matches: PredicateMismatch
                if self._user_of(ctx) is None:
                    return self._login_redirect(ctx)
                return self._not_found()
            if bad := self._csrf_failure(ctx):
                return bad
        user = self._manage_access(ctx, proj, write=True)
        if isinstance(user, _Resp):
            return user
        if self._stale(ctx):
            matchdict = {"project_name": name, "version": version}
            return self._reauth_page(ctx, "manage.project.release", matchdict)
        if action is None:
            return self._html(self._render_release(ctx, proj, rel))
        if self._in_quarantine(proj):
            self._flash(ctx, QUARANTINED, "error")
            return self._redirect(self._release_path(proj, rel))
        handler: Callable[[_Ctx, _User, _Project, _Release], _Resp] = getattr(self, action)
        return handler(ctx, user, proj, rel)

    def _back(self, ctx: _Ctx, proj: _Project, rel: _Release, message: str) -> _Resp:
        self._flash(ctx, message, "error")
        return self._redirect(self._release_path(proj, rel))

    def _notify(self, proj: _Project, kind: str, subject: str, **extra: Any) -> None:
        for who in proj.roles:
            self._email(who, kind, subject, project=proj.name, **extra)

    def _yank(self, ctx: _Ctx, user: _User, proj: _Project, rel: _Release) -> _Resp:
        version = ctx.form["confirm_yank_version"]
        reason = ctx.form.get("yanked_reason", "")
        if not version:
            return self._back(ctx, proj, rel, "Confirm the request")
        if version != rel.version:
            return self._back(
                ctx,
                proj,
                rel,
                f"Could not yank release - {version!r} is not the same as {rel.version!r}",
            )
        self._remember_previous()
        self._journal(proj, rel.version, "yank release", user.username)
        rel.yanked, rel.yanked_reason = True, reason
        self._bump(proj)
        self._flash(ctx, f"Yanked release {rel.version!r}", "success")
        self._notify(
            proj,
            "yanked-project-release",
            f"A release for {proj.name} has been yanked.",
            version=rel.version,
            submitter=user.username,
            yanked_reason=reason,
        )
        return self._redirect(self._releases_path(proj))

    def _unyank(self, ctx: _Ctx, user: _User, proj: _Project, rel: _Release) -> _Resp:
        version = ctx.form["confirm_unyank_version"]
        if not version:
            return self._back(ctx, proj, rel, "Confirm the request")
        if version != rel.version:
            return self._back(
                ctx,
                proj,
                rel,
                f"Could not un-yank release - {version!r} is not the same as {rel.version!r}",
            )
        self._remember_previous()
        self._journal(proj, rel.version, "unyank release", user.username)
        rel.yanked, rel.yanked_reason = False, ""
        self._bump(proj)
        self._flash(ctx, f"Un-yanked release {rel.version!r}", "success")
        self._notify(
            proj,
            "unyanked-project-release",
            f"The {proj.name} release {rel.version} has been un-yanked.",
            version=rel.version,
            submitter=user.username,
        )
        return self._redirect(self._releases_path(proj))

    def _acknowledged(self, ctx: _Ctx, form: str) -> bool:
        """Every box of FORM's set sent checked (a browser sends ``on``)."""
        return all(ctx.form.get(name) == "on" for name in self.acknowledgments[form])

    def _ack_boxes(self, form: str) -> str:
        """The form's acknowledgment checkboxes, as a browser renders them (no value: ``on``)."""
        return "\n".join(
            f'<label class="checkbox-list__label"><input class="checkbox-list__input" '
            f'type="checkbox" name="{name}" data-confirm-target="checkbox"> '
            f"{escape(name.removeprefix('acknowledge_').replace('_', ' '))}</label>"
            for name in self.acknowledgments[form]
        )

    def _delete_release(self, ctx: _Ctx, user: _User, proj: _Project, rel: _Release) -> _Resp:
        if self._deletion_disabled(proj):
            return self._back(ctx, proj, rel, DELETION_DISABLED)
        version = ctx.form["confirm_delete_version"]
        if not version:
            return self._back(ctx, proj, rel, "Confirm the request")
        if not self._acknowledged(ctx, "release"):
            return self._back(ctx, proj, rel, NOT_ACKNOWLEDGED.format(what="release"))
        if version != rel.version:
            return self._back(
                ctx,
                proj,
                rel,
                f"Could not delete release - {version!r} is not the same as {rel.version!r}",
            )
        self._remember_previous()
        self._journal(proj, rel.version, "remove release", user.username)
        del proj.releases[rel.version]
        for f in rel.files:
            self._blobs.pop(f.path, None)
        self._deleted.add((proj.normalized, rel.version))
        self._bump(proj)
        self._flash(ctx, f"Deleted release {rel.version!r}", "success")
        self._notify(
            proj,
            "removed-project-release",
            f"A release for {proj.name} has been deleted.",
            version=rel.version,
            submitter=user.username,
        )
        return self._redirect(self._releases_path(proj))

    def _delete_file(self, ctx: _Ctx, user: _User, proj: _Project, rel: _Release) -> _Resp:
        if self._deletion_disabled(proj):
            return self._back(ctx, proj, rel, DELETION_DISABLED)
        project_name = ctx.form["confirm_project_name"]
        if not project_name:
            return self._back(ctx, proj, rel, "Confirm the request")
        if not self._acknowledged(ctx, "file"):
            return self._back(ctx, proj, rel, NOT_ACKNOWLEDGED.format(what="file"))
        target = next((f for f in rel.files if f.id == ctx.form.get("file_id")), None)
        if target is None:
            return self._back(ctx, proj, rel, "Could not find file")
        if project_name != proj.name:
            return self._back(
                ctx,
                proj,
                rel,
                f"Could not delete file - {project_name!r} is not the same as {proj.name!r}",
            )
        self._remember_previous()
        self._journal(proj, rel.version, f"remove file {target.filename}", user.username)
        self._notify(
            proj,
            "removed-project-release-file",
            f"File deleted for {proj.name} {rel.version}",
            version=rel.version,
            file=target.filename,
            submitter=user.username,
        )
        rel.files.remove(target)
        self._blobs.pop(target.path, None)
        self._bump(proj)
        self._flash(ctx, f"Deleted file {target.filename!r}", "success")
        return self._redirect(self._release_path(proj, rel))

    # ------------------------------------------------------------------ management pages
    def _confirm_modal(
        self,
        ctx: _Ctx,
        *,
        slug: str,
        title: str,
        confirm_name: str,
        expected: str,
        label: str,
        action: str,
        extra: str = "",
    ) -> str:
        """manage_base.html's confirm_modal: a form with csrf_token, EXTRA and a text input
        ``confirm_<name>`` the person fills with EXPECTED."""
        m = self.markup
        field_name = f"confirm_{confirm_name}"
        inner = "\n".join(
            [
                m.hidden("csrf_token", self._session(ctx).csrf_token()),
                f'<div class="modal__body"><h3 class="modal__title">{escape(title)} '
                f"'{escape(expected)}' ?</h3>",
                extra,
                f"<p>Confirm the {escape(label.lower())} to continue.</p>",
                m.text(field_name, label=label),
                "</div>",
            ]
        )
        return m.modal(slug, title, m.form(action, inner, cls="modal__form"))

    def _render_release(self, ctx: _Ctx, proj: _Project, rel: _Release) -> str:
        m = self.markup
        action = ctx.path_qs  # request.current_route_path()
        quarantined = self._in_quarantine(proj)
        parts = [
            f'<h2 class="heading-wsubtitle__heading"><a href="{self._releases_path(proj)}">'
            f"{'Yanked releases' if rel.yanked else 'Releases'}</a></h2>",
            f'<h3 class="heading-wsubtitle__subtitle"><strong>Version {escape(rel.version)}'
            "</strong></h3>",
        ]
        if quarantined:
            parts.append(
                '<div class="callout-block callout-block--warning"><p>This release has been '
                "quarantined.</p></div>"
            )
        file_blocks = []
        for index, f in enumerate(sorted(rel.files, key=lambda x: x.filename), start=1):
            link = f'<a href="{self.url}/packages/{escape(f.path)}">{escape(f.filename)}</a>'
            form = ""
            if not quarantined:
                extra = "\n".join(
                    [
                        f"<p><strong>Filename:</strong> {escape(f.filename)}</p>",
                        '<ul class="no-bullets no-left-margin"><li class="margin-bottom">'
                        '<input class="inline-checkbox" type="checkbox" '
                        'data-action="input->confirm#check" data-confirm-target="checkbox"> '
                        "I understand that I will not be able to undo this.</li></ul>",
                        f'<div class="form-group">{m.hidden("file_id", f.id)}</div>',
                        self._ack_boxes("file"),
                    ]
                )
                form = self._confirm_modal(
                    ctx,
                    slug=f"delete_file_from-modal-{index}",
                    title="Delete file from",
                    confirm_name="project_name",
                    expected=proj.name,
                    label="Project name",
                    action=action,
                    extra=extra,
                )
            if m.alt:
                file_blocks.append(
                    f'<li class="tw-file" data-filename="{escape(f.filename)}"><details>'
                    f"<summary>{link} <small>{f.size} bytes · {f.packagetype}</small></summary>"
                    f"\n{form}\n</details></li>"
                )
            else:
                file_blocks.append(
                    f'<tr>\n<th scope="row">{link} ({f.size} bytes)<br></th>\n'
                    f"<td>{f.packagetype}</td>\n<td>{escape(f.python_version)}</td>\n"
                    f'<td class="table__align-right"><nav class="dropdown dropdown--with-icons">'
                    f'<a href="#delete_file_from-modal-{index}" class="dropdown__link">Delete</a>'
                    f"</nav>\n{form}\n</td>\n</tr>"
                )
        if file_blocks and m.alt:
            parts.append('<ul class="tw-file-list">\n' + "\n".join(file_blocks) + "\n</ul>")
        elif file_blocks:
            parts.append(
                '<table class="table table--files">\n<thead><tr><th scope="col">Filename, size'
                '</th><th scope="col">Type</th><th scope="col">Python version</th><th></th>'
                "</tr></thead>\n<tbody>\n" + "\n".join(file_blocks) + "\n</tbody>\n</table>"
            )
        parts.append("<h3>Release settings</h3>")
        if quarantined:
            parts.append(
                '<div class="callout-block"><p>Yank and delete actions are unavailable while '
                "this release is in quarantine.</p></div>"
            )
        else:
            if not rel.yanked:
                reason = (
                    f"<p>You may provide a reason for yanking this release, which will be "
                    f"displayed by pip to users who install <code>{escape(proj.name)}=="
                    f"{escape(rel.version)}</code>.</p>\n"
                    + m.text("yanked_reason", label="Reason (optional)")
                )
                parts.append(
                    self._section(
                        "Yank release",
                        '<a href="#yank_version-modal" class="button button--primary">'
                        "Yank release</a>\n"
                        + self._confirm_modal(
                            ctx,
                            slug="yank_version-modal",
                            title="Yank release",
                            confirm_name="yank_version",
                            expected=rel.version,
                            label="Version",
                            action=action,
                            extra=reason,
                        ),
                    )
                )
            parts.append(
                self._section(
                    "Delete release",
                    "<p>Deleting will irreversibly delete this release.</p>\n"
                    '<ul class="no-bullets"><li><input type="checkbox" '
                    'data-action="input->delete-confirm#check" '
                    'data-delete-confirm-target="input"> I understand that I will not be able to '
                    "undo this.</li></ul>\n"
                    '<a href="#delete_version-modal" class="button button--danger">Delete '
                    "release</a>\n"
                    + self._confirm_modal(
                        ctx,
                        slug="delete_version-modal",
                        title="Delete release",
                        confirm_name="delete_version",
                        expected=rel.version,
                        label="Version",
                        action=action,
                        extra=self._ack_boxes("release"),
                    ),
                    danger=True,
                )
            )
        title = f"Manage '{proj.name}' – release version {rel.version}"
        return m.page(title, "\n".join(parts))

    def _section(self, title: str, inner: str, *, danger: bool = False) -> str:
        if self.markup.alt:
            tone = " tw-card--danger" if danger else ""
            return (
                f'<section class="tw-card{tone}"><div class="tw-card__body"><h4>'
                f"{escape(title)}</h4>\n{inner}\n</div></section>"
            )
        tone = " callout-block--danger" if danger else ""
        return f'<div class="callout-block{tone}">\n<h3>{escape(title)}</h3>\n{inner}\n</div>'

    def _render_releases(self, ctx: _Ctx, proj: _Project) -> str:
        rows = []
        ordered = sorted(proj.releases.values(), key=lambda r: _version_key(r.version))
        for index, rel in enumerate(reversed(ordered), start=1):
            action = self._release_path(proj, rel)
            if self._in_quarantine(proj):
                modal = ""
            elif rel.yanked:
                modal = self._confirm_modal(
                    ctx,
                    slug=f"unyank_release-modal-{index}",
                    title="Un-yank release",
                    confirm_name="unyank_version",
                    expected=rel.version,
                    label="Version",
                    action=action,
                )
            else:
                modal = self._confirm_modal(
                    ctx,
                    slug=f"yank_release-modal-{index}",
                    title="Yank release",
                    confirm_name="yank_version",
                    expected=rel.version,
                    label="Version",
                    action=action,
                    extra=self.markup.text("yanked_reason", label="Reason (optional)"),
                )
            badge = ' <span class="badge badge--danger">Yanked</span>' if rel.yanked else ""
            rows.append(
                f'<tr><th scope="row"><a href="{escape(action)}">{escape(rel.version)}</a>'
                f"{badge}</th><td>{len(rel.files)} files</td><td>{modal}</td></tr>"
            )
        body = (
            f'<h2 class="heading-wsubtitle__heading">Releases ({len(rows)})</h2>\n'
            '<table class="table table--releases"><tbody>\n'
            + "\n".join(rows)
            + "\n</tbody></table>"
        )
        return self.markup.page(f"Manage '{proj.name}' – releases", body)

    # ------------------------------------------------------------------ read APIs
    def _read_view(self) -> tuple[dict[str, _Project], set[str]]:
        """The state the read APIs answer from: the one before the last change while
        ``stale_reads`` lasts (a CDN serving a cached page), else the current one."""
        if self.stale_reads > 0 and self._previous is not None:
            self.stale_reads -= 1
            return self._previous
        return self._projects, set(self.quarantine)

    def _file_json(self, rel: _Release, f: _File) -> dict[str, Any]:
        return {
            "filename": f.filename,
            "packagetype": f.packagetype,
            "python_version": f.python_version,
            "has_sig": False,
            "comment_text": None,
            "md5_digest": f.md5,
            "digests": {"md5": f.md5, "sha256": f.sha256, "blake2b_256": f.blake2},
            "core-metadata": False,
            "size": f.size,
            "downloads": -1,
            "upload_time": dt.datetime.fromtimestamp(f.upload_time, dt.UTC).strftime(
                "%Y-%m-%dT%H:%M:%S"
            ),
            "upload_time_iso_8601": _iso(f.upload_time),
            "url": f"{self.url}/packages/{f.path}",
            "requires_python": rel.requires_python or None,
            "yanked": rel.yanked,
            "yanked_reason": rel.yanked_reason or None,
        }

    def _json_data(
        self, proj: _Project, rel: _Release, quarantine: set[str], all_releases: bool
    ) -> dict[str, Any]:
        visible = [] if self._in_quarantine(proj, quarantine) else list(proj.releases.values())
        visible.sort(key=lambda r: _version_key(r.version), reverse=True)
        releases = {
            r.version: [self._file_json(r, f) for f in sorted(r.files, key=lambda f: f.filename)]
            for r in visible
        }
        roles = sorted(
            ({"role": role, "user": who} for who, role in proj.roles.items()),
            key=lambda r: (r["role"] != "Owner", r["user"]),
        )
        project_url = f"{self.url}/project/{proj.name}/"
        data: dict[str, Any] = {
            "info": {
                "name": proj.name,
                "version": rel.version,
                "summary": rel.summary,
                "author": None,
                "license": None,
                "classifiers": [],
                "requires_python": rel.requires_python,
                "requires_dist": None,
                "package_url": project_url,
                "project_url": project_url,
                "release_url": f"{project_url}{rel.version}/",
                "project_urls": None,
                "yanked": rel.yanked,
                "yanked_reason": rel.yanked_reason or None,
            },
            "urls": releases.get(rel.version, []),
            "vulnerabilities": [],
            "last_serial": proj.last_serial,
            "ownership": {"roles": roles, "organization": None},
        }
        if self.json_project_status:
            data["project-status"] = {"status": self._status(proj, quarantine)}
        if all_releases:
            data["releases"] = releases
        return data

    def _json_headers(self, resp: _Resp, proj: _Project, max_age: int) -> _Resp:
        resp.header("Cache-Control", f"max-age={max_age}, public")
        resp.header(
            "Surrogate-Control", "max-age=86400, stale-while-revalidate=300, stale-if-error=86400"
        )
        resp.header("Access-Control-Allow-Origin", "*")
        return resp.header("X-PyPI-Last-Serial", str(proj.last_serial))

    def _json_not_found(self) -> _Resp:
        return self._json({"message": "Not Found"}, 404).header("Access-Control-Allow-Origin", "*")

    def _json_project(self, ctx: _Ctx, name: str) -> _Resp:
        if ctx.method == "POST":
            return self._error(405, "Method Not Allowed")
        projects, quarantine = self._read_view()
        proj = projects.get(canonicalize_name(name))
        if proj is None or self._in_quarantine(proj, quarantine) or not proj.releases:
            return self._json_not_found()
        if proj.normalized != name:
            tail = "/json/" if ctx.path.endswith("/") else "/json"
            return self._redirect(f"/pypi/{proj.normalized}{tail}", 301)
        newest_first = sorted(
            proj.releases.values(), key=lambda r: _version_key(r.version), reverse=True
        )
        # latest_release_factory: not yanked first, then final releases, then the highest
        latest = min(newest_first, key=lambda r: (r.yanked, _is_prerelease(r.version)))
        data = self._json_data(proj, latest, quarantine, all_releases=True)
        return self._json_headers(self._json(data), proj, 900)

    def _json_release(self, ctx: _Ctx, name: str, version: str) -> _Resp:
        if ctx.method == "POST":
            return self._error(405, "Method Not Allowed")
        projects, quarantine = self._read_view()
        proj = projects.get(canonicalize_name(name))
        rel = proj.release(version) if proj is not None else None
        if proj is None or rel is None or self._in_quarantine(proj, quarantine):
            return self._json_not_found()
        if proj.normalized != name:
            tail = "/json/" if ctx.path.endswith("/") else "/json"
            return self._redirect(f"/pypi/{proj.normalized}/{version}{tail}", 301)
        data = self._json_data(proj, rel, quarantine, all_releases=False)
        return self._json_headers(self._json(data), proj, 900)

    def _simple_index(self, ctx: _Ctx) -> _Resp:
        projects, quarantine = self._read_view()
        listed = sorted(
            (p for p in projects.values() if not self._in_quarantine(p, quarantine)),
            key=lambda p: p.normalized,
        )
        ctype = _accepts(ctx.headers.get("Accept"), (MIME_HTML, MIME_SIMPLE_HTML, MIME_SIMPLE_JSON))
        if ctype == MIME_SIMPLE_JSON:
            data = {
                "meta": {"api-version": API_VERSION, "_last-serial": self._serial},
                "projects": [{"name": p.name, "_last-serial": p.last_serial} for p in listed],
            }
            resp = self._json(data, ctype=ctype)
        else:
            links = "\n".join(
                f'    <a href="/simple/{p.normalized}/">{escape(p.name)}</a>' for p in listed
            )
            body = (
                '<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta '
                f'name="pypi:repository-version" content="{API_VERSION}">\n    <title>Simple '
                f"index</title>\n  </head>\n  <body>\n{links}\n  </body>\n</html>\n"
            )
            resp = _Resp(200, body.encode()).header("Content-Type", f"{ctype}; charset=utf-8")
        resp.header("Vary", "Accept").header("Cache-Control", "max-age=600, public")
        return resp.header("X-PyPI-Last-Serial", str(self._serial))

    def _simple_detail(self, ctx: _Ctx, name: str) -> _Resp:
        projects, quarantine = self._read_view()
        proj = projects.get(canonicalize_name(name))
        if proj is None:
            return self._not_found()
        if proj.normalized != name:
            return self._redirect(f"/simple/{proj.normalized}/", 301)  # current_route_path
        quarantined = self._in_quarantine(proj, quarantine)
        pairs = [] if quarantined else [(r, f) for r in proj.releases.values() for f in r.files]
        pairs.sort(key=lambda rf: (_version_key(rf[0].version), rf[1].filename))
        versions = sorted({r.version for r, _ in pairs}, key=_version_key)
        files = [
            {
                "filename": f.filename,
                "url": f"{self.url}/packages/{f.path}",
                "hashes": {"sha256": f.sha256},
                "requires-python": r.requires_python or None,
                "size": f.size,
                "upload-time": _iso(f.upload_time),
                "yanked": (r.yanked_reason if r.yanked and r.yanked_reason else r.yanked),
                "data-dist-info-metadata": False,
                "core-metadata": False,
                "provenance": None,
            }
            for r, f in pairs
        ]
        status = self._status(proj, quarantine)
        ctype = _accepts(ctx.headers.get("Accept"), (MIME_HTML, MIME_SIMPLE_HTML, MIME_SIMPLE_JSON))
        if ctype == MIME_SIMPLE_JSON:
            data = {
                "meta": {"api-version": API_VERSION, "_last-serial": proj.last_serial},
                "name": proj.normalized,
                "project-status": {"status": status},
                "versions": versions,
                "files": files,
            }
            resp = self._json(data, ctype=ctype)
        else:
            resp = _Resp(200, self._simple_html(proj, status, files).encode())
            resp.header("Content-Type", f"{ctype}; charset=utf-8")
        resp.header("Vary", "Accept").header("Cache-Control", "max-age=600, public")
        resp.header("Access-Control-Allow-Origin", "*")
        return resp.header("X-PyPI-Last-Serial", str(proj.last_serial))

    @staticmethod
    def _simple_html(proj: _Project, status: str, files: list[dict[str, Any]]) -> str:
        links = []
        for f in files:
            attrs = ""
            if f["requires-python"]:
                attrs += f'data-requires-python="{escape(f["requires-python"])}" '
            if f["yanked"]:
                reason = f["yanked"] if isinstance(f["yanked"], str) else ""
                attrs += f'data-yanked="{escape(reason)}" '
            links.append(
                f'    <a href="{escape(f["url"])}#sha256={f["hashes"]["sha256"]}" {attrs}>'
                f"{escape(f['filename'])}</a><br />"
            )
        return (
            '<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta name="pypi:repository-'
            f'version" content="{API_VERSION}">\n    <meta name="pypi:project-status" '
            f'content="{status}">\n    <title>Links for {proj.normalized}</title>\n  </head>\n'
            f"  <body>\n    <h1>Links for {proj.normalized}</h1>\n"
            + "\n".join(links)
            + f"\n  </body>\n</html>\n<!--SERIAL {proj.last_serial}-->"
        )

    def _package_file(self, ctx: _Ctx, path: str) -> _Resp:
        content = self._blobs.get(path)
        if content is None or ctx.method == "POST":
            return self._not_found()
        resp = _Resp(200, content).header("Content-Type", "application/octet-stream")
        return resp.header("Cache-Control", "max-age=31536000, public")

    # ------------------------------------------------------------------ upload (forklift)
    def _upload_no_slash(self, ctx: _Ctx) -> _Resp:
        message = (
            "An upload was attempted to /legacy but the expected upload URL is "
            "/legacy/ (with a trailing slash)"
        )
        resp = self._redirect("/legacy/", 308)
        resp.reason = message
        return resp

    def _forklift_error(self, status: int, message: str) -> _Resp:
        """forklift's _exc_with_message: the message is the status line's reason too."""
        title = _REASONS.get(status, "Error")
        body = f"{status} {title}\n\nThe server could not comply with the request.\n\n{message}"
        resp = _Resp(status, body.encode()).header("Content-Type", "text/plain; charset=UTF-8")
        resp.reason = message.encode("latin-1", "replace").decode("latin-1")
        return resp

    def _upload_identity(self, ctx: _Ctx) -> tuple[str | None, str | None] | _Resp:
        invalid = (
            "Invalid or non-existent authentication information. "
            f"See {self.help_url}#invalid-auth for more information."
        )
        auth = ctx.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return self._forklift_error(403, invalid)
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return self._forklift_error(403, invalid)
        if username != "__token__":
            return self._forklift_error(
                403,
                "Username/Password authentication is no longer supported. Migrate to API "
                f"Tokens or Trusted Publishers instead. See {self.help_url}#apitoken and "
                f"{self.help_url}#trusted-publishers",
            )
        if password not in self._tokens:
            return self._forklift_error(403, invalid)
        return self._tokens[password]

    def _upload(self, ctx: _Ctx) -> _Resp:
        if ctx.method != "POST":
            return self._error(405, "Method Not Allowed")
        identity = self._upload_identity(ctx)
        if isinstance(identity, _Resp):
            return identity
        scope, token_user = identity
        try:
            fields, files = _parse_multipart(ctx.headers.get("Content-Type") or "", ctx.body)
        except ValueError:
            return self._forklift_error(400, "Invalid distribution file.")
        if fields.get("protocol_version", "1") != "1":
            return self._forklift_error(400, "Unknown protocol version.")
        name, version = fields.get("name", ""), fields.get("version", "")
        meta_help = "https://packaging.python.org/specifications/core-metadata"
        if not name:
            return self._forklift_error(
                400,
                f"'' is an invalid value for Name. Error: {REQUIRED} See {meta_help} "
                "for more information.",
            )
        try:
            Version(version)
        except InvalidVersion:
            return self._forklift_error(
                400,
                f"{version!r} is an invalid value for Version. Error: Start and end with "
                f"a letter or numeral. See {meta_help} for more information.",
            )
        filetype = fields.get("filetype", "")
        if filetype not in ("sdist", "bdist_wheel"):
            return self._forklift_error(400, f"Invalid value for filetype. Error: {REQUIRED}")
        if "content" not in files:
            return self._forklift_error(400, "Upload payload does not have a file.")
        filename, content = files["content"]
        return self._store_upload(
            ctx, fields, filename, content, scope=scope, token_user=token_user
        )

    def _store_upload(
        self,
        ctx: _Ctx,
        fields: dict[str, str],
        filename: str,
        content: bytes,
        *,
        scope: str | None,
        token_user: str | None,
    ) -> _Resp:
        name, version, filetype = fields["name"], fields["version"], fields["filetype"]
        reuse = f"See {self.help_url}#file-name-reuse for more information."
        normalized = canonicalize_name(name)
        proj = self._projects.get(normalized)
        user = self._users.get(token_user) if token_user else None
        if scope is not None and scope != normalized:
            shown = proj.name if proj is not None else name
            return self._forklift_error(
                403, f"Invalid API Token: project-scoped token is not valid for project: {shown!r}"
            )
        if proj is not None and user is not None and user.username not in proj.roles:
            return self._forklift_error(
                403,
                f"The user '{user.username}' isn't allowed to upload to project '{proj.name}'. "
                f"See {self.help_url}#project-name for more information.",
            )
        if user is not None and not user.has_two_factor:
            return self._forklift_error(
                403,
                f"User {user.username!r}, associated with the API token used, does not have "
                "two-factor authentication enabled. Please enable two-factor authentication "
                f"before attempting to upload to PyPI. See {self.help_url}"
                "#two-factor-authentication for more information.",
            )
        if "/" in filename or "\\" in filename:
            return self._forklift_error(400, "Cannot upload a file with '/' or '\\' in the name.")
        pep527 = "https://www.python.org/dev/peps/pep-0527"
        if not filename.endswith((".tar.gz", ".zip", ".whl")):
            return self._forklift_error(
                400,
                f"Invalid file extension: Use .tar.gz, .whl or .zip extension. See {pep527} "
                "and https://peps.python.org/pep-0715/ for more information",
            )
        if (filetype == "sdist") == filename.endswith(".whl"):
            ext = ".whl" if filename.endswith(".whl") else filename.rsplit(".", 1)[-1]
            return self._forklift_error(
                400,
                f"Invalid file extension: Extension {ext} is invalid for filetype "
                f"{filetype}. See {pep527} for more information.",
            )
        hashes = {
            "md5": hashlib.md5(content).hexdigest(),  # noqa: S324 - as warehouse
            "sha256": hashlib.sha256(content).hexdigest(),
            "blake2_256": hashlib.blake2b(content, digest_size=32).hexdigest(),
        }
        for key, value in hashes.items():
            given = fields.get(f"{key}_digest")
            if given and not hmac.compare_digest(given.lower(), value):
                return self._forklift_error(
                    400,
                    "The digest supplied does not match a digest calculated from the uploaded "
                    "file.",
                )
        existing = [
            (r, f)
            for p in self._projects.values()
            for r in p.releases.values()
            for f in r.files
            if f.filename == filename or f.blake2 == hashes["blake2_256"]
        ]
        if existing:
            _, f = existing[0]
            if f.filename == filename and f.sha256 == hashes["sha256"]:
                return _Resp(200)  # the same file again: OK, nothing done
            return self._forklift_error(
                400,
                f"File already exists ({filename!r}, with blake2_256 hash "
                f"{hashes['blake2_256']!r}). {reuse}",
            )
        if filename in self._used_filenames:
            return self._forklift_error(
                400,
                "This filename was previously used by a file that has since been deleted. Use a "
                f"different version. {reuse}",
            )
        rel = proj.release(version) if proj is not None else None
        now = self.clock()
        if rel is not None and rel.created < now - MAX_UPLOAD_AGE_DAYS * 86400:
            return self._forklift_error(
                400,
                f"Uploading new files to releases older than {MAX_UPLOAD_AGE_DAYS} days is not "
                "allowed.",
            )
        if (
            rel is not None
            and filetype == "sdist"
            and any(f.packagetype == "sdist" for f in rel.files)
        ):
            return self._forklift_error(400, "Only one sdist may be uploaded per release.")
        bad_name = self._check_filename(filename, filetype, name, version)
        if bad_name:
            return self._forklift_error(400, bad_name)
        who = token_user or ""
        self._remember_previous()
        if proj is None:
            roles = {token_user: "Owner"} if token_user else {}
            proj = _Project(name=name, roles=roles)
            self._projects[normalized] = proj
            self._journal(proj, "", "create", who)
        if rel is None:
            rel = _Release(
                version=version,
                created=now,
                requires_python=fields.get("requires_python") or None,
                summary=fields.get("summary") or None,
            )
            proj.releases[version] = rel
            self._journal(proj, version, "new release", who)
        pyver = fields.get("pyversion") or ("source" if filetype == "sdist" else "py3")
        stored = self._store_file(rel, filename, content, filetype, pyver, now)
        self._journal(proj, rel.version, f"add {stored.python_version} file {filename}", who)
        self._bump(proj)
        return _Resp(200)

    @staticmethod
    def _check_filename(filename: str, filetype: str, name: str, version: str) -> str | None:
        expected = canonicalize_name(name).replace("-", "_")
        try:
            if filetype == "sdist":
                fname, fversion = parse_sdist_filename(filename)
            else:
                fname, fversion, *_ = parse_wheel_filename(filename)
        except (InvalidSdistFilename, InvalidWheelFilename):
            return f"Invalid distribution file. Invalid filename: {filename}"
        if canonicalize_name(fname) != canonicalize_name(name):
            return f"Start filename for {name!r} with {expected!r}."
        if fversion != Version(version):
            return f"Version in filename should be {str(Version(version))!r} not {str(fversion)!r}."
        return None


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeWarehouse
    timeout = 10  # idle keep-alive connections end instead of pinning a thread forever
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        fake = self.server_fake
        if fake.latency_s:
            time.sleep(fake.latency_s)
        body = self._read_body()
        headers = dict(self.headers.items())
        resp = fake._handle(self.command, self.path, _Headers(headers), body)
        self.send_response(resp.status, resp.reason)
        for key, value in resp.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if resp.body and self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class _Headers(dict[str, str]):
    """Request headers, looked up case-insensitively."""

    def __init__(self, items: Mapping[str, str]) -> None:
        super().__init__((k.lower(), v) for k, v in items.items())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)
