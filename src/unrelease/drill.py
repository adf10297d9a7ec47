"""``unrelease drill``: a whole rollback rehearsed offline, with real parts.

In a temporary directory: start a real pypiserver on loopback, build a tiny package at two
versions with ``build``, upload both with ``twine``, make a git repository with a tag per
release, run the real ``unrelease rollback`` of the newer version through the local forge, and
prove with pip in a fresh venv that the package now resolves to the older one. Then run the
same rollback again and check that it changes nothing. Last, publish a deliberately broken
release (an import error) and show ``unrelease guard --on-fail rollback`` catching it and
rolling it back.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from unrelease import secrets as secret_registry
from unrelease.errors import ServiceError

PACKAGE = "unrelease-drill-demo"
OLD, NEW = "1.0.0", "1.1.0"
BROKEN = "1.2.0"  # published with an import error: the guard catches it and rolls it back
USER = "drill"

Echo = Callable[[str], None]


@dataclass
class Server:
    url: str
    user: str
    password: str
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], *, deadline_s: float = 60.0) -> None:
    """Poll URL until it answers, the process dies, or the deadline passes (never a blind sleep)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if process.poll() is not None:
            raise ServiceError(f"server exited with {process.returncode} before answering")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)  # between polls of a bounded wait, not a wait for the server itself
    raise ServiceError(f"server at {url} did not answer within {deadline_s:.0f} s")


@contextmanager
def pypiserver(root: Path) -> Iterator[Server]:
    """A real pypiserver on a free loopback port, with an htpasswd user for uploads/removals."""
    from passlib.apache import HtpasswdFile  # type: ignore[import-untyped]

    password = secrets.token_urlsafe(16)
    secret_registry.register(password)
    htpasswd = root / "htpasswd"
    ht = HtpasswdFile(str(htpasswd), new=True)
    ht.set_password(USER, password)
    ht.save()
    packages = root / "packages"
    packages.mkdir()
    port = free_port()
    exe = Path(sys.executable).with_name("pypi-server")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pypiserver"]
    cmd += ["run", "-i", "127.0.0.1", "-p", str(port), "-P", str(htpasswd), "-a", "update"]
    cmd += ["--disable-fallback", str(packages)]
    log = (root / "pypiserver.log").open("wb")
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_http(url, process)
        yield Server(url, USER, password, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            process.kill()
            process.wait()
        log.close()


def write_project(root: Path, version: str, *, broken: bool = False) -> Path:
    src = root / "project"
    pkg = src / "src" / "unrelease_drill_demo"
    pkg.mkdir(parents=True, exist_ok=True)
    (src / "pyproject.toml").write_text(
        "[build-system]\n"
        'requires = ["hatchling"]\n'
        'build-backend = "hatchling.build"\n\n'
        "[project]\n"
        f'name = "{PACKAGE}"\n'
        f'version = "{version}"\n'
        'description = "A package that exists to be rolled back by unrelease drill"\n'
        'requires-python = ">=3.8"\n\n'
        "[tool.hatch.build.targets.wheel]\n"
        'packages = ["src/unrelease_drill_demo"]\n'
    )
    bad = "import unrelease_drill_no_such_module  # the deliberate breakage\n" if broken else ""
    (pkg / "__init__.py").write_text(f'{bad}__version__ = "{version}"\n')
    (src / "README.md").write_text(f"# {PACKAGE}\n")
    return src


def run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise ServiceError(f"{' '.join(cmd[:4])} … failed ({proc.returncode}):\n{tail}")
    return proc.stdout


def git(repo: Path, *args: str) -> str:
    ident = ["-c", "user.name=unrelease drill", "-c", "user.email=drill@localhost"]
    return run(["git", "-C", str(repo), *ident, *args]).strip()


class Drill:
    def __init__(self, echo: Echo, root: Path) -> None:
        self.echo = echo
        self.root = root
        self.checks: list[tuple[str, bool, str]] = []

    def step(self, title: str, work: Callable[[], str]) -> bool:
        start = time.perf_counter()
        try:
            detail = work()
            ok = True
        except Exception as exc:  # the drill reports every failure as a failed check
            detail, ok = f"{type(exc).__name__}: {exc}", False
        took = time.perf_counter() - start
        mark = "ok " if ok else "FAIL"
        self.echo(f"[{mark}] {title:<44} {took:6.2f} s  {detail}")
        self.checks.append((title, ok, detail))
        return ok

    def check(self, condition: bool, message: str) -> None:
        if not condition:
            raise AssertionError(message)


def run_drill(echo: Echo, keep: Path | None = None) -> bool:
    """Run the drill; True only when every check passed."""
    root = Path(tempfile.mkdtemp(prefix="unrelease-drill-")) if keep is None else keep
    root.mkdir(parents=True, exist_ok=True)
    echo(f"unrelease drill in {root} (offline: loopback only)")
    started = time.perf_counter()
    try:
        with pypiserver(root) as server:
            ok = _drill(Drill(echo, root), server)
    except ServiceError as exc:
        echo(f"[FAIL] could not start the index server: {exc}")
        ok = False
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    total = time.perf_counter() - started
    echo(f"drill {'passed' if ok else 'FAILED'} in {total:.1f} s; servers stopped")
    return ok


def _drill(d: Drill, server: Server) -> bool:
    root = d.root
    repo = root / "repo"
    dists: dict[str, list[Path]] = {}
    env = {**os.environ, "TWINE_USERNAME": server.user, "TWINE_PASSWORD": server.password}
    tool_env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_REPOSITORY", "UNRELEASE_INDEX")
    }
    tool_env.update(
        UNRELEASE_INDEX_USERNAME=server.user,
        UNRELEASE_INDEX_PASSWORD=server.password,
        UNRELEASE_BACKUP_DIR=str(root / "backup"),
    )
    results: dict[str, Any] = {}

    d.echo(f"  index: pypiserver at {server.url}")

    def build_and_tag() -> str:
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        for version in (OLD, NEW):
            project = write_project(root, version)
            out = root / "dist" / version
            run([sys.executable, "-m", "build", "--no-isolation", "-o", str(out), str(project)])
            dists[version] = sorted(out.iterdir())
            (repo / "VERSION").write_text(version + "\n")
            git(repo, "add", "VERSION")
            git(repo, "commit", "-q", "-m", f"Release {version}")
            git(repo, "tag", "-a", f"v{version}", "-m", f"Release {version}")
        return ", ".join(p.name for v in (OLD, NEW) for p in dists[v])

    def upload() -> str:
        files = [str(p) for v in (OLD, NEW) for p in dists[v]]
        run(
            [
                *(sys.executable, "-m", "twine", "upload", "--non-interactive"),
                *("--disable-progress-bar", "--repository-url", server.url, *files),
            ],
            env=env,
        )
        return f"{len(files)} files uploaded"

    def before() -> str:
        from unrelease.verify import pip_resolves

        got = pip_resolves(PACKAGE, server.url + "simple/")
        d.check(got == NEW, f"before the rollback pip installs {got}, expected {NEW}")
        return f"pip installs {got}"

    def rollback(label: str) -> Callable[[], str]:
        def work() -> str:
            cmd = [sys.executable, "-m", "unrelease", "rollback", PACKAGE, NEW]
            cmd += ["--reason", "Drill: the new release is broken", "--mode", "delete"]
            cmd += ["--index", server.url, "--repo", str(repo), "--yes", "--json"]
            cmd += ["--verify-install"] if label == "first" else []
            proc = subprocess.run(
                cmd, env=tool_env, capture_output=True, text=True, check=False, timeout=600
            )
            results[label] = proc
            d.check(proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr.strip()}")
            data = json.loads(proc.stdout)
            results[label + "-json"] = data
            statuses = {s["name"]: s["status"] for s in data["steps"]}
            if label == "first":
                d.check(data["to"] == OLD, f"target {data['to']}, expected {OLD}")
                d.check(
                    statuses[f"index:{NEW}"] == "done" and statuses["verify"] == "done",
                    f"steps: {statuses}",
                )
            else:
                busy = [n for n, s in statuses.items() if s not in ("already-done", "skipped")]
                d.check(not busy, f"a rerun changed something: {busy}")
            return ", ".join(f"{n}={s}" for n, s in statuses.items())

        return work

    def after() -> str:
        from unrelease.verify import pip_resolves

        got = pip_resolves(PACKAGE, server.url + "simple/")
        d.check(got == OLD, f"after the rollback pip installs {got}, expected {OLD}")
        tag = f"v{OLD}-rollback-"
        tags = git(repo, "tag", "-l", f"{tag}*").split()
        d.check(len(tags) == 1, f"rollback tags: {tags}")
        at = git(repo, "rev-parse", f"{tags[0]}^{{commit}}")
        d.check(at == git(repo, "rev-parse", f"v{OLD}^{{commit}}"), f"{tags[0]} is not at v{OLD}")
        issues = list((repo / ".unrelease" / "issues").glob("*.json"))
        d.check(len(issues) == 1, f"{len(issues)} incident issues")
        backups = list((root / "backup").rglob("*.whl"))
        d.check(len(backups) == 1, "no backup of the wheel was kept")
        return f"pip installs {got}; tag {tags[0]}; issue and note written; backup kept"

    def guard_broken() -> str:
        project = write_project(root, BROKEN, broken=True)
        out = root / "dist" / BROKEN
        run([sys.executable, "-m", "build", "--no-isolation", "-o", str(out), str(project)])
        files = [str(p) for p in sorted(out.iterdir())]
        run(
            [
                *(sys.executable, "-m", "twine", "upload", "--non-interactive"),
                *("--disable-progress-bar", "--repository-url", server.url, *files),
            ],
            env=env,
        )
        (repo / "VERSION").write_text(BROKEN + "\n")
        git(repo, "commit", "-q", "-am", f"Release {BROKEN}")
        git(repo, "tag", "-a", f"v{BROKEN}", "-m", f"Release {BROKEN}")
        cmd = [sys.executable, "-m", "unrelease", "guard", PACKAGE, BROKEN, "--wait", "0"]
        cmd += ["--index", server.url, "--repo", str(repo), "--on-fail", "rollback"]
        cmd += ["--mode", "delete", "--yes", "--json"]
        proc = subprocess.run(
            cmd, env=tool_env, capture_output=True, text=True, check=False, timeout=600
        )
        d.check(proc.stdout.strip().startswith("{"), f"exit {proc.returncode}: {proc.stderr}")
        data = json.loads(proc.stdout)
        failed = [c["name"] for c in data["checks"] if c["status"] == "fail"]
        d.check(data["verdict"] == "fail" and "import" in failed, f"guard: {data['verdict']}")
        d.check(data["decision"]["action"] == "rollback", f"decision: {data['decision']}")
        d.check(proc.returncode == 0, f"rollback exit {proc.returncode}: {proc.stderr.strip()}")
        from unrelease.verify import pip_resolves

        got = pip_resolves(PACKAGE, server.url + "simple/")
        d.check(got == OLD, f"after the guard's rollback pip installs {got}, expected {OLD}")
        return f"guard failed at {', '.join(failed)}; rolled back; pip installs {got}"

    steps: list[tuple[str, Callable[[], str]]] = [
        ("build 2 versions, git repo with tags", build_and_tag),
        ("upload with twine", upload),
        (f"pip resolves {NEW} before", before),
        (f"rollback {NEW} → {OLD} (delete)", rollback("first")),
        (f"pip resolves {OLD} after; tag, issue, note", after),
        ("rerun: nothing done twice", rollback("second")),
        (f"publish broken {BROKEN}: guard catches, rolls back", guard_broken),
    ]
    for title, work in steps:
        if not d.step(title, work):
            return False
    notice = results["first-json"].get("notice", "")
    d.echo("")
    d.echo("  notice for users:")
    for line in notice.strip().splitlines():
        d.echo(f"    {line}")
    return all(ok for _, ok, _ in d.checks)
