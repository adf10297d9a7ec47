"""Claims (one rollback at a time per package version): the key and the stored form, shared
by every forge."""

from __future__ import annotations

import json
import re

from unrelease.errors import BadInput, ServiceError
from unrelease.forges.base import Claim

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._+!-]*$")


def check_key(key: str) -> str:
    """KEY (``package/version``) when it is a safe git ref tail, else BadInput."""
    if not _KEY.fullmatch(key) or ".." in key or key.endswith((".lock", ".")) or "/." in key:
        raise BadInput(f"not a claim key (package/version): {key[:120]!r}")
    return key


def claim_json(claim: Claim) -> str:
    return json.dumps(
        {"holder": claim.holder, "since": claim.since, "note": claim.note}, sort_keys=True
    )


def parse_claim(text: str) -> Claim:
    try:
        data = json.loads(text)
        return Claim(holder=str(data["holder"]), since=str(data["since"]), note=str(data["note"]))
    except (ValueError, KeyError, TypeError):
        raise ServiceError(
            "a stored claim is unreadable (not JSON with holder, since, note)"
        ) from None


def same_claim(a: Claim, b: Claim) -> bool:
    return a.holder == b.holder and a.since == b.since
