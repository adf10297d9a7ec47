"""Settings: [tool.unrelease], credentials from the environment, and flags > env > pyproject."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli_helpers import invoke
from tests.servers import SeededPackage
from unrelease import config
from unrelease.errors import BadInput


def write_pyproject(folder: Path, table: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text('[project]\nname = "x"\nversion = "0"\n\n' + table, "utf-8")
    return path


# --- project_settings ---------------------------------------------------------------------------
def test_project_settings_reads_every_key(tmp_path: Path) -> None:
    path = write_pyproject(
        tmp_path,
        "[tool.unrelease]\n"
        'index = "http://127.0.0.1:8080/"\n'
        'index-kind = "pypiserver"\n'
        'repo = "owner/name"\n'
        'github-url = "https://ghe.example/api/v3"\n'
        'mode = "delete"\n'
        'severity = "minor"\n'
        'labels = ["release", "incident", 7]\n'
        'tag-format = "release-{version}"\n'
        'rollback-tag = "{to_tag}-rb"\n'
        'backup-dir = "backups"\n',
    )
    assert config.project_settings(path) == {
        "index": "http://127.0.0.1:8080/",
        "index_kind": "pypiserver",
        "repo": "owner/name",
        "github_url": "https://ghe.example/api/v3",
        "mode": "delete",
        "severity": "minor",
        "labels": "release,incident,7",
        "tag_format": "release-{version}",
        "rollback_tag": "{to_tag}-rb",
        "backup_dir": "backups",
    }


def test_project_settings_labels_string_kept(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.unrelease]\nlabels = "a,b"\n')
    assert config.project_settings(path) == {"labels": "a,b"}


def test_project_settings_defaults_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_pyproject(tmp_path, '[tool.unrelease]\nmode = "delete"\n')
    monkeypatch.chdir(tmp_path)
    assert config.project_settings() == {"mode": "delete"}


def test_project_settings_empty_without_file_or_table(tmp_path: Path) -> None:
    assert config.project_settings(tmp_path / "pyproject.toml") == {}
    assert config.project_settings(tmp_path) == {}  # a directory is not a file
    path = write_pyproject(tmp_path, "[tool.other]\nx = 1\n")
    assert config.project_settings(path) == {}


def test_project_settings_unknown_key_is_bad_input(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.unrelease]\nmode = "yank"\ntoken = "x"\nzzz = 1\n')
    with pytest.raises(BadInput, match=r"unknown key\(s\) in \[tool\.unrelease\]: token, zzz"):
        config.project_settings(path)


def test_project_settings_underscore_key_is_unknown(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool.unrelease]\nindex_kind = "devpi"\n')
    with pytest.raises(BadInput, match="index_kind"):
        config.project_settings(path)


def test_project_settings_invalid_toml_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.unrelease\nmode = ", "utf-8")
    with pytest.raises(BadInput, match="is not valid TOML") as info:
        config.project_settings(path)
    assert info.value.exit_code == 2


def test_project_settings_not_utf8_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b"[tool.unrelease]\nmode = '\xff'\n")
    with pytest.raises(BadInput, match="is not valid TOML"):
        config.project_settings(path)


def test_project_settings_table_must_be_a_table(tmp_path: Path) -> None:
    path = write_pyproject(tmp_path, '[tool]\nunrelease = "delete"\n')
    with pytest.raises(BadInput, match="must be a table"):
        config.project_settings(path)


def test_default_map(tmp_path: Path) -> None:
    path = write_pyproject(
        tmp_path,
        '[tool.unrelease]\nindex = "testpypi"\nindex-kind = "devpi"\nmode = "delete"\n'
        'labels = ["a", "b"]\n',
    )
    dm = config.default_map(path)
    full = {"index": "testpypi", "index_kind": "devpi", "mode": "delete", "labels": "a,b"}
    assert dm["plan"] == full
    assert dm["rollback"] == full
    assert dm["plan"] is not dm["rollback"]
    assert dm["status"] == {"index": "testpypi", "index_kind": "devpi"}
    assert dm["undo"] == {"index": "testpypi", "index_kind": "devpi", "label": "a"}
    assert dm["detect"] == {"index": "testpypi", "index_kind": "devpi"}


def test_default_map_empty(tmp_path: Path) -> None:
    empty = {"plan": {}, "rollback": {}, "status": {}, "undo": {}, "detect": {}}
    assert config.default_map(tmp_path / "none.toml") == empty


# --- credentials and identity -------------------------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "UNRELEASE_INDEX_USERNAME",
        "UNRELEASE_INDEX_PASSWORD",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "GITHUB_ACTOR",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_index_auth_both(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("UNRELEASE_INDEX_USERNAME", "rel")
    clean_env.setenv("UNRELEASE_INDEX_PASSWORD", "pw-1234")
    assert config.index_auth() == ("rel", "pw-1234")


def test_index_auth_neither(clean_env: pytest.MonkeyPatch) -> None:
    assert config.index_auth() is None
    clean_env.setenv("UNRELEASE_INDEX_USERNAME", "")
    clean_env.setenv("UNRELEASE_INDEX_PASSWORD", "")
    assert config.index_auth() is None


@pytest.mark.parametrize("present", ["UNRELEASE_INDEX_USERNAME", "UNRELEASE_INDEX_PASSWORD"])
def test_index_auth_only_one_is_bad_input(clean_env: pytest.MonkeyPatch, present: str) -> None:
    clean_env.setenv(present, "value-1234")
    with pytest.raises(BadInput, match="set both UNRELEASE_INDEX_USERNAME and") as info:
        config.index_auth()
    assert "value-1234" not in str(info.value)


def test_github_token(clean_env: pytest.MonkeyPatch) -> None:
    assert config.github_token() is None
    clean_env.setenv("GH_TOKEN", "gh-token")
    assert config.github_token() == "gh-token"
    clean_env.setenv("GITHUB_TOKEN", "github-token")
    assert config.github_token() == "github-token"
    clean_env.setenv("GITHUB_TOKEN", "")
    assert config.github_token() == "gh-token"


def test_who_prefers_github_actor(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("GITHUB_ACTOR", "octocat")
    assert config.who() == "octocat"


def test_who_falls_back_to_the_local_user(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setattr(config.getpass, "getuser", lambda: "alice")
    assert config.who() == "alice"
    clean_env.setenv("GITHUB_ACTOR", "")
    assert config.who() == "alice"


# --- precedence through the CLI -----------------------------------------------------------------
def plain_repo(folder: Path) -> Path:
    folder.mkdir()
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    return folder


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp cwd holding a git repo; tests write its pyproject."""
    repo = plain_repo(tmp_path / "repo")
    monkeypatch.chdir(tmp_path)
    return repo


PLAN = ["plan", "demo", "1.2.0", "--reason", "broken"]


def test_pyproject_index_is_used(project: Path, tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        f'[tool.unrelease]\nindex = "http://127.0.0.1:7/"\nindex-kind = "warehouse"\n'
        f'repo = "{project}"\n',
    )
    run = invoke(PLAN)
    assert run.exit_code == 1
    assert run.stderr.startswith("error: cannot reach 127.0.0.1:7: connection refused")


def test_env_beats_pyproject(project: Path, tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        f'[tool.unrelease]\nindex = "http://127.0.0.1:7/"\nindex-kind = "warehouse"\n'
        f'repo = "{project}"\n',
    )
    run = invoke(PLAN, {"UNRELEASE_INDEX": "http://127.0.0.1:9/"})
    assert run.exit_code == 1
    assert run.stderr.startswith("error: cannot reach 127.0.0.1:9:")


def test_flag_beats_env_and_pyproject(project: Path, tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        f'[tool.unrelease]\nindex = "http://127.0.0.1:7/"\nindex-kind = "warehouse"\n'
        f'repo = "{project}"\n',
    )
    run = invoke([*PLAN, "--index", "http://127.0.0.1:8/"], {"UNRELEASE_INDEX": "pypi"})
    assert run.exit_code == 1
    assert run.stderr.startswith("error: cannot reach 127.0.0.1:8:")


def test_env_repo_beats_pyproject_repo(project: Path, tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        '[tool.unrelease]\nindex = "http://127.0.0.1:7/"\nindex-kind = "warehouse"\n'
        'repo = "not a repo!"\n',
    )
    assert invoke(PLAN).stderr.startswith("error: not a valid repository: 'not a repo!'")
    run = invoke(PLAN, {"GITHUB_REPOSITORY": str(project)})
    assert run.stderr.startswith("error: cannot reach 127.0.0.1:7:")
    run = invoke([*PLAN, "--repo", "bad repo"], {"GITHUB_REPOSITORY": str(project)})
    assert run.stderr.startswith("error: not a valid repository: 'bad repo'")


def test_status_takes_index_from_pyproject(project: Path, tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        '[tool.unrelease]\nindex = "http://127.0.0.1:7/"\nindex-kind = "warehouse"\n'
        'mode = "delete"\n',
    )
    run = invoke(["status", "demo"])
    assert run.exit_code == 1
    assert run.stderr.startswith("error: cannot reach 127.0.0.1:7:")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[tool.unrelease]\ntoken = "x"\n', "unknown key(s) in [tool.unrelease]: token"),
        ("[tool.unrelease\n", "is not valid TOML"),
    ],
)
def test_bad_pyproject_is_one_line_exit_2(
    project: Path, tmp_path: Path, table: str, message: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(table, "utf-8")
    run = invoke(["status", "demo"])
    assert run.exit_code == 2
    assert run.stdout == ""
    assert message in run.stderr
    assert run.stderr.startswith("error: ")


def test_pyproject_flags_to_a_real_index(
    pypiserver_pkg: SeededPackage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every setting from [tool.unrelease]; then a flag overrides one of them."""
    repo = plain_repo(tmp_path / "repo")
    target = pypiserver_pkg.target
    write_pyproject(
        tmp_path,
        "[tool.unrelease]\n"
        f'index = "{target.url}"\n'
        'index-kind = "pypiserver"\n'
        f'repo = "{repo}"\n'
        'mode = "delete"\n'
        'severity = "minor"\n'
        'labels = ["release", "incident"]\n'
        'tag-format = "release-{version}"\n'
        'rollback-tag = "{to_tag}-undo"\n',
    )
    monkeypatch.chdir(tmp_path)
    env = {"UNRELEASE_INDEX_USERNAME": target.username, "UNRELEASE_INDEX_PASSWORD": target.password}
    run = invoke(["plan", pypiserver_pkg.name, "1.2.0", "--reason", "r", "--json"], env)
    assert run.exit_code == 0, run.stderr
    data = run.json
    assert data["index"] == target.url
    assert data["mode"] == "delete"
    assert data["to"] == "1.1.0"
    assert data["dry_run"] is True
    actions = {s["name"]: s.get("action", "") for s in data["steps"]}
    assert "labelled release, incident" in actions["issue"]
    assert "release-1.1.0-undo" in actions["tag"]
    assert "(release-1.1.0)" in actions["tag"]
    # the flag wins over the file: pypiserver cannot yank
    run = invoke(["plan", pypiserver_pkg.name, "1.2.0", "--reason", "r", "--mode", "yank"], env)
    assert run.exit_code == 2
    assert "cannot yank" in run.stderr
