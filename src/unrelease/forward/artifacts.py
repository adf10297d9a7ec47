"""A workflow run's distribution artifact, through the Actions artifacts API: the run's
artifacts listed, the one holding the dists chosen, its zip downloaded (the API answers a 302
to signed storage that must get no token), and its wheels and sdists extracted."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import requests

from unrelease.errors import AuthError, BadInput, NotFound, ServiceError
from unrelease.http import make_session

_SUFFIXES = (".whl", ".tar.gz", ".zip")
# The names release workflows give the dist artifact (pypa/gh-action-pypi-publish's guide).
_USUAL = ("python-package-distributions", "dist", "dists", "distributions", "wheels")
MAX_BYTES = 512 * 1024 * 1024


def _get(session: requests.Session, url: str, what: str, **kw: Any) -> requests.Response:
    try:
        resp = session.get(url, timeout=60, **kw)
    except requests.RequestException as exc:
        raise ServiceError(f"cannot {what}: {type(exc).__name__}") from None
    if resp.status_code in (401, 403):
        raise AuthError(f"cannot {what}: HTTP {resp.status_code} (the token needs actions: read)")
    if resp.status_code == 404:
        raise NotFound(f"cannot {what}: not found")
    if resp.status_code == 410:
        raise NotFound(f"cannot {what}: the artifact has expired")
    return resp


def list_artifacts(session: requests.Session, repo_api: str, run_id: int) -> list[dict[str, Any]]:
    """Every artifact of RUN_ID (up to 10 pages of 100)."""
    out: list[dict[str, Any]] = []
    for page in range(1, 11):
        url = f"{repo_api}/actions/runs/{run_id}/artifacts"
        what = f"list the artifacts of run {run_id}"
        resp = _get(session, url, what, params={"per_page": 100, "page": page})
        if resp.status_code != 200:
            raise ServiceError(f"cannot {what}: HTTP {resp.status_code}")
        data = resp.json()
        items = data.get("artifacts") or []
        out += items
        if len(out) >= int(data.get("total_count", 0)) or not items:
            break
    return out


def choose(artifacts: list[dict[str, Any]], name: str | None, run_id: int) -> dict[str, Any]:
    """The artifact named NAME, else the only one, else the one with a usual dist name."""
    live = [a for a in artifacts if not a.get("expired")]
    if name is not None:
        named = [a for a in artifacts if a.get("name") == name]
        if not named:
            raise NotFound(f"run {run_id} has no artifact named {name!r}")
        return named[0]
    if not live:
        state = "only expired artifacts" if artifacts else "no artifacts"
        raise NotFound(f"run {run_id} has {state}; pass --dist DIR with the built files")
    if len(live) == 1:
        return live[0]
    usual = [a for a in live if a.get("name") in _USUAL]
    if len(usual) == 1:
        return usual[0]
    names = ", ".join(repr(a.get("name")) for a in live)
    raise BadInput(f"run {run_id} has several artifacts ({names}); name one with --artifact")


def download_dists(
    repo_api: str, token: str | None, run_id: int, dest: Path, name: str | None = None
) -> list[Path]:
    """Download RUN_ID's dist artifact and extract its wheels and sdists into DEST."""
    api = make_session()
    if token:
        api.headers["Authorization"] = f"Bearer {token}"
    api.headers["Accept"] = "application/vnd.github+json"
    art = choose(list_artifacts(api, repo_api, run_id), name, run_id)
    what = f"download artifact {art.get('name')!r} of run {run_id}"
    if art.get("expired"):
        raise NotFound(f"cannot {what}: the artifact has expired")
    resp = _get(api, str(art["archive_download_url"]), what, allow_redirects=False)
    location = resp.headers.get("Location")
    if resp.status_code not in (301, 302, 303, 307) or not location:
        raise ServiceError(f"cannot {what}: HTTP {resp.status_code}, no download location")
    storage = make_session()  # no token: the URL carries its own signature
    body = _get(storage, location, what)  # never the URL in a message: its query is a credential
    if body.status_code != 200:
        raise ServiceError(f"cannot {what}: HTTP {body.status_code}")
    if len(body.content) > MAX_BYTES:
        raise ServiceError(f"cannot {what}: larger than {MAX_BYTES} bytes")
    return extract(body.content, dest, what)


def extract(zipped: bytes, dest: Path, what: str) -> list[Path]:
    """The wheels and sdists in the zip, written into DEST by their base name only."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(zipped))
    except zipfile.BadZipFile:
        raise ServiceError(f"cannot {what}: not a zip file") from None
    dest.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    with zf:
        for info in zf.infolist():
            base = PurePosixPath(info.filename.replace("\\", "/")).name
            if info.is_dir() or not base.endswith(_SUFFIXES) or base.startswith("."):
                continue
            target = dest / base
            if target in out:
                raise BadInput(f"{what}: it holds two files named {base}")
            target.write_bytes(zf.read(info))
            out.append(target)
    if not out:
        raise BadInput(f"{what}: it holds no wheel or sdist")
    return sorted(out)
