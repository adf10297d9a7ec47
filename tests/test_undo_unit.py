"""Undo of yank-mode rollbacks and undo's refusals, with an in-memory index that can yank (no
local index server can) and the real GitHub forge on the fake; plus the record's new fields."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from pytest_mock import MockerFixture

from tests.fakes.github import FakeGitHub
from unrelease.engine import Engine, Options
from unrelease.errors import BadInput, NotFound, Refused, ServiceError
from unrelease.forges.github import GitHubForge
from unrelease.indexes.base import Capabilities, Index, ManualStep
from unrelease.model import DistFile, IssueInfo, Record, Release, Status, Step
from unrelease.texts import find_record, matching_records, record_block, replace_record
from unrelease.undo import UndoEngine, UndoOptions
from unrelease.undo_work import undo_marker

PKG = "Memo_Pkg"
VERSIONS = ("1.0.0", "1.1.0", "1.2.0")


class MemoryIndex(Index):
    """An index in memory that yanks and unyanks (PEP 592), and counts its writes."""

    kind = "memory"
    capabilities = Capabilities(yank=True, unyank=True)

    def __init__(self, versions: tuple[str, ...] = VERSIONS) -> None:
        super().__init__("http://127.0.0.1:9/memory/", requests.Session())
        self.versions = list(versions)
        self.yanked: dict[str, str] = {}
        self.writes: list[tuple[str, str]] = []
        self.fail_unyank = 0
        self.ignore_unyank = False

    def releases(self, package: str) -> list[Release]:
        if package != PKG:
            raise NotFound(f"package {package} is not on the index")
        return [
            Release(
                v,
                (
                    DistFile(
                        f"memo_pkg-{v}.tar.gz",
                        f"{self.url}memo_pkg-{v}.tar.gz",
                        yanked=v in self.yanked,
                        yanked_reason=self.yanked.get(v),
                    ),
                ),
            )
            for v in self.versions
        ]

    def check_auth(self, package: str | None = None, version: str | None = None) -> None:
        self.writes.append(("check_auth", version or ""))

    def yank(self, package: str, version: str, reason: str) -> None:
        self.writes.append(("yank", version))
        self.yanked[version] = reason

    def unyank(self, package: str, version: str) -> None:
        if self.fail_unyank:
            self.fail_unyank -= 1
            raise ServiceError("the index answered 503")
        self.writes.append(("unyank", version))
        if not self.ignore_unyank:
            self.yanked.pop(version, None)


class ManualIndex(MemoryIndex):
    manual = True

    def manual_step(
        self,
        package: str,
        version: str,
        action: str,
        reason: str | None = None,
        filename: str | None = None,
    ) -> ManualStep:
        return ManualStep(f"{self.url}{package}/{version}", action.title(), "version", version)


class NoUploadIndex(MemoryIndex):
    capabilities = Capabilities(delete_release=True, filename_reusable=True)


class WarehouseLikeIndex(MemoryIndex):
    capabilities = Capabilities(
        yank=True, unyank=True, delete_release=True, upload=True, filename_reusable=False
    )


class UploadingIndex(MemoryIndex):
    capabilities = Capabilities(delete_release=True, upload=True)


@pytest.fixture
def repo(fake_github: FakeGitHub) -> Iterator[tuple[FakeGitHub, GitHubForge]]:
    for i, v in enumerate(VERSIONS):
        sha = fake_github.add_commit(f"Release {v}")
        fake_github.add_tag(f"v{v}", sha, annotated=True, message=f"Release {v}")
        fake_github.add_release(f"v{v}", f"v{v}", body=f"Notes {v}", latest=i == 2)
    forge = GitHubForge(fake_github.full_name, fake_github.token, fake_github.api_url)
    yield fake_github, forge
    forge.close()


def clock() -> datetime:
    return datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def do_rollback(forge: GitHubForge, index: Index, **kw: object) -> None:
    options = Options(package=PKG, version="1.2.0", reason="broken", **kw)  # type: ignore[arg-type]
    engine = Engine(options, index, forge, now=clock)
    out = engine.run(engine.plan())
    assert out.exit_code == 0, [s.to_json() for s in out.steps]


def undo_engine(forge: GitHubForge, index: Index, **kw: object) -> UndoEngine:
    options = UndoOptions(PKG, "1.2.0", index=index.url, who="@someone *bold*", **kw)  # type: ignore[arg-type]
    return UndoEngine(options, forge, lambda url: index, now=clock)


def run_undo(forge: GitHubForge, index: Index) -> dict[str, str]:
    engine = undo_engine(forge, index)
    plan = engine.plan()
    engine.preflight(plan)
    out = engine.run(plan)
    return {s.name: s.status.value for s in out.steps}


def the_record(fake: FakeGitHub) -> Record:
    (issue,) = fake.state.issues.values()
    record = find_record(issue["body"])
    assert record is not None
    return record


# --- yank mode ----------------------------------------------------------------------------------
def test_yank_rollback_undone(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    fake, forge = repo
    index = MemoryIndex()
    do_rollback(forge, index, to="1.0.0", mark_release=True)
    assert set(index.yanked) == {"1.2.0", "1.1.0"}

    engine = undo_engine(forge, index)
    plan = engine.plan()
    assert plan.needs_confirmation
    assert [s.name for s in plan.steps][:2] == ["index:1.1.0", "index:1.2.0"]  # oldest first
    engine.preflight(plan)
    assert index.writes[-1] == ("check_auth", "1.1.0")
    out = engine.run(plan)
    assert out.exit_code == 0, [s.to_json() for s in out.steps]
    assert index.yanked == {}
    assert [w for w in index.writes if w[0] == "unyank"] == [
        ("unyank", "1.1.0"),
        ("unyank", "1.2.0"),
    ]
    data = out.to_json()
    assert data["mode"] == "yank" and data["to"] == "1.0.0"
    assert data["withdrawn"] == ["1.2.0", "1.1.0"] and data["restored"] == ["1.1.0", "1.2.0"]
    assert data["undone_at"] == "2025-03-04T05:06:07+00:00"
    assert data["release_note"]["url"]
    assert {s["name"]: s["status"] for s in data["steps"]} == {
        "index:1.1.0": "done",
        "index:1.2.0": "done",
        "mark-release": "done",
        "latest": "done",
        "note": "done",
        "tag": "done",
        "issue": "done",
    }
    comment = fake.state.comments[1][0]
    assert comment.startswith(undo_marker(data["record_id"]))
    assert "@&#8203;someone \\*bold\\*" in comment  # data is escaped: no mention, no markup
    assert "`1.1.0`, `1.2.0` can be installed" in comment
    assert the_record(fake).undone_by == "@someone *bold*"

    # rerun: nothing to do, nothing written, not even the index is asked
    fake.clear_log()
    writes = list(index.writes)
    assert set(run_undo(forge, index).values()) == {"already-done"}
    assert fake.writes() == [] and index.writes == writes


def test_unyank_failure_then_rerun(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    fake, forge = repo
    index = MemoryIndex()
    do_rollback(forge, index)
    index.fail_unyank = 3  # more than the runner absorbs in one run (a try and two retries)
    first = run_undo(forge, index)
    assert first["index:1.2.0"] == "failed"
    assert {first[k] for k in ("latest", "note", "tag")} == {"skipped"}
    assert first["issue"] == "skipped"
    assert [s.status for s in the_record(fake).undo_steps if s.name == "index:1.2.0"] == [
        Status.FAILED
    ]
    second = run_undo(forge, index)
    assert second["index:1.2.0"] == "done" and second["issue"] == "done"
    third = run_undo(forge, index)
    assert set(third.values()) == {"already-done"}
    assert [w for w in index.writes if w[0] == "unyank"] == [("unyank", "1.2.0")]
    assert len(fake.state.comments[1]) == 1


def test_unyank_that_does_not_show_fails_the_step(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    _, forge = repo
    index = MemoryIndex()
    do_rollback(forge, index)
    index.ignore_unyank = True
    engine = undo_engine(forge, index)
    out = engine.run(engine.plan())
    step = out.steps[0]
    assert step.status is Status.FAILED and "still yanked" in step.detail
    assert out.exit_code == 1


def test_manual_index_leaves_the_step_to_a_person(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    fake, forge = repo
    index = ManualIndex()
    index.yanked["1.2.0"] = "by hand"
    do_rollback_record(fake, forge)
    engine = undo_engine(forge, index)
    plan = engine.plan()
    engine.preflight(plan)  # asks nothing of a manual index
    out = engine.run(plan)
    assert out.exit_code == 3
    assert out.steps[0].status is Status.PENDING
    assert out.steps[0].detail == (
        "by hand: open http://127.0.0.1:9/memory/Memo_Pkg/1.2.0, press 'Unyank', "
        "type '1.2.0' as version, confirm"
    )
    assert out.steps[-1].status is Status.SKIPPED
    assert index.writes == []
    # an index with no manual instructions still says what to do
    plain = MemoryIndex()
    plain.manual = True
    plain.yanked["1.2.0"] = "x"
    step = undo_engine(forge, plain).plan().steps[0]
    assert step.detail == f"by hand on {plain.url}: unyank {PKG} 1.2.0 on {plain.url}"


def do_rollback_record(fake: FakeGitHub, forge: GitHubForge, **fields: object) -> Record:
    """An incident issue with a yank record, as an older unrelease (or a person) left it."""
    data: dict[str, object] = {
        "id": "rb-20250101-abcdef12",
        "package": PKG,
        "version": "1.2.0",
        "to": "1.1.0",
        "mode": "yank",
        "reason": "r",
        "index": "http://127.0.0.1:9/memory/",
        "severity": "critical",
        "who": "x",
        "when": "2025-01-01T00:00:00+00:00",
        "withdrawn": ["1.2.0"],
    }
    record = Record(**{**data, **fields})  # type: ignore[arg-type]
    fake.add_issue("ROLLBACK", f"hand-made\n\n{record_block(record)}\n", ["release"])
    return record


# --- refusals before anything changes -----------------------------------------------------------
@pytest.mark.parametrize(
    ("index", "mode", "message"),
    [
        (NoUploadIndex(), "yank", "cannot unyank"),
        (NoUploadIndex(), "delete", "cannot take uploads"),
        (WarehouseLikeIndex(), "delete", "never takes a deleted filename again"),
        (MemoryIndex(), "purge", "unknown mode 'purge'"),
    ],
)
def test_refused_by_capability(
    index: Index, mode: str, message: str, repo: tuple[FakeGitHub, GitHubForge]
) -> None:
    fake, forge = repo
    do_rollback_record(fake, forge, mode=mode)
    fake.clear_log()
    with pytest.raises((Refused, BadInput), match=message) as info:
        undo_engine(forge, index).plan()
    assert info.value.exit_code == 2
    if "filename" in message:
        assert "1.2.0.post1" in str(info.value)
    assert fake.writes() == []


def test_version_gone_from_index_is_refused(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    fake, forge = repo
    do_rollback_record(fake, forge)
    with pytest.raises(Refused, match="nothing to unyank"):
        undo_engine(forge, MemoryIndex(("1.0.0", "1.1.0"))).plan()


def test_package_gone_from_index(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    fake, forge = repo
    do_rollback_record(fake, forge)
    index = MemoryIndex()
    options = UndoOptions(package="memo-pkg", version="1.2.0", index=index.url)
    engine = UndoEngine(options, forge, lambda url: index)
    with pytest.raises(BadInput, match="package memo-pkg is not on"):
        engine.plan()


def test_delete_record_without_backup_is_refused(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    fake, forge = repo
    do_rollback_record(fake, forge, mode="delete", files=["memo_pkg-1.2.0.tar.gz"])
    with pytest.raises(Refused, match="pass --backup-dir"):
        undo_engine(forge, UploadingIndex(("1.0.0", "1.1.0"))).plan()


def test_delete_record_naming_no_file(repo: tuple[FakeGitHub, GitHubForge], tmp_path: Path) -> None:
    fake, forge = repo
    do_rollback_record(fake, forge, mode="delete", backup=str(tmp_path))
    with pytest.raises(Refused, match="names no backed-up file"):
        undo_engine(forge, UploadingIndex(("1.0.0", "1.1.0"))).plan()
    # the version is still there: nothing was deleted, nothing to put back
    plan = undo_engine(forge, UploadingIndex()).plan()
    assert plan.steps[0].status is Status.ALREADY_DONE and plan.steps[0].detail


def test_record_without_sha256_cannot_be_checked(
    repo: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = repo
    (tmp_path / "memo-pkg-1.2.0").mkdir()
    (tmp_path / "memo-pkg-1.2.0" / "memo_pkg-1.2.0.tar.gz").write_bytes(b"x")
    do_rollback_record(
        fake, forge, mode="delete", backup=str(tmp_path), files=["memo_pkg-1.2.0.tar.gz"]
    )
    with pytest.raises(Refused, match=r"no sha256 for memo_pkg-1\.2\.0\.tar\.gz"):
        undo_engine(forge, UploadingIndex(("1.0.0", "1.1.0"))).plan()


def test_no_record_names_the_label_and_repo(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    fake, forge = repo
    fake.add_issue("ROLLBACK: Memo_Pkg 1.2.0", "no record here", ["release"])
    with pytest.raises(BadInput, match="labelled 'release' on github:acme/widget"):
        undo_engine(forge, MemoryIndex()).plan()


# --- old records, and a forge that moved on ------------------------------------------------------
def test_old_record_without_the_new_fields(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    """A record from before undo existed: no latest_before, no marked_before, no tag_sha."""
    fake, forge = repo
    index = MemoryIndex()
    index.yanked["1.2.0"] = "old"
    forge.create_tag("v1.1.0-rollback-old", fake.resolve("v1.1.0") or "", "old rollback")
    bad = next(n for n in forge.list_releases() if n.tag == "v1.2.0")
    from unrelease.texts import release_notice

    forge.update_release(
        bad,
        title="[WITHDRAWN] v1.2.0",
        body=release_notice(PKG, "1.2.0", "1.1.0") + bad.body,
        draft=False,
        prerelease=True,
    )
    done = [Step("latest", "", Status.DONE), Step("mark-release", "", Status.DONE)]
    do_rollback_record(fake, forge, tag="v1.1.0-rollback-old", steps=done)
    statuses = run_undo(forge, index)
    assert statuses == {
        "index:1.2.0": "done",
        "mark-release": "done",
        "latest": "skipped",
        "note": "already-done",
        "tag": "failed",  # no recorded commit: not deleted
        "issue": "skipped",
    }
    unmarked = next(n for n in forge.list_releases() if n.tag == "v1.2.0")
    assert unmarked.title == "v1.2.0" and unmarked.body == "Notes 1.2.0"
    assert unmarked.prerelease  # not recorded: kept as it is
    assert fake.resolve("v1.1.0-rollback-old") is not None


def test_latest_moved_on_is_left_alone(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    fake, forge = repo
    index = MemoryIndex()
    do_rollback(forge, index)
    sha = fake.add_commit("Release 1.3.0")
    fake.add_tag("v1.3.0", sha)
    fake.add_release("v1.3.0", "v1.3.0", latest=True)
    engine = undo_engine(forge, index)
    out = engine.run(engine.plan())
    latest = next(s for s in out.steps if s.name == "latest")
    assert latest.status is Status.SKIPPED and "v1.3.0 is Latest now" in latest.detail
    assert out.exit_code == 0
    assert (fake.latest() or {}).get("tag_name") == "v1.3.0"


def test_rollback_that_did_not_change_latest(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    fake, forge = repo
    do_rollback_record(
        fake, forge, latest_before="v1.2.0", steps=[Step("latest", "", Status.SKIPPED)]
    )
    index = MemoryIndex()
    index.yanked["1.2.0"] = "x"
    plan = undo_engine(forge, index).plan()
    latest = next(s for s in plan.steps if s.name == "latest")
    assert latest.status is Status.SKIPPED and "did not change Latest" in latest.detail
    notes = [s for s in plan.steps if s.name in ("note", "tag")]
    assert {s.status for s in notes} == {Status.SKIPPED}  # no tag in this record


def test_undo_picks_the_open_record_over_an_undone_one(
    repo: tuple[FakeGitHub, GitHubForge],
) -> None:
    fake, forge = repo
    do_rollback_record(fake, forge, undone_at="2025-02-01T00:00:00+00:00")
    newer = do_rollback_record(fake, forge)
    fake.add_issue("noise", "x", ["release"])
    index = MemoryIndex()
    index.yanked["1.2.0"] = "x"
    plan = undo_engine(forge, index).plan()
    assert plan.record.undone_at is None and plan.issue.number == 2
    assert plan.record.id == newer.id


def test_undone_but_still_open_issue_is_closed_on_rerun(
    repo: tuple[FakeGitHub, GitHubForge],
) -> None:
    fake, forge = repo
    undone = [Step("index:1.2.0", "unyank", Status.DONE, "unyanked 1.2.0")]
    do_rollback_record(fake, forge, undone_at="2025-02-01T00:00:00+00:00", undo_steps=undone)
    engine = undo_engine(forge, MemoryIndex())
    plan = engine.plan()
    assert plan.index is None  # nothing left on the index: not even opened
    assert [(s.name, s.status) for s in plan.steps] == [
        ("index:1.2.0", Status.ALREADY_DONE),
        ("issue", Status.PLANNED),
    ]
    assert not plan.needs_confirmation
    out = engine.run(plan)
    assert out.exit_code == 0 and out.issue.state == "closed"
    assert fake.count("POST", r"/comments$") == 1
    assert "2025-02-01" in fake.state.comments[1][0]


# --- the record and the texts --------------------------------------------------------------------
def test_old_record_json_still_loads() -> None:
    old = {
        "id": "rb-1",
        "package": "p",
        "version": "1.0",
        "to": "0.9",
        "mode": "yank",
        "reason": "r",
        "index": "i",
        "severity": "critical",
        "who": "w",
        "when": "2024-01-01",
        "steps": [{"name": "tag", "status": "done"}],
        "future_field": 1,
    }
    rec = Record.from_json(old)
    assert rec.latest_before is None and rec.sha256s == {} and rec.undo_steps == []
    assert rec.undone_at is None and rec.marked_before is None
    again = Record.from_json(json.loads(rec.dumps()))
    assert again == rec
    rec.undo_steps = [Step("issue", "close", Status.DONE, "closed #1")]
    assert Record.from_json(json.loads(rec.dumps())).undo_steps == rec.undo_steps


def test_record_text_cannot_break_its_block() -> None:
    rec = Record("rb-1", "p", "1.0", "0.9", "yank", "r", "i", "critical", "w", "t")
    rec.marked_before = {"title": "x <!-- unrelease-record:end --> ``` y", "draft": False}
    body = f"intro\n\n{record_block(rec)}\n\noutro"
    found = find_record(body)
    assert found is not None and found.marked_before == rec.marked_before
    rec.undone_at = "now"
    replaced = replace_record(body, rec)
    assert replaced.startswith("intro") and replaced.endswith("outro")
    assert (find_record(replaced) or rec).undone_at == "now"
    appended = replace_record("no record yet", rec)
    assert appended.startswith("no record yet\n\n") and find_record(appended) == rec


def test_matching_records() -> None:
    def issue(n: int, package: str, version: str) -> IssueInfo:
        rec = Record("rb", package, version, "0.1", "yank", "r", "i", "c", "w", "t")
        return IssueInfo(n, f"u{n}", record_block(rec))

    from packaging.version import Version

    issues = [
        issue(1, "Other", "1.0"),
        issue(2, "memo.pkg", "1.0.0"),
        issue(3, "memo-pkg", "not a version"),
        IssueInfo(4, "u4", "no record"),
        issue(5, "MEMO_PKG", "1.0"),
    ]
    found = matching_records(issues, "memo-pkg", Version("1.0"))
    assert [i.number for i, _ in found] == [2, 5]


# --- what the forge shows since the rollback, and checks after each write ------------------------
def test_release_gone_since_the_rollback(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    _fake, forge = repo
    index = MemoryIndex()
    do_rollback(forge, index, mark_release=True)
    for note in forge.list_releases():
        if note.tag == "v1.2.0":
            forge.delete_release(note)  # the bad release, marked and Latest before: deleted
    plan = undo_engine(forge, index).plan()
    steps = {s.name: s for s in plan.steps}
    assert steps["mark-release"].status is Status.SKIPPED
    assert steps["mark-release"].detail == "it is gone"
    assert steps["latest"].status is Status.SKIPPED
    assert steps["latest"].detail == "no published release for v1.2.0"


def test_record_not_updated_when_the_issue_refuses(repo: tuple[FakeGitHub, GitHubForge]) -> None:
    fake, forge = repo
    index = MemoryIndex()
    do_rollback(forge, index)
    index.fail_unyank = 3
    fake.fail("PATCH", r"/issues/\d+$", status=502, times=None)
    engine = undo_engine(forge, index)
    out = engine.run(engine.plan())
    issue = out.steps[-1]
    assert issue.status is Status.FAILED and issue.detail.startswith("record not updated")
    assert the_record(fake).undo_steps == []


@pytest.mark.parametrize("method", ["delete_release", "delete_tag", "update_release"])
def test_a_write_that_did_not_happen_fails_its_step(
    method: str, repo: tuple[FakeGitHub, GitHubForge], mocker: MockerFixture
) -> None:
    _fake, forge = repo
    index = MemoryIndex()
    do_rollback(forge, index, mark_release=True)
    if method == "update_release":
        mocker.patch.object(forge, method, side_effect=lambda note, **kw: note)
    else:
        mocker.patch.object(forge, method, return_value=None)
    engine = undo_engine(forge, index)
    out = engine.run(engine.plan())
    name = {"delete_release": "note", "delete_tag": "tag", "update_release": "mark-release"}
    step = next(s for s in out.steps if s.name == name[method])
    assert step.status is Status.FAILED and step.detail.startswith("verify:")
    assert out.exit_code == 1


@pytest.mark.parametrize("method", ["delete_release", "delete_tag"])
def test_gone_between_plan_and_run_is_fine(
    method: str, repo: tuple[FakeGitHub, GitHubForge], mocker: MockerFixture
) -> None:
    _fake, forge = repo
    index = MemoryIndex()
    do_rollback(forge, index)
    engine = undo_engine(forge, index)
    plan = engine.plan()
    real = getattr(forge, method)

    def twice(arg: object) -> None:
        real(arg)  # a concurrent run got there first...
        real(arg)  # ...so ours finds nothing: NotFound

    mocker.patch.object(forge, method, side_effect=twice)
    out = engine.run(plan)
    assert out.exit_code == 0, [s.to_json() for s in out.steps]


def test_upload_that_does_not_show_fails_the_step(
    repo: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = repo
    backup = tmp_path / "memo-pkg-1.2.0" / "memo_pkg-1.2.0.tar.gz"
    backup.parent.mkdir()
    backup.write_bytes(b"the original bytes")
    from unrelease.indexes.base import sha256_of

    sha = sha256_of(backup)

    class Silent(UploadingIndex):
        def upload(self, path: Path) -> None:
            self.writes.append(("upload", path.name))

    class Different(UploadingIndex):
        def upload(self, path: Path) -> None:
            self.writes.append(("upload", path.name))
            self.versions.append("1.2.0")  # a file of that name, with no or another sha256

        def releases(self, package: str) -> list[Release]:
            out = super().releases(package)
            return [
                Release(r.version, tuple(dataclasses.replace(f, sha256="0" * 64) for f in r.files))
                for r in out
            ]

    do_rollback_record(
        fake,
        forge,
        mode="delete",
        backup=str(tmp_path),
        files=[backup.name],
        sha256s={backup.name: sha},
    )
    for index_class, message in ((Silent, "is not on"), (Different, "has another sha256")):
        index = index_class(("1.0.0", "1.1.0"))
        engine = undo_engine(forge, index)
        out = engine.run(engine.plan())
        assert out.steps[0].status is Status.FAILED, out.steps[0]
        assert message in out.steps[0].detail
        assert index.writes[-1] == ("upload", backup.name)
        assert {s.status for s in out.steps[1:-1]} <= {Status.SKIPPED}


@pytest.mark.parametrize(
    "fields",
    [{"withdrawn": ["not a version"]}, {"withdrawn": []}, {"withdrawn": "1.2.0"}, {"files": [1]}],
)
def test_damaged_record_is_bad_input(
    fields: dict[str, object], repo: tuple[FakeGitHub, GitHubForge]
) -> None:
    fake, forge = repo
    do_rollback_record(fake, forge, **fields)
    fake.clear_log()
    with pytest.raises(BadInput, match="is damaged"):
        undo_engine(forge, MemoryIndex()).plan()
    assert fake.writes() == []
