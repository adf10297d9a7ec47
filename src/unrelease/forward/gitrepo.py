"""The roll-forward commit in a local git repository, made with git plumbing: a tree that is
the --from commit's tree with only the version changed, a commit whose one parent is --from's
commit, and the branch ``unrelease/forward-{version}``. The work tree is never touched."""

from __future__ import annotations

import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from unrelease.errors import BadInput, ServiceError

ZERO = "0" * 40


def git(
    repo: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> str:
    """Run git in REPO; its stdout stripped, or ServiceError with its last line."""
    full = {**os.environ, **(env or {})}
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            input=stdin,
            capture_output=True,
            env=full,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ServiceError(f"git {args[0]}: {exc}") from None
    if done.returncode != 0:
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["failed"]
        raise ServiceError(f"git {args[0]} failed: {last[0][:200]}")
    return done.stdout.decode("utf-8", "replace").strip()


def commit_of(repo: Path, ref: str) -> str:
    """The commit REF names; BadInput when it names none."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except ServiceError:
        raise BadInput(f"--from {ref}: no such commit in {repo}") from None


def ref_sha(repo: Path, ref: str) -> str | None:
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", ref) or None
    except ServiceError:
        return None


def export(repo: Path, commit: str, dest: Path) -> Path:
    """The tree of COMMIT written into DEST (``git archive``, extracted with the data filter)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest.parent / f"{dest.name}.tar"
    try:
        with archive.open("wb") as out:
            done = subprocess.run(
                ["git", "-C", str(repo), "archive", "--format=tar", commit],
                stdout=out,
                stderr=subprocess.PIPE,
                timeout=120,
                check=False,
            )
        if done.returncode != 0:
            raise ServiceError(f"git archive {commit[:12]} failed")
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
    finally:
        archive.unlink(missing_ok=True)
    return dest


def tree_with(repo: Path, base: str, files: dict[str, bytes]) -> str:
    """The tree of BASE with FILES (path → bytes) replaced; written to the object store."""
    if not files:
        return git(repo, "rev-parse", f"{base}^{{tree}}")
    with tempfile.TemporaryDirectory(prefix="unrelease-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(repo, "read-tree", base, env=env)
        for path, body in files.items():
            blob = git(repo, "hash-object", "-w", "--stdin", stdin=body)
            mode = git(repo, "ls-tree", base, "--", path).split(" ", 1)[0] or "100644"
            git(repo, "update-index", "--cacheinfo", f"{mode},{blob},{path}", env=env)
        return git(repo, "write-tree", env=env)


def make_commit(repo: Path, tree: str, parent: str, message: str, branch: str) -> str:
    """A commit of TREE on PARENT, set as BRANCH (which must not exist yet)."""
    env = {
        "GIT_AUTHOR_NAME": "unrelease",
        "GIT_AUTHOR_EMAIL": "unrelease@users.noreply.github.com",
        "GIT_COMMITTER_NAME": "unrelease",
        "GIT_COMMITTER_EMAIL": "unrelease@users.noreply.github.com",
    }
    sha = git(repo, "commit-tree", tree, "-p", parent, "-m", message, env=env)
    git(repo, "update-ref", f"refs/heads/{branch}", sha, ZERO)
    return sha


def commit_parts(repo: Path, sha: str) -> tuple[str, list[str]]:
    """COMMIT's tree and parents."""
    line = git(repo, "show", "-s", "--format=%T %P", sha)
    tree, *parents = line.split()
    return tree, parents


def forward_branches(repo: Path) -> dict[str, str]:
    """The ``unrelease/forward-{version}`` branches: version → the parent of their commit."""
    out = {}
    lines = git(repo, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/heads/")
    for line in lines.splitlines():
        name, _, sha = line.partition(" ")
        if name.startswith("unrelease/forward-"):
            parents = commit_parts(repo, sha)[1]
            out[name.removeprefix("unrelease/forward-")] = parents[0] if parents else ""
    return out
