"""Records are read only from trusted authors; secrets (URL-embedded too) reach nothing the
tool writes: stdout, stderr, the issue, the note, the tag message, the record, comments, files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import invoke
from tests.fakes.github import FakeGitHub, seed_repo
from tests.memindex import PKG, MemoryIndex, planted_body
from tests.servers import SeededPackage
from unrelease.engine import Engine, Options
from unrelease.forges.github import GitHubForge
from unrelease.model import Status
from unrelease.texts import find_record

VERSIONS = ("0.9.0", "1.0.0", "1.1.0", "1.2.0")


def rollback(fake: FakeGitHub, index: MemoryIndex, tmp: Path, notes: list[str]) -> int:
    forge = GitHubForge(fake.full_name, fake.token, fake.api_url)
    try:
        options = Options(
            package=PKG, version="1.2.0", reason="broken", mode="delete", backup_dir=tmp
        )
        e = Engine(options, index, forge, notify=notes.append)
        return e.run(e.plan()).exit_code
    finally:
        forge.close()


@pytest.mark.parametrize(
    ("author", "kind", "role"),
    [
        ("mallory", "User", None),  # anyone who can open an issue
        ("mallory", "User", "triage"),  # may label, may not write
        ("evil-app", "Bot", None),  # another app's bot
    ],
)
def test_a_record_by_an_untrusted_author_is_ignored_and_said_so(
    author: str, kind: str, role: str | None, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake = fake_github
    seed_repo(fake, VERSIONS)
    fake.set_permission(author, role)
    number = fake.add_issue(
        "ROLLBACK: Memo_Pkg 1.2.0",
        planted_body(),
        labels=["release"],
        author=author,
        author_type=kind,
    )
    index = MemoryIndex(VERSIONS)
    notes: list[str] = []
    assert rollback(fake, index, tmp_path, notes) == 0
    assert [w for w in index.writes if w[0] == "delete"] == [("delete", "1.2.0")]
    assert index.files["0.9.0"] and index.files["1.0.0"] and index.files["1.1.0"]
    assert any(f"/issues/{number}" in n and "ignored" in n for n in notes), notes
    assert len(fake.state.issues) == 2  # ours, beside the planted one (left alone)


@pytest.mark.parametrize(
    ("author", "kind", "role"),
    [
        ("maintainer", "User", "write"),
        ("github-actions", "Bot", None),
    ],
)
def test_a_trusted_record_of_another_rollback_is_refused(
    author: str, kind: str, role: str | None, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake = fake_github
    seed_repo(fake, VERSIONS)
    fake.set_permission(author, role)
    fake.add_issue(
        "ROLLBACK: Memo_Pkg 1.2.0",
        planted_body(),
        labels=["release"],
        author=author,
        author_type=kind,
    )
    fake.clear_log()
    index = MemoryIndex(VERSIONS)
    forge = GitHubForge(fake.full_name, fake.token, fake.api_url)
    options = Options(
        package=PKG, version="1.2.0", reason="broken", mode="delete", backup_dir=tmp_path
    )
    from unrelease.errors import Refused

    with pytest.raises(Refused, match=r"with to '1\.0\.0'"):
        Engine(options, index, forge).plan()
    assert index.writes == [] and fake.writes() == []


def test_a_maintainers_terminal_resumes_the_actions_issue(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """The action opened the issue (as github-actions[bot]); a maintainer's token resumes it."""
    fake = fake_github
    seed_repo(fake, VERSIONS)
    index = MemoryIndex(VERSIONS)
    fake.set_token("bot-token", login="github-actions[bot]")
    forge = GitHubForge(fake.full_name, "bot-token", fake.api_url)
    options = Options(
        package=PKG, version="1.2.0", reason="broken", mode="delete", backup_dir=tmp_path
    )
    e = Engine(options, index, forge)
    plan = e.plan()
    index.faults = []
    # the action's run dies after opening the issue: only labels and the issue are done
    for task in plan.tasks:
        if task.name not in ("labels", "issue", "backup:1.2.0", "record"):
            task.status = Status.FAILED
            task.detail = "the runner was gone"
    e.run(plan)
    forge.close()
    assert len(fake.state.issues) == 1
    notes: list[str] = []
    assert rollback(fake, index, tmp_path, notes) == 0  # the maintainer (fake.token)
    assert len(fake.state.issues) == 1
    assert [w for w in index.writes if w[0] == "delete"] == [("delete", "1.2.0")]


# --- secrets ------------------------------------------------------------------------------------
SECRET_TOKEN = "ghs_SuperSecretToken1234567890abcdef"


@pytest.mark.slow
def test_no_secret_in_anything_written(
    pypiserver_pkg: SeededPackage, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    fake = fake_github
    seed_repo(fake, pypiserver_pkg.versions)
    fake.set_token(SECRET_TOKEN)
    target = pypiserver_pkg.target
    index_url = target.url.replace("://", f"://{target.username}:{target.password}@")
    api_url = fake.api_url.replace("://", f"://x-access-token:{SECRET_TOKEN}@")
    args = [
        "rollback",
        pypiserver_pkg.name,
        "1.2.0",
        "--reason",
        "broken",
        "--mode",
        "delete",
        "--index",
        index_url,
        "--repo",
        fake.full_name,
        "--github-url",
        api_url,
        "--yes",
        "--backup-dir",
        str(tmp_path / "backup"),
        "--verify-install",
    ]
    env = {"GITHUB_TOKEN": SECRET_TOKEN}
    runs = [invoke(args, env), invoke([*args, "--json"], env)]
    undo = invoke(
        [
            "undo",
            pypiserver_pkg.name,
            "1.2.0",
            "--index",
            index_url,
            "--repo",
            fake.full_name,
            "--github-url",
            api_url,
            "--yes",
            "--backup-dir",
            str(tmp_path / "backup"),
        ],
        env,
    )
    assert runs[0].exit_code == 0, runs[0].stdout + runs[0].stderr
    assert undo.exit_code == 0, undo.stdout + undo.stderr
    state = fake.state
    written = [r.stdout + r.stderr for r in [*runs, undo]]
    written += [i["body"] + i["title"] for i in state.issues.values()]
    written += [c for cs in state.comments.values() for c in cs]
    written += [str(r) for r in state.releases.values()]
    written += [str(t) for t in state.tag_objects.values()]
    written += [str(req.body) for req in fake.requests if req.body is not None]
    written += [p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file()]
    for secret in (SECRET_TOKEN, target.password):
        assert not [w for w in written if secret in w], secret
    (issue,) = state.issues.values()
    record = find_record(issue["body"])
    assert record is not None and record.index == target.url
    assert not Path(str(record.backup)).is_absolute()
