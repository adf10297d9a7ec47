"""The fake warehouse answers like pypi.org: driven by requests (as a browser would), real twine,
real pip in a fresh venv, and pypi-cleanup when it is installed."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pyotp
import pytest
import requests

from tests.fakes.clock import FakeClock
from tests.fakes.warehouse import DELETION_DISABLED, NEEDS_2FA, QUARANTINED, FakeWarehouse

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "correct horse battery"
DAY = 86400.0


# ---------------------------------------------------------------------- a small browser
class _Forms(HTMLParser):
    """Every form of a page: its action and its named fields (value or "")."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._open = {"action": a.get("action"), "fields": {}}
            self.forms.append(self._open)
        elif self._open is not None and tag in ("input", "textarea", "select") and a.get("name"):
            self._open["fields"][a["name"]] = a.get("value") or ""

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def forms(html: str) -> list[dict[str, Any]]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def find_form(html: str, *names: str) -> dict[str, Any]:
    matches = [f for f in forms(html) if all(n in f["fields"] for n in names)]
    assert matches, f"no form with {names}"
    return matches[0]


class _Flash(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[str, str]] = []
        self._level = ""
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if "notification-bar" in classes:
            self._level = next(
                (c.split("--")[1] for c in classes if c.startswith("notification-bar--")), ""
            )
        if "notification-bar__message" in classes:
            self._depth = 1
            self.messages.append((self._level, ""))

    def handle_endtag(self, tag: str) -> None:
        self._depth = 0

    def handle_data(self, data: str) -> None:
        if self._depth:
            level, text = self.messages[-1]
            self.messages[-1] = (level, text + data)


class Browser:
    """A requests session that sends Origin on posts and never follows redirects itself."""

    def __init__(self, fake: FakeWarehouse) -> None:
        self.fake = fake
        self.s = requests.Session()
        self.s.headers["User-Agent"] = "fake-warehouse-tests/1.0"

    def url(self, path: str) -> str:
        return urljoin(self.fake.url + "/", path)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.s.get(self.url(path), allow_redirects=False, timeout=10, **kw)

    def post(
        self, path: str, data: dict[str, str], *, origin: bool = True, **kw: Any
    ) -> requests.Response:
        headers = {"Origin": self.fake.url} if origin else {}
        headers.update(kw.pop("headers", {}))
        return self.s.post(
            self.url(path), data=data, headers=headers, allow_redirects=False, timeout=10, **kw
        )

    def submit(
        self, path: str, html: str, names: tuple[str, ...], values: dict[str, str]
    ) -> requests.Response:
        form = find_form(html, *names)
        action = urljoin(self.url(path), form["action"] or path)
        # A person ticks every acknowledgment box of the form (a browser sends "on").
        ticked = {k: "on" for k in form["fields"] if k.startswith("acknowledge_")}
        return self.post(action, {**form["fields"], **ticked, **values})

    def flash(self) -> list[tuple[str, str]]:
        parser = _Flash()
        parser.feed(self.get("/_includes/unauthed/flash-messages/").text)
        return [(level, " ".join(text.split())) for level, text in parser.messages]

    @property
    def session_id(self) -> str | None:
        return self.s.cookies.get("session_id")


def code_at(clock: FakeClock, offset: float = 0.0, secret: str = SECRET) -> str:
    return pyotp.TOTP(secret).at(clock.time() + offset)


def start_login(b: Browser, user: str = "alice", password: str = PASSWORD) -> requests.Response:
    page = b.get("/account/login/")
    return b.submit(
        "/account/login/",
        page.text,
        ("username", "password"),
        {"username": user, "password": password},
    )


def login(
    b: Browser,
    clock: FakeClock,
    user: str = "alice",
    *,
    remember: bool = False,
    secret: str = SECRET,
) -> requests.Response:
    """Password, then the TOTP page's own form; returns the answer to the TOTP post."""
    resp = start_login(b, user)
    assert resp.status_code == 303, resp.text
    page = b.get(resp.headers["Location"])
    values = {"totp_value": code_at(clock, secret=secret)}
    if remember:
        values["remember_device"] = "true"
    return b.submit(resp.headers["Location"], page.text, ("totp_value",), values)


@pytest.fixture
def clock(fake_clock: FakeClock) -> FakeClock:
    return fake_clock


@pytest.fixture
def wh(fake_warehouse: FakeWarehouse) -> FakeWarehouse:
    """alice (Owner, TOTP), bob (Maintainer, TOTP), carol (no 2FA, Owner of her own project),
    and demo-pkg 0.1.0 / 0.2.0 with an sdist and a wheel each."""
    fake = fake_warehouse
    fake.add_user("alice", PASSWORD, totp_secret=SECRET, recovery_codes=["0123456789abcdef"])
    fake.add_user("bob", PASSWORD, totp_secret=SECRET)
    fake.add_user("carol", PASSWORD)
    fake.add_project("demo-pkg", "alice", maintainers=["bob"])
    fake.add_project("carols-pkg", "carol")
    for v in ("0.1.0", "0.2.0"):
        fake.add_release(
            "demo-pkg",
            v,
            {
                f"demo_pkg-{v}.tar.gz": f"sdist {v}".encode(),
                f"demo_pkg-{v}-py3-none-any.whl": v.encode(),
            },
        )
    fake.add_release("carols-pkg", "1.0", {"carols_pkg-1.0.tar.gz": b"c"})
    return fake


RELEASE = "/manage/project/demo-pkg/release/0.2.0/"


def logged_in(wh: FakeWarehouse, clock: FakeClock, user: str = "alice") -> Browser:
    b = Browser(wh)
    resp = login(b, clock, user)
    assert resp.status_code == 303, resp.text
    return b


# ---------------------------------------------------------------------- CSRF and the session
def test_post_without_matching_origin_or_referer_is_bad_csrf_origin(wh: FakeWarehouse) -> None:
    b = Browser(wh)
    page = b.get("/account/login/")
    form = find_form(page.text, "username", "password")
    data = {**form["fields"], "username": "alice", "password": PASSWORD}
    for headers in ({}, {"Origin": "https://evil.example"}, {"Origin": "null"}):
        resp = b.post("/account/login/", data, origin=False, headers=headers)
        assert (resp.status_code, resp.reason) == (400, "Bad CSRF Origin")
    wrong_port = {"Referer": "http://127.0.0.1:1/account/login/"}
    assert b.post("/account/login/", data, origin=False, headers=wrong_port).status_code == 400
    # A Referer on the host is enough; then the token decides.
    referer = {"Referer": b.url("/account/login/")}
    bad = b.post("/account/login/", {**data, "csrf_token": "nope"}, origin=False, headers=referer)
    assert (bad.status_code, bad.reason) == (400, "Bad CSRF Token")
    no_token = {k: v for k, v in data.items() if k != "csrf_token"}
    assert b.post("/account/login/", no_token).reason == "Bad CSRF Token"
    header_token = {"X-CSRF-Token": form["fields"]["csrf_token"]}
    ok = b.post("/account/login/", no_token, headers=header_token)
    assert ok.status_code == 303 and ok.headers["Location"].startswith("/account/two-factor/?")
    assert wh.count("POST", "/account/login/") == 7
    assert all(ua == "fake-warehouse-tests/1.0" for ua in wh.user_agents)


def test_another_session_token_is_refused(wh: FakeWarehouse) -> None:
    first, second = Browser(wh), Browser(wh)
    token = find_form(first.get("/account/login/").text, "username")["fields"]["csrf_token"]
    second.get("/account/login/")
    data = {"csrf_token": token, "username": "alice", "password": PASSWORD}
    assert second.post("/account/login/", data).reason == "Bad CSRF Token"


def test_login_replaces_session_id_and_csrf_token(wh: FakeWarehouse, clock: FakeClock) -> None:
    b = Browser(wh)
    page = b.get("/account/login/")
    before_sid = b.session_id
    old_token = find_form(page.text, "username")["fields"]["csrf_token"]
    resp = start_login(b)
    # The token holds until the login completes: the TOTP post may reuse it.
    totp = b.post(resp.headers["Location"], {"csrf_token": old_token, "totp_value": code_at(clock)})
    assert totp.status_code == 303 and totp.headers["Location"] == "/"
    assert b.session_id != before_sid
    assert wh.session_user(before_sid or "") is None
    assert wh.session_user(b.session_id or "") == "alice"
    release = b.get(RELEASE)
    new_token = find_form(release.text, "confirm_yank_version")["fields"]["csrf_token"]
    assert new_token != old_token
    stale = b.post(RELEASE, {"csrf_token": old_token, "confirm_yank_version": "0.2.0"})
    assert (stale.status_code, stale.reason) == (400, "Bad CSRF Token")
    assert not wh.release_state("demo-pkg", "0.2.0")["yanked"]
    again = b.get("/account/login/")  # logged in: the login page sends you on
    assert (again.status_code, again.headers["Location"]) == (303, "/manage/projects/")


# ---------------------------------------------------------------------- password login
def test_wrong_password_rerenders_then_locks_out(wh: FakeWarehouse, clock: FakeClock) -> None:
    b = Browser(wh)
    wrong = start_login(b, password="nope")
    assert wrong.status_code == 200
    assert "The password is invalid. Try again." in wrong.text
    assert find_form(wrong.text, "username", "password")["fields"]["username"] == "alice"
    for _ in range(9):
        assert start_login(b, password="nope").status_code == 200
    locked = start_login(b)  # even the right password, now
    assert locked.status_code == 200
    assert (
        "There have been too many unsuccessful login attempts. You have been locked out for "
        "5 minutes. Please try again later." in locked.text
    )
    clock.advance(301)
    assert start_login(b).status_code == 303


def test_login_form_field_errors(wh: FakeWarehouse) -> None:
    b = Browser(wh)
    assert "No user found with that username" in start_login(b, user="mallory").text
    assert "Usernames are not the same as email addresses" in start_login(b, user="a@b.c").text
    assert "This field is required." in start_login(b, password="").text


def test_account_without_2fa_logs_in_but_cannot_manage(wh: FakeWarehouse) -> None:
    b = Browser(wh)
    resp = start_login(b, user="carol")
    assert (resp.status_code, resp.headers["Location"]) == (303, "/manage/projects/")
    assert wh.session_user(b.session_id or "") == "carol"
    page = b.get("/manage/project/carols-pkg/release/1.0/")
    assert page.status_code == 303
    target = urlsplit(page.headers["Location"])
    assert target.path == "/manage/account/two-factor/"
    assert parse_qs(target.query)["next"] == ["/manage/project/carols-pkg/release/1.0/"]
    assert b.flash() == [("danger", NEEDS_2FA)]
    assert b.get("/manage/projects/").status_code == 303
    assert b.get("/manage/account/two-factor/").status_code == 200


def test_next_is_followed_after_login(wh: FakeWarehouse) -> None:
    b = Browser(wh)
    page = b.get("/account/login/?next=/manage/projects/%3Fa%3D1")
    form = find_form(page.text, "username", "password")
    assert form["fields"]["next"] == "/manage/projects/?a=1"
    assert form["action"] == "/account/login/?next=/manage/projects/%3Fa%3D1"
    resp = b.post(form["action"], {**form["fields"], "username": "carol", "password": PASSWORD})
    assert resp.headers["Location"] == "/manage/projects/?a=1"
    other = Browser(wh)
    page = other.get("/account/login/?next=https://evil.example/")
    resp = other.submit(
        "/account/login/", page.text, ("username",), {"username": "carol", "password": PASSWORD}
    )
    assert resp.headers["Location"] == "/manage/projects/"


# ---------------------------------------------------------------------- TOTP
def test_totp_accepts_one_step_either_side_and_never_twice(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    b = Browser(wh)
    resp = start_login(b)
    url = resp.headers["Location"]
    page = b.get(url)
    form = find_form(page.text, "totp_value", "csrf_token")
    assert form["action"] == url  # posts back to the exact URL, query string included
    assert "remember_device" in form["fields"]
    far = b.submit(url, page.text, ("totp_value",), {"totp_value": code_at(clock, 90)})
    assert far.status_code == 200 and "Invalid TOTP code." in far.text
    short = b.submit(url, page.text, ("totp_value",), {"totp_value": "12345"})
    assert "TOTP code must be 6 digits." in short.text
    spaced = code_at(clock, -30)
    ok = b.submit(url, page.text, ("totp_value",), {"totp_value": f"{spaced[:3]} {spaced[3:]}"})
    assert ok.status_code == 303
    # The same code, in the same window, on a new login: refused as a replay.
    other = Browser(wh)
    second = start_login(other)
    page2 = other.get(second.headers["Location"])
    replay = other.submit(
        second.headers["Location"], page2.text, ("totp_value",), {"totp_value": spaced}
    )
    assert replay.status_code == 200 and "Invalid TOTP code." in replay.text
    fresh = other.submit(
        second.headers["Location"], page2.text, ("totp_value",), {"totp_value": code_at(clock, 30)}
    )
    assert fresh.status_code == 303


def test_totp_failures_end_in_429_with_retry_after(wh: FakeWarehouse, clock: FakeClock) -> None:
    b = Browser(wh)
    url = start_login(b).headers["Location"]
    page = b.get(url)
    bad = "000000" if code_at(clock) != "000000" else "111111"
    for _ in range(5):
        resp = b.submit(url, page.text, ("totp_value",), {"totp_value": bad})
        assert resp.status_code == 200
    limited = b.submit(url, page.text, ("totp_value",), {"totp_value": code_at(clock)})
    assert (limited.status_code, limited.reason) == (429, "Too Many Failed Login Attempts")
    assert 0 < int(limited.headers["Retry-After"]) <= 300
    assert "You have been locked out for" in limited.text
    assert wh.session_user(b.session_id or "") is None


def test_two_factor_token_is_valid_for_300_seconds(wh: FakeWarehouse, clock: FakeClock) -> None:
    b = Browser(wh)
    url = start_login(b).headers["Location"]
    clock.advance(301)
    resp = b.get(url)
    assert (resp.status_code, resp.headers["Location"]) == (303, "/account/login/")
    assert b.flash() == [("danger", "Invalid or expired two factor login.")]
    tampered = b.get(url[:-3] + "abc")
    assert tampered.headers["Location"] == "/account/login/"


def test_remember_device_cookie_skips_2fa_and_the_device_check(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    b = Browser(wh)
    resp = login(b, clock, remember=True)
    assert resp.status_code == 303
    cookie = next(c for c in b.s.cookies if c.name == "remember_device")
    assert cookie.path == "/account/login/"
    header = next(h for h in resp.raw.headers.getlist("Set-Cookie") if "remember_device=" in h)
    assert "Max-Age=2592000;" in header and "Path=/account/login/;" in header  # 30 days
    wh.set_known_ip("alice", False)
    clock.advance(60)
    fresh = Browser(wh)
    fresh.s.cookies.set("remember_device", cookie.value or "", path="/account/login/")
    direct = start_login(fresh)
    assert (direct.status_code, direct.headers["Location"]) == (303, "/manage/projects/")
    assert wh.session_user(fresh.session_id or "") == "alice"
    assert not [e for e in wh.emails if e["kind"] == "unrecognized-login"]
    assert fresh.get(RELEASE).status_code == 200


def test_expired_or_foreign_remember_cookie_is_ignored(wh: FakeWarehouse, clock: FakeClock) -> None:
    short = wh.issue_remember_device("alice", days=1)
    bobs = wh.issue_remember_device("bob")
    with FakeWarehouse(clock=clock.time) as other_site:
        other_site.add_user("alice", PASSWORD, totp_secret=SECRET)
        foreign = other_site.issue_remember_device("alice")
    clock.advance(2 * DAY)
    for value in (short, bobs, foreign):
        b = Browser(wh)
        b.s.cookies.set("remember_device", value, path="/account/login/")
        assert start_login(b).headers["Location"].startswith("/account/two-factor/?")
    good = Browser(wh)
    good.s.cookies.set("remember_device", wh.issue_remember_device("alice"), path="/account/login/")
    assert start_login(good).headers["Location"] == "/manage/projects/"


def test_unknown_ip_gets_confirm_login_and_an_email(wh: FakeWarehouse, clock: FakeClock) -> None:
    wh.set_known_ip("alice", False)
    b = Browser(wh)
    resp = login(b, clock)
    assert (resp.status_code, resp.headers["Location"]) == (303, "/account/confirm-login/")
    assert wh.session_user(b.session_id or "") is None
    assert b.get(RELEASE).status_code == 303  # not logged in: sent to the login page
    page = b.get("/account/confirm-login/")
    assert "Unrecognized login to your PyPI account" in page.text
    mails = [e for e in wh.emails if e["kind"] == "unrecognized-login"]
    assert len(mails) == 1
    assert mails[0]["to"] == "alice"
    assert mails[0]["subject"] == "[PyPI] Unrecognized login to your PyPI account"
    clock.advance(31)
    assert login(Browser(wh), clock).headers["Location"] == "/account/confirm-login/"
    assert len([e for e in wh.emails if e["kind"] == "unrecognized-login"]) == 1  # 15 min window
    confirmed = b.get(mails[0]["confirm_url"])
    assert (confirmed.status_code, confirmed.headers["Location"]) == (303, "/manage/projects/")
    assert wh.session_user(b.session_id or "") == "alice"
    assert b.get(RELEASE).status_code == 200
    assert (
        "success",
        "Your login has been confirmed and this device is now recognized.",
    ) in b.flash()
    bad = Browser(wh).get("/account/confirm-login/?token=forged.token")
    assert bad.headers["Location"] == "/account/login/"


def test_webauthn_only_account_has_no_totp_form(wh: FakeWarehouse) -> None:
    wh.add_user("dave", PASSWORD, webauthn_only=True)
    b = Browser(wh)
    resp = start_login(b, user="dave")
    page = b.get(resp.headers["Location"])
    assert page.status_code == 200
    assert not any("totp_value" in f["fields"] for f in forms(page.text))
    assert 'id="webauthn-auth-form"' in page.text
    token = find_form(b.get("/account/login/").text, "username")["fields"]["csrf_token"]
    refused = b.post(resp.headers["Location"], {"csrf_token": token, "totp_value": "123456"})
    assert refused.status_code == 500  # warehouse: KeyError 'totp_form'
    assert wh.session_user(b.session_id or "") is None


def test_recovery_codes_work_once(wh: FakeWarehouse) -> None:
    b = Browser(wh)
    url = start_login(b).headers["Location"]
    page = b.get(url)
    link = "/account/recovery-code/?" + urlsplit(url).query
    assert f'href="{link}"' in page.text
    rec = b.get(link)
    ok = b.submit(
        link, rec.text, ("recovery_code_value",), {"recovery_code_value": "0123 4567 89ab cdef"}
    )
    assert (ok.status_code, ok.headers["Location"]) == (303, "/")
    assert (
        "success",
        "Recovery code accepted. The supplied code cannot be used again.",
    ) in b.flash()
    assert [e["kind"] for e in wh.emails] == ["recovery-code-used"]
    other = Browser(wh)
    url2 = start_login(other).headers["Location"]
    link2 = "/account/recovery-code/?" + urlsplit(url2).query
    page2 = other.get(link2).text
    used = other.submit(
        link2, page2, ("recovery_code_value",), {"recovery_code_value": "0123456789abcdef"}
    )
    assert "Recovery code has been previously used." in used.text
    wrong = other.submit(
        link2, page2, ("recovery_code_value",), {"recovery_code_value": "ffffffffffffffff"}
    )
    assert "Invalid recovery code." in wrong.text
    short = other.submit(link2, page2, ("recovery_code_value",), {"recovery_code_value": "abc"})
    assert "Recovery Codes must be 16 characters." in short.text


# ---------------------------------------------------------------------- re-authentication
def test_stale_session_gets_the_password_page_and_nothing_happens(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    b = logged_in(wh, clock)
    release = b.get(RELEASE)
    yank_form = find_form(release.text, "confirm_yank_version")
    clock.advance(30 * 60)
    page = b.get(RELEASE)
    assert page.status_code == 200
    form = find_form(page.text, "password", "next_route")
    assert form["action"] == "/account/reauthenticate/"
    fields = form["fields"]
    assert set(fields) >= {
        "csrf_token",
        "password",
        "next_route",
        "next_route_matchdict",
        "next_route_query",
    }
    assert fields["next_route"] == "manage.project.release"
    assert json.loads(fields["next_route_matchdict"]) == {
        "project_name": "demo-pkg",
        "version": "0.2.0",
    }
    assert json.loads(fields["next_route_query"]) == {}
    blocked = b.post(RELEASE, {**yank_form["fields"], "confirm_yank_version": "0.2.0"})
    assert blocked.status_code == 200 and find_form(blocked.text, "password", "next_route")
    assert not wh.release_state("demo-pkg", "0.2.0")["yanked"]
    wrong = b.post(form["action"], {**fields, "password": "nope"})
    assert (wrong.status_code, wrong.headers["Location"]) == (303, RELEASE)
    assert find_form(b.get(RELEASE).text, "password", "next_route")  # still asks
    right = b.post(form["action"], {**fields, "password": PASSWORD})
    assert (right.status_code, right.headers["Location"]) == (303, RELEASE)
    assert find_form(b.get(RELEASE).text, "confirm_yank_version")
    broken = b.post(form["action"], {**fields, "next_route": "no.such.route"})
    assert broken.status_code == 400
    releases = "/manage/project/demo-pkg/releases/"
    clock.advance(30 * 60)
    assert find_form(b.get(releases).text, "next_route")["fields"]["next_route"] == (
        "manage.project.releases"
    )


# ---------------------------------------------------------------------- roles
def test_owner_maintainer_outsider_and_anonymous(wh: FakeWarehouse, clock: FakeClock) -> None:
    anon = Browser(wh)
    resp = anon.get(RELEASE)
    assert resp.status_code == 303
    assert resp.headers["Location"] == (
        f"{wh.url}/account/login/?next=%2Fmanage%2Fproject%2Fdemo-pkg%2Frelease%2F0.2.0%2F"
    )
    assert (
        anon.post(RELEASE, {"csrf_token": "x", "confirm_yank_version": "0.2.0"}).status_code == 400
    )
    assert anon.get("/manage/project/nope/release/1.0/").status_code == 404
    assert anon.get("/manage/project/demo-pkg/release/9.9/").status_code == 404
    owner = logged_in(wh, clock)
    token = find_form(owner.get(RELEASE).text, "confirm_yank_version")["fields"]["csrf_token"]
    clock.advance(30)  # a new TOTP step for bob
    bob = logged_in(wh, clock, "bob")
    assert bob.get(RELEASE).status_code == 403
    bob_token = find_form(bob.get("/account/logout/").text, "csrf_token")["fields"]["csrf_token"]
    assert (
        bob.post(RELEASE, {"csrf_token": bob_token, "confirm_yank_version": "0.2.0"}).status_code
        == 403
    )
    assert bob.get("/manage/project/demo-pkg/releases/").status_code == 200
    assert bob.get("/manage/project/carols-pkg/release/1.0/").status_code == 403
    assert not wh.release_state("demo-pkg", "0.2.0")["yanked"]
    nothing = owner.post(RELEASE, {"csrf_token": token, "unknown_field": "1"})
    assert nothing.status_code == 404  # no action field: no view matches
    # canonical version and normalised name in the URL reach the same release
    assert owner.get("/manage/project/Demo_Pkg/release/0.2/").status_code == 200


# ---------------------------------------------------------------------- release actions
def test_yank_unyank_and_delete_release(wh: FakeWarehouse, clock: FakeClock) -> None:
    b = logged_in(wh, clock)
    serial = b.get("/pypi/demo-pkg/json").json()["last_serial"]
    page = b.get(RELEASE).text
    names = ("confirm_yank_version",)
    assert "yanked_reason" in find_form(page, *names)["fields"]
    empty = b.submit(RELEASE, page, names, {"confirm_yank_version": ""})
    assert empty.headers["Location"] == RELEASE
    assert b.flash() == [("danger", "Confirm the request")]
    loose = b.submit(RELEASE, page, names, {"confirm_yank_version": "0.2"})
    assert loose.headers["Location"] == RELEASE
    assert b.flash() == [("danger", "Could not yank release - '0.2' is not the same as '0.2.0'")]
    ok = b.submit(
        RELEASE,
        page,
        names,
        {"confirm_yank_version": "0.2.0", "yanked_reason": "bad build, see #12"},
    )
    assert (ok.status_code, ok.headers["Location"]) == (303, "/manage/project/demo-pkg/releases/")
    assert b.flash() == [("success", "Yanked release '0.2.0'")]
    assert b.flash() == []  # read once
    state = wh.release_state("demo-pkg", "0.2.0")
    assert state["yanked"] and state["yanked_reason"] == "bad build, see #12"
    info = b.get("/pypi/demo-pkg/0.2.0/json").json()
    assert info["info"]["yanked"] is True and info["info"]["yanked_reason"] == "bad build, see #12"
    assert info["last_serial"] > serial  # the serial is global: the journal's newest entry
    assert b.get("/pypi/demo-pkg/json").json()["info"]["version"] == "0.1.0"
    yank_mails = [
        (e["to"], e["subject"]) for e in wh.emails if e["kind"] == "yanked-project-release"
    ]
    assert yank_mails == [
        ("alice", "[PyPI] A release for demo-pkg has been yanked."),
        ("bob", "[PyPI] A release for demo-pkg has been yanked."),
    ]
    # The release page of a yanked release has no yank form; un-yank lives on the list.
    yanked_page = b.get(RELEASE).text
    assert not any("confirm_yank_version" in f["fields"] for f in forms(yanked_page))
    listing = b.get("/manage/project/demo-pkg/releases/").text
    unyank = find_form(listing, "confirm_unyank_version")
    assert unyank["action"] == RELEASE
    back = b.submit(
        "/manage/project/demo-pkg/releases/",
        listing,
        ("confirm_unyank_version",),
        {"confirm_unyank_version": "0.2.0"},
    )
    assert back.headers["Location"] == "/manage/project/demo-pkg/releases/"
    assert b.flash() == [("success", "Un-yanked release '0.2.0'")]
    assert not wh.release_state("demo-pkg", "0.2.0")["yanked"]
    page = b.get(RELEASE).text
    gone = b.submit(RELEASE, page, ("confirm_delete_version",), {"confirm_delete_version": "0.2.0"})
    assert gone.headers["Location"] == "/manage/project/demo-pkg/releases/"
    assert b.flash() == [("success", "Deleted release '0.2.0'")]
    assert wh.release_state("demo-pkg", "0.2.0")["deleted"]
    assert b.get("/pypi/demo-pkg/0.2.0/json").status_code == 404
    assert "0.2.0" not in b.get("/pypi/demo-pkg/json").json()["releases"]
    assert b.get(RELEASE).status_code == 404
    assert wh.journal == [
        ("demo-pkg", "0.2.0", "yank release", "alice"),
        ("demo-pkg", "0.2.0", "unyank release", "alice"),
        ("demo-pkg", "0.2.0", "remove release", "alice"),
    ]


@pytest.mark.parametrize("host_name", ["pypi", "testpypi"])
def test_delete_file_forms_carry_one_uuid_each(clock: FakeClock, host_name: str) -> None:
    with FakeWarehouse(clock=clock.time, host_name=host_name) as fake:
        fake.add_user("alice", PASSWORD, totp_secret=SECRET)
        fake.add_project("demo-pkg", "alice")
        files = {"demo_pkg-0.2.0.tar.gz": b"s", "demo_pkg-0.2.0-py3-none-any.whl": b"w"}
        fake.add_release("demo-pkg", "0.2.0", files)
        b = logged_in(fake, clock)
        page = b.get(RELEASE).text
        file_forms = [f for f in forms(page) if "file_id" in f["fields"]]
        assert len(file_forms) == 2
        ids = {f["fields"]["file_id"] for f in file_forms}
        assert ids == set(fake.file_ids("demo-pkg", "0.2.0").values())
        for f in file_forms:
            assert {"csrf_token", "confirm_project_name"} <= set(f["fields"])
            assert f["action"] == RELEASE
        if host_name == "testpypi":
            assert 'class="tw-file-list"' in page and "<table" not in page
            assert '<input value="' in page and 'type="hidden" name="csrf_token" />' in page
        else:
            assert '<table class="table table--files">' in page
            assert '<input name="csrf_token" type="hidden" value="' in page
        wheel_id = fake.file_ids("demo-pkg", "0.2.0")["demo_pkg-0.2.0-py3-none-any.whl"]
        names = ("file_id", "confirm_project_name")
        case = b.submit(
            RELEASE, page, names, {"file_id": wheel_id, "confirm_project_name": "Demo-Pkg"}
        )
        assert case.headers["Location"] == RELEASE
        assert b.flash() == [
            ("danger", "Could not delete file - 'Demo-Pkg' is not the same as 'demo-pkg'")
        ]
        missing = b.submit(
            RELEASE, page, names, {"file_id": "0" * 32, "confirm_project_name": "demo-pkg"}
        )
        assert missing.headers["Location"] == RELEASE
        assert b.flash() == [("danger", "Could not find file")]
        ok = b.submit(
            RELEASE, page, names, {"file_id": wheel_id, "confirm_project_name": "demo-pkg"}
        )
        assert (ok.status_code, ok.headers["Location"]) == (303, RELEASE)
        assert b.flash() == [("success", "Deleted file 'demo_pkg-0.2.0-py3-none-any.whl'")]
        assert fake.release_state("demo-pkg", "0.2.0")["files"] == ["demo_pkg-0.2.0.tar.gz"]
        assert [e["kind"] for e in fake.emails][-1] == "removed-project-release-file"
        assert fake.emails[-1]["subject"].startswith(
            f"[{fake.site_name}] File deleted for demo-pkg"
        )
        assert fake.journal[-1] == (
            "demo-pkg",
            "0.2.0",
            "remove file demo_pkg-0.2.0-py3-none-any.whl",
            "alice",
        )


def test_flash_endpoint_returns_then_clears_messages(wh: FakeWarehouse, clock: FakeClock) -> None:
    assert Browser(wh).get("/_includes/unauthed/flash-messages/").text == ""
    b = logged_in(wh, clock)
    page = b.get(RELEASE).text
    b.submit(RELEASE, page, ("confirm_yank_version",), {"confirm_yank_version": ""})
    b.submit(RELEASE, page, ("confirm_delete_version",), {"confirm_delete_version": "x"})
    raw = b.get("/_includes/unauthed/flash-messages/").text
    assert raw.count("notification-bar--danger") == 2
    assert "&#39;x&#39; is not the same as &#39;0.2.0&#39;" in raw
    assert b.get("/_includes/unauthed/flash-messages/").text == ""


def test_quarantine_and_deletion_disabled(wh: FakeWarehouse, clock: FakeClock) -> None:
    b = logged_in(wh, clock)
    page = b.get(RELEASE).text
    wh.deletion_disabled.add("demo-pkg")
    b.submit(RELEASE, page, ("confirm_delete_version",), {"confirm_delete_version": "0.2.0"})
    assert b.flash() == [("danger", DELETION_DISABLED)]
    wheel_id = wh.file_ids("demo-pkg", "0.2.0")["demo_pkg-0.2.0-py3-none-any.whl"]
    b.submit(RELEASE, page, ("file_id",), {"file_id": wheel_id, "confirm_project_name": "demo-pkg"})
    assert b.flash() == [("danger", DELETION_DISABLED)]
    assert len(wh.release_state("demo-pkg", "0.2.0")["files"]) == 2
    wh.quarantine.add("Demo_Pkg")
    held = b.submit(RELEASE, page, ("confirm_yank_version",), {"confirm_yank_version": "0.2.0"})
    assert held.headers["Location"] == RELEASE
    assert b.flash() == [("danger", QUARANTINED)]
    quarantined_page = b.get(RELEASE).text
    assert "This release has been quarantined." in quarantined_page
    assert [f for f in forms(quarantined_page) if "confirm_yank_version" in f["fields"]] == []
    assert b.get("/pypi/demo-pkg/json").status_code == 404
    simple = b.get("/simple/demo-pkg/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert simple.json()["project-status"] == {"status": "quarantined"}
    assert simple.json()["files"] == []
    assert wh.journal == []


# ---------------------------------------------------------------------- read APIs
def test_json_api_fields_headers_and_serials(wh: FakeWarehouse) -> None:
    b = Browser(wh)
    resp = b.get("/pypi/demo-pkg/json")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "max-age=900, public"
    data = resp.json()
    assert int(resp.headers["X-PyPI-Last-Serial"]) == data["last_serial"] > 0
    assert data["info"]["version"] == "0.2.0" and data["info"]["yanked"] is False
    assert data["info"]["yanked_reason"] is None
    assert sorted(data["releases"]) == ["0.1.0", "0.2.0"]
    file = data["urls"][0]
    assert set(file) >= {
        "filename", "packagetype", "python_version", "digests", "size",
        "upload_time_iso_8601", "url", "requires_python", "yanked", "yanked_reason",
    }  # fmt: skip
    assert file["upload_time_iso_8601"].endswith("Z")
    content = requests.get(file["url"], timeout=10).content
    assert hashlib.sha256(content).hexdigest() == file["digests"]["sha256"]
    assert len(content) == file["size"]
    assert file["packagetype"] in ("sdist", "bdist_wheel")
    one = b.get("/pypi/demo-pkg/0.1.0/json")
    assert "releases" not in one.json() and one.json()["info"]["version"] == "0.1.0"
    assert b.get("/pypi/nope/json").status_code == 404
    assert b.get("/pypi/nope/json").json() == {"message": "Not Found"}
    moved = b.get("/pypi/Demo_Pkg/json")
    assert (moved.status_code, moved.headers["Location"]) == (301, "/pypi/demo-pkg/json")


def test_simple_api_html_and_json(wh: FakeWarehouse) -> None:
    b = Browser(wh)
    wh.add_release("demo-pkg", "0.3.0", {"demo_pkg-0.3.0.tar.gz": b"three"})
    moved = b.get("/simple/Demo_Pkg/")
    assert (moved.status_code, moved.headers["Location"]) == (301, "/simple/demo-pkg/")
    accept = {"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.01"}
    js = b.get("/simple/demo-pkg/", headers=accept)
    assert js.headers["Content-Type"].startswith("application/vnd.pypi.simple.v1+json")
    assert js.headers["Cache-Control"] == "max-age=600, public"
    data = js.json()
    assert data["meta"]["api-version"] == "1.4"
    assert data["versions"] == ["0.1.0", "0.2.0", "0.3.0"]
    assert {f["yanked"] for f in data["files"]} == {False}
    assert all(len(f["hashes"]["sha256"]) == 64 for f in data["files"])
    html = b.get("/simple/demo-pkg/")
    assert html.headers["Content-Type"].startswith("text/html")
    assert html.text.count("#sha256=") == 5
    assert "data-yanked" not in html.text
    assert b.get("/simple/nope/").status_code == 404
    index = b.get("/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    assert [p["name"] for p in index["projects"]] == ["carols-pkg", "demo-pkg"]
    assert 'href="/simple/demo-pkg/"' in b.get("/simple/").text


def test_stale_reads_show_the_state_before_the_last_change(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    b = logged_in(wh, clock)
    before = b.get("/pypi/demo-pkg/json").json()["last_serial"]
    page = b.get(RELEASE).text
    b.submit(
        RELEASE,
        page,
        ("confirm_yank_version",),
        {"confirm_yank_version": "0.2.0", "yanked_reason": "r"},
    )
    wh.stale_reads = 2
    accept = {"Accept": "application/vnd.pypi.simple.v1+json"}
    stale_json = b.get("/pypi/demo-pkg/0.2.0/json").json()
    stale_simple = b.get("/simple/demo-pkg/", headers=accept).json()
    assert stale_json["info"]["yanked"] is False and stale_json["last_serial"] == before
    assert {f["yanked"] for f in stale_simple["files"]} == {False}
    fresh = b.get("/pypi/demo-pkg/0.2.0/json")
    assert fresh.json()["info"]["yanked"] is True
    assert int(fresh.headers["X-PyPI-Last-Serial"]) == fresh.json()["last_serial"] > before
    yanked = [f["yanked"] for f in b.get("/simple/demo-pkg/", headers=accept).json()["files"]]
    assert sorted(map(str, yanked)) == ["False", "False", "r", "r"]
    assert 'data-yanked="r"' in b.get("/simple/demo-pkg/").text
    assert wh.stale_reads == 0


# ---------------------------------------------------------------------- faults and the log
def test_faults_and_request_log(wh: FakeWarehouse) -> None:
    b = Browser(wh)
    wh.fail("GET", r"^/pypi/", 503, times=1, headers={"Retry-After": "7"})
    first = b.get("/pypi/demo-pkg/json")
    assert (first.status_code, first.headers["Retry-After"]) == (503, "7")
    assert b.get("/pypi/demo-pkg/json").status_code == 200
    wh.fail("*", r"flash", 500, times=None, body="boom")
    assert b.get("/_includes/unauthed/flash-messages/").text == "boom"
    assert b.get("/_includes/unauthed/flash-messages/").status_code == 500
    assert wh.requests[:2] == [
        ("GET", "/pypi/demo-pkg/json", 503),
        ("GET", "/pypi/demo-pkg/json", 200),
    ]
    assert wh.count("GET", "/pypi/") == 2 and wh.count(path_prefix="/_includes/") == 2
    wh.clear_log()
    assert wh.requests == [] and wh.count() == 0
    wh.latency_s = 0.05
    assert b.get("/").status_code == 200
    assert b.get("/no/such/page").status_code == 404


# ---------------------------------------------------------------------- upload (forklift)
def _upload(
    fake: FakeWarehouse, token: str, filename: str, content: bytes, **fields: str
) -> requests.Response:
    name, version = fields.pop("name", "demo-pkg"), fields.pop("version", "0.3.0")
    data = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel" if filename.endswith(".whl") else "sdist",
        "pyversion": "py3" if filename.endswith(".whl") else "source",
        "metadata_version": "2.4",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
        **fields,
    }
    auth = base64.b64encode(f"__token__:{token}".encode()).decode()
    return requests.post(
        fake.url + "/legacy/",
        data=data,
        files={"content": (filename, content, "application/octet-stream")},
        headers={"Authorization": f"Basic {auth}"},
        timeout=10,
    )


def test_upload_rules(wh: FakeWarehouse, clock: FakeClock) -> None:
    wh.add_upload_token("demo-pkg", "pypi-scoped")
    wh.add_upload_token(None, "pypi-carol", username="carol")
    ok = _upload(wh, "pypi-scoped", "demo_pkg-0.3.0.tar.gz", b"new")
    assert ok.status_code == 200
    assert wh.release_state("demo-pkg", "0.3.0")["files"] == ["demo_pkg-0.3.0.tar.gz"]
    assert wh.journal[-1] == ("demo-pkg", "0.3.0", "add source file demo_pkg-0.3.0.tar.gz", "")
    assert (
        _upload(wh, "pypi-scoped", "demo_pkg-0.3.0.tar.gz", b"new").status_code == 200
    )  # same file
    clash = _upload(wh, "pypi-scoped", "demo_pkg-0.3.0.tar.gz", b"other")
    assert clash.status_code == 400 and clash.reason.startswith("File already exists ('demo_pkg")
    second_sdist = _upload(wh, "pypi-scoped", "demo_pkg-0.3.0.zip", b"zip")
    assert second_sdist.reason == "Only one sdist may be uploaded per release."
    elsewhere = _upload(
        wh, "pypi-scoped", "carols_pkg-2.0.tar.gz", b"x", name="carols-pkg", version="2.0"
    )
    assert (elsewhere.status_code, elsewhere.reason) == (
        403,
        "Invalid API Token: project-scoped token is not valid for project: 'carols-pkg'",
    )
    no_2fa = _upload(
        wh, "pypi-carol", "carols_pkg-2.0.tar.gz", b"x", name="carols-pkg", version="2.0"
    )
    assert no_2fa.status_code == 403 and "does not have two-factor authentication" in no_2fa.reason
    assert _upload(wh, "pypi-unknown", "demo_pkg-0.4.tar.gz", b"y").status_code == 403
    digest = _upload(
        wh, "pypi-scoped", "demo_pkg-0.3.0-py3-none-any.whl", b"w", sha256_digest="0" * 64
    )
    assert (
        digest.reason
        == "The digest supplied does not match a digest calculated from the uploaded file."
    )
    mismatch = _upload(wh, "pypi-scoped", "demo_pkg-0.4.0-py3-none-any.whl", b"v")
    assert mismatch.reason == "Version in filename should be '0.3.0' not '0.4.0'."
    wh.add_release(
        "demo-pkg", "0.0.1", {"demo_pkg-0.0.1.tar.gz": b"old"}, uploaded_at=clock.time() - 15 * DAY
    )
    old = _upload(wh, "pypi-scoped", "demo_pkg-0.0.1-py3-none-any.whl", b"late", version="0.0.1")
    assert old.reason == "Uploading new files to releases older than 14 days is not allowed."
    password = requests.post(
        wh.url + "/legacy/", data={"name": "demo-pkg"}, auth=("alice", PASSWORD), timeout=10
    )
    assert password.status_code == 403 and password.reason.startswith(
        "Username/Password authentication is no longer supported."
    )
    anonymous = requests.post(wh.url + "/legacy/", data={"name": "x"}, timeout=10)
    assert anonymous.reason.startswith("Invalid or non-existent authentication information.")
    slash = requests.post(wh.url + "/legacy", allow_redirects=False, timeout=10)
    assert (slash.status_code, slash.headers["Location"]) == (308, "/legacy/")


# ---------------------------------------------------------------------- real twine and pip
PKG = "whfake-demo"


def _twine(
    fake: FakeWarehouse, token: str, files: list[Path], home: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "PIP_"))}
    env.update(
        HOME=str(home), TWINE_PASSWORD=token, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring"
    )
    cmd = [
        str(Path(sys.executable).parent / "twine"),
        "upload",
        "--repository-url",
        f"{fake.url}/legacy/",
    ]
    cmd += ["-u", "__token__", "--non-interactive", "--disable-progress-bar", *map(str, files)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def built(dist_factory: Any) -> dict[str, list[Path]]:
    return dict(dist_factory.many(PKG, ["0.1.0", "0.2.0"]))


def test_twine_uploads_and_a_deleted_filename_never_comes_back(
    wh: FakeWarehouse, clock: FakeClock, built: dict[str, list[Path]], tmp_path: Path
) -> None:
    wh.add_upload_token(None, "pypi-alice", username="alice")
    files = built["0.1.0"] + built["0.2.0"]
    done = _twine(wh, "pypi-alice", files, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    data = requests.get(f"{wh.url}/pypi/{PKG}/json", timeout=10).json()
    assert sorted(data["releases"]) == ["0.1.0", "0.2.0"]
    by_name = {f["filename"]: f for v in data["releases"].values() for f in v}
    for dist in files:
        assert (
            by_name[dist.name]["digests"]["sha256"] == hashlib.sha256(dist.read_bytes()).hexdigest()
        )
    assert data["info"]["requires_python"] == ">=3.8"
    assert [r[2] for r in wh.requests if r[0] == "POST"] == [200] * 4
    wheel = next(p for p in built["0.2.0"] if p.suffix == ".whl")
    b = logged_in(wh, clock)
    path = f"/manage/project/{PKG}/release/0.2.0/"
    file_id = wh.file_ids(PKG, "0.2.0")[wheel.name]
    b.submit(
        path, b.get(path).text, ("file_id",), {"file_id": file_id, "confirm_project_name": PKG}
    )
    assert b.flash() == [("success", f"Deleted file '{wheel.name}'")]
    again = _twine(wh, "pypi-alice", [wheel], tmp_path)
    assert again.returncode != 0
    said = " ".join((again.stdout + again.stderr).split())
    assert "HTTPError: 400 Bad Request from" in said
    assert "This filename was previously used by a file that has since been deleted" in said


def _pip(fake: FakeWarehouse, requirement: str, env_dir: Path) -> tuple[str, str]:
    """Install REQUIREMENT from the fake alone into a fresh venv; (version installed, stderr)."""
    venv.EnvBuilder(with_pip=False, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps"]
    cmd += ["--no-cache-dir", "--disable-pip-version-check", "--index-url", f"{fake.url}/simple/"]
    proc = subprocess.run(
        [*cmd, requirement], capture_output=True, text=True, timeout=180, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    metas = list(env_dir.glob(f"lib/python*/site-packages/{PKG.replace('-', '_')}-*.dist-info"))
    assert len(metas) == 1, metas
    return metas[0].name.split("-")[1].removesuffix(".dist"), proc.stderr


@pytest.mark.slow
def test_real_pip_honours_a_yank(
    wh: FakeWarehouse, clock: FakeClock, built: dict[str, list[Path]], tmp_path: Path
) -> None:
    wh.add_project(PKG, "alice")
    for version, paths in built.items():
        wh.add_release(
            PKG, version, {p.name: p.read_bytes() for p in paths}, requires_python=">=3.8"
        )
    b = logged_in(wh, clock)
    path = f"/manage/project/{PKG}/release/0.2.0/"
    b.submit(
        path,
        b.get(path).text,
        ("confirm_yank_version",),
        {"confirm_yank_version": "0.2.0", "yanked_reason": "broken import, see issue 7"},
    )
    assert wh.release_state(PKG, "0.2.0")["yanked"]
    version, _ = _pip(wh, PKG, tmp_path / "unpinned")
    assert version == "0.1.0"
    version, stderr = _pip(wh, f"{PKG}==0.2.0", tmp_path / "pinned")
    assert version == "0.2.0"
    assert "yanked version" in stderr and "broken import, see issue 7" in stderr
    assert any((ua or "").startswith("pip/") for ua in wh.user_agents)


# ---------------------------------------------------------------------- pypi-cleanup
CLEANUP = shutil.which("pypi-cleanup", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(CLEANUP is None, reason="pypi-cleanup is not installed (not a dependency)")
def test_pypi_cleanup_logs_in_through_both_factors(wh: FakeWarehouse, clock: FakeClock) -> None:
    env = dict(os.environ, PYPI_CLEANUP_PASSWORD=PASSWORD)
    cmd = [str(CLEANUP), "-u", "alice", "-p", "demo-pkg", "-t", wh.url, "-r", r"^0\.2\.0$", "-y"]
    proc = subprocess.run(
        cmd,
        input=code_at(clock) + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Would be deleting 'demo-pkg' version 0.2.0" in proc.stderr
    assert wh.logged_in_users() == ["alice"]
    posts = [
        (path.split("?")[0], status) for method, path, status in wh.requests if method == "POST"
    ]
    assert posts == [("/account/login/", 303), ("/account/two-factor/", 303)]
    assert not wh.release_state("demo-pkg", "0.2.0")["deleted"]
