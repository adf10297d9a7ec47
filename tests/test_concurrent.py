"""Two and three identical rollbacks at once, started together and staggered: one issue, one
tag, one note, one withdrawal; every other run waits (exit 3 naming the holder) or finds the
work done (exit 0). And a SIGKILL of the whole process at every GitHub request, before and
after GitHub applied it, then a rerun: the same."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.fakes.github import FakeGitHub, seed_repo
from tests.memindex import PKG, MemoryIndex
from tests.servers import SeededPackage
from unrelease.engine import Engine, Options
from unrelease.errors import UnreleaseError
from unrelease.forges.github import GitHubForge
from unrelease.texts import find_record

VERSIONS = ("1.0.0", "1.1.0", "1.2.0")


def one_of_each(fake: FakeGitHub) -> None:
    state = fake.state
    assert len(state.issues) == 1, [i["title"] for i in state.issues.values()]
    tags = [t for t in state.refs if t.startswith("refs/tags/v1.1.0-rollback")]
    assert len(tags) == 1, list(state.refs)
    assert len([r for r in state.releases.values() if r["draft"]]) == 1


def run_in_thread(
    fake: FakeGitHub, index: MemoryIndex, tmp: Path, out: list[object], go: threading.Event
) -> None:
    go.wait(timeout=60)  # started together, or when the first run is that far along
    forge = GitHubForge(fake.full_name, fake.token, fake.api_url)
    try:
        options = Options(package=PKG, version="1.2.0", reason="broken", backup_dir=tmp)
        e = Engine(options, index, forge)
        out.append(e.run(e.plan()).exit_code)
    except UnreleaseError as exc:
        out.append(exc.exit_code)
    finally:
        forge.close()


@pytest.mark.parametrize("runs", [2, 3])
@pytest.mark.parametrize("stagger", [0, 2, 5])  # later runs start at the first run's Nth request
@pytest.mark.parametrize("trial", range(2))
def test_concurrent_rollbacks_do_everything_once(
    runs: int, stagger: int, trial: int, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    seed_repo(fake_github, VERSIONS)
    index = MemoryIndex(VERSIONS)
    codes: list[object] = []
    gates = [threading.Event() for _ in range(runs)]

    def open_gates(n: int, method: str, path: str, when: str) -> None:
        for i, gate in enumerate(gates):
            if n >= i * stagger:
                gate.set()

    fake_github.on_request = open_gates
    threads = [
        threading.Thread(
            target=run_in_thread, args=(fake_github, index, tmp_path / str(i), codes, gates[i])
        )
        for i in range(runs)
    ]
    gates[0].set()
    if not stagger:
        for gate in gates:
            gate.set()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(codes) == runs
    assert codes.count(0) >= 1 and set(codes) <= {0, 3}, codes
    one_of_each(fake_github)
    assert [w for w in index.writes if w[0] == "yank"] == [("yank", "1.2.0")]
    # whoever waited: a rerun now finds the work done
    rerun: list[object] = []
    fake_github.on_request = None
    done = threading.Event()
    done.set()
    run_in_thread(fake_github, index, tmp_path / "again", rerun, done)
    assert rerun == [0]
    one_of_each(fake_github)


# --- kill -9 at every request -------------------------------------------------------------------
def cli(fake: FakeGitHub, pkg: SeededPackage, backup: Path) -> list[str]:
    args = ["rollback", pkg.name, "1.2.0", "--reason", "broken", "--index", pkg.target.url]
    args += ["--repo", fake.full_name, "--github-url", fake.api_url, "--mode", "delete"]
    return [
        sys.executable,
        "-m",
        "unrelease",
        *args,
        "--backup-dir",
        str(backup),
        "--yes",
        "--json",
    ]


def env(fake: FakeGitHub, pkg: SeededPackage, home: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "UNRELEASE_"))}
    out |= {
        "GITHUB_TOKEN": fake.token,
        "UNRELEASE_INDEX_USERNAME": pkg.target.username,
        "UNRELEASE_INDEX_PASSWORD": pkg.target.password,
        "UNRELEASE_CACHE_DIR": str(home),
    }
    return out


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["before", "after"])
def test_kill_at_every_github_request_then_rerun(
    phase: str, pypiserver_server: object, seed: object, tmp_path: Path
) -> None:
    # how many GitHub requests a whole rollback makes
    positions = range(1, 11)
    for position in positions:
        with FakeGitHub() as fake:
            seed_repo(fake, VERSIONS)
            pkg: SeededPackage = seed(pypiserver_server)  # type: ignore[operator]
            backup = tmp_path / f"b{position}"
            proc = subprocess.Popen(
                cli(fake, pkg, backup),
                env=env(fake, pkg, tmp_path),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

            def kill(
                n: int, method: str, path: str, when: str, proc: object = proc, at: int = position
            ) -> None:
                if n == at and when == phase:
                    os.kill(proc.pid, signal.SIGKILL)  # type: ignore[attr-defined]

            fake.on_request = kill
            proc.communicate(timeout=120)
            fake.on_request = None
            again = subprocess.run(
                cli(fake, pkg, backup),
                env=env(fake, pkg, tmp_path),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert again.returncode == 0, (position, again.stdout, again.stderr)
            steps = {s["name"]: s["status"] for s in json.loads(again.stdout)["steps"]}
            assert fake.state.issues, (position, steps, again.stderr)
            assert steps.get("tag") in ("done", "already-done"), (position, steps, again.stdout)
            assert any(r.startswith("refs/tags/v1.1.0-rollback") for r in fake.state.refs), (
                position,
                phase,
                again.stdout,
                [(r.method, r.path, r.status) for r in fake.requests],
            )
            one_of_each(fake)
            (issue,) = fake.state.issues.values()
            record = find_record(issue["body"])
            assert record is not None and len(record.files) == len(pkg.files["1.2.0"])
            assert set(record.sha256s) == set(record.files)
            assert json.loads(again.stdout)["withdrawn"] == ["1.2.0"]
