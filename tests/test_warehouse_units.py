"""Unit tests of the warehouse pieces that need no server: HTML forms and flash messages,
credentials from the environment, the remembered-device value and TOTP step handling."""

from __future__ import annotations

import pyotp
import pytest

from unrelease import secrets
from unrelease.errors import BadInput
from unrelease.indexes import html
from unrelease.indexes.warehouse_session import (
    PypiCredentials,
    RememberedDevice,
    totp_code,
)

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class StepClock:
    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


PAGE_A = """
<html><body>
<div class="callout"><form method="POST" action="/manage/project/Pkg/release/1.0/">
  <input name="csrf_token" type="hidden" value="tok-1">
  <label>Reason</label><input name="yanked_reason" id="yanked_reason" type="text">
  <input name="confirm_yank_version" type="text">
  <button type="submit">Yank release</button>
</form></div>
<table><tr><td><form method="post">
  <p><strong>Filename:</strong> pkg-1.0.tar.gz</p>
  <input type="hidden" name="csrf_token" value="tok-1"><input name="file_id" type="hidden"
   value="11111111-2222-3333-4444-555555555555">
  <input name="confirm_project_name"><input type="checkbox" data-x="1">
</form></td></tr></table>
</body></html>
"""

PAGE_B = """<main><section><div><div>
<form action="/manage/project/Pkg/release/1.0/" method="post"><input value="tok-2"
 type="hidden" name="csrf_token"/><input type="text" name="confirm_project_name"/><span>
 Filename: pkg-1.0-py3-none-any.whl</span><input value="abc" name="file_id" type="hidden"/>
<textarea name="note">hi</textarea><input type="checkbox" name="agree" checked></form>
</div></div></section></main>"""


def test_forms_are_found_by_field_names_whatever_the_markup() -> None:
    yank = html.find_form(PAGE_A, "confirm_yank_version")
    assert yank is not None
    assert yank.fields["csrf_token"] == "tok-1"
    assert yank.method == "post"
    assert yank.action == "/manage/project/Pkg/release/1.0/"
    file_a = html.find_form(PAGE_A, "file_id")
    assert file_a is not None
    assert "pkg-1.0.tar.gz" in file_a.text.split()
    file_b = html.find_form(PAGE_B, "file_id", "confirm_project_name")
    assert file_b is not None
    assert file_b.fields["file_id"] == "abc"
    assert file_b.fields["note"] == "hi"
    assert file_b.fields["agree"] == "on"  # a checked box without a value sends "on"
    assert "pkg-1.0-py3-none-any.whl" in file_b.text.split()
    assert html.find_form(PAGE_B, "confirm_yank_version") is None


def test_flash_messages_levels_and_text() -> None:
    page = """<div class="notification-bar notification-bar--success" role="status">
      <span class="notification-bar__icon"></span>
      <span class="notification-bar__message">Yanked release '1.0'</span></div>
      <div class="notification-bar--danger notification-bar"><p>x</p>
      <span class="notification-bar__message">Could not find file</span></div>"""
    assert html.flash_messages(page) == [
        ("success", "Yanked release '1.0'"),
        ("danger", "Could not find file"),
    ]
    assert html.flash_messages("<p>nothing</p>") == []
    # warehouse's default queue renders a bar without a level class
    plain = '<div class="notification-bar"><span class="notification-bar__message">Hi</span></div>'
    assert html.flash_messages(plain) == [("info", "Hi")]


def test_page_text_skips_scripts() -> None:
    assert html.page_text("<p>a <b>b</b></p><script>var x=1</script>") == "a b"


def test_credentials_from_env_register_secrets_and_check_shape() -> None:
    env = {
        "PYPI_USERNAME": "alice",
        "PYPI_PASSWORD": "pw-very-secret",
        "PYPI_TOTP_SECRET": "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP",
        "PYPI_REMEMBER_DEVICE": "cookie-value-123",
    }
    creds = PypiCredentials.from_env(env)
    assert creds is not None
    assert creds.totp_secret == SECRET
    assert creds.remember_device == RememberedDevice("cookie-value-123")
    assert "pw-very-secret" not in secrets.redact("x pw-very-secret y")
    assert "cookie-value-123" not in secrets.redact("cookie-value-123")
    assert PypiCredentials.from_env({}) is None
    with pytest.raises(BadInput, match="PYPI_PASSWORD is not set"):
        PypiCredentials.from_env({"PYPI_USERNAME": "alice"})
    with pytest.raises(BadInput, match="PYPI_USERNAME is not set"):
        PypiCredentials.from_env({"PYPI_PASSWORD": "x"})
    with pytest.raises(BadInput, match="API tokens can upload but not yank"):
        PypiCredentials.from_env({"PYPI_USERNAME": "__token__", "PYPI_PASSWORD": "pypi-x"})
    with pytest.raises(BadInput, match="not a base32 TOTP secret") as err:
        PypiCredentials.from_env({**env, "PYPI_TOTP_SECRET": "not base32 !!1"})
    assert "!!1" not in str(err.value)


def test_remembered_device_value_round_trip_and_expiry_warnings() -> None:
    day = 86400.0
    device = RememberedDevice("abc.def", expires=1_800_000_000.0)
    again = RememberedDevice.parse(device.dumps())
    assert again == device
    assert device.expiry_warning(1_800_000_000.0 - 30 * day) is None
    soon = device.expiry_warning(1_800_000_000.0 - 3 * day)
    assert soon is not None
    assert "expires on 2027-01-15" in soon
    assert "in 3 day(s)" in soon
    gone = device.expiry_warning(1_800_000_000.0 + 1)
    assert gone is not None
    assert "expired on" in gone
    assert RememberedDevice("plain").expiry_warning(0) is None
    with pytest.raises(BadInput, match="malformed"):
        RememberedDevice.parse("unrelease-rd1.notdigits.x")
    with pytest.raises(BadInput, match="empty"):
        RememberedDevice.parse("  ")


def test_totp_never_reuses_a_step_and_waits_at_most_one_step() -> None:
    secret = pyotp.random_base32()
    clock = StepClock(1_800_000_010.0)  # 10 s into a step
    first = totp_code(secret, clock)
    assert first == pyotp.TOTP(secret).at(1_800_000_010)
    assert clock.slept == []
    second = totp_code(secret, clock)  # same step: wait for the next one
    assert second != first
    assert len(clock.slept) == 1
    assert 20 <= clock.slept[0] <= 31
    assert second == pyotp.TOTP(secret).at(clock.now)
    clock.now += 60
    totp_code(secret, clock)
    assert len(clock.slept) == 1  # a new step needs no wait
