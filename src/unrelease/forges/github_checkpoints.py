"""Checkpoints on GitHub: a release recorded as known good is a git ref
``refs/unrelease/verified/{package}/{version}`` pointing at a blob holding its JSON (see
unrelease.checkpoints). Refs to blobs are made as claims make them (github_claims.py)."""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

from github.GithubException import GithubException, UnknownObjectException
from github.Requester import Requester

VERIFIED_PREFIX = "refs/unrelease/verified/"


class GitHubCheckpoints:
    """Checkpoint refs of one repository through a PyGithub requester (REST)."""

    def __init__(self, requester: Requester, repo_url: str) -> None:
        self._req = requester
        self._url = repo_url

    def _ref_url(self, key: str, single: bool) -> str:
        tail = urllib.parse.quote(f"{VERIFIED_PREFIX.removeprefix('refs/')}{key}", safe="/")
        return f"{self._url}/git/{'ref' if single else 'refs'}/{tail}"

    def _blob_text(self, sha: str) -> str:
        quoted = urllib.parse.quote(sha, safe="")
        _, blob = self._req.requestJsonAndCheck("GET", f"{self._url}/git/blobs/{quoted}")
        content = str(blob.get("content") or "")
        if blob.get("encoding") == "base64":
            content = base64.b64decode(content).decode("utf-8", "replace")
        return content

    def write(self, key: str, text: str) -> None:
        """Point the ref of KEY (package/version) at a new blob holding TEXT (moved if set)."""
        _, data = self._req.requestJsonAndCheck(
            "POST", f"{self._url}/git/blobs", input={"content": text, "encoding": "utf-8"}
        )
        sha = str(data["sha"])
        try:
            self._req.requestJsonAndCheck(
                "POST", f"{self._url}/git/refs", input={"ref": VERIFIED_PREFIX + key, "sha": sha}
            )
        except GithubException as exc:
            body = exc.data if isinstance(exc.data, dict) else {}
            if exc.status != 422 or "already exists" not in str(body.get("message", "")).lower():
                raise
            self._req.requestJsonAndCheck(
                "PATCH", self._ref_url(key, single=False), input={"sha": sha, "force": True}
            )

    def read(self, key: str) -> str | None:
        """The stored text of KEY's checkpoint, or None when there is none."""
        try:
            _, ref = self._req.requestJsonAndCheck("GET", self._ref_url(key, single=True))
        except UnknownObjectException:
            return None
        return self._blob_text(_sha(ref))

    def keys(self, package: str) -> list[str]:
        """The versions of PACKAGE that have a checkpoint (ref names only, one request/page)."""
        prefix = f"{VERIFIED_PREFIX}{package}/"
        tail = urllib.parse.quote(prefix.removeprefix("refs/"), safe="/")
        url: str | None = f"{self._url}/git/matching-refs/{tail}?per_page=100"
        found: list[str] = []
        while url:
            headers, data = self._req.requestJsonAndCheck("GET", url)
            for ref in data if isinstance(data, list) else []:
                name = str(ref.get("ref", ""))
                if name.startswith(prefix) and "/" not in name[len(prefix) :]:
                    found.append(name[len(prefix) :])
            url = _next_link(headers.get("link", ""))
        return found


def _sha(ref: Any) -> str:
    obj = ref.get("object") if isinstance(ref, dict) else None
    return str(obj["sha"]) if isinstance(obj, dict) and "sha" in obj else ""


def _next_link(link: str) -> str | None:
    for part in link.split(","):
        if 'rel="next"' in part:
            return part.split(";")[0].strip().strip("<>")
    return None
