"""Benchmark one withdrawal on PyPI (warehouse) from a cold session: unrelease's yank (login and
verification included) beside pypi-cleanup 0.1.12 deleting one release, on the same fake; then
five versions withdrawn (``rollback --to``) beside pypi-cleanup deleting five.

    .venv/bin/python benchmarks/warehouse.py [--runs 3] [--latency-ms 50]

Both talk to the fake warehouse of tests/fakes/warehouse.py (its ``latency_s`` sleeps before
every answer, so each request costs the latency once). unrelease runs the whole rollback
in-process as the CLI builds it (session auth with a TOTP secret, GitHubForge on the GitHub
fake, itself slowed the same way); the figures count PyPI requests and time the whole run.
pypi-cleanup runs in-process through its own ``main()``; it always pauses 5 s before deleting
("last chance to change your mind"): that pause is recorded, skipped, and reported apart.

pypi-cleanup must be installed in the same venv (``pip install pypi-cleanup==0.1.12``); it is
not a dependency of unrelease.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import logging
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import pyotp  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402
from tests.fakes.warehouse import FakeWarehouse  # noqa: E402

from unrelease.engine import Engine, Options  # noqa: E402
from unrelease.forges.github import GitHubForge  # noqa: E402
from unrelease.indexes import open_index  # noqa: E402
from unrelease.indexes.warehouse_session import PypiCredentials  # noqa: E402

PKG = "demo-pkg"
VERSIONS = ("1.0.0", "1.1.0", "1.2.0")
USER, PASSWORD = "alice", "bench password 1234"


@dataclass
class Result:
    seconds: float
    requests: list[str]
    pause_s: float = 0.0


MANY = ("1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0")  # withdraw the last five


@contextlib.contextmanager
def site(
    latency_s: float, secret: str, versions: tuple[str, ...] = VERSIONS
) -> Iterator[FakeWarehouse]:
    with FakeWarehouse() as wh:
        wh.add_user(USER, PASSWORD, totp_secret=secret)
        wh.add_project(PKG, owner=USER)
        for v in versions:
            stem = f"demo_pkg-{v}"
            wh.add_release(
                PKG, v, {f"{stem}.tar.gz": b"s" * 2048, f"{stem}-py3-none-any.whl": b"w" * 4096}
            )
        wh.latency_s = latency_s
        wh.clear_log()
        yield wh


def unrelease_yank(latency_s: float, versions: tuple[str, ...] = VERSIONS) -> Result:
    """The whole rollback of the newest version; with more VERSIONS, ``--to`` the oldest:
    every newer version is withdrawn."""
    secret = pyotp.random_base32()
    bad, to = versions[-1], (versions[0] if versions != VERSIONS else None)
    with site(latency_s, secret, versions) as wh, FakeGitHub(latency_s=latency_s) as gh:
        for i, v in enumerate(versions):
            sha = gh.add_commit(f"Release {v}")
            gh.add_tag(f"v{v}", sha, annotated=True, message=f"Release {v}")
            gh.add_release(f"v{v}", f"v{v}", body=v, latest=i == len(versions) - 1)
        for name in ("release", "critical"):
            gh.add_label(name)
        gh.clear_log()
        start = perf_counter()
        index = open_index(
            wh.url,
            "warehouse",
            pypi_auth="session",
            pypi_creds=PypiCredentials(USER, PASSWORD, secret),
        )
        forge = GitHubForge(gh.full_name, gh.token, gh.api_url)
        engine = Engine(Options(PKG, bad, "benchmark", to=to), index, forge)
        plan = engine.plan()
        engine.preflight(plan)
        outcome = engine.run(plan)
        seconds = perf_counter() - start
        assert outcome.exit_code == 0, [s.to_json() for s in outcome.steps]
        for v in versions[1:] if to else (bad,):
            assert wh.release_state(PKG, v)["yanked"], v
        return Result(seconds, [f"{m} {p.split('?')[0]}" for m, p, _ in wh.requests])


def _typed_code(secret: str) -> Callable[[str], str]:
    def answer(prompt: str) -> str:  # the person typing the current code at the prompt
        return pyotp.TOTP(secret).now()

    return answer


class _PauseRecorder:
    """Stands in for the ``time`` module inside pypi_cleanup: records sleeps, skips them."""

    def __init__(self, paused: list[float]) -> None:
        self.sleep = paused.append

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


def unrelease_index_only(latency_s: float) -> Result:
    """The index part alone (what pypi-cleanup does): read, log in, yank, verify."""
    secret = pyotp.random_base32()
    with site(latency_s, secret) as wh:
        start = perf_counter()
        index = open_index(
            wh.url,
            "warehouse",
            pypi_auth="session",
            pypi_creds=PypiCredentials(USER, PASSWORD, secret),
        )
        index.releases(PKG)
        index.check_auth(PKG, "1.2.0")
        index.yank(PKG, "1.2.0", "benchmark")
        (rel,) = [r for r in index.releases(PKG) if r.version == "1.2.0"]
        seconds = perf_counter() - start
        assert rel.yanked
        return Result(seconds, [f"{m} {p.split('?')[0]}" for m, p, _ in wh.requests])


def pypi_cleanup_delete(latency_s: float, versions: tuple[str, ...] = VERSIONS) -> Result:
    import pypi_cleanup  # type: ignore[import-untyped]

    secret = pyotp.random_base32()
    paused: list[float] = []
    doomed = versions[-1:] if versions == VERSIONS else versions[1:]
    pattern = "^(" + "|".join(v.replace(".", r"\.") for v in doomed) + ")$"
    with site(latency_s, secret, versions) as wh:
        argv = ["pypi-cleanup", "-t", wh.url, "-u", USER, "-p", PKG]
        argv += ["-r", pattern, "--do-it", "-y"]
        env = {**os.environ, "PYPI_CLEANUP_PASSWORD": PASSWORD}
        with (
            mock.patch.object(sys, "argv", argv),
            mock.patch.dict(os.environ, env),
            mock.patch.object(builtins, "input", new=_typed_code(secret)),
            # only its own 5 s pause: the fake's latency sleeps must stay real
            mock.patch.object(pypi_cleanup, "time", _PauseRecorder(paused)),
        ):
            logging.disable(logging.WARNING)
            start = perf_counter()
            code = pypi_cleanup.main()
            seconds = perf_counter() - start
            logging.disable(logging.NOTSET)
        assert not code, f"pypi-cleanup exited {code}"
        for v in doomed:
            assert wh.release_state(PKG, v)["deleted"], v
        return Result(seconds, [f"{m} {p.split('?')[0]}" for m, p, _ in wh.requests], sum(paused))


def report(name: str, results: list[Result]) -> None:
    counts = {len(r.requests) for r in results}
    print(f"\n{name}")
    print(f"  PyPI requests: {sorted(counts)}")
    for line, n in Counter(results[0].requests).items():
        print(f"    {n} × {line}")
    secs = [r.seconds for r in results]
    print(f"  wall time: median {statistics.median(secs):.2f} s (min {min(secs):.2f} s)")
    if results[0].pause_s:
        print(f"  plus its fixed safety pause: {results[0].pause_s:.1f} s (skipped here)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    print(f"one withdrawal from a cold session, {args.latency_ms:.0f} ms per request")
    ours = [unrelease_yank(latency) for _ in range(args.runs)]
    report("unrelease rollback --index pypi: the whole rollback (GitHub work too)", ours)
    alone = [unrelease_index_only(latency) for _ in range(args.runs)]
    report("unrelease, the index part alone (read, login, yank, verify)", alone)
    try:
        theirs = [pypi_cleanup_delete(latency) for _ in range(args.runs)]
    except ImportError:
        print("\npypi-cleanup is not installed: pip install pypi-cleanup==0.1.12")
        return
    report("pypi-cleanup 0.1.12 (delete one release; no verification)", theirs)
    print(f"\nfive versions withdrawn ({MANY[1]}..{MANY[-1]}), cold session")
    ours = [unrelease_yank(latency, MANY) for _ in range(args.runs)]
    report("unrelease rollback --to 1.0.0: the whole rollback (GitHub work too)", ours)
    theirs = [pypi_cleanup_delete(latency, MANY) for _ in range(args.runs)]
    report("pypi-cleanup 0.1.12 (delete five releases; no verification)", theirs)


if __name__ == "__main__":
    main()
