"""Reading the simple repository API (PEP 503 HTML, PEP 691 JSON) and what the adapters share.

Every index kind can show a simple page, so this is the common way to learn a package's files:
filename, absolute URL, sha256 (the ``#sha256=`` fragment or ``hashes``), size and upload time
where the page gives them (PEP 700), and the yank mark (PEP 592). Versions come from filenames
(PEP 427 wheels, PEP 625 sdists); files whose names do not parse are left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

import requests
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from unrelease.errors import AuthError, BadInput, NotFound, ServiceError
from unrelease.model import DistFile, Release

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_ACCEPT = f"{SIMPLE_JSON}, text/html;q=0.1"


# --- URLs and HTTP answers ----------------------------------------------------------------------
def safe_url(url: str) -> str:
    """URL without any ``user:password@`` part: the only form of a URL we ever print."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def parse_version(version: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        raise BadInput(f"not a valid version: {version!r}") from None


def server_message(resp: requests.Response, limit: int = 200) -> str:
    """The server's own one-line explanation, when it gave one in JSON (devpi does)."""
    try:
        data = resp.json()
    except ValueError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return " ".join(data["message"].split())[:limit]
    return ""


def raise_for_status(
    resp: requests.Response, what: str, *, not_found: str | None = None, auth_hint: str = ""
) -> None:
    """Map a failed answer to our errors: 401/403 → AuthError, 404 → NotFound, else ServiceError.

    Messages name the URL without credentials and never include what we sent.
    """
    if resp.status_code < 400:
        return
    detail = server_message(resp)
    suffix = f": {detail}" if detail else ""
    if resp.status_code in (401, 403):
        kind = "not authorised" if resp.status_code == 403 else "credentials required"
        raise AuthError(
            f"{what} failed: HTTP {resp.status_code} {kind}{suffix}",
            hint=auth_hint or "check the index username and password",
        )
    if resp.status_code == 404:
        raise NotFound(not_found or f"{what} failed: HTTP 404{suffix}")
    raise ServiceError(f"{what} failed: HTTP {resp.status_code} at {safe_url(resp.url)}{suffix}")


# --- versions from filenames --------------------------------------------------------------------
def file_version(filename: str) -> Version | None:
    """The version in a wheel or sdist filename, or None for anything else."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        return parse_sdist_filename(filename)[1]
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def group_releases(files: Iterable[DistFile]) -> list[Release]:
    """Files grouped by the version in their names, oldest version first."""
    by_version: dict[Version, list[DistFile]] = {}
    for f in files:
        version = file_version(f.filename)
        if version is not None:
            by_version.setdefault(version, []).append(f)
    return [
        Release(version=str(v), files=tuple(sorted(by_version[v], key=lambda f: f.filename)))
        for v in sorted(by_version)
    ]


# --- PEP 503 HTML -------------------------------------------------------------------------------
class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.meta: dict[str, str] = {}  # <meta name=... content=...>, first of each name
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "meta":
            found = dict(attrs)
            name, content = found.get("name"), found.get("content")
            if name and content is not None:
                self.meta.setdefault(name.lower(), content)
        elif tag == "a":
            self._current = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text).strip()))
            self._current = None


def _sha256_from_fragment(fragment: str) -> str | None:
    name, _, value = fragment.partition("=")
    return value.lower() if name == "sha256" and value else None


def parse_html(text: str, page_url: str) -> list[DistFile]:
    """The files of a PEP 503 project page (with PEP 592 ``data-yanked``)."""
    return _parse_html(text, page_url)[0]


def _parse_html(text: str, page_url: str) -> tuple[list[DistFile], dict[str, str]]:
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    files = []
    for attrs, text_content in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, fragment = urldefrag(urljoin(base, href))
        filename = text_content or url.rstrip("/").rsplit("/", 1)[-1]
        yanked = "data-yanked" in attrs
        reason = attrs.get("data-yanked") or None
        files.append(
            DistFile(
                filename=filename,
                url=url,
                sha256=_sha256_from_fragment(fragment),
                yanked=yanked,
                yanked_reason=reason if yanked else None,
            )
        )
    return files, parser.meta


# --- PEP 792 project status ---------------------------------------------------------------------
def status_from_json(value: Any) -> tuple[str | None, str | None]:
    """(status, reason) of a ``project-status`` value: ``{"status": ...}`` (warehouse) or
    ``{"state": ...}`` (the PEP's prose), or a bare string; (None, None) when absent."""
    if isinstance(value, str) and value.strip():
        return value.strip().lower(), None
    if not isinstance(value, dict):
        return None, None
    status = value.get("status", value.get("state"))
    reason = value.get("reason")
    if not isinstance(status, str) or not status.strip():
        return None, None
    return status.strip().lower(), reason if isinstance(reason, str) and reason else None


def status_from_meta(meta: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(status, reason) from a PEP 503 page's ``pypi:project-status`` meta tags."""
    status = meta.get("pypi:project-status", "").strip().lower() or None
    reason = meta.get("pypi:project-status-reason", "").strip() or None
    return status, reason if status else None


# --- PEP 691 JSON -------------------------------------------------------------------------------
def parse_json(data: Mapping[str, Any], page_url: str) -> list[DistFile]:
    """The files of a PEP 691 project page (with PEP 700 ``size`` and ``upload-time``)."""
    raw_files = data.get("files")
    if not isinstance(raw_files, list):
        raise ServiceError(f"simple JSON page at {safe_url(page_url)} has no 'files' list")
    files = []
    for item in raw_files:
        if not isinstance(item, dict) or not item.get("filename") or not item.get("url"):
            continue
        url, fragment = urldefrag(urljoin(page_url, str(item["url"])))
        hashes = item.get("hashes") if isinstance(item.get("hashes"), dict) else {}
        sha256 = hashes.get("sha256") if hashes else None
        yanked_raw = item.get("yanked", False)
        size = item.get("size")
        upload_time = item.get("upload-time")
        files.append(
            DistFile(
                filename=str(item["filename"]),
                url=url,
                sha256=str(sha256).lower() if sha256 else _sha256_from_fragment(fragment),
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                upload_time=upload_time if isinstance(upload_time, str) else None,
                yanked=bool(yanked_raw),
                yanked_reason=yanked_raw if isinstance(yanked_raw, str) and yanked_raw else None,
            )
        )
    return files


# --- one page, either format --------------------------------------------------------------------
def parse_page(resp: requests.Response) -> list[DistFile]:
    """The files of a simple project page, in whichever format the server answered."""
    return parse_page_status(resp)[0]


def parse_page_status(
    resp: requests.Response,
) -> tuple[list[DistFile], tuple[str | None, str | None]]:
    """The files of a simple project page and its PEP 792 (status, reason), either format."""
    content_type = resp.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if content_type == SIMPLE_JSON or content_type == "application/json":
        try:
            data = resp.json()
        except (ValueError, json.JSONDecodeError):
            raise ServiceError(f"invalid JSON from {safe_url(resp.url)}") from None
        if not isinstance(data, dict):
            raise ServiceError(f"unexpected JSON from {safe_url(resp.url)}")
        return parse_json(data, resp.url), status_from_json(data.get("project-status"))
    files, meta = _parse_html(resp.text, resp.url)
    return files, status_from_meta(meta)


def read_project_page(session: requests.Session, simple_root: str, package: str) -> list[DistFile]:
    """GET the project's simple page under SIMPLE_ROOT; 404 means the package is not there."""
    return read_project_status(session, simple_root, package)[0]


def read_project_status(
    session: requests.Session, simple_root: str, package: str
) -> tuple[list[DistFile], tuple[str | None, str | None]]:
    """The project's simple page under SIMPLE_ROOT: its files and PEP 792 (status, reason)."""
    url = urljoin(simple_root, canonicalize_name(package) + "/")
    resp = session.get(url, headers={"Accept": SIMPLE_ACCEPT})
    raise_for_status(
        resp, f"reading {safe_url(url)}", not_found=f"package {package} is not on the index"
    )
    return parse_page_status(resp)
