"""Index adapters behind one interface; ``open_index`` picks one for a URL or a name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import requests

from unrelease import secrets
from unrelease.clock import Clock
from unrelease.errors import AuthError, BadInput
from unrelease.http import make_session, why
from unrelease.indexes.base import Capabilities, Index
from unrelease.indexes.devpi import DevpiIndex
from unrelease.indexes.pypiserver import PypiserverIndex
from unrelease.indexes.simple import safe_url
from unrelease.indexes.warehouse import SITES, WarehouseIndex
from unrelease.indexes.warehouse_session import PypiCredentials

__all__ = [
    "KINDS",
    "Capabilities",
    "DevpiIndex",
    "Index",
    "PypiserverIndex",
    "WarehouseIndex",
    "open_index",
]

KINDS = ("auto", "warehouse", "pypiserver", "devpi")
_WAREHOUSE_HOSTS = ("pypi.org", "test.pypi.org", "upload.pypi.org", "test.pypi.python.org")
_ADAPTERS: dict[str, type[PypiserverIndex] | type[DevpiIndex]] = {
    "pypiserver": PypiserverIndex,
    "devpi": DevpiIndex,
}


def _split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """Validate URL; return it without userinfo, and the credentials it carried (if any)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError:
        raise BadInput(f"not a valid index URL: {safe_url(url)}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise BadInput(
            f"not a valid index URL: {safe_url(url)}",
            hint="give pypi, testpypi or an http(s):// base URL",
        )
    creds = None
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        user, _, password = userinfo.partition(":")
        creds = (unquote(user), unquote(password))
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, netloc, path, "", "")), creds


def open_index(
    url: str,
    kind: str = "auto",
    auth: tuple[str, str] | None = None,
    *,
    pypi_auth: str = "auto",
    pypi_creds: PypiCredentials | None = None,
    clock: Clock | None = None,
) -> Index:
    """The adapter for the index at URL (``pypi``, ``testpypi`` or a base URL).

    ``auto`` asks the server once (a GET of the base URL) and records why it chose what it
    chose in ``probe_note``; pypi.org and test.pypi.org are known without asking. Credentials
    may come in AUTH or as ``user:password@`` in URL; they never appear in a message.
    PYPI_CREDS and PYPI_AUTH (auto, session, manual) are for warehouse sites only.
    """
    if kind not in KINDS:
        raise BadInput(f"unknown index kind {kind!r}", hint="use one of: " + ", ".join(KINDS))
    name = url.strip().lower()
    if name in SITES:
        return _warehouse(SITES[name], pypi_auth, pypi_creds, clock)
    base, url_auth = _split_credentials(url.strip())
    if url_auth is not None:
        secrets.register(url_auth[1])
    auth = auth or url_auth
    if auth is not None:
        secrets.register(auth[1])
    parts = urlsplit(base)
    if kind == "warehouse" or (parts.hostname or "").lower() in _WAREHOUSE_HOSTS:
        if parts.path.rstrip("/").endswith(("/simple", "/legacy", "/pypi")):
            raise BadInput(
                f"{base} is an API path of a warehouse site",
                hint="give the site's root, e.g. https://pypi.org/ (or just pypi / testpypi)",
            )
        if (parts.hostname or "").lower() == "upload.pypi.org":
            base = "https://pypi.org/"
        return _warehouse(base, pypi_auth, pypi_creds, clock)
    session = make_session(auth)
    if kind != "auto":
        return _ADAPTERS[kind](base, session)
    return _probe(base, session, lambda: _warehouse(base, pypi_auth, pypi_creds, clock))


def _warehouse(
    base: str, pypi_auth: str, creds: PypiCredentials | None, clock: Clock | None
) -> WarehouseIndex:
    if creds is None and pypi_auth != "manual":
        creds = PypiCredentials.from_env()
    return WarehouseIndex(base, make_session(), creds=creds, auth_mode=pypi_auth, clock=clock)


def _probe(base: str, session: requests.Session, warehouse: Callable[[], WarehouseIndex]) -> Index:
    """One GET of the base URL, asking for JSON: devpi answers its index config, pypiserver
    (which has no JSON there) its HTML welcome page, which names itself, and a warehouse site
    its home page, which pulls in warehouse's ``/_includes/`` fragments."""
    parts = urlsplit(base)
    # devpi redirects ``/user/index/`` to ``/user/index``; ask for the latter, skip the hop.
    # ``no_projects`` keeps devpi from listing every project of the index.
    target = base.rstrip("/") if parts.path.strip("/") else base
    try:
        resp = session.get(
            target, headers={"Accept": "application/json"}, params={"no_projects": ""}
        )
    except requests.RequestException as exc:
        raise BadInput(f"cannot reach the index at {base}: {why(exc)}") from None
    if resp.status_code in (401, 403):
        raise AuthError(
            f"the index at {base} refused to tell what it is: HTTP {resp.status_code}",
            hint="check the index credentials, or give the index kind (pypiserver or devpi)",
        )
    data: Any = None
    if "json" in resp.headers.get("Content-Type", ""):
        try:
            data = resp.json()
        except ValueError:
            data = None
    devpi_version = resp.headers.get("X-Devpi-Server-Version")
    if isinstance(data, dict) and (devpi_version or "result" in data):
        return _devpi_from_probe(base, session, resp.status_code, data, devpi_version)
    if resp.status_code == 200 and "pypiserver" in resp.text[:20000].lower():
        index = PypiserverIndex(base, session)
        index.probe_note = f"{base} is pypiserver: its root page names pypiserver"
        return index
    if resp.status_code == 200 and 'data-html-include="/_includes/' in resp.text[:50000]:
        site = warehouse()
        site.probe_note = f"{base} is warehouse (PyPI's software): its home page includes "
        site.probe_note += "warehouse's /_includes/ fragments"
        return site
    hint = (
        "give the base URL of a pypiserver or of a devpi index (http://host:port/USER/INDEX/), "
        "or pass --index-kind"
    )
    if parts.path.rstrip("/").endswith("/simple"):
        hint = "give the server's base URL, without /simple/"
    raise BadInput(
        f"{base} does not look like a pypiserver or devpi index (HTTP {resp.status_code})",
        hint=hint,
    )


def _devpi_from_probe(
    base: str, session: requests.Session, status: int, data: dict[str, Any], version: str | None
) -> Index:
    result = data.get("result")
    answer = data.get("type")
    server = f"devpi-server {version}" if version else "devpi"
    if status == 200 and answer == "indexconfig" and isinstance(result, dict):
        if result.get("type") != "stage":
            raise BadInput(
                f"{base} is a devpi {result.get('type')} index, not one you upload to",
                hint="give a stage index URL (http://host:port/USER/INDEX/)",
            )
        index = DevpiIndex(base, session)
        volatile = "volatile" if result.get("volatile") else "non-volatile"
        index.probe_note = f"{base} is {server}: it answered a {volatile} stage index config"
        return index
    hint = "give an index URL: http://host:port/USER/INDEX/"
    if answer in ("list:userconfig", "userconfig") and isinstance(result, dict):
        users = result if answer == "list:userconfig" else {"": result}
        names = [
            f"{u or result.get('username', '')}/{ix}".lstrip("/")
            for u, conf in users.items()
            if isinstance(conf, dict)
            for ix in sorted(conf.get("indexes") or {})
        ]
        if names:
            hint += " (indexes there: " + ", ".join(names[:10]) + ")"
        raise BadInput(f"{base} is a devpi server or user URL, not an index", hint=hint)
    raise BadInput(f"{base} is {server} but not an index (HTTP {status})", hint=hint)
