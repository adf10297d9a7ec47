"""``unrelease drill``: the whole rehearsal in-process, its failure paths, and its helpers."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli_helpers import invoke
from tests.servers import PypiserverServer
from unrelease import drill
from unrelease.errors import ServiceError

STEPS = (
    "build 2 versions, git repo with tags",
    "upload with twine",
    "pip resolves 1.1.0 before",
    "rollback 1.1.0 → 1.0.0 (delete)",
    "pip resolves 1.0.0 after; tag, issue, note",
    "rerun: nothing done twice",
    "publish broken 1.2.0: guard catches, rolls back",
)


NO_CRYPT_WARNING = pytest.mark.filterwarnings("ignore:'crypt' is deprecated:DeprecationWarning")


@NO_CRYPT_WARNING
@pytest.mark.slow
def test_drill_passes() -> None:
    lines: list[str] = []
    assert drill.run_drill(lines.append) is True
    text = "\n".join(lines)
    assert lines[0].startswith("unrelease drill in ")
    assert "(offline: loopback only)" in lines[0]
    assert any(line.startswith("  index: pypiserver at http://127.0.0.1:") for line in lines)
    for step in STEPS:
        assert any(line.startswith("[ok ] " + step) for line in lines), step
    assert "[FAIL]" not in text
    assert "  notice for users:" in lines
    assert 'pip install "unrelease-drill-demo==1.0.0"' in text
    assert lines[-1].startswith("drill passed in ")
    assert lines[-1].endswith("servers stopped")


def test_drill_server_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    @contextmanager
    def broken(root: Path) -> Iterator[drill.Server]:
        raise ServiceError("server exited with 1 before answering")
        yield  # pragma: no cover

    monkeypatch.setattr(drill, "pypiserver", broken)
    lines: list[str] = []
    assert drill.run_drill(lines.append, keep=tmp_path / "kept") is False
    assert "[FAIL] could not start the index server: server exited with 1" in lines[1]
    assert lines[-1].startswith("drill FAILED in ")
    assert (tmp_path / "kept").is_dir()  # --keep keeps the directory


@NO_CRYPT_WARNING
def test_drill_step_failure_stops_and_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    real = drill.write_project
    roots: list[Path] = []

    def broken_project(root: Path, version: str) -> Path:
        roots.append(root)
        src = real(root, version)
        (src / "pyproject.toml").write_text("[project\nthis is not toml\n")
        return src

    monkeypatch.setattr(drill, "write_project", broken_project)
    lines: list[str] = []
    assert drill.run_drill(lines.append) is False
    fails = [line for line in lines if line.startswith("[FAIL]")]
    assert len(fails) == 1
    assert fails[0].startswith("[FAIL] " + STEPS[0])
    assert "ServiceError" in fails[0]
    assert not any(line.startswith("[ok ]") for line in lines)
    assert lines[-1].startswith("drill FAILED in ")
    assert roots
    assert not roots[0].exists()  # the temp directory is removed, servers stopped


@pytest.mark.parametrize(("ok", "code"), [(True, 0), (False, 1)])
def test_drill_command_exit_code(monkeypatch: pytest.MonkeyPatch, ok: bool, code: int) -> None:
    seen: dict[str, object] = {}

    def fake(echo: drill.Echo, keep: Path | None = None) -> bool:
        seen["keep"] = keep
        echo("drill says hi")
        return ok

    monkeypatch.setattr(drill, "run_drill", fake)
    run = invoke(["drill", "--keep", "kept-dir"])
    assert run.exit_code == code
    assert run.stdout == "drill says hi\n"
    assert seen["keep"] == Path("kept-dir")


# --- helpers ------------------------------------------------------------------------------------
def test_wait_http_process_exited() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=60)
    with pytest.raises(ServiceError, match="server exited with 0 before answering"):
        drill.wait_http(f"http://127.0.0.1:{drill.free_port()}/", proc, deadline_s=60)


def test_wait_http_deadline() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        with pytest.raises(ServiceError, match=r"did not answer within 0 s"):
            drill.wait_http(f"http://127.0.0.1:{drill.free_port()}/", proc, deadline_s=0)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)


def test_wait_http_answers(pypiserver_server: PypiserverServer) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        drill.wait_http(pypiserver_server.url, proc, deadline_s=30)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)


def test_wait_http_polls_past_connection_refused() -> None:
    """A port that refuses at first: wait_http keeps polling until the process exits."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read(1)"], stdin=subprocess.PIPE
    )
    port = drill.free_port()
    calls = {"n": 0}
    real_poll = proc.poll

    def poll() -> int | None:
        calls["n"] += 1
        if calls["n"] == 3:  # the server "dies" after two refused polls
            assert proc.stdin is not None
            proc.stdin.write(b"x")
            proc.stdin.close()
            proc.wait(timeout=60)
        return real_poll()

    proc.poll = poll  # type: ignore[method-assign]
    with pytest.raises(ServiceError, match="server exited with 0"):
        drill.wait_http(f"http://127.0.0.1:{port}/", proc, deadline_s=60)
    assert calls["n"] == 3


def test_free_port_is_bindable() -> None:
    port = drill.free_port()
    assert 0 < port < 65536
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))


def test_run_failure_shows_the_tail() -> None:
    code = "import sys; print('\\n'.join(map(str, range(10)))); sys.exit(3)"
    with pytest.raises(ServiceError) as info:
        drill.run([sys.executable, "-c", code])
    message = str(info.value)
    assert "failed (3)" in message
    assert message.splitlines()[-5:] == ["5", "6", "7", "8", "9"]


def test_run_returns_stdout(tmp_path: Path) -> None:
    out = drill.run([sys.executable, "-c", "import os; print(os.getcwd())"], cwd=tmp_path)
    assert out.strip() == str(tmp_path)


def test_git_helper_sets_identity(tmp_path: Path) -> None:
    drill.git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "f").write_text("x")
    drill.git(tmp_path, "add", "f")
    drill.git(tmp_path, "commit", "-q", "-m", "c")
    assert drill.git(tmp_path, "log", "--format=%ae") == "drill@localhost"


def test_write_project(tmp_path: Path) -> None:
    src = drill.write_project(tmp_path, "2.0.0")
    assert 'version = "2.0.0"' in (src / "pyproject.toml").read_text()
    assert f'name = "{drill.PACKAGE}"' in (src / "pyproject.toml").read_text()
    init = src / "src" / "unrelease_drill_demo" / "__init__.py"
    assert init.read_text() == '__version__ = "2.0.0"\n'
    assert drill.write_project(tmp_path, "2.0.1") == src  # rewritten in place
    drill.write_project(tmp_path, "2.0.2", broken=True)
    assert init.read_text().startswith("import unrelease_drill_no_such_module")


def test_drill_step_and_check() -> None:
    lines: list[str] = []
    d = drill.Drill(lines.append, Path())
    assert d.step("good", lambda: "fine") is True

    def bad() -> str:
        d.check(False, "it broke")
        return "unreachable"

    assert d.step("bad", bad) is False
    assert lines[0].startswith("[ok ] good")
    assert lines[0].endswith("fine")
    assert lines[1].startswith("[FAIL] bad")
    assert lines[1].endswith("AssertionError: it broke")
    assert d.checks == [("good", True, "fine"), ("bad", False, "AssertionError: it broke")]
