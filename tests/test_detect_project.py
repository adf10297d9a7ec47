"""`unrelease detect` run in the project's checkout: the package comes from
./pyproject.toml's ``[project] name`` (and the index from ``[tool.unrelease]``) when the
failed run's log names no files; a repository with no workflows is said plainly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import invoke
from tests.fakes.github import FakeGitHub
from tests.servers import DistFactory, PypiserverServer
from tests.test_detect_cli import Pkg, env, failed_run, seed_repo
from unrelease.config import project_name


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


def pyproject(pkg: Pkg) -> str:
    return (
        f'[project]\nname = "{pkg.name}"\nversion = "1.2.0"\n\n'
        f'[tool.unrelease]\nindex = "{pkg.target.url}"\nindex-kind = "{pkg.target.kind}"\n'
    )


def test_detect_takes_the_package_and_index_from_pyproject(
    fake_github: FakeGitHub, pypiserver_server: PypiserverServer, dist_factory: DistFactory
) -> None:
    fake, pkg = fake_github, Pkg(pypiserver_server, dist_factory, partial="wheel")
    seed_repo(fake)
    # a test job failed after the publish job sent the wheel: its log names no file
    failed_run(fake, pkg.log("tests"), job="test (3.12)", step="Run pytest")
    args = ["detect", "--repo", fake.full_name, "--github-url", fake.api_url, "--json"]

    without = invoke(args, env(fake, pkg.target)).json["runs"][0]
    assert without["package"] is None  # no pyproject.toml here: the logs do not say

    Path("pyproject.toml").write_text(pyproject(pkg), "utf-8")
    result = invoke(args, env(fake, pkg.target))  # no --package, no --index
    assert result.exit_code == 0, result.stderr
    (run,) = result.json["runs"]
    assert run["package"] == pkg.name
    assert run["version"] == "1.2.0"
    assert run["reached"]["state"] != "unknown", run["reached"]
    assert f"{pkg.dist}-1.2.0-py3-none-any.whl" in run["reached"]["files"]

    named = invoke([*args, "--package", "other-pkg"], env(fake, pkg.target)).json["runs"][0]
    assert named["package"] == "other-pkg", "--package wins over pyproject.toml"


def test_project_name_reads_only_a_valid_name(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    assert project_name(path) is None  # no file
    path.write_text('[project]\nname = "My_Pkg"\n', "utf-8")
    assert project_name(path) == "my-pkg"
    path.write_text('[project]\nname = "not a name!"\n', "utf-8")
    assert project_name(path) is None
    path.write_text("[tool.other]\nx = 1\n", "utf-8")
    assert project_name(path) is None


def test_detect_with_no_workflows_says_so(
    fake_github: FakeGitHub, pypiserver_server: PypiserverServer
) -> None:
    fake = fake_github
    args = ["detect", "--repo", fake.full_name, "--github-url", fake.api_url]
    args += ["--index", pypiserver_server.url, "--index-kind", "pypiserver"]
    for extra in ([], ["--workflow", "Release"]):
        result = invoke([*args, *extra], env(fake, pypiserver_server))
        assert result.exit_code == 2
        assert "acme/widget has no GitHub Actions workflows" in result.stderr, result.stderr
        assert "none" not in result.stderr and "--workflow" not in result.stderr
