"""Issue 9's 'must never happen' list, each reproduced as it was found: a planted record widening
a rollback, Latest moving backwards, writes before the plan is known to be completable, one
release under two identities, hostile file names. Engine-level, on the GitHub fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub, seed_repo
from tests.memindex import PKG, MemoryIndex, planted_body
from unrelease.engine import Engine, Options
from unrelease.errors import BadInput, Refused, UnreleaseError
from unrelease.forges.github import GitHubForge
from unrelease.model import Record, Status
from unrelease.texts import find_record

VERSIONS = ("0.9.0", "1.0.0", "1.1.0", "1.2.0")


def clock() -> datetime:
    return datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.fixture
def gh(fake_github: FakeGitHub) -> Iterator[tuple[FakeGitHub, GitHubForge]]:
    seed_repo(fake_github, VERSIONS)
    forge = GitHubForge(fake_github.full_name, fake_github.token, fake_github.api_url)
    yield fake_github, forge
    forge.close()


def engine(forge: GitHubForge, index: MemoryIndex, tmp_path: Path, **kw: object) -> Engine:
    kw.setdefault("backup_dir", tmp_path / "backup")
    options = Options(package=PKG, version=str(kw.pop("version", "1.2.0")), reason="broken", **kw)  # type: ignore[arg-type]
    return Engine(options, index, forge, now=clock)


def run(forge: GitHubForge, index: MemoryIndex, tmp_path: Path, **kw: object) -> dict[str, str]:
    e = engine(forge, index, tmp_path, **kw)
    out = e.run(e.plan())
    return {s.name: s.status.value for s in out.steps} | {"exit": str(out.exit_code)}


def planted(fake: FakeGitHub, **fields: object) -> int:
    return fake.add_issue("ROLLBACK: Memo_Pkg 1.2.0", planted_body(**fields), labels=["release"])


def test_a_record_that_disagrees_is_refused_and_nothing_is_deleted(
    gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    index = MemoryIndex(VERSIONS)
    number = planted(fake)
    fake.clear_log()
    e = engine(forge, index, tmp_path, mode="delete")
    with pytest.raises(Refused) as err:
        e.plan()
    assert f"/issues/{number}" in str(err.value) and "with to '1.0.0'" in str(err.value)
    assert index.writes == [] and fake.writes() == []
    assert {v for v, f in index.files.items() if f} == set(VERSIONS)


def test_what_is_withdrawn_comes_from_the_index_never_the_record(
    gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    index = MemoryIndex(VERSIONS)
    planted(fake, to="1.1.0", withdrawn=["1.2.0", "0.9.0", "1.0.0"])  # same rollback, widened
    steps = run(forge, index, tmp_path, mode="delete")
    assert steps["exit"] == "0", steps
    assert [w for w in index.writes if w[0] == "delete"] == [("delete", "1.2.0")]
    assert index.files["0.9.0"] and index.files["1.0.0"] and index.files["1.1.0"]


def test_latest_never_moves_backwards(fake_github: FakeGitHub, tmp_path: Path) -> None:
    seed_repo(fake_github, ("1.9.0", "1.9.1", "2.0.0"))  # v2.0.0 is Latest
    forge = GitHubForge(fake_github.full_name, fake_github.token, fake_github.api_url)
    index = MemoryIndex(("1.9.0", "1.9.1", "2.0.0"))
    steps = run(forge, index, tmp_path, version="1.9.1", to="1.9.0")
    assert steps["exit"] == "0", steps
    assert steps["latest"] in ("skipped", "already-done")
    assert fake_github.latest()["tag_name"] == "v2.0.0"  # type: ignore[index]


def test_latest_moves_to_the_newest_remaining_good_release(
    gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    index = MemoryIndex(VERSIONS)
    steps = run(forge, index, tmp_path, to="1.0.0")  # withdraws 1.2.0 and 1.1.0
    assert steps["latest"] == "done"
    assert fake.latest()["tag_name"] == "v1.0.0"  # type: ignore[index]


BAD_TEMPLATES = [
    {"tag_format": "release-{version}"},  # no such tag
    {"rollback_tag": "{to_tag} rollback"},
    {"rollback_tag": "{to_tag}..{date}"},
    {"rollback_tag": "{to_tag}.lock"},
    {"rollback_tag": ""},
    {"rollback_tag": " "},
    {"rollback_tag": "{date.x}"},
    {"rollback_tag": "{to_tag[x]}"},
    {"rollback_tag": "{to_tag!r}"},
    {"rollback_tag": "{nope}"},
    {"tag_format": "v{version:>10}"},
    {"rollback_tag": "-{to_tag}"},
    {"rollback_tag": "{to_tag}/"},
    {"rollback_tag": "a//b"},
    {"rollback_tag": "a@{b"},
    {"rollback_tag": "x\x7f"},
]


@pytest.mark.parametrize("options", BAD_TEMPLATES, ids=repr)
def test_bad_templates_are_refused_before_any_write(
    options: dict[str, str], gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    index = MemoryIndex(VERSIONS)
    fake.clear_log()
    e = engine(forge, index, tmp_path, mode="delete", **options)
    with pytest.raises(UnreleaseError) as err:
        e.plan()
    assert err.value.exit_code == 2
    assert "\n" not in str(err.value)
    assert index.writes == [] and fake.writes() == []


def test_a_rollback_tag_at_another_commit_is_refused_before_any_write(
    gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    fake.add_tag("v1.1.0-rollback-20250304", fake.resolve("v1.0.0") or "")
    index = MemoryIndex(VERSIONS)
    fake.clear_log()
    with pytest.raises(Refused, match="not moving it"):
        engine(forge, index, tmp_path, mode="delete").plan()
    assert index.writes == [] and fake.writes() == []


@pytest.mark.parametrize("spelling", ["v1.2.0", "1.2", "1.2.0.0", "01.2.0", "V1.2.0"])
def test_one_release_one_identity(
    spelling: str, gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    index = MemoryIndex(VERSIONS)
    first = run(forge, index, tmp_path, version="1.2.0")
    second = run(forge, index, tmp_path, version=spelling)
    assert first["exit"] == second["exit"] == "0"
    assert set(second.values()) <= {"already-done", "skipped", "0", "done"}
    assert len(fake.state.issues) == 1
    assert len([r for r in fake.state.releases.values() if r["draft"]]) == 1
    (issue,) = fake.state.issues.values()
    assert issue["title"] == "ROLLBACK: Memo_Pkg 1.2.0"


@pytest.mark.parametrize("spelling", [" 1.2.0", "\t1.2.0", "1.2.0\n", "1.2.0\xa0", "-1.2.0", ""])
def test_whitespace_and_control_characters_are_refused(
    spelling: str, gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    index = MemoryIndex(VERSIONS)
    fake.clear_log()
    with pytest.raises(BadInput):
        engine(forge, index, tmp_path, version=spelling).plan()
    assert index.writes == [] and fake.writes() == []


@pytest.mark.parametrize(
    "name", ["../../memo_pkg-1.2.0.tar.gz", "other-1.2.0.tar.gz", "memo_pkg-0.9.0.tar.gz", ".x"]
)
def test_a_hostile_file_name_is_refused_before_any_write(
    name: str, gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    index = MemoryIndex(VERSIONS)
    index.add("1.2.0", (name,))
    fake.clear_log()
    with pytest.raises(BadInput):
        engine(forge, index, tmp_path, mode="delete").plan()
    assert index.writes == [] and fake.writes() == []
    assert not list(tmp_path.parent.glob("memo_pkg-1.2.0.tar.gz"))


@pytest.mark.parametrize("status", ["archived", "quarantined"])
def test_an_archived_or_quarantined_project_is_refused(
    status: str, gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    index = MemoryIndex(VERSIONS)
    index.status = status
    fake.clear_log()
    with pytest.raises(Refused, match=status):
        engine(forge, index, tmp_path).plan()
    assert fake.writes() == []


def test_the_record_names_every_file_and_sha256_before_the_delete(
    gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    index = MemoryIndex(VERSIONS)
    seen: list[Record | None] = []
    real = index.delete_release

    def delete(package: str, version: str, *, force: bool = False) -> None:
        (issue,) = fake.state.issues.values()
        seen.append(find_record(issue["body"]))
        real(package, version, force=force)

    index.delete_release = delete  # type: ignore[method-assign]
    steps = run(forge, index, tmp_path, mode="delete")
    assert steps["exit"] == "0", steps
    (record,) = seen
    assert record is not None
    assert sorted(record.files) == ["memo_pkg-1.2.0-py3-none-any.whl", "memo_pkg-1.2.0.tar.gz"]
    assert set(record.sha256s) == set(record.files)
    assert record.backup and not Path(record.backup).is_absolute()


def test_no_delete_when_the_write_ahead_record_cannot_be_written(
    gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    index = MemoryIndex(VERSIONS)
    fake.fail("POST", r"/issues$", status=500, times=None)
    steps = run(forge, index, tmp_path, mode="delete")
    assert steps["issue"] == "failed" and steps["index:1.2.0"] == "skipped"
    assert [w for w in index.writes if w[0] == "delete"] == []
    assert steps["exit"] == "1"


def test_a_file_that_appears_after_the_backup_is_not_deleted_unsaved(
    gh: tuple[FakeGitHub, GitHubForge], tmp_path: Path
) -> None:
    fake, forge = gh
    index = MemoryIndex(VERSIONS)
    e = engine(forge, index, tmp_path, mode="delete")
    plan = e.plan()
    index.add("1.2.0", ("memo_pkg-1.2.0-cp312-cp312-manylinux_2_17_x86_64.whl",))
    out = e.run(plan)
    steps = {s.name: s for s in out.steps}
    assert steps["index:1.2.0"].status is Status.FAILED
    assert "appeared on the index after the backup" in steps["index:1.2.0"].detail
    assert [w for w in index.writes if w[0] == "delete"] == []
    # the rerun backs it up, records it, then deletes all three
    again = run(forge, index, tmp_path, mode="delete")
    assert again["index:1.2.0"] == "done", again
    (issue,) = fake.state.issues.values()
    record = find_record(issue["body"])
    assert record is not None and len(record.files) == 3
