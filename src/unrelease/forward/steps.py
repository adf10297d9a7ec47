"""``forward`` on a local git repository: the version-only commit on ``unrelease/forward-{v}``,
the annotated tag, the build and ``twine check --strict``, the stage upload and guard, and the
upload to the real index, each an observe → apply → verify step of the shared runner, so a
rerun after a failure at any step makes no second commit, tag or upload."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version

from unrelease.errors import Refused, ServiceError
from unrelease.forges.base import Forge
from unrelease.forward import gitrepo
from unrelease.forward.build import build, digests
from unrelease.forward.complete import index_files, index_sha256
from unrelease.forward.publish import twine_check, twine_upload, upload_url
from unrelease.forward.version_source import VersionSource, changes, detect
from unrelease.indexes.base import Index
from unrelease.model import IssueInfo, Step
from unrelease.runner import FnTask, Runner, Task, exit_code_of


@dataclass
class ForwardRequest:
    package: str
    bad: str
    new_version: str
    from_ref: str
    repo: Path
    tag_format: str = "v{version}"
    auth: tuple[str, str] | None = None
    stage: Callable[[], Index] | None = None  # opens the stage index, when there is one
    stage_auth: tuple[str, str] | None = None
    smoke: list[str] = field(default_factory=list)
    isolated: bool = True
    label: str = "release"  # the incident issue's label
    notify: Callable[[str], None] = lambda text: None


@dataclass
class ForwardOutcome:
    package: str
    bad: str
    new_version: str
    from_ref: str
    from_sha: str = ""
    source: VersionSource | None = None
    branch: str = ""
    tag: str = ""
    commit: str | None = None
    built: dict[str, str] = field(default_factory=dict)  # file name → sha256
    uploaded: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    exit_code: int = 0
    dry_run: bool = False
    issue: IssueInfo | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "package": self.package,
            "version": self.bad,
            "new_version": self.new_version,
            "from": self.from_ref,
            "from_sha": self.from_sha,
            "version_source": self.source.to_json() if self.source else None,
            "branch": self.branch,
            "tag": self.tag,
            "commit": self.commit,
            "built": self.built,
            "uploaded": self.uploaded,
            "steps": [s.to_json() for s in self.steps],
        }
        if self.dry_run:
            out["dry_run"] = True
        if self.issue is not None:
            out["issue"] = {"number": self.issue.number, "url": self.issue.url}
        return out


class _Work:
    """What the steps share: each writes its own field, read by the steps that need it."""

    def __init__(self, req: ForwardRequest, index: Index, forge: Forge, tmp: Path) -> None:
        self.req, self.index, self.forge, self.tmp = req, index, forge, tmp
        self.out = ForwardOutcome(req.package, req.bad, req.new_version, req.from_ref)
        self.out.branch = f"unrelease/forward-{req.new_version}"
        self.out.tag = req.tag_format.format(version=req.new_version)
        self.files: list[Path] = []
        self.changed: dict[str, bytes] = {}

    def plan(self) -> None:
        repo = self.req.repo
        self.out.from_sha = gitrepo.commit_of(repo, self.req.from_ref)
        src = gitrepo.export(repo, self.out.from_sha, self.tmp / "from")
        self.out.source = detect(src)
        self.changed = changes(src, self.out.source, self.req.new_version)
        ours = gitrepo.ref_sha(repo, f"refs/heads/{self.out.branch}") is not None
        if not ours and index_files(self.index, self.req.package, self.req.new_version):
            raise Refused(
                f"{self.req.package} {self.req.new_version} is already on the index and no "
                f"earlier forward made it: pick another --as"
            )

    # --- commit --------------------------------------------------------------------------
    def commit_seen(self) -> str | None:
        repo, branch = self.req.repo, self.out.branch
        sha = gitrepo.ref_sha(repo, f"refs/heads/{branch}")
        if sha is None:
            return None
        tree, parents = gitrepo.commit_parts(repo, sha)
        wanted = gitrepo.tree_with(repo, self.out.from_sha, self.changed)
        if parents != [self.out.from_sha] or tree != wanted:
            raise Refused(f"branch {branch} exists with another commit; delete it or pick --as")
        self.out.commit = sha
        return f"branch {branch} holds the commit {sha[:12]}"

    def commit(self) -> str:
        repo = self.req.repo
        tree = gitrepo.tree_with(repo, self.out.from_sha, self.changed)
        message = (
            f"Release {self.req.new_version}: {self.req.from_ref}'s code as a new version\n\n"
            f"Rolls forward from {self.req.package} {self.req.bad} (unrelease forward)."
        )
        sha = gitrepo.make_commit(repo, tree, self.out.from_sha, message, self.out.branch)
        self.out.commit = sha
        return f"commit {sha[:12]} on {self.out.branch}"

    # --- tag -----------------------------------------------------------------------------
    def tag_seen(self) -> str | None:
        info = self.forge.resolve_tag(self.out.tag)
        if info is None:
            return None
        if info.sha != self.out.commit:
            raise Refused(f"tag {self.out.tag} exists on another commit ({info.sha[:12]})")
        return f"tag {self.out.tag} is on {info.sha[:12]}"

    def tag(self) -> str:
        assert self.out.commit is not None
        message = f"Release {self.req.new_version} (rolled forward from {self.req.from_ref})"
        self.forge.create_tag(self.out.tag, self.out.commit, message)
        return f"annotated tag {self.out.tag}"

    # --- build ---------------------------------------------------------------------------
    def build(self) -> str:
        assert self.out.commit is not None
        work = Path(tempfile.mkdtemp(dir=self.tmp, prefix="build-"))
        src = gitrepo.export(self.req.repo, self.out.commit, work / "src")
        self.files = build(
            src, work / "dist", isolated=self.req.isolated, version=self.req.new_version
        )
        twine_check(self.files)
        self.out.built = digests(self.files)
        wanted = Version(self.req.new_version)
        for path in self.files:
            if wanted.public not in path.name and str(wanted) not in path.name:
                raise ServiceError(f"the build made {path.name}, not version {wanted}")
        return ", ".join(f"{n} sha256 {d}" for n, d in self.out.built.items())

    # --- uploads -------------------------------------------------------------------------
    def _on(self, index: Index) -> dict[str, str]:
        held = index_files(index, self.req.package, self.req.new_version)
        return {name: index_sha256(index, f) for name, f in held.items()}

    def upload_to(self, index: Index, auth: tuple[str, str] | None) -> list[str]:
        held = self._on(index)
        missing = [p for p in self.files if p.name not in held]
        if missing:
            skip = index.kind == "warehouse"
            twine_upload(missing, upload_url(index), auth, skip_existing=skip)
        return [p.name for p in missing]

    def upload_seen(self) -> str | None:
        held = self._on(self.index)
        if held and all(name in held for name in self.out.built):
            return f"{', '.join(sorted(held))} on the index"
        return None

    def upload(self) -> str:
        self.out.uploaded = self.upload_to(self.index, self.req.auth)
        return f"uploaded {', '.join(self.out.uploaded)}"

    def upload_check(self) -> None:
        held = self._on(self.index)
        wrong = [n for n, d in self.out.built.items() if held.get(n) != d]
        if wrong:
            raise ServiceError(f"{', '.join(wrong)} not on the index as built")

    def stage(self) -> str:
        assert self.req.stage is not None
        staged = self.upload_to(self.req.stage(), self.req.stage_auth)
        return f"staged {', '.join(staged) or 'nothing new'}"

    def guard(self) -> str:
        from unrelease.guard import GuardRequest
        from unrelease.guard import guard as run_guard

        assert self.req.stage is not None
        request = GuardRequest(
            package=self.req.package,
            version=self.req.new_version,
            smoke=list(self.req.smoke),
            wait=60,
            auth=self.req.stage_auth,
        )
        result = run_guard(request, self.req.stage)
        if result.verdict != "pass":
            failed = [c.name for c in result.checks if c.status != "pass"]
            raise Refused(
                f"the guard's verdict on the stage index is {result.verdict} "
                f"({', '.join(failed)}): nothing published to the index"
            )
        return "guard passed on the stage index"


def tasks_of(w: _Work) -> list[Task]:
    commit = FnTask(
        "commit", f"version-only commit on {w.out.branch}", w.commit, observe=w.commit_seen
    )
    tag = FnTask("tag", f"annotated tag {w.out.tag}", w.tag, observe=w.tag_seen, needs=[commit])
    built = FnTask("build", "python -m build; twine check --strict", w.build, needs=[tag])
    before: Task = built
    tasks: list[Task] = [commit, tag, built]
    if w.req.stage is not None:
        stage = FnTask("stage", "upload to the stage index", w.stage, needs=[built])
        guard = FnTask("guard", "guard the stage index's release", w.guard, needs=[stage])
        tasks += [stage, guard]
        before = guard
    upload = FnTask(
        "upload",
        f"upload to {w.index.url} with twine",
        w.upload,
        observe=w.upload_seen,
        verify=w.upload_check,
        needs=[before],
    )
    tasks.append(upload)
    from unrelease.forward import tell

    req = w.req
    text = tell.section(req.package, req.bad, req.new_version, req.from_ref)
    tasks.append(tell.release_task(w.forge, w.out.tag, req.new_version, text, [upload]))
    issue = tell.incident_of(w.forge, req.package, req.bad, req.label, req.notify)
    if issue is not None:
        tasks.append(tell.incident_task(w.forge, issue, text, [upload]))
        w.out.issue = issue
    return tasks


def forward(
    req: ForwardRequest, index: Index, forge: Forge, *, dry_run: bool = False
) -> ForwardOutcome:
    """Ship REQ.from_ref's code as REQ.new_version; the outcome (exit code in it)."""
    with tempfile.TemporaryDirectory(prefix="unrelease-forward-") as tmp:
        w = _Work(req, index, forge, Path(tmp))
        w.plan()
        tasks = tasks_of(w)
        for t in tasks:
            t.retries = 0 if t.name in ("build", "guard") else t.retries
        if dry_run:
            w.out.dry_run = True
            w.out.steps = [t.to_step() for t in tasks]
            return w.out
        Runner(tasks, workers=1).run()
        w.out.steps = [t.to_step() for t in tasks]
        w.out.exit_code = exit_code_of(tasks)
        return w.out
