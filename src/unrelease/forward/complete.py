"""``complete``: finish a half-done publish. Each distribution file of PACKAGE VERSION in a
directory (or a run's artifact) is compared with what the index holds by sha256; the missing
ones are uploaded with twine, each as one observe → apply → verify step through the shared
runner, and the completion is recorded in the version's incident issue when there is one.

A file the index holds under the same name with other bytes refuses the whole run (exit 2,
nothing uploaded): the directory is not what was published.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from unrelease.errors import BadInput, NotFound, Refused, ServiceError
from unrelease.forges.base import Forge
from unrelease.forward.publish import twine_upload, upload_url
from unrelease.indexes.base import Index, check_dist_filename, sha256_of
from unrelease.model import DistFile, IssueInfo, Status, Step
from unrelease.runner import FnTask, Runner, Task, exit_code_of

_SUFFIXES = (".whl", ".tar.gz", ".zip")
MARKER = "<!-- unrelease:complete {package} {version} -->"


@dataclass
class CompleteRequest:
    package: str
    version: str
    dist_dir: Path
    auth: tuple[str, str] | None = None
    label: str = "release"  # the label the incident issue carries
    notify: Callable[[str], None] = lambda text: None


@dataclass
class CompleteOutcome:
    package: str
    version: str
    index_url: str
    uploaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    issue: IssueInfo | None = None
    dry_run: bool = False
    exit_code: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "package": self.package,
            "version": self.version,
            "index": self.index_url,
            "uploaded": self.uploaded,
            "present": self.present,
            "steps": [s.to_json() for s in self.steps],
        }
        if self.dry_run:
            out["dry_run"] = True
        if self.issue is not None:
            out["issue"] = {"number": self.issue.number, "url": self.issue.url}
        return out


def local_files(dist_dir: Path, package: str, version: str) -> list[Path]:
    """The wheels and sdists of PACKAGE VERSION in DIST_DIR (another project's or version's
    file is refused: it is the wrong directory)."""
    if not dist_dir.is_dir():
        raise BadInput(f"--dist {dist_dir}: not a directory")
    files = sorted(p for p in dist_dir.iterdir() if p.is_file() and p.name.endswith(_SUFFIXES))
    if not files:
        raise BadInput(f"--dist {dist_dir}: no wheel or sdist in it")
    for path in files:
        try:
            check_dist_filename(path.name, package, version)
        except BadInput:
            raise BadInput(
                f"--dist {dist_dir}: {path.name} is not a file of {package} {version}"
            ) from None
    return files


def index_files(index: Index, package: str, version: str) -> dict[str, DistFile]:
    """The files the index holds for PACKAGE VERSION, by name (none when it has neither)."""
    try:
        releases = index.releases(package)
    except NotFound:
        return {}
    wanted = Version(version)
    return {f.filename: f for r in releases if Version(r.version) == wanted for f in r.files}


def index_sha256(index: Index, file: DistFile) -> str:
    """The index file's sha256: as the index tells it, else of the downloaded bytes."""
    if file.sha256:
        return file.sha256.lower()
    with tempfile.TemporaryDirectory(prefix="unrelease-complete-") as tmp:
        return sha256_of(index.download(file, Path(tmp)))


def compare(index: Index, package: str, version: str, files: list[Path]) -> list[Path]:
    """The FILES the index lacks; Refused when it holds one of their names with other bytes."""
    there = index_files(index, package, version)
    missing = []
    for path in files:
        held = there.get(path.name)
        if held is None:
            missing.append(path)
            continue
        if index_sha256(index, held) != sha256_of(path):
            raise Refused(
                f"the index holds another {path.name} than {path.parent} (sha256 differs): "
                "these files are not what was published; nothing uploaded"
            )
    return missing


class _Upload(FnTask):
    def __init__(self, index: Index, req: CompleteRequest, path: Path) -> None:
        super().__init__(
            f"upload {path.name}",
            f"upload {path.name} to {index.url} with twine",
            self._do,
            observe=self._seen,
            verify=self._check,
        )
        self.index, self.req, self.path = index, req, path
        self.digest = sha256_of(path)

    def _held(self) -> str | None:
        held = index_files(self.index, self.req.package, self.req.version).get(self.path.name)
        return None if held is None else index_sha256(self.index, held)

    def _seen(self) -> str | None:
        held = self._held()
        if held is None:
            return None
        if held != self.digest:
            raise Refused(f"the index now holds another {self.path.name}; not replaced")
        return f"{self.path.name} is on the index (sha256 {self.digest[:12]})"

    def _do(self) -> str:
        skip = self.index.kind == "warehouse"  # twine takes --skip-existing for PyPI only
        twine_upload([self.path], upload_url(self.index), self.req.auth, skip_existing=skip)
        return f"uploaded {self.path.name} (sha256 {self.digest})"

    def _check(self) -> None:
        if self._held() != self.digest:
            raise ServiceError(f"{self.path.name} is not on the index after the upload")


def find_incident(forge: Forge, req: CompleteRequest) -> IssueInfo | None:
    """The open incident issue holding a trusted rollback record of PACKAGE VERSION."""
    from unrelease.records import trusted

    view = forge.view(req.label, [req.label], [])
    found = trusted(
        view.issues, forge, view.identity, req.package, Version(req.version), req.notify
    )
    return found[0][0] if found else None


def _comment(forge: Forge, issue: IssueInfo, req: CompleteRequest, files: list[Path]) -> Task:
    marker = MARKER.format(package=canonicalize_name(req.package), version=req.version)
    lines = [f"- `{p.name}` sha256 `{sha256_of(p)}`" for p in files]
    body = "\n".join(
        [
            marker,
            f"**Publish completed**: {req.package} {req.version} now has every file of "
            "the release on the index:",
            *lines,
        ]
    )

    def seen() -> str | None:
        done = any(marker in c for c in forge.issue_comments(issue.number))
        return f"issue #{issue.number} already records it" if done else None

    def write() -> str:
        forge.comment_issue(issue.number, body)
        return f"recorded in issue #{issue.number}"

    return FnTask("record", f"comment on issue #{issue.number}", write, observe=seen)


def complete(
    req: CompleteRequest, index: Index, forge: Forge | None, *, dry_run: bool = False
) -> CompleteOutcome:
    """Upload what the index lacks of REQ's files; the outcome (exit code in it)."""
    files = local_files(req.dist_dir, req.package, req.version)
    missing = compare(index, req.package, req.version, files)
    out = CompleteOutcome(req.package, req.version, index.url, dry_run=dry_run)
    out.present = [p.name for p in files if p not in missing]
    out.issue = find_incident(forge, req) if forge is not None else None
    tasks: list[Task] = [_Upload(index, req, p) for p in missing]
    if out.issue is not None and forge is not None:
        tasks.append(_comment(forge, out.issue, req, files))
        tasks[-1].needs = tuple(tasks[:-1])
    if dry_run:
        out.uploaded = []
        out.steps = [t.to_step() for t in tasks]
        return out
    Runner(tasks, workers=2).run()
    out.steps = [t.to_step() for t in tasks]
    done = [t for t in tasks if isinstance(t, _Upload) and t.status is Status.DONE]
    out.uploaded = [t.path.name for t in done]
    out.exit_code = exit_code_of(tasks)
    return out
