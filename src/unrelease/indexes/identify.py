"""What kind of index a server looks like, for the one-line answer to a wrong --index-kind.

An adapter pointed at another kind of server gets answers it cannot read (devpi's adapter gets
pypiserver's HTML; pypiserver's gets devpi's 404s). Before it reports a service error it asks
here: when the server plainly is another kind, the answer is BadInput (exit 2, wrong set-up)
naming what the server looks like and what to pass.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from unrelease.errors import BadInput, UnreleaseError
from unrelease.indexes.simple import safe_url


def kind_from_answer(resp: requests.Response | None) -> tuple[str, str] | None:
    """(kind, evidence) from one answer's headers alone, when they tell."""
    if resp is None:
        return None
    version = resp.headers.get("X-Devpi-Server-Version")
    if version:
        return "devpi", f"it answers with devpi-server {version}'s headers"
    if resp.headers.get("X-PyPI-Last-Serial"):
        return "warehouse", "it answers with PyPI's X-PyPI-Last-Serial header"
    return None


def identify(session: requests.Session, base: str) -> tuple[str, str] | None:
    """(kind, evidence) from one GET of BASE asking for JSON, as ``--index-kind auto`` does;
    None when the server does not plainly show what it is (or does not answer)."""
    target = base.rstrip("/") if urlsplit(base).path.strip("/") else base
    try:
        resp = session.get(
            target,
            headers={"Accept": "application/json"},
            params={"no_projects": ""},
            allow_redirects=False,
        )
    except (requests.RequestException, UnreleaseError):
        return None
    seen = kind_from_answer(resp)
    if seen is not None:
        return seen
    data: Any = None
    if "json" in resp.headers.get("Content-Type", ""):
        try:
            data = resp.json()
        except ValueError:
            data = None
    if isinstance(data, dict) and "result" in data:
        return "devpi", "its base URL answers devpi's JSON"
    text = resp.text[:50000] if resp.status_code == 200 else ""
    if "pypiserver" in text.lower():
        return "pypiserver", "its root page names pypiserver"
    if 'data-html-include="/_includes/' in text:
        return "warehouse", "its home page includes warehouse's /_includes/ fragments"
    return None


def wrong_kind(
    kind: str,
    base: str,
    session: requests.Session,
    resp: requests.Response | None = None,
) -> BadInput | None:
    """BadInput when the server at BASE is plainly not of KIND; else None (the caller then
    reports its own error). RESP, an answer already in hand, may tell without a request."""
    seen = kind_from_answer(resp) or identify(session, base)
    if seen is None or seen[0] == kind:
        return None
    other, evidence = seen
    shown = "PyPI's warehouse" if other == "warehouse" else other
    return BadInput(
        f"--index-kind {kind} was given, but {safe_url(base)} looks like {shown}: {evidence}",
        hint=f"pass --index-kind {other} (or auto)",
    )
