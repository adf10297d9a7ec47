"""`unrelease pypi-login`: the one interactive command."""

from __future__ import annotations

import sys

import click

from unrelease.cli import echo, handle_errors, main
from unrelease.errors import BadInput, WaitingOnPerson


@main.command("pypi-login")
@click.option("--index", "index", default="pypi", show_default=True, help="pypi or testpypi.")
@click.option("--username", envvar="PYPI_USERNAME", prompt="PyPI username")
@handle_errors
def pypi_login(index: str, username: str) -> None:
    """Log in to PyPI once, interactively, and print a remembered-device value to store as the
    PYPI_REMEMBER_DEVICE secret: with it and the password, a rollback logs in without a TOTP
    code and without PyPI's new-device e-mail check (for 30 days)."""
    from datetime import UTC, datetime

    from unrelease.clock import SystemClock
    from unrelease.indexes.warehouse import SITES
    from unrelease.indexes.warehouse_session import (
        PypiCredentials,
        check_totp_secret,
        remember_device,
        totp_code,
    )
    from unrelease.secrets import register

    site = SITES.get(index.strip().lower(), index.strip())
    if not site.startswith(("https://", "http://")):
        raise BadInput(f"--index takes pypi, testpypi or a warehouse URL, not {index!r}")
    password = click.prompt("PyPI password", hide_input=True)
    register(password)
    clock = SystemClock()

    def totp() -> str:
        answer = click.prompt("TOTP code (6 digits) or the TOTP secret", hide_input=True)
        answer = answer.replace(" ", "")
        register(answer)
        if answer.isascii() and answer.isdigit() and len(answer) == 6:
            return str(answer)
        check_totp_secret(answer)
        return totp_code(answer, clock)

    creds = PypiCredentials(username.strip(), password)
    try:
        device = remember_device(site, creds, totp, clock)
    except WaitingOnPerson as exc:
        if "new-device" not in exc.message:
            raise
        raise WaitingOnPerson(
            exc.message,
            hint="open the link in that e-mail from this machine (PyPI checks the IP), then run "
            "`unrelease pypi-login` again (with the next TOTP code, 30 s later)",
        ) from None
    if device is None:
        echo(
            "PyPI set no remember-device cookie: the account has no TOTP 2FA, or this "
            "device is remembered already.",
            err=True,
        )
        sys.exit(1)
    day = datetime.fromtimestamp(device.expires or 0, UTC).date().isoformat()
    echo(
        f"Store this as the PYPI_REMEMBER_DEVICE secret (expires {day}); it is as secret "
        "as the password:",
        err=True,
    )
    click.echo(device.dumps())  # the one value this command exists to show
