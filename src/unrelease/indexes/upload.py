"""Uploading one distribution file through the legacy upload API, as twine does.

pypiserver (at its root) and devpi (at the index URL) both take it: a multipart POST with
``:action=file_upload``, ``protocol_version=1``, the core metadata read from the file itself
(devpi files the version under the ``name`` and ``version`` fields and keeps the rest), and the
file as ``content``. Used by ``undo`` to put deleted files back from their backup.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import requests
from packaging.metadata import parse_email
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from unrelease.errors import BadInput, Refused, ServiceError
from unrelease.http import why
from unrelease.indexes.base import Index, sha256_of
from unrelease.indexes.simple import raise_for_status, safe_url

# packaging's raw metadata keys whose form field has another name (twine's _RAW_TO_PACKAGE_...)
_RENAMED = {
    "platforms": "platform",
    "supported_platforms": "supported_platform",
    "license_files": "license_file",
}
_SDIST_SUFFIXES = (".tar.gz", ".zip")


def _member(names: list[str], pattern: str) -> str | None:
    found = [n for n in names if re.fullmatch(pattern, n)]
    return found[0] if len(found) == 1 else None


def read_metadata(path: Path) -> bytes:
    """The core metadata file inside a wheel (``*.dist-info/METADATA``) or an sdist
    (``*/PKG-INFO``)."""
    name = path.name
    try:
        if name.endswith(".whl"):
            with zipfile.ZipFile(path) as zf:
                member = _member(zf.namelist(), r"[^/]+\.dist-info/METADATA")
                if member:
                    return zf.read(member)
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                member = _member(zf.namelist(), r"[^/]+/PKG-INFO")
                if member:
                    return zf.read(member)
        elif name.endswith(".tar.gz"):
            with tarfile.open(path, "r:gz") as tf:
                member = _member(tf.getnames(), r"[^/]+/PKG-INFO")
                extracted = tf.extractfile(member) if member else None
                if extracted is not None:
                    return extracted.read()
        else:
            raise BadInput(f"{name} is not a wheel or an sdist (.whl, .tar.gz, .zip)")
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise BadInput(f"cannot read {name}: {exc}") from None
    raise BadInput(f"{name} holds no core metadata (METADATA or PKG-INFO)")


def _filetype_and_pyversion(filename: str) -> tuple[str, str, str, str]:
    """(filetype, pyversion, name, version) from the filename, as twine sends them."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
            pyversion = filename[:-4].split("-")[-3]  # the python tag, as written: "py3"
            return "bdist_wheel", pyversion, str(name), str(version)
        name, version = parse_sdist_filename(PurePosixPath(filename).name)
        return "sdist", "source", str(name), str(version)
    except (InvalidWheelFilename, InvalidSdistFilename) as exc:
        raise BadInput(f"not a distribution filename: {filename} ({exc})") from None


def form_fields(path: Path) -> list[tuple[str, str]]:
    """The form fields twine sends with PATH: metadata, file type, python version, digest."""
    filetype, pyversion, file_name, file_version = _filetype_and_pyversion(path.name)
    raw, _unparsed = parse_email(read_metadata(path))
    meta: dict[str, Any] = dict(raw)
    name = str(meta.get("name") or file_name)
    if canonicalize_name(name) != canonicalize_name(file_name):
        raise BadInput(f"{path.name}: its metadata names {name!r}, its filename {file_name!r}")
    fields: list[tuple[str, str]] = []
    for key, value in meta.items():
        key = _RENAMED.get(key, key)
        if key == "name":
            value = re.sub(r"[^A-Za-z0-9.]+", "-", str(value))  # twine's safe_name
        if isinstance(value, dict):  # project_urls
            fields.extend((key, f"{label}, {url}") for label, url in value.items())
        elif key == "keywords" and isinstance(value, list):
            fields.append((key, ", ".join(value)))
        elif isinstance(value, list):
            fields.extend((key, str(item)) for item in value)
        else:
            fields.append((key, str(value)))
    if "version" not in meta:
        fields.append(("version", file_version))
    if "name" not in meta:
        fields.append(("name", file_name))
    fields += [
        ("filetype", filetype),
        ("pyversion", pyversion),
        ("sha256_digest", sha256_of(path)),
        (":action", "file_upload"),
        ("protocol_version", "1"),
    ]
    return fields


def upload_file(index: Index, path: Path, *, auth_hint: str = "") -> None:
    """POST PATH to INDEX (its base URL takes uploads). When the index already holds a file of
    that name (409), its sha256 decides: the same bytes count as uploaded, others are refused."""
    fields = form_fields(path)
    where = safe_url(index.url)
    try:
        with path.open("rb") as fh:
            resp = index.session.post(
                index.url,
                data=fields,
                files={"content": (path.name, fh, "application/octet-stream")},
                allow_redirects=False,
                timeout=120,
            )
    except requests.RequestException as exc:
        raise ServiceError(f"uploading {path.name} to {where}: {why(exc)}") from None
    if resp.status_code == 409:
        package = dict(fields)["name"]
        digest = sha256_of(path)
        there = [f for r in index.releases(package) for f in r.files if f.filename == path.name]
        if there and all(f.sha256 == digest for f in there):
            return  # the very same file is there: what the upload was for
        raise Refused(f"{where} already has another file named {path.name}; not replaced")
    if 300 <= resp.status_code < 400:
        raise ServiceError(f"uploading {path.name} to {where}: redirected ({resp.status_code})")
    raise_for_status(resp, f"uploading {path.name} to {where}", auth_hint=auth_hint)
