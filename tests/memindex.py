"""An index in memory for fast engine tests: yank, unyank, delete (release and file), upload,
with real file bytes and sha256s, a write log, and faults injected at the N-th request."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

import requests
from packaging.utils import canonicalize_name

from unrelease.errors import NotFound, ServiceError
from unrelease.indexes.base import Capabilities, Index, Project
from unrelease.model import DistFile, Record, Release
from unrelease.texts import record_block

PKG = "Memo_Pkg"


@dataclass
class Stored:
    data: bytes
    yanked: str | None = None  # the reason, when yanked


@dataclass
class Fault:
    at: int  # the request number (1-based) that fails
    kind: str = "error"  # error: nothing happens; lost: it happens, the answer is lost


class MemoryIndex(Index):
    kind = "memory"
    capabilities = Capabilities(
        yank=True, unyank=True, delete_release=True, delete_file=True, upload=True
    )

    def __init__(self, versions: tuple[str, ...] = ("1.0.0", "1.1.0", "1.2.0")) -> None:
        super().__init__("http://127.0.0.1:9/memory/", requests.Session())
        self.files: dict[str, dict[str, Stored]] = {}
        for v in versions:
            self.add(v)
        self.writes: list[tuple[str, str]] = []
        self.requests = 0
        self.faults: list[Fault] = []
        self.status = "active"
        self._lock = threading.Lock()

    def add(self, version: str, names: tuple[str, ...] | None = None) -> None:
        names = names or (f"memo_pkg-{version}.tar.gz", f"memo_pkg-{version}-py3-none-any.whl")
        for name in names:
            self.files.setdefault(version, {})[name] = Stored(f"{name} bytes".encode())

    def _request(self) -> Fault | None:
        with self._lock:
            self.requests += 1
            n = self.requests
        fault = next((f for f in self.faults if f.at == n), None)
        if fault and fault.kind == "error":
            raise ServiceError(f"the index answered 503 (request {n})")
        return fault

    def _lost(self, fault: Fault | None) -> None:
        if fault is not None:
            raise ServiceError("the connection dropped before the answer (the write went through)")

    def releases(self, package: str) -> list[Release]:
        self._request()
        if canonicalize_name(package) != canonicalize_name(PKG):
            raise NotFound(f"package {package} is not on the index")
        return [
            Release(
                v,
                tuple(
                    DistFile(
                        name,
                        f"{self.url}{name}",
                        sha256=hashlib.sha256(s.data).hexdigest(),
                        yanked=s.yanked is not None,
                        yanked_reason=s.yanked,
                    )
                    for name, s in sorted(files.items())
                ),
            )
            for v, files in self.files.items()
            if files
        ]

    def project(self, package: str) -> Project:
        return Project(name=PKG, releases=self.releases(package), status=self.status)

    @property
    def simple_url(self) -> str:
        return self.url

    def download(self, file: DistFile, dest_dir: Path) -> Path:
        fault = self._request()
        stored = next(f[file.filename] for f in self.files.values() if file.filename in f)
        dest_dir.mkdir(parents=True, exist_ok=True)
        path = dest_dir / file.filename
        path.write_bytes(stored.data)
        self._lost(fault)
        return path

    def check_auth(self, package: str | None = None, version: str | None = None) -> None:
        self._request()

    def _write(self, what: str, version: str) -> Fault | None:
        fault = self._request()
        self.writes.append((what, version))
        return fault

    def yank(self, package: str, version: str, reason: str) -> None:
        fault = self._write("yank", version)
        for s in self.files[version].values():
            s.yanked = reason
        self._lost(fault)

    def unyank(self, package: str, version: str) -> None:
        fault = self._write("unyank", version)
        for s in self.files[version].values():
            s.yanked = None
        self._lost(fault)

    def delete_release(self, package: str, version: str, *, force: bool = False) -> None:
        fault = self._write("delete", version)
        self.files[version] = {}
        self._lost(fault)

    def delete_file(
        self, package: str, version: str, file: DistFile, *, force: bool = False
    ) -> None:
        fault = self._write(f"delete {file.filename}", version)
        self.files[version].pop(file.filename, None)
        self._lost(fault)

    def upload(self, path: Path) -> None:
        version = path.name.split("-")[1].removesuffix(".tar.gz")
        fault = self._write(f"upload {path.name}", version)
        self.files.setdefault(version, {})[path.name] = Stored(path.read_bytes())
        self._lost(fault)


@dataclass
class Counts:
    """Side effects seen on the index and the fake GitHub after a scenario."""

    issues: int = 0
    tags: int = 0
    notes: int = 0
    withdrawals: dict[str, int] = field(default_factory=dict)


def planted_body(**fields: object) -> str:
    """An issue body holding a rollback record of Memo_Pkg 1.2.0 that widens the rollback
    (to 1.0.0, withdrawing 0.9.0 too): what someone who can open issues might plant."""
    record = Record(
        id="rb-planted",
        package=PKG,
        version="1.2.0",
        to="1.0.0",
        mode="delete",
        reason="x",
        index=MemoryIndex().url,
        severity="critical",
        who="mallory",
        when="2025-03-01T00:00:00",
        withdrawn=["1.2.0", "1.1.0", "0.9.0"],
    )
    for k, v in fields.items():
        setattr(record, k, v)
    return "planted\n\n" + record_block(record)
