"""One exception base; each subclass carries its exit code and the user's next action.

Library code raises these; only the CLI turns them into a one-line message and an exit code.
"""

from __future__ import annotations


class UnreleaseError(Exception):
    """Base of every error unrelease reports to a person."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class BadInput(UnreleaseError):
    """Malformed or impossible input: nothing was changed."""

    exit_code = 2


class Refused(UnreleaseError):
    """A safety rule refused the operation before anything changed."""

    exit_code = 2


class AuthError(UnreleaseError):
    """Wrong or missing credentials, or not enough permission."""

    exit_code = 2


class ServiceError(UnreleaseError):
    """A service answered something unexpected; a rerun resumes."""

    exit_code = 1


class NotFound(ServiceError):
    """The thing asked for does not exist (a 404, and only a 404)."""


class WaitingOnPerson(UnreleaseError):
    """A person must act (a manual step, a confirmation e-mail)."""

    exit_code = 3


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError: a network failure names the host and what went wrong (never
    the URL's credentials); a local file error names the file, not "a service"."""
    from urllib.parse import urlsplit

    request = getattr(exc, "request", None)
    url = urlsplit(getattr(request, "url", "") or "")
    if request is None and exc.filename is not None:
        return f"cannot use {exc.filename}: {exc.strerror or type(exc).__name__}"
    where = f"{url.hostname}:{url.port}" if url.hostname and url.port else url.hostname
    where = where or "a service"
    text = str(exc)
    if "NameResolution" in text or "Name or service not known" in text:
        why = "its name does not resolve"
    elif "refused" in text.lower():
        why = "connection refused"
    elif "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
        why = "no answer in time"
    else:
        why = type(exc).__name__
    return f"cannot reach {where}: {why} (rerun when it answers)"
