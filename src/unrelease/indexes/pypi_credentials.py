"""PyPI account credentials for the web session: PYPI_USERNAME/PASSWORD, the TOTP secret and
the remembered-device cookie, each registered as a secret as soon as it is read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from unrelease import secrets
from unrelease.errors import BadInput

REMEMBER_PREFIX = "unrelease-rd1."
MANUAL_HINT = "or do it by hand: --pypi-auth manual prints the link and the text to type"


# --- credentials ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RememberedDevice:
    """The ``remember_device`` cookie, with its expiry when ``unrelease pypi-login`` made it."""

    cookie: str = field(repr=False)
    expires: float | None = None

    @classmethod
    def parse(cls, value: str) -> RememberedDevice:
        value = value.strip()
        if value.startswith(REMEMBER_PREFIX):
            stamp, sep, cookie = value[len(REMEMBER_PREFIX) :].partition(".")
            if sep and stamp.isascii() and stamp.isdigit() and cookie:
                return cls(cookie=cookie, expires=float(stamp))
            raise BadInput(
                "PYPI_REMEMBER_DEVICE is malformed",
                hint="store the value `unrelease pypi-login` printed, unchanged",
            )
        if not value:
            raise BadInput("PYPI_REMEMBER_DEVICE is empty")
        return cls(cookie=value)

    def dumps(self) -> str:
        if self.expires is None:
            return self.cookie
        return f"{REMEMBER_PREFIX}{int(self.expires)}.{self.cookie}"

    def expiry_warning(self, now: float) -> str | None:
        if self.expires is None:
            return None
        left = self.expires - now
        day = datetime.fromtimestamp(self.expires, UTC).date().isoformat()
        if left <= 0:
            return (
                f"PYPI_REMEMBER_DEVICE expired on {day}: PyPI will ask for a TOTP code; "
                "run `unrelease pypi-login` again and store the new value"
            )
        if left <= 7 * 86400:
            return (
                f"PYPI_REMEMBER_DEVICE expires on {day} (in {max(1, int(left // 86400))} "
                "day(s)): run `unrelease pypi-login` and store the new value before then"
            )
        return None


@dataclass(frozen=True)
class PypiCredentials:
    username: str
    password: str = field(repr=False)
    totp_secret: str | None = field(default=None, repr=False)
    remember_device: RememberedDevice | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PypiCredentials | None:
        """PYPI_USERNAME and PYPI_PASSWORD (both, or neither), PYPI_TOTP_SECRET and
        PYPI_REMEMBER_DEVICE. Every value is registered as a secret at once."""
        env = os.environ if env is None else env
        user = env.get("PYPI_USERNAME", "").strip()
        password = env.get("PYPI_PASSWORD", "")
        secret = env.get("PYPI_TOTP_SECRET", "").replace(" ", "") or None
        remember = env.get("PYPI_REMEMBER_DEVICE", "").strip() or None
        for value in (password, secret, remember):
            if value:
                secrets.register(value)
        if not user and not password:
            return None
        if not user or not password:
            missing = "PYPI_PASSWORD" if user else "PYPI_USERNAME"
            raise BadInput(f"{missing} is not set (PyPI credentials need both)")
        if user == "__token__":
            raise BadInput(
                "PYPI_USERNAME is __token__: API tokens can upload but not yank or delete",
                hint="use the account's username and password, " + MANUAL_HINT,
            )
        if secret is not None:
            check_totp_secret(secret)
        device = RememberedDevice.parse(remember) if remember else None
        if device is not None:
            secrets.register(device.cookie)
        return cls(user, password, secret, device)


def check_totp_secret(secret: str) -> None:
    import pyotp

    try:
        pyotp.TOTP(secret).at(0)
    except (ValueError, TypeError):  # binascii.Error is a ValueError
        raise BadInput(
            "PYPI_TOTP_SECRET is not a base32 TOTP secret",
            hint="use the secret PyPI showed when 2FA was set up (32 characters: A-Z, 2-7)",
        ) from None
