"""The Actions artifacts API in the GitHub fake, with api.github.com's shapes:

- ``GET /repos/{o}/{r}/actions/runs/{id}/artifacts`` (``name``, ``per_page``, ``page``) →
  ``{"total_count", "artifacts": [...]}``, newest first;
- ``GET /repos/{o}/{r}/actions/artifacts/{id}``;
- ``GET /repos/{o}/{r}/actions/artifacts/{id}/zip`` → 302 to a signed storage URL that must
  get no Authorization header (the zip of the artifact's files); an expired artifact answers
  410 ``Artifact has expired``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.github import FakeGitHub, _Ctx, _Response


@dataclass
class FakeArtifact:
    id: int
    run_id: int
    name: str
    zipped: bytes
    created_at: dt.datetime
    expired: bool = False


class FakeArtifacts:
    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.items: dict[int, FakeArtifact] = {}
        self._next = 7000

    def add_artifact(
        self, run_id: int, name: str, files: dict[str, bytes], *, expired: bool = False
    ) -> int:
        """An artifact of RUN_ID named NAME holding FILES (path in the zip → bytes)."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path, body in files.items():
                zf.writestr(path, body)
        with self.fake._lock:
            self._next += 1
            when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=self._next)
            self.items[self._next] = FakeArtifact(
                self._next, run_id, name, buf.getvalue(), when, expired
            )
            return self._next

    def _json(self, art: FakeArtifact) -> dict[str, Any]:
        f = self.fake
        run = f.actions.runs[art.run_id]
        url = f"{f.repo_api}/actions/artifacts/{art.id}"
        stamp = art.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        expires = (art.created_at + dt.timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "id": art.id,
            "node_id": f"MDg6QXJ0aWZhY3Q{art.id}",
            "name": art.name,
            "size_in_bytes": len(art.zipped),
            "url": url,
            "archive_download_url": f"{url}/zip",
            "expired": art.expired,
            "digest": "sha256:" + hashlib.sha256(art.zipped).hexdigest(),
            "created_at": stamp,
            "updated_at": stamp,
            "expires_at": expires,
            "workflow_run": {
                "id": run.id,
                "repository_id": 1296269,
                "head_repository_id": 1296269,
                "head_branch": run.head_branch,
                "head_sha": run.head_sha,
            },
        }

    def run_artifacts(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _not_found, _Response

        rid = int(m["id"])
        if rid not in self.fake.actions.runs:
            raise _not_found()
        items = [a for a in self.items.values() if a.run_id == rid]
        if "name" in ctx.query:
            items = [a for a in items if a.name == ctx.query["name"]]
        items.sort(key=lambda a: a.created_at, reverse=True)
        try:
            per_page = min(max(int(ctx.query.get("per_page", "30")), 1), 100)
            page = max(int(ctx.query.get("page", "1")), 1)
        except ValueError:
            per_page, page = 30, 1
        shown = items[(page - 1) * per_page : page * per_page]
        body = {"total_count": len(items), "artifacts": [self._json(a) for a in shown]}
        return _Response(200, body)

    def _find(self, m: re.Match[str]) -> FakeArtifact:
        from tests.fakes.github import _not_found

        art = self.items.get(int(m["id"]))
        if art is None:
            raise _not_found()
        return art

    def get_artifact(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _Response

        return _Response(200, self._json(self._find(m)))

    def download(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import ApiError

        art = self._find(m)
        if art.expired:
            raise ApiError(410, "Artifact has expired")
        return self.fake.actions._redirect(f"artifacts/{art.id}.zip", art.zipped, "zip")


def install_artifacts_routes(fake: FakeGitHub, add: Callable[[str, str, Any], None]) -> None:
    """Give FAKE its artifacts and their routes (called from ``install_actions_routes``)."""
    artifacts = FakeArtifacts(fake)
    fake.artifacts = artifacts
    a = r"/actions"
    add("GET", rf"{a}/runs/(?P<id>\d+)/artifacts", artifacts.run_artifacts)
    add("GET", rf"{a}/artifacts/(?P<id>\d+)", artifacts.get_artifact)
    add("GET", rf"{a}/artifacts/(?P<id>\d+)/zip", artifacts.download)
