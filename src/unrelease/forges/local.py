"""A forge on a plain git repository: annotated git tags; issues, labels and release notes as
files under ``.unrelease/`` in the work tree. Lets unrelease run (and drill) without GitHub."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from unrelease.errors import BadInput, NotFound, ServiceError
from unrelease.forges.base import Claim, LabelSpec, RepoView
from unrelease.forges.claims import check_key, claim_json, parse_claim, same_claim
from unrelease.model import IssueInfo, ReleaseNote, TagInfo

STATE_DIR = ".unrelease"
TAKEOVER_STALE_S = 60.0  # a take-over guard older than this was left by a crashed run


class LocalForge:
    kind = "local"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).resolve()
        if not self.path.is_dir():
            raise BadInput(f"not a directory: {path}")
        self._identity: dict[str, str] = {}
        top = self._git("rev-parse", "--show-toplevel", check=False)
        if top.returncode != 0:
            raise BadInput(f"not a git repository: {path}")
        self.path = Path(top.stdout.strip())
        self.state = self.path / STATE_DIR
        # A tagger identity only when git has none, so `git tag -a` never stops to ask.
        if self._git("config", "user.email", check=False).returncode != 0:
            self._identity = {
                "GIT_COMMITTER_NAME": "unrelease",
                "GIT_COMMITTER_EMAIL": "unrelease@localhost",
            }

    # --- plumbing ----------------------------------------------------------------------------
    def _git(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self._identity}
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if check and proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            raise ServiceError(f"git {args[0]} failed: {last}")
        return proc

    def _load(self, kind: str) -> list[dict[str, Any]]:
        folder = self.state / kind
        if not folder.is_dir():
            return []
        items = [json.loads(p.read_text("utf-8")) for p in folder.glob("*.json")]
        return sorted(items, key=lambda d: int(d.get("number", d.get("id", 0))))

    def _save(self, kind: str, key: int, data: dict[str, Any], text: str | None = None) -> Path:
        folder = self.state / kind
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{key}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), "utf-8")
        tmp.replace(path)  # atomic: a crash leaves the old file or the new one
        if text is not None:
            (folder / f"{key}.md").write_text(text, "utf-8")
        return path

    def describe(self) -> str:
        return str(self.path)

    # --- tags --------------------------------------------------------------------------------
    def resolve_tag(self, name: str) -> TagInfo | None:
        ref = f"refs/tags/{name}"
        sha = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if sha.returncode != 0:
            return None
        kind = self._git("cat-file", "-t", ref).stdout.strip()
        message = None
        if kind == "tag":
            message = self._git("tag", "-l", "--format=%(contents)", name).stdout
        return TagInfo(name=name, sha=sha.stdout.strip(), annotated=kind == "tag", message=message)

    def resolve_tags(self, names: list[str]) -> dict[str, TagInfo | None]:
        return {n: self.resolve_tag(n) for n in names}

    def create_tag(self, name: str, sha: str, message: str) -> TagInfo:
        self._git("tag", "-a", name, sha, "-F", "-", stdin=message)
        info = self.resolve_tag(name)
        assert info is not None
        return info

    def tag_url(self, name: str) -> str:
        return f"{self.path.as_uri()}#refs/tags/{name}"

    # --- labels ------------------------------------------------------------------------------
    def _labels(self) -> dict[str, dict[str, str]]:
        path = self.state / "labels.json"
        return json.loads(path.read_text("utf-8")) if path.exists() else {}

    def missing_labels(self, names: list[str]) -> list[str]:
        have = {k.lower() for k in self._labels()}
        return [n for n in names if n.lower() not in have]

    def create_label(self, label: LabelSpec) -> None:
        labels = self._labels()
        labels[label.name] = {"color": label.color, "description": label.description}
        self.state.mkdir(parents=True, exist_ok=True)
        (self.state / "labels.json").write_text(json.dumps(labels, indent=2, sort_keys=True))

    # --- issues ------------------------------------------------------------------------------
    def _issue(self, d: dict[str, Any]) -> IssueInfo:
        return IssueInfo(
            number=int(d["number"]),
            url=(self.state / "issues" / f"{d['number']}.md").as_uri(),
            body=str(d["body"]),
            state=str(d["state"]),
            labels=tuple(d["labels"]),
            author=str(d["author"]) if d.get("author") else None,
        )

    def find_issues(self, label: str, state: str = "open") -> list[IssueInfo]:
        return [
            self._issue(d)
            for d in self._load("issues")
            if state in ("all", d["state"]) and label.lower() in (x.lower() for x in d["labels"])
        ]

    def create_issue(self, title: str, body: str, labels: list[str]) -> IssueInfo:
        number = max((int(d["number"]) for d in self._load("issues")), default=0) + 1
        data = {
            "number": number,
            "title": title,
            "body": body,
            "labels": labels,
            "state": "open",
            "author": self.identity(),
        }
        self._save("issues", number, data, f"# {title}\n\n{body}")
        return self._issue(data)

    def update_issue(self, number: int, body: str) -> IssueInfo:
        data = next((d for d in self._load("issues") if int(d["number"]) == number), None)
        if data is None:
            raise ServiceError(f"issue {number} not found in {self.state}")
        data["body"] = body
        self._save("issues", number, data, f"# {data['title']}\n\n{body}")
        return self._issue(data)

    # --- releases ----------------------------------------------------------------------------
    def _note(self, d: dict[str, Any]) -> ReleaseNote:
        return ReleaseNote(
            id=int(d["id"]),
            tag=str(d["tag"]),
            title=str(d["title"]),
            url=(self.state / "releases" / f"{d['id']}.md").as_uri(),
            body=str(d["body"]),
            draft=bool(d["draft"]),
            prerelease=bool(d["prerelease"]),
        )

    def list_releases(self) -> list[ReleaseNote]:
        return [self._note(d) for d in self._load("releases")]

    def latest_release(self) -> ReleaseNote | None:
        latest = [d for d in self._load("releases") if d.get("latest")]
        return self._note(latest[-1]) if latest else None

    def create_release(
        self, tag: str, title: str, body: str, *, draft: bool, prerelease: bool, target: str | None
    ) -> ReleaseNote:
        rid = max((int(d["id"]) for d in self._load("releases")), default=0) + 1
        data = {
            "id": rid,
            "tag": tag,
            "title": title,
            "body": body,
            "draft": draft,
            "prerelease": prerelease,
            "target": target,
            "latest": False,
        }
        self._save("releases", rid, data, f"# {title}\n\n{body}")
        return self._note(data)

    def update_release(
        self, note: ReleaseNote, *, title: str, body: str, draft: bool, prerelease: bool
    ) -> ReleaseNote:
        data = next(d for d in self._load("releases") if int(d["id"]) == int(note.id))
        data.update(title=title, body=body, draft=draft, prerelease=prerelease)
        self._save("releases", int(note.id), data, f"# {title}\n\n{body}")
        return self._note(data)

    def make_latest(self, note: ReleaseNote) -> None:
        for d in self._load("releases"):
            d["latest"] = int(d["id"]) == int(note.id)
            self._save("releases", int(d["id"]), d)

    # --- undo --------------------------------------------------------------------------------
    def delete_tag(self, name: str) -> None:
        if self.resolve_tag(name) is None:
            raise NotFound(f"tag {name} does not exist in {self.path}")
        self._git("tag", "-d", name)

    def delete_release(self, note: ReleaseNote) -> None:
        folder = self.state / "releases"
        path = folder / f"{int(note.id)}.json"
        if not path.exists():
            raise NotFound(f"release {note.id} not found in {self.state}")
        path.unlink()
        (folder / f"{int(note.id)}.md").unlink(missing_ok=True)

    def _issue_data(self, number: int) -> dict[str, Any]:
        data = next((d for d in self._load("issues") if int(d["number"]) == number), None)
        if data is None:
            raise NotFound(f"issue {number} not found in {self.state}")
        return data

    def issue_comments(self, number: int) -> list[str]:
        return [str(c) for c in self._issue_data(number).get("comments", [])]

    def comment_issue(self, number: int, body: str) -> None:
        data = self._issue_data(number)
        data["comments"] = [*data.get("comments", []), body]
        self._save("issues", number, data)

    def close_issue(self, number: int, body: str | None = None) -> IssueInfo:
        data = self._issue_data(number)
        data["state"] = "closed"
        if body is not None:
            data["body"] = body
        self._save("issues", number, data, f"# {data['title']}\n\n{data['body']}")
        return self._issue(data)

    # --- one read, trust, claims -------------------------------------------------------------
    def identity(self) -> str:
        """Who acts here: git's user.email, else the OS user."""
        email = self._git("config", "user.email", check=False)
        if email.returncode == 0 and email.stdout.strip():
            return email.stdout.strip()
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"

    def view(self, label: str, labels: list[str], tags: list[str]) -> RepoView:
        missing = {name.lower() for name in self.missing_labels(labels)}
        return RepoView(
            identity=self.identity(),
            issues=tuple(self.find_issues(label)),
            labels=frozenset(name for name in labels if name.lower() not in missing),
            notes=tuple(self.list_releases()),
            latest=self.latest_release(),
            tags=self.resolve_tags(list(dict.fromkeys(tags))),
        )

    def can_write(self, login: str) -> bool:
        return True  # whoever can run git here can write to it

    def _lock(self, key: str) -> Path:
        return self.state / "locks" / f"{check_key(key)}.json"

    def _read_claim(self, path: Path) -> Claim | None:
        try:
            return parse_claim(path.read_text("utf-8"))
        except FileNotFoundError:
            return None

    def claim(self, key: str, claim: Claim) -> Claim | None:
        path = self._lock(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The claim is written whole to a file of our own, then linked into place: link(2)
        # fails when the name exists (like O_CREAT|O_EXCL), and nobody ever reads half a claim.
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(claim_json(claim), "utf-8")
        try:
            for _ in range(3):
                try:
                    os.link(tmp, path)
                    return None
                except FileExistsError:
                    held = self._read_claim(path)
                    if held is not None:
                        return held  # else released between our link and our read: again
        finally:
            tmp.unlink(missing_ok=True)
        raise ServiceError(f"the claim on {key} keeps changing hands; rerun")

    def take_over(self, key: str, old: Claim, new: Claim) -> bool:
        path = self._lock(key)
        guard = path.with_name(path.name + ".takeover")
        try:
            if time.time() - guard.stat().st_mtime > TAKEOVER_STALE_S:
                guard.unlink(missing_ok=True)
        except FileNotFoundError:
            pass
        try:  # one take-over at a time: the read-compare-replace below is then atomic
            os.close(os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            return False
        try:
            held = self._read_claim(path)
            if held is None or not same_claim(held, old):
                return False
            tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
            tmp.write_text(claim_json(new), "utf-8")
            tmp.replace(path)
            return True
        finally:
            guard.unlink(missing_ok=True)

    def release(self, key: str, holder: str) -> None:
        path = self._lock(key)
        held = self._read_claim(path)
        if held is not None and held.holder == holder:
            path.unlink(missing_ok=True)
