"""PyGithub's errors as the project's: one line each, naming what was tried, what it needs
and the way out; GitHub's refusals no rerun fixes (immutable releases, tag rulesets) are
Refused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from github.GithubException import (
    BadCredentialsException,
    GithubException,
    RateLimitExceededException,
)

from unrelease.errors import AuthError, NotFound, Refused, ServiceError, UnreleaseError


def github_message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    errors = data.get("errors")
    graphql = isinstance(errors, list) and any(
        isinstance(e, dict) and ("locations" in e or "type" in e or "path" in e) for e in errors
    )
    fallback = "" if graphql else "no message"  # GraphQL: its errors say it all
    message = str(data.get("message") or exc.message or fallback)
    if isinstance(errors, list) and errors:
        details = []
        for err in errors:
            if isinstance(err, dict):
                details.append(str(err.get("message") or f"{err.get('field')} {err.get('code')}"))
            else:
                details.append(str(err))
        message = f"{message}: {'; '.join(details)}" if message else "; ".join(details)
    return message


def translate(
    exc: GithubException, what: str, need: str, repo: str, scrub: Callable[[str], str]
) -> UnreleaseError:
    """The project's error for a PyGithub error met while trying to WHAT (needing NEED)."""
    status = exc.status
    message = scrub(github_message(exc))
    refusal = _rule_refusal(status, message, what)
    if refusal is not None:
        return refusal
    if status == 400 and _graphql_error_type(exc) == "FORBIDDEN":
        status = 403  # GraphQL answers a field the token may not read as an error entry
    if isinstance(exc, BadCredentialsException) or status == 401:
        return AuthError(
            f"GitHub rejected the token while trying to {what} ({status} {message})",
            hint="the token is wrong, expired or revoked; check GITHUB_TOKEN",
        )
    if isinstance(exc, RateLimitExceededException):
        return ServiceError(
            f"GitHub rate limit reached while trying to {what}: {message}",
            hint=f"wait for the limit to reset{_reset_time(exc.headers)}, then rerun",
        )
    if status == 403:
        perm = _accepted_permission(exc.headers) or need
        return AuthError(
            f"cannot {what} on {repo}: the token lacks {perm} ({message})",
            hint=f"grant `{perm}` to the workflow job, or use a token that has it",
        )
    if status == 404:
        return NotFound(
            f"cannot {what}: GitHub answered 404 for {repo}",
            hint="check the repository name and that the token can see it",
        )
    return ServiceError(f"GitHub answered {status} while trying to {what}: {message}")


def _already_exists(exc: GithubException) -> bool:
    data = exc.data if isinstance(exc.data, dict) else {}
    errors = data.get("errors")
    return (
        exc.status == 422
        and isinstance(errors, list)
        and any(isinstance(e, dict) and e.get("code") == "already_exists" for e in errors)
    )


def _accepted_permission(headers: dict[str, Any] | None) -> str | None:
    """GitHub names what a 403 wanted in ``X-Accepted-GitHub-Permissions: issues=write; ...``."""
    if not headers:
        return None
    value = {k.lower(): v for k, v in headers.items()}.get("x-accepted-github-permissions")
    if not isinstance(value, str) or "=" not in value:
        return None
    first = value.split(";")[0].split(",")[0].strip()
    area, _, level = first.partition("=")
    return f"{area.strip()}: {level.strip()}" if area.strip() and level.strip() else None


def _rule_refusal(status: int, message: str, what: str) -> Refused | None:
    """GitHub's refusals that no rerun fixes: immutable releases and tag rulesets."""
    low = message.casefold()
    if "immutable release" in low or "immutable_release_tag" in low:
        return Refused(
            f"GitHub refuses to {what}: the tag belongs to an immutable release "
            "(its tag can never be moved, deleted or reused, nor the release made a draft)",
            hint="leave that tag alone and pass another --rollback-tag",
        )
    if status in (403, 422) and ("rule violation" in low or "gh013" in low):
        target = what.removeprefix("create ")
        blocked = f"creating {target}" if what.startswith("create refs/") else f"this ({what})"
        return Refused(
            f"a tag ruleset blocks {blocked}: {message.splitlines()[0]}",
            hint="use a GitHub App token the ruleset lets through (bypass list) "
            "or another --rollback-tag",
        )
    return None


def _graphql_error_type(exc: GithubException) -> str | None:
    data = exc.data if isinstance(exc.data, dict) else {}
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        kind = errors[0].get("type")
        return str(kind) if kind else None
    return None


def _reset_time(headers: dict[str, Any] | None) -> str:
    """`` (at HH:MM:SS UTC)`` from ``X-RateLimit-Reset`` (epoch seconds), else nothing."""
    value = {k.lower(): v for k, v in (headers or {}).items()}.get("x-ratelimit-reset")
    try:
        when = datetime.fromtimestamp(int(str(value)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
    return f" (at {when.strftime('%H:%M:%S')} UTC)"
