"""A faithful, stateful fake of the GitHub REST v3 API, served over real HTTP on 127.0.0.1.

PyGithub can be pointed at it like at a GitHub Enterprise server::

    with FakeGitHub() as fake:
        gh = Github(auth=Auth.Token(fake.token), base_url=fake.api_url, retry=None,
                    seconds_between_requests=None, seconds_between_writes=None, lazy=True)

The API lives under ``{web_url}/api/v3`` (the GHES layout; paths without the prefix are
served too), web pages (``html_url``) under ``{web_url}/{owner}/{repo}/...``. Every absolute URL
it hands out (``url``, ``html_url``, ``Link``, ``Location``) is on its own host and port.

Shapes, status codes and error bodies follow what api.github.com sends:
``{"message": ..., "documentation_url": ...}``; 401 ``Bad credentials``; 403 ``Resource not
accessible by integration`` with ``X-Accepted-GitHub-Permissions`` for a token lacking a
permission; 404 ``Not Found``; 422 ``Validation Failed`` with ``errors`` for duplicates.

Seeding and inspection are plain Python methods (no HTTP): see ``FakeGitHub``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import fnmatch
import hashlib
import json
import math
import re
import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from tests.fakes.github_actions import BLOB_PREFIX
from tests.fakes.loopback import LoopbackServer

if TYPE_CHECKING:
    from tests.fakes.github_actions import FakeActions
    from tests.fakes.github_artifacts import FakeArtifacts
    from tests.fakes.github_gitdata import FakeGitData

DOCS = "https://docs.github.com/rest"
API_PREFIX = "/api/v3"
DEFAULT_PERMISSIONS = {
    "contents": "write",
    "issues": "write",
    "actions": "read",
    "metadata": "read",
}
_LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}
_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@dataclass
class Request:
    """One request as the fake saw it. ``path`` is relative to the API root and decoded."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any


FAULT_KINDS = ("status", "reset", "timeout")


@dataclass
class Fault:
    method: str
    path_regex: str
    status: int
    times: int | None  # None: forever
    body: Any
    headers: dict[str, str]
    kind: str = "status"  # "status": answer STATUS; "reset": drop the connection; "timeout":
    # answer nothing for ``FakeGitHub.hold_s`` (past the client's timeout), then drop it
    after: int = 0  # let this many matching requests through first (fault the N+1-th)


@dataclass
class FakeState:
    """A deep-copied snapshot of everything the fake holds."""

    commits: dict[str, dict[str, Any]]
    tags: dict[str, dict[str, Any]]  # name -> {sha (commit), annotated, message, object_sha}
    refs: dict[str, str]  # "refs/tags/v1" -> sha the ref points at (commit or tag object)
    tag_objects: dict[str, dict[str, Any]]
    labels: dict[str, dict[str, Any]]  # name -> {name, color, description}
    issues: dict[int, dict[str, Any]]
    comments: dict[int, list[str]]  # issue number -> comment bodies
    releases: dict[int, dict[str, Any]]
    latest_release_id: int | None


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        doc: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "documentation_url": f"{DOCS}{doc}"}
        if errors is not None:
            self.body["errors"] = errors
        if status >= 400:
            self.body["status"] = str(status)
        self.headers = headers or {}


def _not_found() -> ApiError:
    return ApiError(404, "Not Found")


def _validation(resource: str, code: str, fld: str) -> ApiError:
    return ApiError(
        422, "Validation Failed", errors=[{"resource": resource, "code": code, "field": fld}]
    )


@dataclass
class _Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    abort: str | None = None  # "reset" or "timeout": no answer at all


Handler = Callable[["_Ctx", re.Match[str]], _Response]


@dataclass
class _Ctx:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    token: str


class FakeGitHub:
    """A fake github.com holding one repository, served on 127.0.0.1 from a background thread.

    Seeding: ``add_commit``, ``add_tag``, ``add_release``, ``add_issue`` (with its author),
    ``add_label``, ``add_comment``. Quick looks: ``resolve(tag)``, ``latest()``, ``head``.
    Tokens: ``set_token`` (permissions, login), ``remove_token``; collaborators:
    ``set_permission``. Rules: ``make_immutable`` (a release), ``add_tag_ruleset``.
    Faults: ``fail`` (a status, a reset or a timeout, at the N-th matching request),
    ``fail_secondary_rate_limit``. Slowness: ``latency_s``.
    Log: ``requests``, ``writes()``, ``count()``, ``clear_log()``. Snapshot: ``state``.
    GraphQL (``POST /graphql``, ``/api/graphql``): tests/fakes/github_graphql.py.
    """

    def __init__(
        self,
        owner: str = "acme",
        repo: str = "widget",
        token: str = "ghp_fake0123456789abcdefghijklmnopqrstuv",  # noqa: S107
        *,
        latency_s: float = 0.0,
        login: str = "octo-bot",
    ) -> None:
        self.owner = owner
        self.repo = repo
        self.token = token
        self.login = login
        self.latency_s = latency_s
        self.hold_s = 5.0  # how long a "timeout" fault holds its connection (tests: > client's)
        # Called as (number, method, path, phase) for each request, phase "before" it is
        # applied and "after" it is applied but before it is answered: kill tests stop the
        # client there.
        self.on_request: Callable[[int, str, str, str], None] | None = None
        self._released = threading.Event()  # set on close: held connections end
        self.requests: list[Request] = []
        self._lock = threading.RLock()
        self._tokens: dict[str, dict[str, str]] = {token: dict(DEFAULT_PERMISSIONS)}
        self._token_logins: dict[str, str] = {}
        self._permissions: dict[str, str] = {login: "admin"}  # login -> role
        self._blobs: dict[str, bytes] = {}
        self._rulesets: list[dict[str, str]] = []
        self._burned_tags: set[str] = set()  # tags of deleted immutable releases
        self._faults: list[Fault] = []
        self._clock = 0
        self._ids = 1000
        self._commits: dict[str, dict[str, Any]] = {}
        self._commit_order: list[str] = []
        self._tag_objects: dict[str, dict[str, Any]] = {}
        self._refs: dict[str, str] = {}
        self._labels: dict[str, dict[str, Any]] = {}  # casefolded name -> label
        self._issues: dict[int, dict[str, Any]] = {}
        self._comments: dict[int, list[dict[str, Any]]] = {}
        self._releases: dict[int, dict[str, Any]] = {}
        self._latest_id: int | None = None
        self.actions: FakeActions  # set by _install_routes
        self.artifacts: FakeArtifacts  # set by _install_routes
        self.gitdata: FakeGitData  # set by _install_routes
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._install_routes()
        self.add_commit("initial commit")

        self._server = LoopbackServer(_RequestHandler, self)
        self.port = self._server.port

    # ------------------------------------------------------------------ lifecycle and urls
    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.web_url}{API_PREFIX}"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def repo_api(self) -> str:
        return f"{self.api_url}/repos/{self.full_name}"

    @property
    def repo_web(self) -> str:
        return f"{self.web_url}/{self.full_name}"

    def close(self) -> None:
        self._released.set()
        self._server.stop()

    def __enter__(self) -> FakeGitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ tokens and faults
    def set_token(
        self, token: str, permissions: dict[str, str] | None = None, *, login: str | None = None
    ) -> None:
        """Accept TOKEN with these permissions (area -> none/read/write); None: the defaults.
        LOGIN is who the token acts as (default: the fake's ``login``)."""
        with self._lock:
            perms = dict(DEFAULT_PERMISSIONS if permissions is None else permissions)
            perms.setdefault("metadata", "read")
            self._tokens[token] = perms
            if login:
                self._token_logins[token] = login

    def login_of(self, token: str) -> str:
        return self._token_logins.get(token, self.login)

    def set_permission(self, login: str, role: str | None) -> None:
        """LOGIN's role on the repository (admin/maintain/write/triage/read); None: not a
        collaborator (the permission endpoint answers 404)."""
        with self._lock:
            if role is None:
                self._permissions.pop(login, None)
            else:
                self._permissions[login] = role

    def make_immutable(self, release_id: int) -> None:
        """Mark a published release immutable: its tag can no longer be moved or deleted (nor
        reused once the release is deleted), and it cannot become a draft again."""
        with self._lock:
            rel = self._releases[release_id]
            if rel["draft"]:
                raise ValueError("a draft cannot be immutable")
            rel["immutable"] = True

    def add_tag_ruleset(self, pattern: str = "*", name: str = "Protect tags") -> None:
        """A ruleset restricting the creation of tags matching PATTERN (fnmatch) for every
        token (nobody on its bypass list)."""
        with self._lock:
            self._rulesets.append({"name": name, "pattern": pattern})

    def remove_token(self, token: str) -> None:
        """Forget TOKEN: it now gets 401 Bad credentials (a revoked or expired token)."""
        with self._lock:
            self._tokens.pop(token, None)

    def fail(
        self,
        method: str,
        path_regex: str,
        status: int = 500,
        times: int | None = 1,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        kind: str = "status",
        after: int = 0,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next TIMES requests (None: all) matching METHOD ('*' for any) and
        PATH_REGEX (re.search on the decoded path relative to the API root; GraphQL is
        ``/graphql``) with STATUS and BODY (default: GitHub's JSON error for that status).
        KIND "reset" drops the connection instead, "timeout" holds it past the client's
        timeout (``hold_s``) then drops it. AFTER lets that many matching requests through
        first. RETRY_AFTER adds the ``Retry-After`` header (seconds); a 5xx or 429 without
        HEADERS carries ``Retry-After: 0``, so a retrying client waits no wall time."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        hdrs = dict(headers or {})
        if headers is None and (status >= 500 or status == 429) and kind == "status":
            retry_after = 0 if retry_after is None else retry_after  # clients retry at once
        if retry_after is not None:
            hdrs["Retry-After"] = str(retry_after)
        with self._lock:
            self._faults.append(
                Fault(method.upper(), path_regex, status, times, body, hdrs, kind, after)
            )

    def fail_secondary_rate_limit(
        self, method: str, path_regex: str, retry_after: int = 0, times: int | None = 1
    ) -> None:
        """GitHub's secondary rate limit: 403 with ``Retry-After`` and its message."""
        message = (
            "You have exceeded a secondary rate limit. Please wait a few minutes before you "
            "try again. If you reach out to GitHub Support for help, please include the "
            "request ID ABCD:1234."
        )
        body = {"message": message, "documentation_url": f"{DOCS}/overview/rate-limits"}
        self.fail(method, path_regex, 403, times, body, retry_after=retry_after)

    # ------------------------------------------------------------------ request log
    def writes(self) -> list[Request]:
        """Requests that change something (a GraphQL POST here only reads: no mutations)."""
        with self._lock:
            return [r for r in self.requests if r.method != "GET" and r.path != "/graphql"]

    def count(self, method: str | None = None, path_regex: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (path_regex is None or re.search(path_regex, r.path))
            )

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # ------------------------------------------------------------------ seeding
    def _tick(self) -> str:
        self._clock += 1
        return (_EPOCH + dt.timedelta(minutes=self._clock)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def add_commit(self, message: str = "a commit") -> str:
        """A new commit on main; returns its 40-hex sha."""
        with self._lock:
            when = self._tick()
            parent = self._commit_order[-1] if self._commit_order else None
            sha = hashlib.sha1(  # noqa: S324 - a fake object id, not security
                f"{len(self._commit_order)}\0{message}\0{parent}".encode()
            ).hexdigest()
            self._commits[sha] = {"sha": sha, "message": message, "date": when, "parent": parent}
            self._commit_order.append(sha)
            self._refs["refs/heads/main"] = sha
            return sha

    @property
    def head(self) -> str:
        return self._commit_order[-1]

    def add_tag(self, name: str, sha: str, annotated: bool = False, message: str = "") -> str:
        """Tag commit SHA; returns the sha the ref points at (the tag object when annotated)."""
        with self._lock:
            if sha not in self._commits:
                raise ValueError(f"unknown commit {sha}")
            target = sha
            if annotated:
                target = self._make_tag_object(name, message, sha, "commit", None)
            self._refs[f"refs/tags/{name}"] = target
            return target

    def add_label(self, name: str, color: str = "ededed", description: str = "") -> None:
        with self._lock:
            self._labels[name.casefold()] = self._new_label(name, color, description)

    def add_issue(
        self,
        title: str,
        body: str = "",
        labels: list[str] | tuple[str, ...] = (),
        is_pr: bool = False,
        state: str = "open",
        author: str | None = None,
        author_type: str = "User",
    ) -> int:
        """A new issue (or pull request); missing labels are created grey. AUTHOR opened it
        (default: the fake's login); AUTHOR_TYPE "Bot" for an app (REST login
        ``name[bot]``). Returns its number."""
        with self._lock:
            number = self._new_issue(title, body, list(labels), is_pr=is_pr, state=state)
            self._issues[number]["author"] = author or self.login
            self._issues[number]["author_type"] = author_type
            return int(number)

    def add_comment(self, number: int, body: str) -> int:
        with self._lock:
            return int(self._new_comment(number, body)["id"])

    def add_release(
        self,
        tag: str,
        name: str,
        body: str = "",
        draft: bool = False,
        prerelease: bool = False,
        latest: bool = False,
        immutable: bool = False,
        target_commitish: str = "main",
    ) -> int:
        """A release (its tag is created at TARGET_COMMITISH when published and missing).
        LATEST marks it as the repository's Latest. Returns the release id."""
        with self._lock:
            rel = self._new_release(tag, name, body, draft, prerelease, target_commitish)
            rel["immutable"] = immutable
            if latest:
                self._latest_id = rel["id"]
            return int(rel["id"])

    # ------------------------------------------------------------------ quick looks
    def resolve(self, tag: str) -> str | None:
        """The commit tag TAG points to (through tag objects), or None when absent."""
        with self._lock:
            target = self._refs.get(f"refs/tags/{tag}")
            return None if target is None else self._peel(target)[0]

    def latest(self) -> dict[str, Any] | None:
        """The release GET releases/latest would answer (a copy of its state), or None."""
        with self._lock:
            rid = self._current_latest_id()
            return None if rid is None else copy.deepcopy(self._releases[rid])

    # ------------------------------------------------------------------ snapshot
    @property
    def state(self) -> FakeState:
        with self._lock:
            tags: dict[str, dict[str, Any]] = {}
            for ref, target in self._refs.items():
                if not ref.startswith("refs/tags/"):
                    continue
                name = ref.removeprefix("refs/tags/")
                commit, message = self._peel(target)
                tags[name] = {
                    "sha": commit,
                    "annotated": target in self._tag_objects,
                    "message": message,
                    "object_sha": target,
                }
            return FakeState(
                commits=copy.deepcopy(self._commits),
                tags=tags,
                refs=dict(self._refs),
                tag_objects=copy.deepcopy(self._tag_objects),
                labels={
                    lab["name"]: {k: lab[k] for k in ("name", "color", "description")}
                    for lab in self._labels.values()
                },
                issues={
                    n: {
                        "number": n,
                        "title": i["title"],
                        "body": i["body"],
                        "state": i["state"],
                        "labels": list(i["labels"]),
                        "is_pr": i["is_pr"],
                    }
                    for n, i in self._issues.items()
                },
                comments={n: [c["body"] for c in cs] for n, cs in self._comments.items()},
                releases=copy.deepcopy(self._releases),
                latest_release_id=self._current_latest_id(),
            )

    # ------------------------------------------------------------------ internals: objects
    def _peel(self, sha: str) -> tuple[str, str | None]:
        message = None
        for _ in range(10):
            obj = self._tag_objects.get(sha)
            if obj is None:
                break
            if message is None:
                message = obj["message"]
            sha = obj["object_sha"]
        return sha, message

    def _make_tag_object(
        self, tag: str, message: str, obj: str, typ: str, tagger: dict[str, Any] | None
    ) -> str:
        sha = hashlib.sha1(  # noqa: S324 - a fake object id
            f"tag\0{tag}\0{message}\0{obj}\0{len(self._tag_objects)}".encode()
        ).hexdigest()
        self._tag_objects[sha] = {
            "sha": sha,
            "tag": tag,
            "message": message,
            "object_sha": obj,
            "object_type": typ,
            "tagger": tagger
            or {"name": self.login, "email": f"{self.login}@users.noreply", "date": self._tick()},
        }
        return sha

    def _new_label(self, name: str, color: str, description: str | None) -> dict[str, Any]:
        return {
            "id": self._next_id(),
            "name": name,
            "color": color.lower(),
            "description": description,
        }

    def _label_names(self, names: list[str]) -> list[str]:
        out: list[str] = []
        for name in names:
            key = name.casefold()
            if key not in self._labels:  # GitHub creates unknown labels on the fly, grey
                self._labels[key] = self._new_label(name, "ededed", None)
            canon = self._labels[key]["name"]
            if canon not in out:
                out.append(canon)
        return out

    def _new_issue(self, title: str, body: str | None, labels: list[str], **kw: Any) -> int:
        number = max([0, *self._issues]) + 1
        when = self._tick()
        self._issues[number] = {
            "id": self._next_id(),
            "number": number,
            "title": title,
            "body": body,
            "labels": self._label_names(labels),
            "state": kw.get("state", "open"),
            "is_pr": bool(kw.get("is_pr", False)),
            "author": kw.get("author") or self.login,
            "author_type": "User",
            "created_at": when,
            "updated_at": when,
            "closed_at": when if kw.get("state") == "closed" else None,
        }
        return number

    def _new_comment(self, number: int, body: str) -> dict[str, Any]:
        if number not in self._issues:
            raise _not_found()
        when = self._tick()
        comment = {"id": self._next_id(), "body": body, "created_at": when, "updated_at": when}
        self._comments.setdefault(number, []).append(comment)
        self._issues[number]["updated_at"] = when
        return comment

    def _resolve_commitish(self, ref: str) -> str | None:
        if ref in self._commits:
            return ref
        for full in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
            if full in self._refs:
                return self._peel(self._refs[full])[0]
        matches = [s for s in self._commits if len(ref) >= 7 and s.startswith(ref)]
        return matches[0] if len(matches) == 1 else None

    def _published_by_tag(self, tag: str, exclude: int | None = None) -> dict[str, Any] | None:
        for rel in self._releases.values():
            if rel["tag_name"] == tag and not rel["draft"] and rel["id"] != exclude:
                return rel
        return None

    def _ensure_tag(self, tag: str, target: str) -> None:
        if f"refs/tags/{tag}" in self._refs:
            return
        self._check_tag_rules(f"refs/tags/{tag}", creating=True)
        sha = self._resolve_commitish(target or "main")
        if sha is None:
            raise _validation("Release", "invalid", "target_commitish")
        self._refs[f"refs/tags/{tag}"] = sha

    def _new_release(
        self, tag: str, name: str | None, body: str | None, draft: bool, pre: bool, target: str
    ) -> dict[str, Any]:
        if not draft and self._published_by_tag(tag):
            raise _validation("Release", "already_exists", "tag_name")
        self._check_burned(tag)
        if not draft:
            self._ensure_tag(tag, target)
        rid = self._next_id()
        when = self._tick()
        rel = {
            "id": rid,
            "tag_name": tag,
            "target_commitish": target or "main",
            "name": name,
            "body": body,
            "draft": draft,
            "prerelease": pre,
            "immutable": False,
            "created_at": when,
            "published_at": None if draft else when,
            "untagged": hashlib.sha1(str(rid).encode()).hexdigest()[:20],  # noqa: S324
        }
        self._releases[rid] = rel
        return rel

    def _computed_latest_id(self) -> int | None:
        candidates = [r for r in self._releases.values() if not r["draft"] and not r["prerelease"]]
        if not candidates:
            return None
        return int(max(candidates, key=lambda r: (r["created_at"], r["id"]))["id"])

    def _current_latest_id(self) -> int | None:
        rel = self._releases.get(self._latest_id) if self._latest_id is not None else None
        if rel is not None and not rel["draft"] and not rel["prerelease"]:
            return int(rel["id"])
        return self._computed_latest_id()

    def _apply_make_latest(self, rel: dict[str, Any], make_latest: str) -> None:
        if rel["draft"] or rel["prerelease"]:
            return  # drafts and prereleases cannot be Latest
        if make_latest == "true":
            self._latest_id = int(rel["id"])
        elif make_latest == "legacy":
            self._latest_id = None
        elif self._latest_id is None or self._current_latest_id() == rel["id"]:
            # "false": whatever is Latest now stays Latest
            others = [
                r
                for r in self._releases.values()
                if r["id"] != rel["id"] and not r["draft"] and not r["prerelease"]
            ]
            self._latest_id = (
                int(max(others, key=lambda r: (r["created_at"], r["id"]))["id"]) if others else None
            )

    # ------------------------------------------------------------------ internals: JSON
    def _user(self, login: str | None = None, typ: str = "User") -> dict[str, Any]:
        login = login or self.login
        return {
            "login": login,
            "id": 1 + sum(login.encode()),
            "node_id": f"U_{login}",
            "type": typ,
            "site_admin": False,
            "url": f"{self.api_url}/users/{login}",
            "html_url": f"{self.web_url}/{login}",
        }

    def _repo_json(self) -> dict[str, Any]:
        return {
            "id": 4242,
            "node_id": "R_fake",
            "name": self.repo,
            "full_name": self.full_name,
            "owner": self._user(self.owner, "Organization"),
            "private": True,
            "html_url": self.repo_web,
            "url": self.repo_api,
            "default_branch": "main",
            "created_at": _EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def _obj_json(self, sha: str) -> dict[str, Any]:
        if sha in self._blobs:
            return {"sha": sha, "type": "blob", "url": f"{self.repo_api}/git/blobs/{sha}"}
        if sha in self._tag_objects:
            return {"sha": sha, "type": "tag", "url": f"{self.repo_api}/git/tags/{sha}"}
        return {"sha": sha, "type": "commit", "url": f"{self.repo_api}/git/commits/{sha}"}

    def _ref_json(self, ref: str) -> dict[str, Any]:
        return {
            "ref": ref,
            "node_id": "REF_" + hashlib.sha1(ref.encode()).hexdigest()[:16],  # noqa: S324
            "url": f"{self.repo_api}/git/{urllib.parse.quote(ref)}",
            "object": self._obj_json(self._refs[ref]),
        }

    def _tag_json(self, sha: str) -> dict[str, Any]:
        t = self._tag_objects[sha]
        return {
            "node_id": f"TAG_{sha[:16]}",
            "sha": sha,
            "url": f"{self.repo_api}/git/tags/{sha}",
            "tag": t["tag"],
            "message": t["message"],
            "tagger": t["tagger"],
            "object": {
                "sha": t["object_sha"],
                "type": t["object_type"],
                "url": f"{self.repo_api}/git/{t['object_type']}s/{t['object_sha']}",
            },
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
            },
        }

    def _git_commit_json(self, sha: str) -> dict[str, Any]:
        c = self._commits[sha]
        person = {"name": self.login, "email": f"{self.login}@users.noreply", "date": c["date"]}
        tree = c.get("tree", "0" * 40)  # trees made through POST /git/trees (github_gitdata.py)
        return {
            "sha": sha,
            "node_id": f"C_{sha[:16]}",
            "url": f"{self.repo_api}/git/commits/{sha}",
            "html_url": f"{self.repo_web}/commit/{sha}",
            "message": c["message"],
            "author": person,
            "committer": person,
            "tree": {"sha": tree, "url": f"{self.repo_api}/git/trees/{tree}"},
            "parents": [
                {"sha": p, "url": f"{self.repo_api}/git/commits/{p}"}
                for p in ([c["parent"]] if c["parent"] else [])
            ],
        }

    def _commit_json(self, sha: str) -> dict[str, Any]:
        git = self._git_commit_json(sha)
        return {
            "sha": sha,
            "node_id": git["node_id"],
            "url": f"{self.repo_api}/commits/{sha}",
            "html_url": git["html_url"],
            "commit": {k: git[k] for k in ("message", "author", "committer", "tree", "url")},
            "author": self._user(),
            "committer": self._user(),
            "parents": git["parents"],
        }

    def _label_json(self, lab: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": lab["id"],
            "node_id": f"LA_{lab['id']}",
            "url": f"{self.repo_api}/labels/{urllib.parse.quote(lab['name'], safe='')}",
            "name": lab["name"],
            "color": lab["color"],
            "default": False,
            "description": lab["description"],
        }

    def _issue_json(self, issue: dict[str, Any]) -> dict[str, Any]:
        n = issue["number"]
        api = f"{self.repo_api}/issues/{n}"
        kind = "pull" if issue["is_pr"] else "issues"
        out = {
            "id": issue["id"],
            "node_id": f"I_{issue['id']}",
            "url": api,
            "repository_url": self.repo_api,
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.repo_web}/{kind}/{n}",
            "number": n,
            "state": issue["state"],
            "state_reason": "completed" if issue["state"] == "closed" else None,
            "title": issue["title"],
            "body": issue["body"],
            "user": self._user(issue["author"], issue["author_type"]),
            "labels": [self._label_json(self._labels[name.casefold()]) for name in issue["labels"]],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "comments": len(self._comments.get(n, [])),
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_at": issue["closed_at"],
            "author_association": "MEMBER",
        }
        if issue["is_pr"]:
            out["pull_request"] = {
                "url": f"{self.repo_api}/pulls/{n}",
                "html_url": f"{self.repo_web}/pull/{n}",
                "diff_url": f"{self.repo_web}/pull/{n}.diff",
                "patch_url": f"{self.repo_web}/pull/{n}.patch",
                "merged_at": None,
            }
        return out

    def _comment_json(self, number: int, c: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": c["id"],
            "node_id": f"IC_{c['id']}",
            "url": f"{self.repo_api}/issues/comments/{c['id']}",
            "html_url": f"{self.repo_web}/issues/{number}#issuecomment-{c['id']}",
            "issue_url": f"{self.repo_api}/issues/{number}",
            "body": c["body"],
            "user": self._user(),
            "created_at": c["created_at"],
            "updated_at": c["updated_at"],
            "author_association": "MEMBER",
        }

    def _release_json(self, rel: dict[str, Any]) -> dict[str, Any]:
        rid = rel["id"]
        shown_tag = f"untagged-{rel['untagged']}" if rel["draft"] else rel["tag_name"]
        return {
            "url": f"{self.repo_api}/releases/{rid}",
            "assets_url": f"{self.repo_api}/releases/{rid}/assets",
            "upload_url": (
                f"{self.web_url}/api/uploads/repos/{self.full_name}/releases/{rid}"
                "/assets{?name,label}"
            ),
            "html_url": f"{self.repo_web}/releases/tag/{urllib.parse.quote(shown_tag)}",
            "tarball_url": f"{self.repo_api}/tarball/{rel['tag_name']}",
            "zipball_url": f"{self.repo_api}/zipball/{rel['tag_name']}",
            "id": rid,
            "node_id": f"RE_{rid}",
            "tag_name": rel["tag_name"],
            "target_commitish": rel["target_commitish"],
            "name": rel["name"],
            "body": rel["body"],
            "draft": rel["draft"],
            "prerelease": rel["prerelease"],
            "immutable": rel["immutable"],
            "created_at": rel["created_at"],
            "published_at": rel["published_at"],
            "author": self._user(),
            "assets": [],
        }

    # ------------------------------------------------------------------ HTTP plumbing
    def _paginate(
        self, ctx: _Ctx, items: list[Any], wrap: Callable[[list[Any]], Any] | None = None
    ) -> _Response:
        """One page of ITEMS as GitHub pages them (per_page, page, Link); WRAP shapes the
        body when the page is not a bare list (Actions: ``{"total_count": n, "runs": [...]}``)."""
        try:
            per_page = min(max(int(ctx.query.get("per_page", "30")), 1), 100)
            page = max(int(ctx.query.get("page", "1")), 1)
        except ValueError:
            per_page, page = 30, 1
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        if last > 1:

            def link(p: int, rel: str) -> str:
                query = {**ctx.query, "per_page": str(per_page), "page": str(p)}
                path = urllib.parse.quote(ctx.path)
                url = f"{self.api_url}{path}?{urllib.parse.urlencode(query)}"
                return f'<{url}>; rel="{rel}"'

            links = []
            if page > 1:
                links += [link(page - 1, "prev"), link(1, "first")]
            if page < last:
                links += [link(page + 1, "next"), link(last, "last")]
            if links:
                headers["Link"] = ", ".join(links)
        return _Response(200, wrap(chunk) if wrap else chunk, headers)

    def _permission_for(self, path: str) -> str:
        tail = path.removeprefix(f"/repos/{self.full_name}").lstrip("/")
        if tail == "":
            return "metadata"
        first = tail.split("/", 1)[0]
        if first in ("labels", "issues"):
            return "issues"
        if first == "actions":
            return "actions"
        if first == "collaborators":
            return "metadata"
        return "contents"

    def _can(self, token: str, area: str, level: str) -> bool:
        have = self._tokens.get(token, {}).get(area, "none")
        return _LEVELS.get(have, 0) >= _LEVELS[level]

    def _handle(
        self, method: str, raw_path: str, raw_query: str, raw_body: bytes, auth: str | None
    ) -> _Response:
        path = urllib.parse.unquote(raw_path)
        if path.startswith(API_PREFIX + "/") or path == API_PREFIX:
            path = path[len(API_PREFIX) :] or "/"
        if path == "/api/graphql":  # GitHub Enterprise's GraphQL root, next to /api/v3
            path = "/graphql"
        query = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        body: Any = None
        status = 500
        hook = self.on_request
        with self._lock:
            number = len(self.requests) + 1
        if hook is not None:
            hook(number, method, path, "before")
        try:
            if raw_body:
                try:
                    body = json.loads(raw_body)
                except ValueError:
                    raise ApiError(400, "Problems parsing JSON") from None
            with self._lock:
                resp = self._dispatch(method, path, query, body, auth)
            status = resp.status
            if hook is not None:
                hook(number, method, path, "after")
            return resp
        except ApiError as exc:
            status = exc.status
            return _Response(exc.status, exc.body, exc.headers)
        finally:
            with self._lock:
                self.requests.append(Request(method, path, query, status, body))

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], body: Any, auth: str | None
    ) -> _Response:
        for fault in self._faults:
            if (
                fault.times != 0
                and fault.method in (method, "*")
                and re.search(fault.path_regex, path)
            ):
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if fault.times is not None:
                    fault.times -= 1
                if fault.kind != "status":
                    return _Response(0, abort=fault.kind)
                payload = fault.body
                if payload is None:
                    payload = {
                        "message": _REASONS.get(fault.status, "Error"),
                        "documentation_url": DOCS,
                    }
                return _Response(fault.status, payload, dict(fault.headers))
        if path == "/rate_limit" and method == "GET":
            return _Response(200, self._rate_limit_json())
        if path.startswith(BLOB_PREFIX):  # the log storage a 302 points at: no API auth
            return self.actions.serve_blob(method, path, query, auth)
        token = ""
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() not in ("token", "bearer") or token not in self._tokens:
                raise ApiError(401, "Bad credentials")
        else:
            raise ApiError(401, "Requires authentication")
        ctx = _Ctx(method, path, query, body, token)
        if path == "/user" and method == "GET":
            return _Response(200, self._user(self.login_of(token)))
        if path == "/graphql" and method == "POST":
            from tests.fakes.github_graphql import execute

            return _Response(200, execute(self, token, body))
        prefix = f"/repos/{self.full_name}"
        if not (path == prefix or path.startswith(prefix + "/")):
            raise _not_found()
        area = self._permission_for(path)
        level = "read" if method in ("GET", "HEAD") else "write"
        if not self._can(token, area, level):
            raise ApiError(
                403,
                "Resource not accessible by integration",
                headers={"X-Accepted-GitHub-Permissions": f"{area}={level}"},
            )
        tail = path[len(prefix) :]
        for verb, pattern, handler in self._routes:
            if verb != method:
                continue
            m = pattern.fullmatch(tail)
            if m:
                return handler(ctx, m)
        raise _not_found()

    def _rate_limit_json(self) -> dict[str, Any]:
        used = len(self.requests)
        core: dict[str, Any] = {"limit": 5000, "used": used, "remaining": 5000 - used}
        core.update(resource="core", reset=4102444800)
        return {"resources": {"core": core, "search": dict(core, resource="search")}, "rate": core}

    # ------------------------------------------------------------------ routes
    def _install_routes(self) -> None:
        r = self._routes

        def add(verb: str, pattern: str, handler: Handler) -> None:
            r.append((verb, re.compile(pattern), handler))

        add("GET", r"", lambda c, m: _Response(200, self._repo_json()))
        add("GET", r"/commits/(?P<ref>.+)", self._get_commit)
        add("GET", r"/git/commits/(?P<sha>[0-9a-f]{40})", self._get_git_commit)
        add("GET", r"/git/ref/(?P<ref>(tags|heads|unrelease)/.+)", self._get_ref)
        add("GET", r"/git/refs/(?P<ref>(tags|heads|unrelease)/.+)", self._get_ref)
        add("PATCH", r"/git/refs/(?P<ref>(tags|heads|unrelease)/.+)", self._update_ref)
        add("POST", r"/git/blobs", self._create_blob)
        add("GET", r"/git/blobs/(?P<sha>[^/]+)", self._get_blob)
        add("GET", r"/collaborators/(?P<login>[^/]+)/permission", self._get_permission)
        add("GET", r"/git/matching-refs/(?P<ref>.*)", self._matching_refs)
        add("POST", r"/git/refs", self._create_ref)
        add("DELETE", r"/git/refs/(?P<ref>(tags|heads|unrelease)/.+)", self._delete_ref)
        add("GET", r"/git/tags/(?P<sha>[^/]+)", self._get_tag_object)
        add("POST", r"/git/tags", self._create_tag_object)
        add("GET", r"/labels", self._list_labels)
        add("GET", r"/labels/(?P<name>.+)", self._get_label)
        add("POST", r"/labels", self._create_label)
        add("GET", r"/issues", self._list_issues)
        add("POST", r"/issues", self._create_issue)
        add("GET", r"/issues/(?P<n>\d+)", self._get_issue)
        add("PATCH", r"/issues/(?P<n>\d+)", self._edit_issue)
        add("GET", r"/issues/(?P<n>\d+)/comments", self._list_comments)
        add("POST", r"/issues/(?P<n>\d+)/comments", self._create_comment)
        add("GET", r"/releases", self._list_releases)
        add("GET", r"/releases/latest", self._latest_release)
        add("GET", r"/releases/tags/(?P<tag>.+)", self._release_by_tag)
        add("GET", r"/releases/(?P<id>\d+)", self._get_release)
        add("POST", r"/releases", self._create_release)
        add("PATCH", r"/releases/(?P<id>\d+)", self._edit_release)
        add("DELETE", r"/releases/(?P<id>\d+)", self._delete_release)
        __import__("tests.fakes.github_gitdata", fromlist=["x"]).install_gitdata_routes(self, add)
        # Actions: workflows, runs, jobs, logs via 302 (tests/fakes/github_actions.py).
        from tests.fakes.github_actions import install_actions_routes

        install_actions_routes(self, add)

    # git ------------------------------------------------------------------
    def _get_commit(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        sha = self._resolve_commitish(m["ref"])
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {m['ref']}")
        return _Response(200, self._commit_json(sha))

    def _get_git_commit(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        if m["sha"] not in self._commits:
            raise _not_found()
        return _Response(200, self._git_commit_json(m["sha"]))

    def _get_ref(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        ref = f"refs/{m['ref']}"
        if ref not in self._refs:
            raise _not_found()
        return _Response(200, self._ref_json(ref))

    def _matching_refs(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        prefix = f"refs/{m['ref']}"
        refs = sorted(ref for ref in self._refs if ref.startswith(prefix))
        return self._paginate(ctx, [self._ref_json(ref) for ref in refs])

    def _create_ref(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        ref, sha = body.get("ref"), body.get("sha")
        if not isinstance(ref, str) or not isinstance(sha, str):
            raise _validation("Reference", "missing_field", "ref" if ref is None else "sha")
        if not ref.startswith("refs/") or ref.count("/") < 2 or ref.endswith("/"):
            raise ApiError(422, "Reference name is invalid")
        if sha not in self._commits and sha not in self._tag_objects and sha not in self._blobs:
            raise ApiError(422, "Object does not exist")
        self._check_tag_rules(ref, creating=ref not in self._refs)
        if ref in self._refs:
            raise ApiError(
                422,
                "Reference already exists",
                errors=[{"resource": "Reference", "code": "already_exists", "field": "ref"}],
                doc="/git/refs#create-a-reference",
            )
        self._refs[ref] = sha
        return _Response(201, self._ref_json(ref), {"Location": self._ref_json(ref)["url"]})

    def _delete_ref(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        ref = f"refs/{m['ref']}"
        if ref not in self._refs:
            raise ApiError(422, "Reference does not exist")
        self._check_tag_rules(ref, creating=False)
        del self._refs[ref]
        return _Response(204)

    def _update_ref(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        ref = f"refs/{m['ref']}"
        body = ctx.body if isinstance(ctx.body, dict) else {}
        sha = body.get("sha")
        if not isinstance(sha, str):
            raise _validation("Reference", "missing_field", "sha")
        if ref not in self._refs:
            raise ApiError(422, "Reference does not exist")
        if sha not in self._commits and sha not in self._tag_objects and sha not in self._blobs:
            raise ApiError(422, "Object does not exist")
        self._check_tag_rules(ref, creating=False)
        if not body.get("force") and not self._descends(sha, self._refs[ref]):
            raise ApiError(422, "Update is not a fast forward")
        self._refs[ref] = sha
        return _Response(200, self._ref_json(ref))

    def _descends(self, sha: str, ancestor: str) -> bool:
        seen: str | None = sha
        while seen is not None and seen in self._commits:
            if seen == ancestor:
                return True
            seen = self._commits[seen]["parent"]
        return False

    def _check_tag_rules(self, ref: str, *, creating: bool) -> None:
        """Immutable releases' tags, and tag rulesets restricting creation."""
        if not ref.startswith("refs/tags/"):
            return
        tag = ref.removeprefix("refs/tags/")
        immutable = any(r["immutable"] and r["tag_name"] == tag for r in self._releases.values())
        if immutable or tag in self._burned_tags:
            raise ApiError(
                422,
                "Repository rule violations found\n\n"
                "- GH013: Cannot update this protected ref: immutable_release_tag.\n",
                doc="/releases/releases",
            )
        if creating and any(fnmatch.fnmatchcase(tag, r["pattern"]) for r in self._rulesets):
            raise ApiError(
                422,
                "Repository rule violations found\n\n"
                "Cannot create ref due to creations being restricted.\n\n",
                doc="/repos/rules",
            )

    def _create_blob(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        content, encoding = body.get("content"), body.get("encoding", "utf-8")
        if not isinstance(content, str):
            raise _validation("Blob", "missing_field", "content")
        if encoding == "utf-8":
            data = content.encode("utf-8")
        elif encoding == "base64":
            try:
                data = base64.b64decode(content, validate=False)
            except ValueError:
                raise ApiError(400, "Problems parsing base64") from None
        else:
            raise _validation("Blob", "invalid", "encoding")
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id
        self._blobs[sha] = data
        url = f"{self.repo_api}/git/blobs/{sha}"
        return _Response(201, {"url": url, "sha": sha}, {"Location": url})

    def _get_blob(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        data = self._blobs.get(m["sha"])
        if data is None:
            raise _not_found()
        encoded = base64.encodebytes(data).decode("ascii")  # GitHub wraps it at 60 characters
        return _Response(
            200,
            {
                "sha": m["sha"],
                "node_id": f"B_{m['sha'][:16]}",
                "size": len(data),
                "url": f"{self.repo_api}/git/blobs/{m['sha']}",
                "content": encoded,
                "encoding": "base64",
            },
        )

    def _get_permission(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        role = self._permissions.get(m["login"])
        if role is None:
            raise _not_found()
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        return _Response(
            200, {"permission": legacy, "role_name": role, "user": self._user(m["login"])}
        )

    def _get_tag_object(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        if m["sha"] not in self._tag_objects:
            raise _not_found()
        return _Response(200, self._tag_json(m["sha"]))

    def _create_tag_object(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        for key in ("tag", "message", "object", "type"):
            if not isinstance(body.get(key), str):
                raise _validation("Tag", "missing_field", key)
        if body["type"] not in ("commit", "tag", "tree", "blob"):
            raise _validation("Tag", "invalid", "type")
        obj = body["object"]
        if obj not in self._commits and obj not in self._tag_objects:
            raise ApiError(422, "Object does not exist")
        tagger = body.get("tagger")
        if isinstance(tagger, dict):
            tagger = {"date": self._tick(), **tagger}
        sha = self._make_tag_object(body["tag"], body["message"], obj, body["type"], tagger)
        return _Response(201, self._tag_json(sha))

    # labels ----------------------------------------------------------------
    def _list_labels(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        labels = sorted(self._labels.values(), key=lambda lab: lab["name"].casefold())
        return self._paginate(ctx, [self._label_json(lab) for lab in labels])

    def _get_label(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        lab = self._labels.get(m["name"].casefold())
        if lab is None:
            raise _not_found()
        return _Response(200, self._label_json(lab))

    def _create_label(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _validation("Label", "missing_field", "name")
        color = str(body.get("color") or "ededed").removeprefix("#")
        if not re.fullmatch(r"[0-9a-fA-F]{6}", color):
            raise _validation("Label", "invalid", "color")
        if name.casefold() in self._labels:
            raise _validation("Label", "already_exists", "name")
        lab = self._new_label(name, color, body.get("description"))
        self._labels[name.casefold()] = lab
        return _Response(201, self._label_json(lab))

    # issues ----------------------------------------------------------------
    def _list_issues(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        state = ctx.query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise _validation("Issue", "invalid", "state")
        wanted = [w.strip().casefold() for w in ctx.query.get("labels", "").split(",") if w.strip()]
        issues = []
        for issue in self._issues.values():
            if state != "all" and issue["state"] != state:
                continue
            have = {name.casefold() for name in issue["labels"]}
            if all(w in have for w in wanted):
                issues.append(issue)
        sort = ctx.query.get("sort", "created")
        key = "updated_at" if sort == "updated" else "created_at"
        reverse = ctx.query.get("direction", "desc") != "asc"
        issues.sort(key=lambda i: (i[key], i["number"]), reverse=reverse)
        return self._paginate(ctx, [self._issue_json(i) for i in issues])

    def _issue(self, n: str) -> dict[str, Any]:
        issue = self._issues.get(int(n))
        if issue is None:
            raise _not_found()
        return issue

    def _get_issue(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        return _Response(200, self._issue_json(self._issue(m["n"])))

    def _create_issue(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        title = body.get("title")
        if not isinstance(title, str) or not title:
            raise _validation("Issue", "missing_field", "title")
        labels = body.get("labels") or []
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise _validation("Issue", "invalid", "labels")
        number = self._new_issue(title, body.get("body"), labels, author=self.login_of(ctx.token))
        data = self._issue_json(self._issues[number])
        return _Response(201, data, {"Location": data["url"]})

    def _edit_issue(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        issue = self._issue(m["n"])
        body = ctx.body if isinstance(ctx.body, dict) else {}
        if "state" in body and body["state"] not in ("open", "closed"):
            raise _validation("Issue", "invalid", "state")
        if "title" in body and not body["title"]:
            raise _validation("Issue", "missing_field", "title")
        if "labels" in body:
            labels = body["labels"] or []
            if not isinstance(labels, list):
                raise _validation("Issue", "invalid", "labels")
            issue["labels"] = self._label_names([str(x) for x in labels])
        for key in ("title", "body"):
            if key in body:
                issue[key] = body[key]
        when = self._tick()
        if "state" in body and body["state"] != issue["state"]:
            issue["state"] = body["state"]
            issue["closed_at"] = when if body["state"] == "closed" else None
        issue["updated_at"] = when
        return _Response(200, self._issue_json(issue))

    def _list_comments(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        n = self._issue(m["n"])["number"]
        return self._paginate(ctx, [self._comment_json(n, c) for c in self._comments.get(n, [])])

    def _create_comment(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        n = self._issue(m["n"])["number"]
        body = ctx.body if isinstance(ctx.body, dict) else {}
        if not isinstance(body.get("body"), str) or not body["body"]:
            raise _validation("IssueComment", "missing_field", "body")
        return _Response(201, self._comment_json(n, self._new_comment(n, body["body"])))

    # releases --------------------------------------------------------------
    def _visible(self, ctx: _Ctx, rel: dict[str, Any]) -> bool:
        return not rel["draft"] or self._can(ctx.token, "contents", "write")

    def _list_releases(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        rels = [r for r in self._releases.values() if self._visible(ctx, r)]
        rels.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        return self._paginate(ctx, [self._release_json(r) for r in rels])

    def _latest_release(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        rid = self._current_latest_id()
        if rid is None:
            raise _not_found()
        return _Response(200, self._release_json(self._releases[rid]))

    def _release_by_tag(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        rel = self._published_by_tag(m["tag"])
        if rel is None:
            raise _not_found()
        return _Response(200, self._release_json(rel))

    def _release(self, ctx: _Ctx, rid: str) -> dict[str, Any]:
        rel = self._releases.get(int(rid))
        if rel is None or not self._visible(ctx, rel):
            raise _not_found()
        return rel

    def _get_release(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        return _Response(200, self._release_json(self._release(ctx, m["id"])))

    @staticmethod
    def _make_latest_arg(body: dict[str, Any]) -> str | None:
        value = body.get("make_latest")
        if value is None:
            return None
        if value not in ("true", "false", "legacy"):
            raise _validation("Release", "invalid", "make_latest")
        return str(value)

    def _create_release(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        tag = body.get("tag_name")
        if not isinstance(tag, str) or not tag:
            raise _validation("Release", "missing_field", "tag_name")
        make_latest = self._make_latest_arg(body) or "true"
        draft, pre = bool(body.get("draft", False)), bool(body.get("prerelease", False))
        if not draft and not pre and make_latest == "false" and self._latest_id is None:
            self._latest_id = self._computed_latest_id()  # the current Latest stays Latest
        rel = self._new_release(
            tag,
            body.get("name"),
            body.get("body"),
            draft,
            pre,
            str(body.get("target_commitish") or "main"),
        )
        if not draft:
            self._apply_make_latest(rel, make_latest)
        data = self._release_json(rel)
        return _Response(201, data, {"Location": data["url"]})

    def _edit_release(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        rel = self._release(ctx, m["id"])
        body = ctx.body if isinstance(ctx.body, dict) else {}
        make_latest = self._make_latest_arg(body)
        new = {
            "tag_name": body.get("tag_name", rel["tag_name"]),
            "target_commitish": body.get("target_commitish", rel["target_commitish"]),
            "draft": bool(body.get("draft", rel["draft"])),
            "prerelease": bool(body.get("prerelease", rel["prerelease"])),
        }
        fixed = ("tag_name", "target_commitish", "draft")  # title, notes, prerelease may change
        if rel["immutable"] and any(new[k] != rel[k] for k in fixed):
            raise ApiError(
                422,
                "Cannot modify an immutable release: only its title, notes, prerelease and "
                "latest status may change",
            )
        if new["tag_name"] != rel["tag_name"]:
            self._check_burned(new["tag_name"])
        if not new["draft"] and self._published_by_tag(new["tag_name"], exclude=rel["id"]):
            raise _validation("Release", "already_exists", "tag_name")
        publishing = rel["draft"] and not new["draft"]
        if not new["draft"]:
            self._ensure_tag(new["tag_name"], new["target_commitish"])
        if publishing and make_latest is None:
            make_latest = "true"  # GitHub's default for a newly published release
        if publishing and make_latest == "false" and self._latest_id is None:
            self._latest_id = self._computed_latest_id()
        rel.update(new)
        for key in ("name", "body"):
            if key in body:
                rel[key] = body[key]
        if publishing:
            rel["published_at"] = self._tick()
        if new["draft"]:
            rel["published_at"] = None
        if make_latest is not None:
            self._apply_make_latest(rel, make_latest)
        return _Response(200, self._release_json(rel))

    def _check_burned(self, tag: str) -> None:
        if tag in self._burned_tags:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "Release",
                        "code": "custom",
                        "field": "tag_name",
                        "message": "tag_name was used by an immutable release",
                    }
                ],
            )

    def _delete_release(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        rel = self._release(ctx, m["id"])
        if rel["immutable"]:
            self._burned_tags.add(rel["tag_name"])
        del self._releases[rel["id"]]
        if self._latest_id == rel["id"]:
            self._latest_id = None
        return _Response(204)


_REASONS = {
    400: "Bad Request",
    401: "Bad credentials",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Validation Failed",
    500: "Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeGitHub
    timeout = 10  # idle keep-alive connections end instead of pinning a thread forever
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        # A client dropping its connection (a timed-out request, a reset) is not our error.
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            super().handle()

    def _serve(self) -> None:
        fake = self.server_fake
        if fake.latency_s:
            time.sleep(fake.latency_s)
        split = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        resp = fake._handle(
            self.command, split.path, split.query, raw, self.headers.get("Authorization")
        )
        if resp.abort:
            self._abort(resp.abort)
            return
        raw = isinstance(resp.body, bytes)  # a blob (log text, zip): sent as it is
        payload = b"" if resp.body is None else resp.body if raw else json.dumps(resp.body).encode()
        self.send_response(resp.status)
        if resp.body is not None and not raw:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        with fake._lock:
            used = len(fake.requests)
        self.send_header("X-RateLimit-Limit", "5000")
        self.send_header("X-RateLimit-Remaining", str(max(0, 5000 - used)))
        self.send_header("X-RateLimit-Used", str(used))
        self.send_header("X-RateLimit-Reset", "4102444800")
        self.send_header("X-RateLimit-Resource", "core")
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _abort(self, kind: str) -> None:
        """No answer: "timeout" first holds the connection past the client's timeout; then
        the connection is reset (RST, not a clean close)."""
        self.close_connection = True
        if kind == "timeout":
            self.server_fake._released.wait(self.server_fake.hold_s)
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve


def seed_repo(
    fake: FakeGitHub, versions: Sequence[str], *, annotated: bool = True
) -> dict[str, str]:
    """A commit, a tag and a published release per version; the newest release is Latest.
    Returns each version's commit."""
    shas = {}
    for i, v in enumerate(versions):
        sha = fake.add_commit(f"Release {v}")
        fake.add_tag(f"v{v}", sha, annotated=annotated, message=f"Release {v}")
        fake.add_release(f"v{v}", f"v{v}", body=f"Notes for {v}", latest=i == len(versions) - 1)
        shas[v] = sha
    return shas


def hold_two_requests_midway(monkeypatch: Any) -> list[str]:
    """Make the first two PyGithub requests sent from worker threads wait for each other
    between sending and reading their answer: where PyGithub keeps a request's verb and URL
    on a shared connection, the two then swap. Returns the names of the threads held."""
    from github import Requester

    barrier = threading.Barrier(2, timeout=30)
    lock = threading.Lock()
    held: list[str] = []
    original = Requester.HTTPRequestsConnectionClass.getresponse

    def getresponse(self: Any) -> Any:
        with lock:
            hold = threading.current_thread() is not threading.main_thread() and len(held) < 2
            if hold:
                held.append(threading.current_thread().name)
        if hold:
            barrier.wait()
        return original(self)

    monkeypatch.setattr(Requester.HTTPRequestsConnectionClass, "getresponse", getresponse)
    return held
