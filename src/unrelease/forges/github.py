"""The Forge on GitHub (github.com or GitHub Enterprise), through PyGithub.

PyGithub is imported here and nowhere else: it is heavy, and the CLI imports this module only
when a GitHub forge is needed. The client is lazy, so building a ``GitHubForge`` sends nothing;
each method sends as few requests as it can (a whole rollback stays within about ten).
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from github import Auth, Github
from github.GithubException import (
    GithubException,
    UnknownObjectException,
)
from github.Issue import Issue
from github.PaginatedList import PaginatedList
from github.Repository import Repository

from unrelease.errors import AuthError, BadInput, NotFound, ServiceError, UnreleaseError
from unrelease.forges.base import Claim, LabelSpec, RepoView
from unrelease.forges.github_claims import GitHubClaims
from unrelease.forges.github_errors import _already_exists, github_message, translate
from unrelease.forges.github_http import (
    MAX_WAIT_S,
    BoundedRetry,
    RetryLater,
    check_repo_name,
    clean_api_url,
)
from unrelease.forges.github_runs import GitHubRuns
from unrelease.forges.github_view import parse_view, view_query
from unrelease.http import USER_AGENT
from unrelease.model import (
    IssueInfo,
    ReleaseNote,
    TagInfo,
)

PUBLIC_API = "https://api.github.com"
_MAX_TAG_DEPTH = 5  # a tag of a tag of ... a commit; git allows it, nobody needs more

# The permission each kind of call needs (GitHub Actions `permissions:` names).
CONTENTS_READ = "contents: read"
CONTENTS_WRITE = "contents: write"
ISSUES_READ = "issues: read"
ISSUES_WRITE = "issues: write"


def html_base(api_url: str) -> str:
    """The web root that belongs to an API root: api.github.com → github.com,
    ``https://HOST/api/v3`` (GitHub Enterprise) → ``https://HOST``."""
    parts = urllib.parse.urlsplit(api_url.rstrip("/"))
    if parts.hostname == "api.github.com":
        return "https://github.com"
    netloc = parts.netloc.rpartition("@")[2]  # never a credential in a web link
    if netloc.startswith("api."):
        netloc = netloc.removeprefix("api.")
    path = parts.path.removesuffix("/api/v3").removesuffix("/api")
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, "", ""))


def _keep_pr_marker(attributes: dict[str, Any]) -> dict[str, Any]:
    # GitHub lists pull requests among issues, marked by a `pull_request` key. Reading
    # `Issue.pull_request` when the key is absent would make PyGithub fetch the issue again to
    # "complete" it: one request per issue. Setting the key to None keeps the listing to one
    # request per page.
    if "pull_request" not in attributes:
        return {**attributes, "pull_request": None}
    return attributes


class GitHubForge(GitHubRuns):
    """Tags, labels, issues and releases of one GitHub repository."""

    kind = "github"

    def __init__(
        self,
        repo: str,
        token: str,
        base_url: str = PUBLIC_API,
        *,
        timeout: int = 15,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_WAIT_S,
    ) -> None:
        """TIMEOUT bounds each request; SLEEP waits between retries (tests inject their
        own); MAX_WAIT bounds all retry waits of one request together."""
        check_repo_name(repo)
        if not token:
            raise AuthError(
                "no GitHub token", hint="set GITHUB_TOKEN (or GH_TOKEN) in the environment"
            )
        self.repo = repo
        self.base_url = clean_api_url(base_url)  # never a credential in a URL we print
        self._token = token
        self._timeout = timeout
        self._retry = BoundedRetry(sleep=sleep, max_wait=max_wait)
        self._html = html_base(self.base_url)
        self._blob_session: requests.Session | None = None
        # PyGithub keeps each request's verb and URL on one shared connection between sending
        # and reading it, so two threads on one client mix their requests up. The engine reads
        # in parallel: every thread gets a client of its own.
        self._local = threading.local()
        self._clients: list[Github] = []
        self._clients_lock = threading.Lock()

    def _client(self) -> tuple[Github, Repository]:
        local = self._local
        if getattr(local, "gh", None) is None:
            gh = Github(
                auth=Auth.Token(self._token),
                base_url=self.base_url,
                user_agent=USER_AGENT,
                retry=self._retry,
                timeout=self._timeout,  # seconds, whole: PyGithub insists
                seconds_between_requests=None,
                seconds_between_writes=None,
                per_page=100,
                lazy=True,
            )
            local.gh, local.repo = gh, gh.get_repo(self.repo)
            with self._clients_lock:
                self._clients.append(gh)
        return local.gh, local.repo

    @property
    def _gh(self) -> Github:
        return self._client()[0]

    @property
    def _repo(self) -> Repository:
        return self._client()[1]

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for gh in clients:
            gh.close()

    def describe(self) -> str:
        return f"github:{self.repo}"

    # ------------------------------------------------------------------ errors
    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def _translate(self, exc: GithubException, what: str, need: str) -> UnreleaseError:
        return translate(exc, what, need, self.repo, self._scrub)

    @contextmanager
    def _call(self, what: str, need: str) -> Iterator[None]:
        try:
            yield
        except GithubException as exc:
            raise self._translate(exc, what, need) from exc
        except requests.RequestException as exc:
            raise ServiceError(
                f"cannot reach GitHub at {self.base_url} to {what}: {type(exc).__name__}"
            ) from exc
        except RetryLater as exc:
            raise ServiceError(
                f"GitHub asks to wait {exc.seconds:.0f} s before it will {what}",
                hint=f"rerun after {exc.until}",
            ) from None

    # ------------------------------------------------------------------ tags
    def _peel(self, name: str, sha: str, kind: str) -> TagInfo:
        """Follow an annotated tag object to its commit (one request per tag object)."""
        if kind != "tag":
            return TagInfo(name=name, sha=sha, annotated=False)
        message: str | None = None
        for _ in range(_MAX_TAG_DEPTH):
            tag = self._repo.get_git_tag(sha)
            if message is None:
                message = (tag.message or "").rstrip("\n")
            sha, kind = tag.object.sha, tag.object.type
            if kind != "tag":
                return TagInfo(name=name, sha=sha, annotated=True, message=message)
        raise ServiceError(f"tag {name} nests more than {_MAX_TAG_DEPTH} tag objects")

    def resolve_tag(self, name: str) -> TagInfo | None:
        with self._call(f"read tag {name}", CONTENTS_READ):
            try:
                obj = self._repo.get_git_ref(f"tags/{name}").object
            except UnknownObjectException:
                return None
            return self._peel(name, obj.sha, obj.type)

    def resolve_tags(self, names: list[str]) -> dict[str, TagInfo | None]:
        unique = list(dict.fromkeys(names))
        prefix = _common_prefix(unique)
        if len(unique) < 2 or not prefix:
            return {name: self.resolve_tag(name) for name in unique}
        # One listing answers every name that shares the prefix: the rollback tag
        # `{to_tag}-rollback-{date}` starts with the target tag.
        found: dict[str, tuple[str, str]] = {}
        with self._call(f"list tags starting with {prefix}", CONTENTS_READ):
            for ref in self._repo.get_git_matching_refs(f"tags/{prefix}"):
                tag_name = ref.ref.removeprefix("refs/tags/")
                if tag_name in unique:
                    found[tag_name] = (ref.object.sha, ref.object.type)
            out: dict[str, TagInfo | None] = {}
            for name in unique:
                hit = found.get(name)
                out[name] = None if hit is None else self._peel(name, *hit)
        return out

    def create_tag(self, name: str, sha: str, message: str) -> TagInfo:
        with self._call(f"create refs/tags/{name}", CONTENTS_WRITE):
            tag = self._repo.create_git_tag(name, message, sha, "commit")
            self._repo.create_git_ref(f"refs/tags/{name}", tag.sha)
        return TagInfo(name=name, sha=sha, annotated=True, message=message)

    def tag_url(self, name: str) -> str:
        return f"{self._html}/{self.repo}/releases/tag/{urllib.parse.quote(name)}"

    # ------------------------------------------------------------------ labels
    def missing_labels(self, names: list[str]) -> list[str]:
        with self._call("list labels", ISSUES_READ):
            existing = {label.name.casefold() for label in self._repo.get_labels()}
        return [name for name in dict.fromkeys(names) if name.casefold() not in existing]

    def create_label(self, label: LabelSpec) -> None:
        with self._call(f"create label {label.name}", ISSUES_WRITE):
            try:
                self._repo.create_label(label.name, label.color, label.description)
            except GithubException as exc:
                if not _already_exists(exc):
                    raise
                # Someone (a concurrent run) created it first: the label is there, as wanted.

    # ------------------------------------------------------------------ issues
    @staticmethod
    def _issue_info(issue: Issue) -> IssueInfo:
        user = issue.user  # in every issue GitHub sends: reading it costs no request
        return IssueInfo(
            number=issue.number,
            url=issue.html_url,
            body=issue.body or "",
            state=issue.state,
            labels=tuple(label.name for label in issue.labels),
            author=user.login if user is not None else None,
            author_is_bot=user is not None and user.type == "Bot",
        )

    def find_issues(self, label: str, state: str = "open") -> list[IssueInfo]:
        with self._call(f"list issues labelled {label}", ISSUES_READ):
            listing = PaginatedList(
                Issue,
                self._repo.requester,
                f"{self._repo.url}/issues",
                {"state": state, "labels": label},
                attributesTransformer=_keep_pr_marker,
            )
            return [self._issue_info(i) for i in listing if i.pull_request is None]

    def create_issue(self, title: str, body: str, labels: list[str]) -> IssueInfo:
        with self._call("create the incident issue", ISSUES_WRITE):
            issue = self._repo.create_issue(title, body, labels=list(labels))
            return self._issue_info(issue)

    def update_issue(self, number: int, body: str) -> IssueInfo:
        with self._call(f"update issue #{number}", ISSUES_WRITE):
            issue = self._repo.get_issue(number)
            issue.edit(body=body)
            return self._issue_info(issue)

    # ------------------------------------------------------------------ releases
    @staticmethod
    def _note(release: Any) -> ReleaseNote:
        return ReleaseNote(
            id=release.id,
            tag=release.tag_name,
            title=release.name or "",
            url=release.html_url,
            body=release.body or "",
            draft=bool(release.draft),
            prerelease=bool(release.prerelease),
        )

    def list_releases(self) -> list[ReleaseNote]:
        with self._call("list releases", CONTENTS_WRITE):  # drafts are shown to writers only
            return [self._note(r) for r in self._repo.get_releases()]

    def latest_release(self) -> ReleaseNote | None:
        with self._call("read the latest release", CONTENTS_READ):
            try:
                release = self._repo.get_latest_release()
                return self._note(release)  # lazy: reading a field sends the request
            except UnknownObjectException:
                return None

    def create_release(
        self, tag: str, title: str, body: str, *, draft: bool, prerelease: bool, target: str | None
    ) -> ReleaseNote:
        with self._call(f"create a release for {tag}", CONTENTS_WRITE):
            if target:
                release = self._repo.create_git_release(
                    tag,
                    title,
                    body,
                    draft=draft,
                    prerelease=prerelease,
                    make_latest="false",
                    target_commitish=target,
                )
            else:
                release = self._repo.create_git_release(
                    tag, title, body, draft=draft, prerelease=prerelease, make_latest="false"
                )
            return self._note(release)

    def update_release(
        self, note: ReleaseNote, *, title: str, body: str, draft: bool, prerelease: bool
    ) -> ReleaseNote:
        with self._call(f"update the release for {note.tag}", CONTENTS_WRITE):
            release = self._repo.get_release(_release_id(note))
            if note.draft and not draft:
                # Publishing a draft makes it Latest by default: never here.
                updated = release.update_release(
                    title,
                    body,
                    draft=draft,
                    prerelease=prerelease,
                    tag_name=note.tag,
                    make_latest="false",
                )
            else:
                updated = release.update_release(
                    title, body, draft=draft, prerelease=prerelease, tag_name=note.tag
                )
            return self._note(updated)

    def make_latest(self, note: ReleaseNote) -> None:
        with self._call(f"mark {note.tag} as the latest release", CONTENTS_WRITE):
            # Only make_latest is sent, so title, notes, draft and prerelease stay as they are.
            self._repo.requester.requestJsonAndCheck(
                "PATCH",
                f"{self._repo.url}/releases/{_release_id(note)}",
                input={"make_latest": "true"},
            )

    # ------------------------------------------------------------------ undo
    def delete_tag(self, name: str) -> None:
        with self._call(f"delete tag {name}", CONTENTS_WRITE):
            url = f"{self._repo.url}/git/refs/tags/{urllib.parse.quote(name, safe='/')}"
            try:
                self._repo.requester.requestJsonAndCheck("DELETE", url)
            except GithubException as exc:
                # GitHub answers a missing ref with 422 "Reference does not exist", not 404.
                if exc.status == 422 and "does not exist" in github_message(exc):
                    raise NotFound(f"tag {name} does not exist on {self.repo}") from None
                raise

    def delete_release(self, note: ReleaseNote) -> None:
        with self._call(f"delete the release {note.title!r} ({note.tag})", CONTENTS_WRITE):
            self._repo.requester.requestJsonAndCheck(
                "DELETE", f"{self._repo.url}/releases/{_release_id(note)}"
            )

    def issue_comments(self, number: int) -> list[str]:
        with self._call(f"read the comments of issue #{number}", ISSUES_READ):
            return [c.body or "" for c in self._repo.get_issue(number).get_comments()]

    def comment_issue(self, number: int, body: str) -> None:
        with self._call(f"comment on issue #{number}", ISSUES_WRITE):
            self._repo.get_issue(number).create_comment(body)

    def close_issue(self, number: int, body: str | None = None) -> IssueInfo:
        with self._call(f"close issue #{number}", ISSUES_WRITE):
            issue = self._repo.get_issue(number)
            if body is None:
                issue.edit(state="closed", state_reason="completed")
            else:
                issue.edit(state="closed", state_reason="completed", body=body)
            return self._issue_info(issue)

    # ------------------------------------------------------------------ one read, trust, claims
    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        _, data = self._repo.requester.graphql_query(query, variables)
        body = data.get("data") if isinstance(data, dict) else None
        if not isinstance(body, dict):
            raise ServiceError("GitHub's GraphQL API answered no data")
        return body

    def view(self, label: str, labels: list[str], tags: list[str]) -> RepoView:
        """Everything a rollback reads first, in one GraphQL request (more only past 100
        open incident issues or 100 releases)."""
        owner, _, name = self.repo.partition("/")
        labels, tags = list(dict.fromkeys(labels)), list(dict.fromkeys(tags))
        query, variables = view_query(labels, tags)
        variables.update(owner=owner, name=name, label=label)
        with self._call("read the repository (issues, labels, releases, tags)", ISSUES_READ):
            data = self._graphql(query, variables)
            return parse_view(data, labels, tags, self._graphql, variables, self.resolve_tag)

    def can_write(self, login: str) -> bool:
        url = f"{self._repo.url}/collaborators/{urllib.parse.quote(login, safe='')}/permission"
        with self._call(f"read the permission of {login}", CONTENTS_READ):
            try:
                _, data = self._repo.requester.requestJsonAndCheck("GET", url)
            except UnknownObjectException:
                return False  # not a collaborator (or not a user at all)
        roles = {str(data.get("permission")), str(data.get("role_name"))}
        return bool(roles & {"admin", "maintain", "write"})

    def _claims(self) -> GitHubClaims:
        return GitHubClaims(self._repo.requester, self._repo.url)

    def claim(self, key: str, claim: Claim) -> Claim | None:
        with self._call(f"claim the rollback of {key}", CONTENTS_WRITE):
            return self._claims().claim(key, claim)

    def take_over(self, key: str, old: Claim, new: Claim) -> bool:
        with self._call(f"take over the claim on {key}", CONTENTS_WRITE):
            return self._claims().take_over(key, old, new)

    def release(self, key: str, holder: str) -> None:
        with self._call(f"release the claim on {key}", CONTENTS_WRITE):
            self._claims().release(key, holder)


def _common_prefix(names: list[str]) -> str:
    """The longest string every name starts with (character by character, not by path)."""
    if not names:
        return ""
    lo, hi = min(names), max(names)
    i = 0
    while i < len(lo) and lo[i] == hi[i]:
        i += 1
    return lo[:i]


def _release_id(note: ReleaseNote) -> int:
    try:
        return int(note.id)
    except ValueError:
        raise BadInput(f"not a GitHub release id: {note.id!r}") from None
