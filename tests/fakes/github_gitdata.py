"""The Git Data API's trees and commits in the GitHub fake (blobs and refs are in github.py),
with api.github.com's shapes and git's object ids:

- ``POST /repos/{o}/{r}/git/trees`` ``{"base_tree"?, "tree": [{path, mode, type, sha|content}]}``
  → 201 the new tree (paths with ``/`` make subtrees; ``sha: null`` deletes a path);
- ``GET /repos/{o}/{r}/git/trees/{sha}`` (``?recursive=1`` for every path) → the tree;
- ``POST /repos/{o}/{r}/git/commits`` ``{"message", "tree", "parents"}`` → 201 the commit,
  which ``GET /git/commits/{sha}``, ``/commits/{sha}`` and refs then know.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import re

    from tests.fakes.github import FakeGitHub, _Ctx, _Response

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_MODES = {
    "100644": "blob",
    "100755": "blob",
    "120000": "blob",
    "040000": "tree",
    "160000": "commit",
}


class FakeGitData:
    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.trees: dict[str, dict[str, tuple[str, str, str]]] = {
            EMPTY_TREE: {}
        }  # path → mode, type, sha

    def _tree_sha(self, flat: dict[str, tuple[str, str, str]]) -> str:
        text = "\n".join(f"{m} {t} {s}\t{p}" for p, (m, t, s) in sorted(flat.items()))
        return hashlib.sha1(f"tree\0{text}".encode()).hexdigest()  # noqa: S324 - an object id

    def _entries(self, sha: str, recursive: bool) -> list[dict[str, Any]]:
        flat = self.trees[sha]
        out: dict[str, dict[str, Any]] = {}
        for path, (mode, kind, obj) in sorted(flat.items()):
            parts = path.split("/")
            for i in range(1, len(parts)):
                sub = "/".join(parts[:i])
                if (recursive or i == 1) and sub not in out:
                    subtree = {p: v for p, v in flat.items() if p.startswith(sub + "/")}
                    tsha = self._tree_sha(subtree)
                    self.trees.setdefault(tsha, {p[len(sub) + 1 :]: v for p, v in subtree.items()})
                    out[sub] = {"path": sub, "mode": "040000", "type": "tree", "sha": tsha}
            if recursive or len(parts) == 1:
                entry = {"path": path, "mode": mode, "type": kind, "sha": obj}
                if kind == "blob":
                    entry["size"] = len(self.fake._blobs.get(obj, b""))
                out[path] = entry
        for e in out.values():
            e["url"] = f"{self.fake.repo_api}/git/{e['type']}s/{e['sha']}"
        return list(out.values())

    def _json(self, sha: str, recursive: bool = False) -> dict[str, Any]:
        return {
            "sha": sha,
            "url": f"{self.fake.repo_api}/git/trees/{sha}",
            "tree": self._entries(sha, recursive),
            "truncated": False,
        }

    def create_tree(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _Response, _validation

        body = ctx.body if isinstance(ctx.body, dict) else {}
        base = body.get("base_tree")
        items = body.get("tree")
        if not isinstance(items, list) or (base is not None and base not in self.trees):
            raise _validation("Tree", "invalid", "base_tree" if base else "tree")
        flat = dict(self.trees[base]) if base else {}
        with self.fake._lock:
            for item in items:
                path, mode = str(item.get("path", "")), str(item.get("mode", ""))
                if not path or path.startswith("/") or mode not in _MODES:
                    raise _validation("Tree", "invalid", "tree.path")
                if "content" in item:
                    data = str(item["content"]).encode()
                    sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324
                    self.fake._blobs[sha] = data
                elif item.get("sha") is None:
                    flat.pop(path, None)
                    continue
                else:
                    sha = str(item["sha"])
                    if _MODES[mode] == "blob" and sha not in self.fake._blobs:
                        raise _validation("Tree", "invalid", "tree.sha")
                flat[path] = (mode, _MODES[mode], sha)
            tsha = self._tree_sha(flat) if flat else EMPTY_TREE
            self.trees[tsha] = flat
        return _Response(201, self._json(tsha))

    def get_tree(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _not_found, _Response

        sha = m["sha"]
        if sha not in self.trees:
            commit = self.fake._commits.get(sha)
            if commit is None:
                raise _not_found()
            sha = commit.get("tree", EMPTY_TREE)
        recursive = ctx.query.get("recursive", "") not in ("", "0", "false")
        return _Response(200, self._json(sha, recursive))

    def create_commit(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        from tests.fakes.github import _Response, _validation

        body = ctx.body if isinstance(ctx.body, dict) else {}
        tree, parents = body.get("tree"), body.get("parents", [])
        message = body.get("message")
        if not isinstance(message, str) or tree not in self.trees:
            raise _validation(
                "Commit", "invalid", "tree" if isinstance(message, str) else "message"
            )
        if not isinstance(parents, list) or len(parents) > 1:
            raise _validation("Commit", "invalid", "parents")  # the fake keeps one parent
        if any(p not in self.fake._commits for p in parents):
            raise _validation("Commit", "invalid", "parents")
        with self.fake._lock:
            when = self.fake._tick()
            parent = parents[0] if parents else None
            sha = hashlib.sha1(f"commit\0{tree}\0{parent}\0{message}\0{when}".encode()).hexdigest()  # noqa: S324
            self.fake._commits[sha] = {
                "sha": sha,
                "message": message,
                "date": when,
                "parent": parent,
                "tree": tree,
            }
        return _Response(201, self.fake._git_commit_json(sha))


def install_gitdata_routes(fake: FakeGitHub, add: Callable[[str, str, Any], None]) -> None:
    """Give FAKE trees and commit creation (called from ``FakeGitHub._install_routes``)."""
    gitdata = FakeGitData(fake)
    fake.gitdata = gitdata
    add("POST", r"/git/trees", gitdata.create_tree)
    add("GET", r"/git/trees/(?P<sha>[0-9a-f]{40})", gitdata.get_tree)
    add("POST", r"/git/commits", gitdata.create_commit)
