"""Checkpoints: a release recorded as known good (``unrelease checkpoint``, a passing guard,
the end of a quiet watch window). Rollback's default target prefers the newest verified
release older than the bad one (see ``verified_versions``).

On GitHub a checkpoint is a ref ``refs/unrelease/verified/{package}/{version}`` to a blob
holding its JSON; on a local forge it is ``.unrelease/verified/{package}/{version}.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from unrelease.errors import BadInput, ServiceError
from unrelease.forges.base import Forge
from unrelease.forges.claims import check_key


@dataclass
class Checkpoint:
    package: str
    version: str
    who: str
    when: str  # ISO 8601, UTC
    evidence: dict[str, Any] = field(default_factory=dict)  # the guard verdict's summary
    commit: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "version": self.version,
            "who": self.who,
            "when": self.when,
            "evidence": self.evidence,
            "commit": self.commit,
        }

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        try:
            data = json.loads(text)
            evidence = data.get("evidence") or {}
            return cls(
                package=str(data["package"]),
                version=str(data["version"]),
                who=str(data["who"]),
                when=str(data["when"]),
                evidence=evidence if isinstance(evidence, dict) else {},
                commit=None if data.get("commit") is None else str(data["commit"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ServiceError("a stored checkpoint is unreadable (not its JSON)") from None


def now_iso(now: float | None = None) -> str:
    """NOW (seconds since the epoch; the present by default) as ISO 8601 in UTC."""
    from datetime import UTC, datetime

    moment = datetime.now(UTC) if now is None else datetime.fromtimestamp(now, UTC)
    return moment.isoformat(timespec="seconds")


def evidence_of(result: Any) -> dict[str, Any]:
    """The summary of a GuardResult a checkpoint keeps: verdict, baseline, each check's status."""
    return {
        "verdict": result.verdict,
        "baseline": result.baseline,
        "checks": {c.name: c.status for c in result.checks},
    }


def _key(package: str, version: str) -> str:
    return check_key(f"{package}/{version}")


@contextmanager
def _github(forge: Forge, what: str) -> Iterator[Any]:
    """GitHub's checkpoint store, inside the forge's error translation."""
    from unrelease.forges.github import CONTENTS_WRITE
    from unrelease.forges.github_checkpoints import GitHubCheckpoints

    repo = forge._repo  # type: ignore[attr-defined]
    with forge._call(what, CONTENTS_WRITE):  # type: ignore[attr-defined]
        yield GitHubCheckpoints(repo.requester, repo.url)


def _local_dir(forge: Forge, package: str) -> Any:
    return forge.state / "verified" / package  # type: ignore[attr-defined]


def _is_local(forge: Forge) -> bool:
    return getattr(forge, "kind", "") == "local"


def save(forge: Forge, checkpoint: Checkpoint) -> Checkpoint:
    """Record CHECKPOINT on FORGE (replacing an older one of the same version)."""
    key = _key(checkpoint.package, checkpoint.version)
    text = json.dumps(checkpoint.to_json(), sort_keys=True)
    if _is_local(forge):
        folder = _local_dir(forge, checkpoint.package)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{checkpoint.version}.tmp"
        tmp.write_text(text, "utf-8")
        tmp.replace(folder / f"{checkpoint.version}.json")
        return checkpoint
    with _github(forge, f"record {key} as verified") as store:
        store.write(key, text)
    return checkpoint


def load(forge: Forge, package: str, version: str) -> Checkpoint | None:
    """The checkpoint of PACKAGE VERSION, or None."""
    key = _key(package, version)
    if _is_local(forge):
        path = _local_dir(forge, package) / f"{version}.json"
        return Checkpoint.parse(path.read_text("utf-8")) if path.is_file() else None
    with _github(forge, f"read the checkpoint of {key}") as store:
        text = store.read(key)
    return None if text is None else Checkpoint.parse(text)


def verified_versions(forge: Forge, package: str) -> set[str]:
    """The versions of PACKAGE recorded as known good on FORGE."""
    if not package or "/" in package:
        raise BadInput(f"not a package name: {package[:120]!r}")
    if _is_local(forge):
        folder = _local_dir(forge, package)
        if not folder.is_dir():
            return set()
        return {p.stem for p in folder.glob("*.json") if not p.name.startswith(".")}
    with _github(forge, f"list the verified releases of {package}") as store:
        return set(store.keys(package))


def checkpoints(forge: Forge, package: str) -> list[Checkpoint]:
    """Every checkpoint of PACKAGE, oldest version first."""
    from unrelease.versions import parse_version

    found = [load(forge, package, v) for v in verified_versions(forge, package)]
    return sorted((c for c in found if c), key=lambda c: parse_version(c.version))
