"""``unrelease guard`` end to end: the real CLI, a real pypiserver, real build/twine/pip/venv."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import Run, invoke
from tests.fakes.clock import FakeClock
from tests.guard_dists import THIS, Guarded, _Publisher, guard_dists, publish
from tests.servers import DevpiServer, PypiserverServer
from tests.test_forge_local import make_repo
from unrelease.forges.local import LocalForge
from unrelease.guard import GuardRequest, guard
from unrelease.guard.policy import Policy, decide
from unrelease.indexes import open_index
from unrelease.indexes.pypiserver import PypiserverIndex
from unrelease.indexes.simple import group_releases, read_project_page
from unrelease.model import Release

FIXTURES = (guard_dists, publish)  # pytest finds them here
KEYS = {"package", "version", "baseline", "verdict", "checks", "decision"}
CHECK_KEYS = {"name", "python", "status", "detail", "evidence"}


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from an empty directory: no pyproject.toml of this project leaks in."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


def run_guard(server: PypiserverServer, pkg: Guarded, *extra: str) -> Run:
    args = ["guard", pkg.name, pkg.version, "--index", server.url, "--wait", "0", "--json"]
    return invoke([*args, *extra])


def statuses(run: Run) -> dict[str, str]:
    return {c["name"]: c["status"] for c in run.json["checks"]}


def check(run: Run, name: str) -> dict[str, Any]:
    return next(c for c in run.json["checks"] if c["name"] == name)


def test_good_release_passes(pypiserver_server: PypiserverServer, publish: _Publisher) -> None:
    pkg = publish("good")
    smoke = f"python -c 'import {pkg.name} as m; assert m.answer() == 42'"
    run = run_guard(pypiserver_server, pkg, "--smoke", smoke)
    assert run.exit_code == 0, run.stdout + run.stderr
    data = run.json
    assert set(data) == KEYS
    assert data["package"] == pkg.name
    assert data["version"] == "1.1.0"
    assert data["baseline"] == "1.0.0"
    assert data["verdict"] == "pass"
    assert data["decision"] == {"action": "none", "why": "every check passed"}
    assert all(set(c) == CHECK_KEYS for c in data["checks"])
    assert statuses(run) == {
        "visible": "pass",
        "files": "pass",
        "metadata": "pass",
        "install": "pass",
        "import": "pass",
        "smoke": "pass",
    }
    assert check(run, "install")["python"].startswith(THIS)
    evidence = check(run, "install")["evidence"]
    assert evidence["exit_code"] == 0
    assert f"{pkg.name}==1.1.0" in evidence["command"]
    assert "/tmp" not in evidence["command"] and "$GUARD_TMP" in evidence["command"]
    assert check(run, "import")["detail"] == f"imported {pkg.name}"


def test_devpi_good_passes_and_import_error_fails(
    devpi_server: DevpiServer, publish: _Publisher
) -> None:
    for variant, verdict in (("good", "pass"), ("import-error", "fail")):
        pkg = publish(variant, target=devpi_server.dev)
        args = ["guard", pkg.name, pkg.version, "--index", devpi_server.dev.url, "--wait", "0"]
        run = invoke([*args, "--json"])
        assert run.json["verdict"] == verdict, run.stdout + run.stderr
        assert run.json["baseline"] == "1.0.0"
        assert statuses(run)["install"] == "pass"
        assert "+simple/" in check(run, "install")["evidence"]["command"]


def test_import_error_fails(pypiserver_server: PypiserverServer, publish: _Publisher) -> None:
    pkg = publish("import-error")
    run = run_guard(pypiserver_server, pkg)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.json["verdict"] == "fail"
    assert statuses(run)["import"] == "fail"
    assert statuses(run)["install"] == "pass"
    found = check(run, "import")
    assert "ModuleNotFoundError" in found["detail"]
    assert found["evidence"]["exit_code"] == 1
    assert "unrelease_guard_no_such_module" in found["evidence"]["tail"]
    assert run.json["decision"]["action"] == "report"


def test_missing_dependency_fails(pypiserver_server: PypiserverServer, publish: _Publisher) -> None:
    pkg = publish("missing-dep")
    run = run_guard(pypiserver_server, pkg)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert statuses(run)["metadata"] == "fail"
    assert statuses(run)["install"] == "fail"
    assert statuses(run)["import"] == "skipped"
    assert "unrelease-guard-no-such-dist" in check(run, "metadata")["evidence"]["tail"]


def test_requires_python_drop_fails(
    pypiserver_server: PypiserverServer, publish: _Publisher
) -> None:
    pkg = publish("python-drop")
    run = run_guard(pypiserver_server, pkg)
    assert run.exit_code == 1, run.stdout + run.stderr
    detail = check(run, "metadata")["detail"]
    assert statuses(run)["metadata"] == "fail"
    assert "drops Python" in detail and THIS in detail
    allowed = run_guard(pypiserver_server, pkg, "--allow-python-drop")
    # pip itself still refuses to install it here: the install check says so
    assert check(allowed, "metadata")["status"] == "fail"
    assert "drops Python" not in check(allowed, "metadata")["detail"]
    assert statuses(allowed)["install"] == "fail"


def test_wheel_only_partial_publish_fails_at_files(
    pypiserver_server: PypiserverServer, publish: _Publisher
) -> None:
    pkg = publish("good", wheel_only=True)
    run = run_guard(pypiserver_server, pkg)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert statuses(run)["files"] == "fail"
    assert check(run, "files")["detail"] == "missing: sdist"
    assert statuses(run)["install"] == "pass"  # only the files are wrong
    expected = [str(p) for p in pkg.files["1.1.0"]]
    by_expect = run_guard(pypiserver_server, pkg, "--expect", expected[0], "--expect", expected[1])
    assert check(by_expect, "files")["status"] == "fail"
    sdist = next(p.name for p in pkg.files["1.1.0"] if p.name.endswith(".tar.gz"))
    assert check(by_expect, "files")["detail"] == f"missing: {sdist}"


def test_failure_shared_with_baseline_is_inconclusive(
    pypiserver_server: PypiserverServer, publish: _Publisher
) -> None:
    pkg = publish("import-error", baseline="import-error")
    run = run_guard(pypiserver_server, pkg)
    assert run.exit_code == 3, run.stdout + run.stderr
    assert run.json["verdict"] == "inconclusive"
    assert statuses(run)["import"] == "inconclusive"
    assert "fails on 1.0.0 too" in check(run, "import")["detail"]
    assert run.json["decision"]["action"] == "none"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("kind", ["auto", "pypiserver"])
def test_unreachable_index_is_inconclusive(kind: str, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, ("1.0.0",))
    url = f"http://127.0.0.1:{_closed_port()}/"
    args = ["guard", "somepkg", "1.0.0", "--index", url, "--index-kind", kind, "--wait", "0"]
    run = invoke([*args, "--json", "--on-fail", "rollback", "--repo", str(repo), "--yes"])
    assert run.exit_code == 3, run.stdout + run.stderr
    assert run.json["verdict"] == "inconclusive"
    assert [c["name"] for c in run.json["checks"]] == ["visible"]
    detail = run.json["checks"][0]["detail"]
    assert detail.startswith("not visible after 0 s: ")
    assert "did not answer" in detail or "cannot reach the index" in detail
    assert run.json["decision"]["action"] == "none"  # never a rollback
    assert LocalForge(repo).find_issues("release", "all") == []
    text = invoke(args)  # the report a person reads
    assert text.exit_code == 3
    assert "? visible" in text.stdout and "verdict: inconclusive" in text.stdout


def test_not_visible_within_the_wait_is_inconclusive(
    pypiserver_server: PypiserverServer, publish: _Publisher
) -> None:
    pkg = publish("good")
    clock = FakeClock()
    request = GuardRequest(pkg.name, "9.0.0", wait=60)
    result = guard(request, lambda: open_index(pypiserver_server.url, "pypiserver"), clock=clock)
    assert result.verdict == "inconclusive"
    assert result.exit_code == 3
    assert result.checks[0].name == "visible"
    assert "not listed" in result.checks[0].detail
    assert clock.slept[:4] == [1.0, 2.0, 4.0, 8.0]
    assert sum(clock.slept) == pytest.approx(60)


def test_becomes_visible_during_the_wait(
    pypiserver_server: PypiserverServer, guard_dists: Any
) -> None:
    from tests.servers import upload

    name = "guardlate"
    upload(pypiserver_server, guard_dists(name, "1.0.0"))

    class UploadingClock(FakeClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if len(self.slept) == 2:
                upload(pypiserver_server, guard_dists(name, "1.1.0"))

    clock = UploadingClock()
    request = GuardRequest(name, "1.1.0", wait=300)
    result = guard(request, lambda: open_index(pypiserver_server.url, "pypiserver"), clock=clock)
    assert result.verdict == "pass", [c.to_json() for c in result.checks]
    assert clock.slept == [1.0, 2.0]
    assert result.checks[0].detail.endswith("after 3 poll(s)")


class _PipCannotReach(PypiserverIndex):
    """The index answers us, but the URL pip gets goes nowhere (the index went away)."""

    dead = ""

    @property
    def simple_url(self) -> str:
        return self.dead

    def releases(self, package: str) -> list[Release]:
        return group_releases(read_project_page(self.session, self.url + "simple/", package))


def test_pip_cannot_reach_the_index_is_inconclusive(
    pypiserver_server: PypiserverServer, publish: _Publisher
) -> None:
    pkg = publish("good")
    index = _PipCannotReach(pypiserver_server.url, open_index(pypiserver_server.url).session)
    index.dead = f"http://127.0.0.1:{_closed_port()}/simple/"
    result = guard(GuardRequest(pkg.name, pkg.version, wait=0), lambda: index)
    found = {c.name: c.status for c in result.checks}
    assert found["install"] == "inconclusive", [c.to_json() for c in result.checks]
    assert found["metadata"] == "inconclusive"
    assert result.verdict == "inconclusive"
    assert decide(result, Policy(on_fail="rollback"), "rollback").action == "none"


def test_on_fail_issue_opens_the_incident_and_withdraws_nothing(
    pypiserver_server: PypiserverServer, publish: _Publisher, tmp_path: Path
) -> None:
    pkg = publish("import-error")
    repo = tmp_path / "repo"
    make_repo(repo, ("1.0.0", "1.1.0"))
    args = ["--on-fail", "issue", "--repo", str(repo)]
    run = run_guard(pypiserver_server, pkg, *args)
    assert run.exit_code == 1, run.stdout + run.stderr
    decision = run.json["decision"]
    assert set(decision) == {"action", "why"}
    assert decision["action"] == "issue"
    assert "; incident issue #1: file://" in decision["why"]
    issues = LocalForge(repo).find_issues("guard", "all")
    assert len(issues) == 1
    assert "| import |" in issues[0].body and "ModuleNotFoundError" in issues[0].body
    again = run_guard(pypiserver_server, pkg, *args)  # a rerun adds to the same issue
    assert "; incident issue #1: " in again.json["decision"]["why"]
    assert len(LocalForge(repo).find_issues("guard", "all")) == 1
    assert len(LocalForge(repo).issue_comments(1)) == 1
    status = invoke(["status", pkg.name, "--index", pypiserver_server.url, "--json"])
    assert [v["version"] for v in status.json["versions"]] == ["1.1.0", "1.0.0"]


def test_policy_rollback_deletes_the_broken_release(
    pypiserver_server: PypiserverServer, publish: _Publisher, tmp_path: Path
) -> None:
    pkg = publish("import-error")
    repo = tmp_path / "repo"
    make_repo(repo, ("1.0.0", "1.1.0"))
    Path("pyproject.toml").write_text(
        '[tool.unrelease.policy]\nimport = "rollback"\n'
        "[tool.unrelease.guard]\nsmoke = [\"python -c 'print(1)'\"]\n"
    )
    env = {
        "UNRELEASE_INDEX_USERNAME": pypiserver_server.username,
        "UNRELEASE_INDEX_PASSWORD": pypiserver_server.password,
    }
    args = ["guard", pkg.name, pkg.version, "--index", pypiserver_server.url, "--wait", "0"]
    args += ["--mode", "delete", "--yes", "--repo", str(repo)]
    args += ["--backup-dir", str(tmp_path / "backup"), "--json"]
    run = invoke(args, env)
    assert run.exit_code == 0, run.stdout + run.stderr  # the rollback's exit code
    assert run.json["verdict"] == "fail"
    assert run.json["decision"]["action"] == "rollback"
    assert "policy: import → rollback" in run.json["decision"]["why"]
    assert statuses(run)["smoke"] == "pass"  # [tool.unrelease.guard] smoke ran
    assert "; rolled back 1.1.0 to 1.0.0 (delete); incident issue #1" in run.json["decision"]["why"]
    assert pypiserver_server.password not in run.stdout
    status = invoke(["status", pkg.name, "--index", pypiserver_server.url, "--json"])
    assert [v["version"] for v in status.json["versions"]] == ["1.0.0"]
    issue = LocalForge(repo).find_issues("release", "all")[0]
    assert "import" in issue.body and "ModuleNotFoundError" in issue.body
