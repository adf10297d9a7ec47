"""The guard's parts without servers: policy, verdict, baseline, files, metadata, venv runner,
the visibility wait on a fake clock, and the CLI's input checks."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
import requests
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.cli_helpers import invoke
from tests.fakes.clock import FakeClock
from unrelease import secrets
from unrelease.config import project_settings
from unrelease.errors import AuthError, BadInput, NotFound
from unrelease.guard import checks, venvs
from unrelease.guard.baseline import choose_baseline, excuse
from unrelease.guard.policy import Policy, decide, guard_smoke, load_policy, summary
from unrelease.guard.report import Check, Evidence, GuardResult, markdown, render, verdict_of
from unrelease.guard.venvs import Ran, Runner, Venv, scrubbed_env
from unrelease.guard.visible import wait_visible
from unrelease.indexes.base import Index
from unrelease.model import DistFile, Release


def rel(version: str, *names: str, yanked: bool = False) -> Release:
    files = names or (f"p-{version}.tar.gz", f"p-{version}-py3-none-any.whl")
    return Release(version, tuple(DistFile(n, f"http://x/{n}", yanked=yanked) for n in files))


def result(*statuses: tuple[str, str]) -> GuardResult:
    return GuardResult("p", "1.1.0", "1.0.0", [Check(n, "3.11.7", s, n) for n, s in statuses])


# --- verdict and policy -------------------------------------------------------------------------
def test_verdict_rules() -> None:
    assert verdict_of([Check("files", None, "pass", ""), Check("smoke", "3", "skipped", "")]) == (
        "pass"
    )
    assert verdict_of([Check("a", None, "inconclusive", ""), Check("b", None, "fail", "")]) == (
        "fail"
    )
    assert verdict_of([Check("a", None, "inconclusive", ""), Check("b", None, "pass", "")]) == (
        "inconclusive"
    )
    assert verdict_of([Check("a", None, "skipped", "")]) == "inconclusive"  # nothing checked
    with pytest.raises(ValueError, match="unknown check status"):
        Check("a", None, "ok", "")


def test_decide_never_acts_on_pass_or_inconclusive() -> None:
    policy = Policy(on_fail="rollback")
    assert decide(result(("install", "pass")), policy).action == "none"
    unsure = decide(result(("install", "inconclusive")), policy, "rollback")
    assert unsure.action == "none"
    assert "nothing is withdrawn" in unsure.why


def test_decide_takes_the_flag_then_the_strongest_class_rule() -> None:
    failed = result(("files", "fail"), ("import", "fail"))
    assert decide(failed, Policy()).action == "report"
    assert decide(failed, Policy(), "issue").why == "files, import failed; --on-fail issue"
    policy = Policy(on_fail="report", per_class={"import": "rollback", "files": "issue"})
    decision = decide(failed, policy)
    assert decision.action == "rollback"
    assert decision.why == (
        "files, import failed (critical); policy: files → issue, import → rollback"
    )
    assert decision.severity == "critical"
    assert decide(result(("files", "fail")), policy).action == "issue"
    minor = Policy(
        per_class={"files": "issue"}, severity="minor", severities={"import": "critical"}
    )
    assert decide(result(("files", "fail")), minor).severity == "minor"
    assert decide(failed, minor).severity == "critical"


def test_load_policy_and_smoke(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(
        '[tool.unrelease]\nindex = "http://127.0.0.1:1/"\n'
        '[tool.unrelease.policy]\non-fail = "issue"\nimport = "rollback"\nlabels = ["rel"]\n'
        '[tool.unrelease.guard]\nsmoke = ["python -c 1"]\n'
    )
    assert load_policy(path) == Policy("issue", {"import": "rollback"}, ("rel",))
    assert guard_smoke(path) == ["python -c 1"]
    assert project_settings(path)["index"] == "http://127.0.0.1:1/"  # subtables are accepted
    assert load_policy(tmp_path / "missing.toml") == Policy()
    path.write_text(
        '[tool.unrelease.policy]\nseverity = "minor"\n'
        'import = {action = "rollback", severity = "critical"}\nfiles = {severity = "minor"}\n'
    )
    assert load_policy(path) == Policy(
        "report",
        {"import": "rollback", "files": "report"},
        severity="minor",
        severities={"import": "critical", "files": "minor"},
    )
    path.write_text('[tool.unrelease.policy]\nimport = {action = "issue", when = "x"}\n')
    with pytest.raises(BadInput, match="unknown key"):
        load_policy(path)
    path.write_text('[tool.unrelease.policy]\nseverity = "meh"\n')
    with pytest.raises(BadInput, match="critical or minor"):
        load_policy(path)
    path.write_text('[tool.unrelease.policy]\nimport = "delete-everything"\n')
    with pytest.raises(BadInput, match="must be one of report, issue, rollback"):
        load_policy(path)
    path.write_text('[tool.unrelease.policy]\nwhatever = "x"\n')
    with pytest.raises(BadInput, match="unknown key"):
        load_policy(path)
    path.write_text("[tool.unrelease.guard]\nsmoke = [1]\n")
    with pytest.raises(BadInput, match="smoke must be a list"):
        guard_smoke(path)


def test_summary_names_what_failed() -> None:
    text = summary(result(("import", "fail"), ("install", "pass")))
    assert text == "guard found p 1.1.0 broken: import on Python 3.11.7: import"


# --- baseline -----------------------------------------------------------------------------------
def test_choose_baseline() -> None:
    releases = [rel("0.9.0"), rel("1.0.0"), rel("1.0.1", yanked=True), rel("1.1.0rc1")]
    releases.append(rel("1.1.0"))
    assert choose_baseline(releases, Version("1.1.0"), None) == releases[1]
    assert choose_baseline(releases, Version("1.1.0"), "0.9.0") == releases[0]
    assert choose_baseline(releases, Version("0.9.0"), None) is None
    with pytest.raises(BadInput, match="not on the index"):
        choose_baseline(releases, Version("1.1.0"), "0.1")
    with pytest.raises(BadInput, match="another version"):
        choose_baseline(releases, Version("1.1.0"), "1.1.0")


def test_excuse_turns_only_shared_failures_inconclusive() -> None:
    now = [Check("install", "3.11", "pass", ""), Check("import", "3.11", "fail", "boom")]
    now.append(Check("smoke", "3.11", "fail", "a"))
    now.append(Check("smoke", "3.11", "fail", "b"))
    base = [Check("install", "3.11", "pass", ""), Check("import", "3.11", "fail", "boom")]
    base.append(Check("smoke", "3.11", "pass", "a"))
    base.append(Check("smoke", "3.11", "fail", "b"))
    out = excuse(now, base, "1.0.0")
    assert [c.status for c in out] == ["pass", "inconclusive", "fail", "inconclusive"]
    assert out[1].detail == "boom (fails on 1.0.0 too: the environment, not the release)"


# --- files and metadata -------------------------------------------------------------------------
def test_files_check_against_baseline_kinds_and_expect(tmp_path: Path) -> None:
    base = rel("1.0.0")
    assert checks.files_check(rel("1.1.0"), [], base, "u").status == "pass"
    partial = rel("1.1.0", "p-1.1.0-py3-none-any.whl")
    found = checks.files_check(partial, [], base, "u")
    assert (found.status, found.detail) == ("fail", "missing: sdist")
    other_tag = rel("1.1.0", "p-1.1.0.tar.gz", "p-1.1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    assert "wheel:py3-none-any" in checks.files_check(other_tag, [], base, "u").detail
    (tmp_path / "p-1.1.0.tar.gz").write_text("x")
    local = str(tmp_path / "*.tar.gz")
    assert checks.files_check(partial, [local], None, "u").detail == "missing: p-1.1.0.tar.gz"
    assert checks.files_check(partial, ["*.whl"], None, "u").status == "pass"
    assert checks.files_check(partial, [], None, "u").status == "skipped"


def wheel(tmp_path: Path, metadata: str, names: list[str], top_level: str | None = None) -> Path:
    path = tmp_path / "p-1.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("p-1.1.0.dist-info/METADATA", metadata)
        for name in names:
            zf.writestr(name, "")
        if top_level is not None:
            zf.writestr("p-1.1.0.dist-info/top_level.txt", top_level)
    return path


def test_read_wheel_modules_and_bad_metadata(tmp_path: Path) -> None:
    good = "Metadata-Version: 2.1\nName: p\nVersion: 1.1.0\nRequires-Python: >=3.9\n"
    names = ["p/__init__.py", "helper.py", "p-1.1.0.data/scripts/x", "_p.pth"]
    info = checks.read_wheel(wheel(tmp_path, good, names))
    assert info.problem == ""
    assert info.modules == ("helper", "p")
    assert info.metadata is not None
    assert str(info.metadata.requires_python) == ">=3.9"
    assert checks.read_wheel(wheel(tmp_path, good, names, "q\n")).modules == ("q",)
    bad = "Metadata-Version: 2.1\nName: p\nVersion: 1.1.0\nRequires-Python: >=3.x\n"
    broken = checks.read_wheel(wheel(tmp_path, bad, names))
    assert broken.metadata is None
    assert "requires-python" in broken.problem.lower()
    (tmp_path / "junk.whl").write_text("not a zip")
    assert "not a readable wheel" in checks.read_wheel(tmp_path / "junk.whl").problem


def test_python_drop() -> None:
    old, new = SpecifierSet(">=3.8"), SpecifierSet(">=3.10")
    assert checks.python_drop(new, old, []) == ["3.8", "3.9"]
    assert checks.python_drop(SpecifierSet(">=3.8"), old, ["3.11.7"]) == []
    assert checks.python_drop(None, old, []) == []
    assert checks.python_drop(SpecifierSet(">=3.12"), old, ["3.11.7"])[-1] == "3.11.7"
    assert "3.6" in checks.python_drop(new, None, [])  # no requires-python admitted all


# --- the runner ---------------------------------------------------------------------------------
def test_scrubbed_env_drops_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("PYPI_PASSWORD", "GITHUB_TOKEN", "GH_TOKEN", "UNRELEASE_INDEX_PASSWORD"):
        monkeypatch.setenv(name, "s3cret-value")
    monkeypatch.setenv("MY_API_TOKEN", "x")
    monkeypatch.setenv("DB_PASSWORD", "x")
    monkeypatch.setenv("SIGNING_SECRET", "x")
    monkeypatch.setenv("PIP_INDEX_URL", "https://u:p@example.invalid/simple/")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = scrubbed_env(tmp_path)
    assert "s3cret-value" not in env.values()
    assert not {"MY_API_TOKEN", "DB_PASSWORD", "SIGNING_SECRET", "PIP_INDEX_URL"} & set(env)
    assert env["HOME"] == str(tmp_path)
    assert env["LANG"] == "C.UTF-8"


def test_runner_evidence_is_redacted_and_pathless(tmp_path: Path) -> None:
    secrets.register("hunter2-secret")
    runner = Runner(tmp_path, timeout=30)
    code = "import sys; print('token hunter2-secret'); sys.exit(3)"
    ran = runner.run([sys.executable, "-c", code, str(tmp_path / "x")])
    assert ran.exit_code == 3
    assert ran.evidence.exit_code == 3
    assert "hunter2-secret" not in ran.evidence.tail and "***" in ran.evidence.tail
    assert str(tmp_path) not in ran.evidence.command
    assert ran.evidence.command.startswith("python -c ")
    assert "$GUARD_TMP/x" in ran.evidence.command
    slow = Runner(tmp_path, timeout=0.3).run([sys.executable, "-c", "while True: pass"])
    assert slow.exit_code is None and slow.unreachable  # a timeout: inconclusive, not fail
    assert "timed out after 0.3 s" in slow.evidence.tail
    assert runner.shown(["/opt/py/bin/python3.12", "-m", "venv"]) == "python3.12 -m venv"
    missing = runner.run([str(tmp_path / "no-such-python")])
    assert missing.exit_code is None and missing.unreachable


def test_smoke_checks_pass_fail_and_time_out(tmp_path: Path) -> None:
    python = Path(sys.executable)
    venv = Venv(tmp_path, python, "3.11.7")
    runner = Runner(tmp_path, timeout=0.5)
    assert checks.smoke_check(runner, venv, "python -c 'print(1)'").status == "pass"
    failed = checks.smoke_check(runner, venv, "python -c 'raise SystemExit(4)'")
    assert (failed.status, failed.evidence and failed.evidence.exit_code) == ("fail", 4)
    hung = checks.smoke_check(runner, venv, "python -c 'while True: pass'")
    assert hung.status == "inconclusive"
    with pytest.raises(BadInput, match="does not parse"):
        checks.smoke_check(runner, venv, "python -c 'unclosed")


def test_pip_runs_from_outside_or_from_the_venv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[list[str]] = []

    class Recorder(Runner):
        def run(self, cmd: list[str], **kw: object) -> Ran:
            seen.append(cmd)
            return Ran(0, "", Evidence(self.shown(cmd), 0, ""))

    runner = Recorder(tmp_path)
    venv = Venv(tmp_path / "v", tmp_path / "v" / "bin" / "python", "3.11.7")
    assert venvs.outer_pip()  # the test environment's pip is new enough
    venvs.pip(runner, venv, ["install", "x"])
    venvs.create(runner, sys.executable, "v2")
    monkeypatch.setattr(venvs, "outer_pip", lambda: False)
    venvs.pip(runner, venv, ["install", "x"])
    venvs.create(runner, sys.executable, "v3")
    assert seen[0][:5] == [sys.executable, "-m", "pip", "--python", str(venv.python)]
    assert "--without-pip" in seen[1]
    assert seen[3][:3] == [str(venv.python), "-m", "pip"]
    assert "--without-pip" not in seen[4]


# --- visible first ------------------------------------------------------------------------------
class StubIndex(Index):
    """Answers from a script of pages: an exception to raise, or the releases to show."""

    kind = "stub"

    def __init__(self, pages: list[object]) -> None:
        super().__init__("http://stub.invalid/", requests.Session())
        self.pages = pages

    @property
    def simple_url(self) -> str:
        return self.url + "simple/"

    def releases(self, package: str) -> list[Release]:
        page = self.pages.pop(0) if len(self.pages) > 1 else self.pages[0]
        if isinstance(page, Exception):
            raise page
        assert isinstance(page, list)
        return page

    def download(self, file: DistFile, dest_dir: Path) -> Path:
        dest_dir.mkdir(parents=True, exist_ok=True)
        (dest_dir / file.filename).write_text("x")
        return dest_dir / file.filename


def test_wait_visible_backs_off_until_listed(tmp_path: Path) -> None:
    down = requests.ConnectionError("refused")
    index = StubIndex([down, NotFound("x"), [rel("1.0.0")], [rel("1.0.0"), rel("1.1.0")]])
    clock = FakeClock()
    seen = wait_visible(lambda: index, "p", Version("1.1.0"), wait=300, clock=clock, dest=tmp_path)
    assert seen.visible
    assert seen.polls == 4
    assert clock.slept == [1.0, 2.0, 4.0]
    assert sorted(seen.downloaded) == ["p-1.1.0-py3-none-any.whl", "p-1.1.0.tar.gz"]


def test_wait_visible_gives_up_at_the_bound(tmp_path: Path) -> None:
    clock = FakeClock()
    index = StubIndex([[rel("1.0.0")]])
    seen = wait_visible(lambda: index, "p", Version("1.1.0"), wait=45, clock=clock, dest=tmp_path)
    assert not seen.visible
    assert "not listed" in seen.why
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 16.0, 14.0]


def test_wait_visible_raises_auth_errors(tmp_path: Path) -> None:
    def refuse() -> Index:
        raise AuthError("HTTP 401")

    with pytest.raises(AuthError):
        wait_visible(refuse, "p", Version("1"), wait=300, clock=FakeClock(), dest=tmp_path)


# --- report -------------------------------------------------------------------------------------
def test_report_text_and_markdown_escape() -> None:
    res = result(("import", "fail"))
    res.checks[0] = Check(
        "import", "3.11", "fail", "@team *boom* | x", Evidence("python -c `x`", 1, "tb")
    )
    text = render(res)
    assert "✗ import [3.11]" in text and "verdict: fail" in text
    md = markdown(res)
    assert "&#64;team" in md and "\\*boom\\*" in md and "\\|" in md
    assert "`python -c 'x'`" in md
    assert res.to_json()["checks"][0]["evidence"] == {
        "command": "python -c `x`",
        "exit_code": 1,
        "tail": "tb",
    }


# --- the command's input checks -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["guard", "not a name!", "1.0"], "not a valid package name"),
        (["guard", "pkg", "one"], "not a valid version"),
        (["guard", "pkg", "1.0", "--on-fail", "issue"], "no repository"),
        (["guard", "pkg", "1.0", "--baseline", "x.y"], "not a valid --baseline version"),
        (["guard", "pkg", "1.0", "--python", "/no/such/python3"], "no such interpreter"),
        (["guard", "pkg", "1.0", "--smoke", "python -c 'x"], "does not parse"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    run = invoke([*args, "--index", "http://127.0.0.1:9/", "--wait", "0"])
    assert run.exit_code == 2, run.stdout + run.stderr
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
