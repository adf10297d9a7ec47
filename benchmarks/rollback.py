"""Benchmark one rollback (delete mode, 1.2.0 → 1.1.0): requests per service, wall time with
injected latency, and the cold start of ``unrelease --version``.

    .venv/bin/python benchmarks/rollback.py [--runs 3] [--latency-ms 50] [--timeline]

Real pypiserver and devpi-server on loopback (started with the helpers of tests/servers.py),
the GitHub fake of tests/fakes/github.py, and the engine run in-process, built as the CLI
builds it (auto-probed index, GitHubForge, default Options). Index requests go through a TCP
proxy that logs each request line and, when asked, holds the first bytes of every request for
the latency: once per request (a POST's body, written separately, is not charged again), and
on the wire, so redirects, retries and new connections are seen as they happen. GitHub latency
is the fake's own ``latency_s`` (a server-side sleep per request). Neither charges a TCP
handshake, so the figures are a lower bound for a real network.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from time import perf_counter
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from requests.adapters import HTTPAdapter  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402
from tests.servers import (  # noqa: E402
    DEVPI_PASSWORD,
    DEVPI_ROOT_PASSWORD,
    DEVPI_USER,
    PYPISERVER_PASSWORD,
    PYPISERVER_USER,
    DistFactory,
    Target,
    _env,
    _free_port,
    _run,
    _script,
    _Server,
    upload,
)

from unrelease.engine import Engine, Options  # noqa: E402
from unrelease.forges.github import GitHubForge  # noqa: E402
from unrelease.indexes import open_index  # noqa: E402

VERSIONS = ("1.0.0", "1.1.0", "1.2.0")
REASON = "imports fail on Python 3.12"
Req = tuple[str, str]  # (method, path)


# --- the index behind a delaying, logging proxy -------------------------------------------------
class DelayProxy:
    """127.0.0.1:port → upstream. Logs every request line; sleeps ``delay_s`` before each."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.delay_s = 0.0
        self.log: list[Req] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self._sock.accept()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, seen: Callable[[bytes], None]) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                seen(data)
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        between = threading.Event()  # set: the next client bytes start a new request
        between.set()

        def request_bytes(data: bytes) -> None:
            if between.is_set():
                between.clear()
                method, path = ([*data.split(b"\r\n", 1)[0].decode("latin-1").split(" "), ""])[:2]
                self.log.append((method, path))
                if self.delay_s:
                    time.sleep(self.delay_s)

        back = threading.Thread(
            target=self._pump, args=(upstream, client, lambda _: between.set()), daemon=True
        )
        back.start()
        self._pump(client, upstream, request_bytes)
        back.join(timeout=30)
        client.close()
        upstream.close()


@dataclass
class Index:
    kind: str
    target: Target  # upstream, for uploads
    proxy: DelayProxy
    path: str  # "/" or "/rel/dev/"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}{self.path}"


def start_pypiserver(base: Path, stack: contextlib.ExitStack) -> Index:
    from passlib.apache import HtpasswdFile  # type: ignore[import-untyped]

    (base / "packages").mkdir(parents=True)
    htpasswd = HtpasswdFile(str(base / "htpasswd"), new=True)
    htpasswd.set_password(PYPISERVER_USER, PYPISERVER_PASSWORD)
    htpasswd.save()
    port = _free_port()
    cmd = [_script("pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port), "-P"]
    cmd += [str(base / "htpasswd"), "-a", "update", "--disable-fallback", str(base / "packages")]
    server = _Server(cmd, base / "server.log", _env(base))
    stack.callback(server.stop)
    url = f"http://127.0.0.1:{port}/"
    server.wait_ready(url, timeout=30)
    target = Target("pypiserver", url, url, PYPISERVER_USER, PYPISERVER_PASSWORD)
    return Index("pypiserver", target, DelayProxy(port), "/")


def start_devpi(base: Path, stack: contextlib.ExitStack) -> Index:
    import requests

    env, serverdir, port = _env(base), str(base / "server"), _free_port()
    init = [_script("devpi-init"), "--serverdir", serverdir, "--no-root-pypi"]
    _run([*init, "--root-passwd", DEVPI_ROOT_PASSWORD], env, "devpi-init")
    cmd = [_script("devpi-server"), "--serverdir", serverdir, "--host", "127.0.0.1"]
    server = _Server([*cmd, "--port", str(port), "--offline-mode"], base / "server.log", env)
    stack.callback(server.stop)
    root = f"http://127.0.0.1:{port}/"
    server.wait_ready(root + "+api", timeout=60)
    headers = {"Accept": "application/json"}
    user = {"password": DEVPI_PASSWORD, "email": "rel@example.invalid"}
    auth = (DEVPI_USER, DEVPI_PASSWORD)
    requests.put(root + DEVPI_USER, json=user, headers=headers, timeout=30).raise_for_status()
    dev = {"bases": [], "volatile": True}
    resp = requests.put(f"{root}{DEVPI_USER}/dev", json=dev, headers=headers, auth=auth, timeout=30)
    resp.raise_for_status()
    url = f"{root}{DEVPI_USER}/dev/"
    target = Target("devpi", url, url, DEVPI_USER, DEVPI_PASSWORD)
    return Index("devpi", target, DelayProxy(port), f"/{DEVPI_USER}/dev/")


# --- one rollback -------------------------------------------------------------------------------
@dataclass
class RunResult:
    seconds: float
    github: list[Req]
    index: list[Req]
    timeline: list[tuple[float, float, str, str]]


@contextlib.contextmanager
def client_timeline(t0: float) -> Iterator[list[tuple[float, float, str, str]]]:
    """(start, end, method, url) of every request sent through requests, both services."""
    events: list[tuple[float, float, str, str]] = []
    original = HTTPAdapter.send

    def send(self: HTTPAdapter, request: Any, **kw: Any) -> Any:
        start = perf_counter() - t0
        try:
            return original(self, request, **kw)
        finally:
            events.append((start, perf_counter() - t0, request.method, request.url))

    HTTPAdapter.send = send  # type: ignore[method-assign,assignment]
    try:
        yield events
    finally:
        HTTPAdapter.send = original  # type: ignore[method-assign]


def rollback(index: Index, pkg: str, work: Path, *, labels: bool, latency_s: float) -> RunResult:
    with FakeGitHub(latency_s=latency_s) as fake:
        for i, v in enumerate(VERSIONS):
            fake.add_tag(f"v{v}", fake.add_commit(f"Release {v}"), annotated=True, message=v)
            fake.add_release(f"v{v}", f"v{v}", body=f"Notes for {v}", latest=i == 2)
        if labels:
            fake.add_label("release")
            fake.add_label("critical")
        index.proxy.delay_s, index.proxy.log = latency_s, []
        t0 = perf_counter()
        with client_timeline(t0) as timeline:
            forge = GitHubForge(fake.full_name, fake.token, base_url=fake.api_url)
            idx = open_index(index.url, "auto", auth=index.target.auth)
            backup = work / "backup" / index.kind / pkg
            options = Options(pkg, "1.2.0", REASON, mode="delete", backup_dir=backup, who="bench")
            engine = Engine(options, idx, forge)
            outcome = engine.run(engine.plan())
            seconds = perf_counter() - t0
        forge.close()
        prefix = f"/repos/{fake.full_name}"
        github = [(r.method, r.path.removeprefix(prefix)) for r in fake.requests]
    statuses = {s.name: s.status.value for s in outcome.steps}
    if outcome.exit_code != 0 or outcome.plan.target.version != "1.1.0":
        sys.exit(f"rollback of {pkg} on {index.kind} went wrong: {statuses}")
    return RunResult(seconds, github, list(index.proxy.log), timeline)


def is_download(req: Req) -> bool:
    return "/packages/" in req[1] or "/+f/" in req[1]


def rw(reqs: list[Req]) -> str:
    writes = sum(m != "GET" for m, _ in reqs)
    return f"{len(reqs)} ({len(reqs) - writes} R / {writes} W)"


def show_requests(title: str, reqs: list[Req]) -> None:
    print(f"  {title}: {rw(reqs)}")
    for (method, path), n in Counter(reqs).items():
        print(f"    {n} × {method:<6} {path}")


def timing(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):.3f} / {min(seconds):.3f} s"


# --- cold start ---------------------------------------------------------------------------------
def cold_start(n: int = 10) -> tuple[list[float], list[tuple[float, str]]]:
    exe = str(Path(sys.executable).parent / "unrelease")
    subprocess.run([exe, "--version"], check=True, capture_output=True)  # warm-up
    times = []
    for _ in range(n):
        start = perf_counter()
        subprocess.run([exe, "--version"], check=True, capture_output=True)
        times.append(perf_counter() - start)
    cmd = [sys.executable, "-X", "importtime", "-c", "import unrelease.cli"]
    err = subprocess.run(cmd, check=True, capture_output=True, text=True).stderr
    costs = []
    for line in err.splitlines()[1:]:
        _, cumulative, name = line.split("|")
        costs.append((int(cumulative) / 1000, name.rstrip()))
    return times, sorted(costs, reverse=True)[:5]


# --- main ---------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--timeline", action="store_true", help="print one slow run's requests")
    args = ap.parse_args()
    latency = args.latency_ms / 1000
    names = [f"bench-{i}" for i in range(2 + 2 * args.runs)]
    table: dict[str, dict[str, str]] = {}

    with TemporaryDirectory(prefix="unrelease-bench-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        print("starting pypiserver and devpi-server; building and uploading", len(names), "x 3")
        with ThreadPoolExecutor(max_workers=4) as pool:
            f_pypi = pool.submit(start_pypiserver, work / "pypiserver", stack)
            f_devpi = pool.submit(start_devpi, work / "devpi", stack)
            dists = DistFactory(work / "dists")
            built = list(pool.map(lambda n: dists.many(n, VERSIONS), names))
            indexes = [f_pypi.result(), f_devpi.result()]
            files = [[p for v in VERSIONS for p in b[v]] for b in built]
            list(pool.map(upload, [ix.target for ix in indexes for _ in files], files * 2))

        for index in indexes:
            col = table.setdefault(index.kind, {})
            pkgs = iter(names)
            print(f"\n== {index.kind} ({index.url}, upstream {index.target.url})")
            for labels, case in ((True, "labels exist"), (False, "first run, labels created")):
                res = rollback(index, next(pkgs), work, labels=labels, latency_s=0)
                print(f" {case}")
                show_requests("GitHub", res.github)
                show_requests("index", res.index)
                other = [r for r in res.index if not is_download(r)]
                col[f"GitHub requests, {case.split(',')[0]}"] = rw(res.github)
                col["index requests, not downloads"] = str(len(other))
                col["index file downloads"] = str(len(res.index) - len(other))
            for delay in (0.0, latency):
                runs = [
                    rollback(index, next(pkgs), work, labels=True, latency_s=delay)
                    for _ in range(args.runs)
                ]
                label = f"wall, {delay * 1000:.0f} ms/request (median / min)"
                col[label] = timing([r.seconds for r in runs])
                print(f" {label}: {col[label]}  runs: {[round(r.seconds, 3) for r in runs]}")
            if args.timeline:
                print(f" timeline of the last {latency * 1000:.0f} ms run (ms from start):")
                for start, end, method, url in sorted(runs[-1].timeline):
                    print(f"   {start * 1000:6.0f} {end * 1000:6.0f}  {method:<6} {url}")

    times, imports = cold_start()
    print("\n== unrelease --version: runs (s):", [round(t, 3) for t in times])
    print(" top-5 cumulative imports of unrelease.cli (ms):")
    for ms, name in imports:
        print(f"   {ms:7.1f}  {name}")

    goals = {  # the rows, in order, with the goals of the issue
        "GitHub requests, labels exist": "≤ 10",
        "GitHub requests, first run": "≤ 10",
        "index requests, not downloads": "≤ 6",
        "index file downloads": "",
        "wall, 0 ms/request (median / min)": "",
        f"wall, {latency * 1000:.0f} ms/request (median / min)": "≤ 1.2 s",
    }
    print(f"\n{'':44} {'pypiserver':>22} {'devpi':>22}   goal")
    for row in goals:
        cells = "".join(f"{table[k].get(row, ''):>23}" for k in ("pypiserver", "devpi"))
        print(f"{row:44}{cells}   {goals.get(row, '')}")
    cold = timing(times)
    print(f"{'unrelease --version (median / min)':44}{cold:>23}{'':23}   ≤ 0.15 s")


if __name__ == "__main__":
    main()
