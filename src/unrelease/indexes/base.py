"""The Index port: what the engine needs from a package index, and what the index can do."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import requests

from unrelease.errors import Refused, ServiceError
from unrelease.model import DistFile, Release


@dataclass(frozen=True)
class Capabilities:
    yank: bool = False
    unyank: bool = False
    delete_release: bool = False
    delete_file: bool = False
    filename_reusable: bool = True

    def modes(self) -> list[str]:
        out = []
        if self.yank:
            out.append("yank")
        if self.delete_release:
            out.append("delete")
        return out


class Index:
    """Base of the index adapters. A missing capability is refused loudly, never ignored."""

    kind = "index"
    capabilities = Capabilities()
    probe_note: str | None = None  # how --index-kind auto decided, when it did

    def __init__(self, url: str, session: requests.Session) -> None:
        self.url = url.rstrip("/") + "/"
        self.session = session

    # --- reads -----------------------------------------------------------------------------
    @property
    def simple_url(self) -> str:
        """The PEP 503 simple index root, for pip's ``--index-url``."""
        raise NotImplementedError

    def releases(self, package: str) -> list[Release]:
        """Every version of PACKAGE with its files. Raises NotFound for an unknown package."""
        raise NotImplementedError

    def download(self, file: DistFile, dest_dir: Path) -> Path:
        """Download FILE into DEST_DIR and check its sha256 when the index tells one."""
        dest_dir.mkdir(parents=True, exist_ok=True)
        target = dest_dir / file.filename
        digest = hashlib.sha256()
        with self.session.get(file.url, stream=True, timeout=60) as resp:
            if resp.status_code != 200:
                raise ServiceError(f"download of {file.filename} failed: HTTP {resp.status_code}")
            with target.open("wb") as out:
                for chunk in resp.iter_content(65536):
                    digest.update(chunk)
                    out.write(chunk)
        if file.sha256 and digest.hexdigest() != file.sha256.lower():
            target.unlink()
            raise ServiceError(
                f"sha256 of {file.filename} does not match the index "
                f"({digest.hexdigest()} != {file.sha256}); nothing was deleted"
            )
        return target

    def check_auth(self) -> None:
        """Raise AuthError unless the credentials may withdraw releases; change nothing."""
        raise NotImplementedError

    # --- writes ----------------------------------------------------------------------------
    def _refuse(self, what: str) -> Refused:
        modes = " or ".join(self.capabilities.modes()) or "nothing"
        return Refused(f"{self.kind} index cannot {what}; it can do: {modes}")

    def yank(self, package: str, version: str, reason: str) -> None:
        raise self._refuse("yank")

    def unyank(self, package: str, version: str) -> None:
        raise self._refuse("unyank")

    def delete_release(self, package: str, version: str, *, force: bool = False) -> None:
        raise self._refuse("delete a release")

    def delete_file(
        self, package: str, version: str, file: DistFile, *, force: bool = False
    ) -> None:
        raise self._refuse("delete single files")
