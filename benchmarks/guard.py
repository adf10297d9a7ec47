"""Benchmark one ``unrelease guard`` of a good release on one interpreter, on loopback, against
doing the install by hand.

    .venv/bin/python benchmarks/guard.py [--runs 3]

A real pypiserver on loopback (the helpers of tests/servers.py) holds 1.0.0 and 1.1.0 of a
tiny package (sdist and wheel, built with ``build``). Measured, median and min of RUNS:

1. ``unrelease guard PKG 1.1.0 --index URL --wait 0 --json``: the whole process;
2. the same guard in-process with each command it runs timed, to show the share spent in
   venv creation and pip (and in the rest: the index, imports, the interpreter probe);
3. by hand: ``python -m venv DIR`` then ``DIR/bin/pip install --index-url URL PKG==1.1.0``;
4. by hand, fast: ``python -m venv --without-pip DIR`` then ``pip --python DIR install ...``.

The goal (issue 12) is a guard under 2x the time of the install by hand (3.).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from time import perf_counter

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.servers import (  # noqa: E402
    PYPISERVER_PASSWORD,
    PYPISERVER_USER,
    DistFactory,
    Target,
    _env,
    _free_port,
    _script,
    _Server,
    upload,
)

from unrelease.guard import GuardRequest, guard, venvs  # noqa: E402
from unrelease.indexes import open_index  # noqa: E402

NAME = "benchpkg"


@contextmanager
def pypiserver(base: Path) -> Iterator[Target]:
    from passlib.apache import HtpasswdFile  # type: ignore[import-untyped]

    pkgs = base / "packages"
    pkgs.mkdir()
    htpasswd = HtpasswdFile(str(base / "htpasswd"), new=True)
    htpasswd.set_password(PYPISERVER_USER, PYPISERVER_PASSWORD)
    htpasswd.save()
    port = _free_port()
    cmd = [_script("pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port)]
    cmd += ["-P", str(base / "htpasswd"), "-a", "update", "--disable-fallback", str(pkgs)]
    server = _Server(cmd, base / "server.log", _env(base))
    url = f"http://127.0.0.1:{port}/"
    try:
        server.wait_ready(url, timeout=30)
        yield Target("pypiserver", url, url, PYPISERVER_USER, PYPISERVER_PASSWORD)
    finally:
        server.stop()


def timed(fn: Callable[[], object]) -> float:
    start = perf_counter()
    fn()
    return perf_counter() - start


def whole_process(url: str) -> float:
    exe = str(Path(sys.executable).parent / "unrelease")
    cmd = [exe, "guard", NAME, "1.1.0", "--index", url, "--wait", "0", "--json"]

    def run() -> None:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"guard did not pass ({proc.returncode}):\n{proc.stdout}{proc.stderr}")

    return timed(run)


def _union(spans: list[tuple[float, float]]) -> float:
    """The length of the union of SPANS (commands run concurrently are counted once)."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(spans):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def in_process(url: str) -> tuple[float, float]:
    """Total wall time of an in-process guard and the part of it when venv creation or pip ran
    (the guard resolves and installs at once, in two venvs: overlaps are counted once)."""
    spans: list[tuple[float, float]] = []
    real_run = venvs.Runner.run

    def counting(self: venvs.Runner, cmd: list[str], **kw: object) -> venvs.Ran:
        start = perf_counter()
        try:
            return real_run(self, cmd, **kw)  # type: ignore[arg-type]
        finally:
            if "venv" in cmd or "pip" in cmd:
                spans.append((start, perf_counter()))

    venvs.Runner.run = counting  # type: ignore[method-assign]
    try:
        request = GuardRequest(NAME, "1.1.0", wait=0)
        start = perf_counter()
        result = guard(request, lambda: open_index(url, "pypiserver"))
        total = perf_counter() - start
    finally:
        venvs.Runner.run = real_run  # type: ignore[method-assign]
    if result.verdict != "pass":
        raise SystemExit(f"guard did not pass: {[c.to_json() for c in result.checks]}")
    return total, _union(spans)


def by_hand(url: str, fast: bool) -> float:
    with TemporaryDirectory(prefix="bench-hand-") as tmp:
        env_dir = Path(tmp) / "venv"
        index = ["--index-url", url + "simple/", "--no-cache-dir", "--disable-pip-version-check"]
        if fast:
            venv_cmd = [sys.executable, "-m", "venv", "--without-pip", str(env_dir)]
            pip_cmd = [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python")]
        else:
            venv_cmd = [sys.executable, "-m", "venv", str(env_dir)]
            pip_cmd = [str(env_dir / "bin" / "pip")]
        pip_cmd += ["install", "--quiet", *index, f"{NAME}==1.1.0"]

        def run() -> None:
            subprocess.run(venv_cmd, check=True, capture_output=True)
            subprocess.run(pip_cmd, check=True, capture_output=True)

        return timed(run)


def show(label: str, values: list[float]) -> float:
    median = statistics.median(values)
    print(f"  {label:<44} median {median:6.2f} s   min {min(values):6.2f} s")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with TemporaryDirectory(prefix="bench-guard-") as tmp:
        base = Path(tmp)
        (base / "server").mkdir()
        dists = DistFactory(base / "dists")
        with pypiserver(base / "server") as target:
            upload(target, [*dists(NAME, "1.0.0"), *dists(NAME, "1.1.0")])
            whole_process(target.url)  # warm-up: page cache, .pyc files
            guard_times = [whole_process(target.url) for _ in range(args.runs)]
            inner = [in_process(target.url) for _ in range(args.runs)]
            hand = [by_hand(target.url, fast=False) for _ in range(args.runs)]
            fast = [by_hand(target.url, fast=True) for _ in range(args.runs)]
    print(f"guard of {NAME} 1.1.0 (baseline 1.0.0) on Python {sys.version.split()[0]}, loopback")
    g = show("unrelease guard (whole process)", guard_times)
    total = show("guard in-process", [t for t, _ in inner])
    venv_pip = show("  of which venv creation + pip", [s for _, s in inner])
    h = show("by hand: python -m venv + pip install", hand)
    f = show("by hand, fast: venv --without-pip + pip --python", fast)
    print(f"share of the guard in venv + pip: {venv_pip / total:.0%}")
    print(f"ratio guard / by hand:       {g / h:.2f}x (goal: under 2x)")
    print(f"ratio guard / by hand, fast: {g / f:.2f}x")


if __name__ == "__main__":
    main()
