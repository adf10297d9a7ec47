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
