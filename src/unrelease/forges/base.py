"""The Forge port: tags, labels, issues and release notes, on GitHub or on a plain git repo."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from unrelease.model import IssueInfo, JobInfo, ReleaseNote, RunInfo, TagInfo, WorkflowInfo


@dataclass(frozen=True)
class LabelSpec:
    name: str
    color: str  # six hex digits, no '#'
    description: str


@dataclass(frozen=True)
class RepoView:
    """What a rollback or undo reads from the forge before it acts, in as few round trips as
    the forge allows (one GraphQL query on GitHub)."""

    identity: str | None  # the login the credentials act as (None when unknown)
    issues: tuple[IssueInfo, ...]  # open issues carrying the label asked for, authors included
    labels: frozenset[str]  # which of the labels asked for exist (as asked, not lowercased)
    notes: tuple[ReleaseNote, ...]  # every release, drafts included
    latest: ReleaseNote | None  # the release GitHub shows as Latest
    tags: dict[str, TagInfo | None]  # each tag asked for -> the commit it resolves to


@dataclass(frozen=True)
class Claim:
    """Who holds a rollback of one package version, and since when (ISO 8601, UTC)."""

    holder: str  # opaque: "gha:RUN_ID:ATTEMPT" or "host:PID:NONCE"
    since: str
    note: str = ""  # e.g. the record id, or why a stale claim was taken over


class Forge(Protocol):
    """What the engine needs from where the code lives."""

    kind: str  # "github" or "local"

    def describe(self) -> str:
        """A short human name: 'github:owner/name' or a local path."""
        ...

    def resolve_tag(self, name: str) -> TagInfo | None:
        """The commit NAME points to (annotated or lightweight), or None when absent."""
        ...

    def resolve_tags(self, names: list[str]) -> dict[str, TagInfo | None]:
        """Several tags at once (adapters may answer with fewer requests)."""
        ...

    def create_tag(self, name: str, sha: str, message: str) -> TagInfo:
        """Create an annotated tag NAME at commit SHA."""
        ...

    def tag_url(self, name: str) -> str: ...

    def missing_labels(self, names: list[str]) -> list[str]:
        """Which of NAMES do not exist yet."""
        ...

    def create_label(self, label: LabelSpec) -> None: ...

    def find_issues(self, label: str, state: str = "open") -> list[IssueInfo]:
        """Issues (never pull requests) carrying LABEL, bodies included; STATE is open,
        closed or all."""
        ...

    def create_issue(self, title: str, body: str, labels: list[str]) -> IssueInfo: ...

    def update_issue(self, number: int, body: str) -> IssueInfo: ...

    def list_releases(self) -> list[ReleaseNote]:
        """Every release, drafts included."""
        ...

    def latest_release(self) -> ReleaseNote | None: ...

    def create_release(
        self, tag: str, title: str, body: str, *, draft: bool, prerelease: bool, target: str | None
    ) -> ReleaseNote:
        """Create a release that is never made Latest."""
        ...

    def update_release(
        self, note: ReleaseNote, *, title: str, body: str, draft: bool, prerelease: bool
    ) -> ReleaseNote: ...

    def make_latest(self, note: ReleaseNote) -> None: ...

    def delete_tag(self, name: str) -> None:
        """Delete tag NAME; NotFound when there is no such tag."""
        ...

    def delete_release(self, note: ReleaseNote) -> None:
        """Delete the release NOTE (the tag stays); NotFound when it is gone."""
        ...

    def issue_comments(self, number: int) -> list[str]:
        """The bodies of the comments on issue NUMBER, oldest first."""
        ...

    def comment_issue(self, number: int, body: str) -> None: ...

    def close_issue(self, number: int, body: str | None = None) -> IssueInfo:
        """Close issue NUMBER, setting its body to BODY in the same write when given."""
        ...

    # --- one read before acting, trust, and one run at a time --------------------------------
    def view(self, label: str, labels: list[str], tags: list[str]) -> RepoView:
        """Open issues labelled LABEL (with authors), which of LABELS exist, every release,
        Latest, each of TAGS resolved to a commit, and the identity acting: one round trip
        where the forge allows it."""
        ...

    def can_write(self, login: str) -> bool:
        """Whether LOGIN has write access (write, maintain or admin) to the repository."""
        ...

    def claim(self, key: str, claim: Claim) -> Claim | None:
        """Atomically claim KEY (``package/version``) for CLAIM.holder. None when the claim is
        now ours; else the claim that holds it (someone else's, or an earlier run's)."""
        ...

    def take_over(self, key: str, old: Claim, new: Claim) -> bool:
        """Replace the stale claim OLD by NEW; False when KEY is no longer held by OLD."""
        ...

    def release(self, key: str, holder: str) -> None:
        """Drop the claim on KEY when HOLDER holds it (absent or another's: nothing changes)."""
        ...


class RunReader(Protocol):
    """What ``detect`` and ``rollback --run`` read about release runs (GitHub Actions)."""

    def describe(self) -> str: ...

    def workflows(self) -> list[WorkflowInfo]: ...

    def workflow_runs(
        self,
        workflow: str | int,
        *,
        status: str | None = None,
        created: str | None = None,
        per_page: int | None = None,
    ) -> Iterator[RunInfo]:
        """Runs newest first, paged lazily: stopping the iteration stops the paging."""
        ...

    def workflow_run(self, run_id: int) -> RunInfo: ...

    def run_jobs(self, run_id: int) -> list[JobInfo]:
        """The jobs of the run's latest attempt, with their steps."""
        ...

    def job_log(self, job_id: int) -> str | None:
        """The job's plain-text log, or None when it is no longer kept."""
        ...
