"""``unrelease forward`` on a local git repository: the real CLI, real build and twine, real
pypiserver and devpi, and pip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import Run, invoke
from tests.forward_projects import KINDS, git, make_project, publish
from tests.servers import DevpiServer, PypiserverServer, Target
from tests.test_complete import on_index
from unrelease.forges.local import LocalForge
from unrelease.model import Record
from unrelease.texts import record_block


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


def run_forward(
    target: Target, name: str, repo: Path, *extra: str, env: dict[str, str] | None = None
) -> Run:
    args = ["forward", name, "1.1.0", "--repo", str(repo), "--index", target.url]
    args += ["--no-build-isolation", "--yes", "--json"]
    full = {"UNRELEASE_INDEX_USERNAME": target.username}
    full["UNRELEASE_INDEX_PASSWORD"] = target.password
    return invoke([*args, *extra], env={**full, **(env or {})})


def published(target: Target, kind: str, name: str, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    if kind.startswith("setuptools"):
        pytest.importorskip("wheel")  # setuptools < 70 builds wheels with it (--no-isolation)
    if kind == "setuptools-scm":
        pytest.importorskip("setuptools_scm")
    repo = tmp_path / "repo"
    shas = make_project(repo, kind, name)
    publish(repo, shas, target, tmp_path / "work")
    return repo, shas


@pytest.mark.parametrize("kind", KINDS)
def test_forward_each_version_source(
    pypiserver_server: PypiserverServer, package_name: str, tmp_path: Path, kind: str
) -> None:
    repo, shas = published(pypiserver_server, kind, package_name, tmp_path)
    run = run_forward(pypiserver_server, package_name, repo)
    assert run.exit_code == 0, run.stdout + run.stderr
    data = run.json
    assert data["new_version"] == "1.1.1"
    assert data["from"] == "v1.0.0"
    assert data["from_sha"] == shas["1.0.0"]
    branch = "unrelease/forward-1.1.1"
    commit = git(repo, "rev-parse", f"refs/heads/{branch}")
    assert git(repo, "rev-parse", f"{commit}^") == shas["1.0.0"]
    changed = git(repo, "diff", "--name-only", shas["1.0.0"], commit).splitlines()
    expected = {
        "static": ["pyproject.toml"],
        "hatch-path": [f"src/{package_name.replace('-', '_')}/__about__.py"],
        "setuptools-attr": [f"src/{package_name.replace('-', '_')}/__init__.py"],
        "setuptools-scm": [],
    }[kind]
    assert changed == expected
    assert git(repo, "cat-file", "-t", "v1.1.1") == "tag"  # annotated
    assert git(repo, "rev-parse", "v1.1.1^{commit}") == commit
    assert git(repo, "rev-parse", "main") == shas["1.1.0"]  # nothing on the default branch
    held = on_index(pypiserver_server, package_name)
    assert {n for n in held if "1.1.1" in n} == set(data["built"]) == set(data["uploaded"])
    assert all(held[n] == d for n, d in data["built"].items())

    again = run_forward(pypiserver_server, package_name, repo)  # resumes 1.1.1, not 1.1.2
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.json["new_version"] == "1.1.1"
    assert again.statuses["commit"] == "already-done"
    assert again.statuses["tag"] == "already-done"
    assert again.statuses["upload"] == "already-done"
    assert again.json["uploaded"] == []
    assert git(repo, "rev-parse", f"refs/heads/{branch}") == commit
    assert again.statuses["release"] == "already-done"
    forge = LocalForge(repo)
    latest = forge.latest_release()
    assert latest is not None and latest.tag == "v1.1.1"
    assert [n.tag for n in forge.list_releases()] == ["v1.1.1"]


def test_stage_failing_guard_publishes_nothing(
    pypiserver_server: PypiserverServer,
    devpi_server: DevpiServer,
    package_name: str,
    tmp_path: Path,
) -> None:
    repo, shas = published(pypiserver_server, "static", package_name, tmp_path)
    publish(repo, {"1.0.0": shas["1.0.0"]}, devpi_server.dev, tmp_path / "stage-work")
    new_fails = (
        f'python -c "import importlib.metadata as m, sys; '
        f"sys.exit(m.version('{package_name}') == '1.1.1')\""
    )
    stage = ["--stage-index", devpi_server.dev.url, "--smoke", new_fails]
    env = {
        "UNRELEASE_STAGE_INDEX_USERNAME": devpi_server.username,
        "UNRELEASE_STAGE_INDEX_PASSWORD": devpi_server.password,
    }
    run = run_forward(pypiserver_server, package_name, repo, *stage, env=env)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert run.statuses["stage"] == "done"
    assert run.statuses["guard"] == "failed"
    assert run.statuses["upload"] == "skipped"
    assert "verdict on the stage index is fail" in run.stdout
    assert not any("1.1.1" in n for n in on_index(pypiserver_server, package_name))
    assert any("1.1.1" in n for n in on_index(devpi_server.dev, package_name))


def test_pip_upgrade_moves_off_the_bad_version(
    pypiserver_server: PypiserverServer, package_name: str, tmp_path: Path
) -> None:
    repo, _ = published(pypiserver_server, "static", package_name, tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", py, "install", "-q", "--no-deps"]
    pip += ["--index-url", pypiserver_server.url + "simple/"]
    subprocess.run([*pip, f"{package_name}==1.1.0"], check=True)
    run = run_forward(pypiserver_server, package_name, repo)
    assert run.exit_code == 0, run.stdout + run.stderr
    subprocess.run([*pip, "-U", package_name], check=True)
    module = package_name.replace("-", "_")
    code = f"import importlib.metadata as m, {module} as p; "
    code += f"print(m.version('{package_name}'), p.answer())"
    out = subprocess.run([py, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1.1.1", "42"]


@pytest.mark.parametrize("step", ["commit", "tag", "build", "upload"])
def test_rerun_after_a_failure_at_each_step(
    pypiserver_server: PypiserverServer,
    package_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
) -> None:
    """The step's write happens (not the build: it writes nothing), then it fails for good;
    the rerun finishes with no second commit, tag or upload."""
    from unrelease.errors import AuthError
    from unrelease.forges.local import LocalForge
    from unrelease.forward import gitrepo, steps

    owner, name = {
        "commit": (gitrepo, "make_commit"),
        "tag": (LocalForge, "create_tag"),
        "build": (steps, "build"),
        "upload": (steps, "twine_upload"),
    }[step]
    real = getattr(owner, name)
    calls: list[int] = []

    def once(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            if step != "build":
                real(*args, **kwargs)
            raise AuthError(f"injected failure after {step}")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, once)
    repo, shas = published(pypiserver_server, "static", package_name, tmp_path)
    first = run_forward(pypiserver_server, package_name, repo)
    assert first.exit_code in (1, 2), first.stdout + first.stderr
    assert first.statuses[step] == "failed"

    again = run_forward(pypiserver_server, package_name, repo, "--as", "1.1.1")
    assert again.exit_code == 0, again.stdout + again.stderr
    order = ["commit", "tag", "build", "upload"]
    for name_ in order[: order.index(step)]:
        assert again.statuses[name_] in ("already-done", "done")
    if step != "build":
        assert again.statuses[step] == "already-done"
    assert len(calls) == (2 if step == "build" else 1)  # no second commit, tag or upload
    commit = git(repo, "rev-parse", "refs/heads/unrelease/forward-1.1.1")
    assert git(repo, "rev-list", "--count", f"{shas['1.0.0']}..{commit}") == "1"
    assert git(repo, "rev-parse", "v1.1.1^{commit}") == commit
    held = on_index(pypiserver_server, package_name)
    assert {n for n in held if "1.1.1" in n} == set(again.json["built"])


def test_from_the_incident_record_and_section_written_once(
    pypiserver_server: PypiserverServer, package_name: str, tmp_path: Path
) -> None:
    repo, shas = published(pypiserver_server, "static", package_name, tmp_path)
    git(repo, "tag", "-a", "good-one", shas["1.0.0"], "-m", "the target")
    forge = LocalForge(repo)
    record = Record(
        id="r1",
        package=package_name,
        version="1.1.0",
        to="1.0.0",
        mode="delete",
        reason="broken",
        index=pypiserver_server.url,
        severity="critical",
        who="tester",
        when="2026-01-01T00:00:00Z",
        withdrawn=["1.1.0", "1.2.0"],
        to_tag="good-one",
    )
    issue = forge.create_issue("incident", "Incident\n\n" + record_block(record), ["release"])

    run = run_forward(pypiserver_server, package_name, repo)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.json["from"] == "good-one"
    assert run.json["new_version"] == "1.2.1"  # above the recorded 1.2.0, never on this index
    assert run.json["issue"]["number"] == issue.number
    again = run_forward(pypiserver_server, package_name, repo)
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.statuses["incident"] == "already-done"
    comments = forge.issue_comments(issue.number)
    assert len(comments) == 1
    assert "1.2.1 contains good-one's code" in comments[0]
    assert f"pip install -U {package_name}" in comments[0]


def test_refusals_change_nothing(
    pypiserver_server: PypiserverServer, package_name: str, tmp_path: Path
) -> None:
    repo, _shas = published(pypiserver_server, "static", package_name, tmp_path)
    args = ["forward", package_name, "1.0.0", "--repo", str(repo), "--index"]
    args += [pypiserver_server.url, "--as", "1.1.0", "--from", "v1.0.0", "--yes"]
    reused = invoke(args)
    assert reused.exit_code == 2
    assert "1.1.0 is already on the index" in reused.stderr
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\ndynamic = ["version"]\n')
    git(repo, "commit", "-qam", "pdm-ish")
    other = run_forward(pypiserver_server, package_name, repo, "--from", "main")
    assert other.exit_code == 2
    assert "a dynamic version, with 'no build backend named'" in other.stdout
    dry = run_forward(pypiserver_server, package_name, repo, "--dry-run")
    assert dry.exit_code == 0, dry.stdout + dry.stderr
    assert dry.json["dry_run"] is True
    assert set(dry.statuses.values()) == {"planned"}
    assert "unrelease/forward-1.1.1" not in git(repo, "branch", "--list")
    assert git(repo, "tag", "--list", "v1.1.1") == ""


def test_forward_on_devpi(devpi_server: DevpiServer, package_name: str, tmp_path: Path) -> None:
    repo, shas = published(devpi_server.dev, "hatch-path", package_name, tmp_path)
    run = run_forward(devpi_server.dev, package_name, repo)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.json["new_version"] == "1.1.1"
    held = on_index(devpi_server.dev, package_name)
    assert all(held[n] == d for n, d in run.json["built"].items())
    again = run_forward(devpi_server.dev, package_name, repo)
    assert again.exit_code == 0, again.stdout + again.stderr
    assert again.json["uploaded"] == []
    assert git(repo, "rev-parse", "v1.1.1^{commit}^") == shas["1.0.0"]
