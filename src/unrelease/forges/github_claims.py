"""One rollback at a time per package version, on GitHub: a claim is a git ref
``refs/unrelease/lock/{package}/{version}`` pointing at a blob holding ``{holder, since, note}``.

Creating a ref is atomic on GitHub (a second create answers 422 "Reference already exists"),
so of two runs claiming at once exactly one wins. Taking over a stale claim uses the same
atomic create: a marker ref ``refs/unrelease/takeover/{key}/{old blob sha}`` that only one
run can make for a given stale claim; that run then force-moves the lock ref. Markers stay
(one small ref per take-over), so a late loser can never make it again.
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

from github.GithubException import GithubException, UnknownObjectException
from github.Requester import Requester

from unrelease.errors import ServiceError
from unrelease.forges.base import Claim
from unrelease.forges.claims import check_key, claim_json, parse_claim, same_claim

LOCK_PREFIX = "refs/unrelease/lock/"
TAKEOVER_PREFIX = "refs/unrelease/takeover/"
_ATTEMPTS = 3  # a claim released between our create and our read: try again, boundedly


class GitHubClaims:
    """Claims of one repository through a PyGithub requester (REST, 2-3 requests each)."""

    def __init__(self, requester: Requester, repo_url: str) -> None:
        self._req = requester
        self._url = repo_url

    def _ref_url(self, key: str, single: bool) -> str:
        tail = urllib.parse.quote(f"{LOCK_PREFIX.removeprefix('refs/')}{key}", safe="/")
        return f"{self._url}/git/{'ref' if single else 'refs'}/{tail}"

    def _blob(self, claim: Claim) -> str:
        _, data = self._req.requestJsonAndCheck(
            "POST",
            f"{self._url}/git/blobs",
            input={"content": claim_json(claim), "encoding": "utf-8"},
        )
        return str(data["sha"])

    def read(self, key: str) -> Claim | None:
        """The claim on KEY, or None when nobody holds it."""
        found = self._read(key)
        return None if found is None else found[0]

    def _read(self, key: str) -> tuple[Claim, str] | None:
        """The claim on KEY and the sha of the blob holding it, or None."""
        try:
            _, ref = self._req.requestJsonAndCheck("GET", self._ref_url(key, single=True))
        except UnknownObjectException:
            return None
        sha = str(_object(ref)["sha"])
        quoted = urllib.parse.quote(sha, safe="")
        _, blob = self._req.requestJsonAndCheck("GET", f"{self._url}/git/blobs/{quoted}")
        content = str(blob.get("content") or "")
        if blob.get("encoding") == "base64":
            content = base64.b64decode(content).decode("utf-8", "replace")
        return parse_claim(content), sha

    def claim(self, key: str, claim: Claim) -> Claim | None:
        check_key(key)
        sha = self._blob(claim)
        for _ in range(_ATTEMPTS):
            try:
                self._req.requestJsonAndCheck(
                    "POST", f"{self._url}/git/refs", input={"ref": LOCK_PREFIX + key, "sha": sha}
                )
                return None
            except GithubException as exc:
                if not _ref_exists(exc):
                    raise
            held = self.read(key)
            if held is not None:
                return held
        raise ServiceError(f"the claim on {key} keeps changing hands; rerun")

    def take_over(self, key: str, old: Claim, new: Claim) -> bool:
        check_key(key)
        found = self._read(key)
        if found is None or not same_claim(found[0], old):
            return False
        sha = self._blob(new)
        marker = f"{TAKEOVER_PREFIX}{key}/{found[1]}"
        try:  # only one run can make the marker for this stale claim: that run takes over
            self._req.requestJsonAndCheck(
                "POST", f"{self._url}/git/refs", input={"ref": marker, "sha": sha}
            )
        except GithubException as exc:
            if _ref_exists(exc):
                return False
            raise
        try:
            self._req.requestJsonAndCheck(
                "PATCH", self._ref_url(key, single=False), input={"sha": sha, "force": True}
            )
        except GithubException as exc:
            if exc.status == 422:  # released in between: not ours to take
                return False
            raise
        return True

    def release(self, key: str, holder: str) -> None:
        check_key(key)
        held = self.read(key)
        if held is None or held.holder != holder:
            return
        try:
            self._req.requestJsonAndCheck("DELETE", self._ref_url(key, single=False))
        except GithubException as exc:
            if exc.status != 422:  # 422: "Reference does not exist", already released
                raise


def _object(ref: Any) -> dict[str, Any]:
    obj = ref.get("object") if isinstance(ref, dict) else None
    if not isinstance(obj, dict) or "sha" not in obj:
        raise ServiceError("GitHub answered a claim ref without an object")
    return obj


def _ref_exists(exc: GithubException) -> bool:
    data = exc.data if isinstance(exc.data, dict) else {}
    return exc.status == 422 and "already exists" in str(data.get("message", "")).lower()
