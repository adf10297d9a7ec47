"""The Forge port: tags, labels, issues and release notes, on GitHub or on a plain git repo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from unrelease.model import IssueInfo, ReleaseNote, TagInfo


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

    def find_issues(self, label: str) -> list[IssueInfo]:
        """Open issues (never pull requests) carrying LABEL, bodies included."""
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
