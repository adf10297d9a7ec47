"""A logged-in web session on PyPI or TestPyPI (warehouse), for the actions it has no API for.

The flow follows warehouse exactly: a CSRF token from each form and an Origin/Referer header on
every POST; login with a password, then either the ``remember_device`` cookie or a TOTP code;
the re-authentication page answered when a management view asks for it; each outcome read
from where warehouse puts it (the redirect, then the flash messages). Every way this can stop
is a specific error with the next action for a person. A login is never retried in a loop.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import requests

from unrelease import secrets
from unrelease.clock import Clock, SystemClock
from unrelease.errors import (
    AuthError,
    NotFound,
    Refused,
    ServiceError,
    WaitingOnPerson,
)
from unrelease.indexes import html
from unrelease.indexes.pypi_credentials import MANUAL_HINT as MANUAL_HINT
from unrelease.indexes.pypi_credentials import REMEMBER_PREFIX as REMEMBER_PREFIX
from unrelease.indexes.pypi_credentials import PypiCredentials as PypiCredentials
from unrelease.indexes.pypi_credentials import RememberedDevice as RememberedDevice
from unrelease.indexes.pypi_credentials import check_totp_secret as check_totp_secret

TOTP_STEP = 30


# --- TOTP: one code per 30 s step, never twice ---------------------------------------------------
_used_steps: dict[str, int] = {}
_used_lock = threading.Lock()


def _steps_file() -> Path:
    """Where the last TOTP step used per secret is kept, so that two runs on one machine (a
    rollback, then its undo) never send PyPI the same code. Keys are hashes, never secrets."""
    base = os.environ.get("UNRELEASE_CACHE_DIR") or os.environ.get("RUNNER_TEMP")
    if base:
        return Path(base) / "unrelease-totp-steps.json"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "unrelease" / "totp-steps.json"


def _last_step(key: str) -> int:
    try:
        data = json.loads(_steps_file().read_text("utf-8"))
        return int(data.get(key, -1)) if isinstance(data, dict) else -1
    except (OSError, ValueError, TypeError):
        return -1


def _remember_step(key: str, step: int) -> None:
    path = _steps_file()
    try:
        data = json.loads(path.read_text("utf-8")) if path.exists() else {}
        data = data if isinstance(data, dict) else {}
        data[key] = step
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data), "utf-8")
    except (OSError, ValueError):
        pass  # best effort: the in-process record still holds


def totp_code(secret: str, clock: Clock) -> str:
    """The current code. PyPI refuses a code accepted before: when this process, or an earlier
    run on this machine, already used the current step's code, wait (at most one step) for
    the next one."""
    import pyotp

    key = hashlib.sha256(b"unrelease-totp:" + secret.encode()).hexdigest()[:32]
    with _used_lock:
        used = max(_used_steps.get(key, -1), _last_step(key))
        now = clock.time()
        step = int(now // TOTP_STEP)
        if used >= step:
            clock.sleep(min(TOTP_STEP + 1.0, (step + 1) * TOTP_STEP - now + 0.5))
            step = int(clock.time() // TOTP_STEP)
            if used >= step:  # pragma: no cover - a clock that stands still
                raise ServiceError("no fresh TOTP step came; the clock did not advance")
        _used_steps[key] = step
        _remember_step(key, step)
        return pyotp.TOTP(secret).at(step * TOTP_STEP)


def new_device_error(user: str, site: str) -> WaitingOnPerson:
    return WaitingOnPerson(
        f"{site} stopped the login of {user} at a new-device check and e-mailed an "
        "'Unrecognized login' link: this machine's IP address is new to PyPI. Nothing was changed",
        hint=(
            "either store a remembered device: run `unrelease pypi-login` on a machine whose IP "
            "PyPI already knows and save the value it prints as the PYPI_REMEMBER_DEVICE "
            "secret (30 days); or run on a self-hosted runner whose IP you confirmed once by "
            "opening the e-mailed link from it; " + MANUAL_HINT
        ),
    )


# --- the session ---------------------------------------------------------------------------
class WebSession:
    """One browser-like session on a warehouse site. Not thread-safe: one index chain uses it."""

    def __init__(
        self,
        site: str,
        session: requests.Session,
        creds: PypiCredentials,
        clock: Clock | None = None,
        *,
        totp: Callable[[], str] | None = None,
    ) -> None:
        self.site = site.rstrip("/") + "/"
        self.host = urlsplit(self.site).netloc
        self.session = session
        self.creds = creds
        self.clock = clock or SystemClock()
        self.totp = totp  # a person typing codes (pypi-login); else codes from the secret
        self.logged_in = False
        self.remembered: str | None = None  # a remember_device cookie PyPI set at this login
        self._pages: dict[str, str] = {}  # a page read and not yet used to post
        self._unread: list[str] = []  # success flashes left queued (outcome known already)
        # A releases list stays in use across posts (each row's forms post to that release);
        # the rows posted to since it was read are not trusted until it is read again.
        self._posted: dict[str, set[str]] = {}

    @property
    def name(self) -> str:
        return self.host

    def url(self, path: str) -> str:
        return urljoin(self.site, path.lstrip("/"))

    # --- HTTP -----------------------------------------------------------------------------
    def _get(self, path: str) -> requests.Response:
        return self.session.get(self.url(path), allow_redirects=False)

    def _post(self, url: str, data: Mapping[str, str], referer: str) -> requests.Response:
        headers = {"Origin": self.site.rstrip("/"), "Referer": referer}
        resp = self.session.post(url, data=dict(data), headers=headers, allow_redirects=False)
        if resp.status_code == 400:
            raise ServiceError(
                f"{self.name} refused the form: HTTP 400 {resp.reason or ''}".strip(),
                hint="rerun; if it happens again the site's form changed: report it",
            )
        return resp

    @staticmethod
    def _location(resp: requests.Response) -> str:
        return urlsplit(resp.headers.get("Location", "")).path

    def _retry_after(self, resp: requests.Response) -> WaitingOnPerson:
        after = resp.headers.get("Retry-After", "")
        wait = f"{after} seconds" if after.isdigit() else "a few minutes"
        return WaitingOnPerson(
            f"{self.name} is rate-limiting 2FA attempts for {self.creds.username} (HTTP 429)",
            hint=f"wait {wait}, check PYPI_TOTP_SECRET and the machine's clock, then rerun",
        )

    # --- login ----------------------------------------------------------------------------
    def login(self, *, next_path: str = "/manage/projects/", remember: bool = False) -> None:
        """Log in once. Raises AuthError (wrong credentials: exit 2), WaitingOnPerson (device
        confirmation, lockout, rate limit, security-key-only account: exit 3)."""
        if self.creds.remember_device is not None:
            self.session.cookies.set(
                "remember_device",
                self.creds.remember_device.cookie,
                domain=urlsplit(self.site).hostname,
                path="/account/login/",
            )
        page = self.session.get(self.url("/account/login/"), params={"next": next_path})
        form = html.find_form(page.text, "username", "password")
        if page.status_code != 200 or form is None:
            raise ServiceError(
                f"{self.name} login page has no login form (HTTP {page.status_code})"
            )
        data = {**form.fields, "username": self.creds.username, "password": self.creds.password}
        data["next"] = next_path
        action = urljoin(page.url, form.action or page.url)
        resp = self._post(action, data, referer=page.url)
        if resp.status_code == 429:
            raise self._retry_after(resp)
        if resp.status_code == 200:
            raise self._login_refused(resp.text)
        if resp.status_code not in (301, 302, 303):
            raise ServiceError(f"{self.name} login answered HTTP {resp.status_code}")
        where = self._location(resp)
        if where.startswith("/account/two-factor/"):
            self._two_factor(urljoin(action, resp.headers["Location"]), form.fields, remember)
        elif where.startswith("/account/confirm-login/"):
            raise new_device_error(self.creds.username, self.name)
        elif where.startswith("/account/login/"):
            raise self._login_refused("")
        self.logged_in = True
        self._pages.clear()

    def _login_refused(self, page: str) -> AuthError | WaitingOnPerson:
        text = html.page_text(page).lower()
        if "too many" in text or "locked out" in text:
            return WaitingOnPerson(
                f"{self.name} locked the login of {self.creds.username} after too many failed "
                "attempts",
                hint="wait until the lockout ends (minutes), check PYPI_PASSWORD, then rerun "
                "once; unrelease never retries a login",
            )
        return AuthError(
            f"{self.name} refused the login of {self.creds.username}: wrong username or password",
            hint="check PYPI_USERNAME and PYPI_PASSWORD (the account's, not an API token)",
        )

    def _two_factor(self, url: str, login_fields: Mapping[str, str], remember: bool) -> None:
        if self.totp is None and self.creds.totp_secret is None:
            raise AuthError(
                f"{self.name} asks {self.creds.username} for a second factor and neither "
                "PYPI_TOTP_SECRET nor a valid PYPI_REMEMBER_DEVICE is set",
                hint="set PYPI_TOTP_SECRET, or store the value `unrelease pypi-login` prints as "
                "PYPI_REMEMBER_DEVICE, " + MANUAL_HINT,
            )
        # The CSRF token of the login form still holds here (it changes once logged in), so
        # the code is posted straight away; the page is only read when the post is refused.
        code = (
            self.totp()
            if self.totp is not None
            else totp_code(self.creds.totp_secret or "", self.clock)
        )
        data = {"csrf_token": login_fields.get("csrf_token", ""), "totp_value": code}
        if remember:
            data["remember_device"] = "true"
        resp = self._post(url, data, referer=url)
        if resp.status_code == 429:
            raise self._retry_after(resp)
        if resp.status_code == 200 or resp.status_code >= 500:
            # Warehouse fails a TOTP post for an account without TOTP (a 500); its 2FA page
            # then shows what the account has. Only a page that answers can say so.
            page = resp if resp.status_code == 200 else self.session.get(url)
            if page.status_code != 200 or html.find_form(page.text, "username", "password"):
                raise ServiceError(f"{self.name} 2FA answered HTTP {resp.status_code}")
            if html.find_form(page.text, "totp_value") is None:
                raise WaitingOnPerson(
                    f"{self.creds.username} on {self.name} has only a security key (WebAuthn) as "
                    "second factor: automation cannot log in",
                    hint="add an authenticator app (TOTP) to the account and set "
                    "PYPI_TOTP_SECRET, " + MANUAL_HINT,
                )
            if resp.status_code != 200:
                raise ServiceError(f"{self.name} 2FA answered HTTP {resp.status_code}")
            raise AuthError(
                f"{self.name} refused the TOTP code for {self.creds.username}",
                hint="check PYPI_TOTP_SECRET and this machine's clock; if another run logged "
                "in with a code in the last 30 s, PyPI refuses that code again: rerun after 30 s",
            )
        if resp.status_code not in (301, 302, 303):
            raise ServiceError(f"{self.name} 2FA answered HTTP {resp.status_code}")
        where = self._location(resp)
        if where.startswith("/account/confirm-login/"):
            raise new_device_error(self.creds.username, self.name)
        if where.startswith(("/account/login/", "/account/two-factor/")):
            said = "; ".join(text for _, text in self.flash()) or f"sent back to {where}"
            raise ServiceError(
                f"{self.name} did not finish the 2FA step for {self.creds.username}: {said}",
                hint="the step is valid for 5 minutes after the password: rerun (and give the "
                "code within that time)",
            )
        self.remembered = resp.cookies.get("remember_device") or self.session.cookies.get(
            "remember_device", path="/account/login/"
        )

    # --- management pages -----------------------------------------------------------------
    def has_page(self, path: str) -> bool:
        return path in self._pages

    def manage_page(self, path: str, *, fresh_for: str | None = None) -> str:
        """The HTML of a management page, logging in and re-authenticating when asked. A page
        read before is used again unless FRESH_FOR (a release's path) was posted to since."""
        if path in self._pages and _key(fresh_for or "") not in self._posted.get(path, set()):
            return self._pages[path]
        self._posted.pop(path, None)
        if not self.logged_in:
            self.login(next_path=path)
        resp = self._get(path)
        resp = self._answer_reauth(path, resp)
        self._check_page(path, resp)
        self._pages[path] = resp.text
        return resp.text

    def _answer_reauth(self, path: str, resp: requests.Response) -> requests.Response:
        form = (
            html.find_form(resp.text, "password", "next_route") if resp.status_code == 200 else None
        )
        if form is None:
            return resp
        data = {**form.fields, "password": self.creds.password}
        action = urljoin(self.url(path), form.action or "/account/reauthenticate/")
        answer = self._post(action, data, referer=self.url(path))
        again = self._get(path)
        if answer.status_code not in (301, 302, 303) or (
            again.status_code == 200 and html.find_form(again.text, "password", "next_route")
        ):
            raise AuthError(
                f"{self.name} did not accept the password confirmation (re-authentication) "
                f"for {self.creds.username}",
                hint="check PYPI_PASSWORD; nothing was changed",
            )
        return again

    def _check_page(self, path: str, resp: requests.Response) -> None:
        if resp.status_code == 200:
            return
        where = self._location(resp)
        if resp.status_code in (301, 302, 303) and "two-factor" in where:
            raise AuthError(
                f"{self.creds.username} on {self.name} has no two-factor authentication, and "
                "PyPI refuses every management action without it",
                hint="enable 2FA (an authenticator app) on the account, set PYPI_TOTP_SECRET, "
                "then rerun",
            )
        if resp.status_code in (301, 302, 303) and where.startswith("/account/login"):
            raise ServiceError(f"{self.name} logged the session out while reading {path}")
        if resp.status_code == 403:
            raise AuthError(
                f"{self.creds.username} may not manage releases on {self.name} for this "
                "project: yank and delete need the Owner role (a Maintainer can only upload)",
                hint="ask an Owner to run the rollback or to make this account an Owner, "
                + MANUAL_HINT,
            )
        if resp.status_code == 404:
            raise NotFound(f"{self.name} has no page {path} for {self.creds.username} (404)")
        raise ServiceError(f"{self.name} answered HTTP {resp.status_code} for {path}")

    def submit(self, path: str, form: html.Form, values: Mapping[str, str], *, success: str) -> str:
        """POST FORM (read from PATH) with VALUES; return the success message or raise the
        failure warehouse reported. Warehouse redirects to the project's releases list only
        when a yank, un-yank or release delete succeeded: that answer is the outcome, and its
        flash is left unread (remembered, so a later read does not take it for news). Any
        other redirect (a file delete, every failure) is read from the flash messages."""
        data = {**form.fields, **values}
        action = urljoin(self.url(path), form.action or path)
        self._forget(path, _key(action))
        resp = self._post(action, data, referer=self.url(path))
        if resp.status_code == 200 and html.find_form(resp.text, "password", "next_route"):
            self._answer_reauth(path, resp)
            resp = self._post(action, data, referer=self.url(path))
        if resp.status_code == 403:
            self._check_page(path, resp)
        if resp.status_code not in (301, 302, 303):
            raise ServiceError(f"{self.name} answered HTTP {resp.status_code} to the form")
        where = self._location(resp)
        if where.rstrip("/").endswith("/releases"):
            self._unread.append(success)
            return success
        messages = self.flash()
        for level, text in messages:
            if level == "success" and text.startswith(success):
                return text
        failures = [t for lvl, t in messages if lvl != "success"]
        raise self._failure(failures, where)

    def _forget(self, path: str, action: str) -> None:
        """What a post to ACTION (a release's path) from PATH makes stale: a release page is
        used for one post only; on a releases list, the row of that release."""
        if not path.rstrip("/").endswith("/releases"):
            self._pages.pop(path, None)
        for seen in list(self._pages):
            if seen.rstrip("/").endswith("/releases"):
                self._posted.setdefault(seen, set()).add(action)
            elif _key(seen) == action:
                del self._pages[seen]

    def flash(self) -> list[tuple[str, str]]:
        """The flash messages queued since the last read (reading clears them), without the
        success messages of outcomes already taken from their redirect."""
        resp = self.session.get(self.url("/_includes/unauthed/flash-messages/"))
        if resp.status_code != 200:
            raise ServiceError(f"{self.name} flash messages: HTTP {resp.status_code}")
        messages = html.flash_messages(resp.text)
        for old in self._unread:
            hit = next((m for m in messages if m[0] == "success" and m[1].startswith(old)), None)
            if hit is not None:
                messages.remove(hit)
        self._unread.clear()
        return messages

    def _failure(self, messages: list[str], where: str) -> ServiceError | Refused | AuthError:
        text = "; ".join(messages) or f"no message (redirected to {where})"
        low = text.lower()
        if "quarantine" in low:
            return Refused(
                f"{self.name} holds the project in quarantine: {text}",
                hint="PyPI's admins must release it first (see https://pypi.org/help/#admin-"
                "intervention); nothing was changed",
            )
        if "disabled" in low:
            return Refused(
                f"{self.name} has deletion disabled: {text}",
                hint="yank instead (--mode yank), or wait until PyPI enables deletion again",
            )
        if "two factor" in low or "two-factor" in low:
            return AuthError(
                f"{self.name}: {text}",
                hint="enable two-factor authentication on the account, then rerun",
            )
        return ServiceError(f"{self.name}: {text}")


def _key(url: str) -> str:
    """A page's path, unquoted, without its trailing slash: to compare form actions."""
    return unquote(urlsplit(url).path).rstrip("/")


REMEMBER_DAYS = 30


def remember_device(
    site: str,
    creds: PypiCredentials,
    totp: Callable[[], str] | None,
    clock: Clock | None = None,
    session: requests.Session | None = None,
) -> RememberedDevice | None:
    """Log in once asking PyPI to remember this device; the cookie it sets, with its expiry.
    None when PyPI set none (an account without 2FA, or a device already remembered)."""
    from unrelease.http import make_session

    clock = clock or SystemClock()
    web = WebSession(site, session or make_session(), creds, clock, totp=totp)
    web.login(remember=True)
    if not web.remembered:
        return None
    secrets.register(web.remembered)
    return RememberedDevice(web.remembered, expires=clock.time() + REMEMBER_DAYS * 86400)
