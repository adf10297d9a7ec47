"""Benchmark ``unrelease detect`` over 10 000 runs of a release workflow in the GitHub fake:
requests made and wall time, for the three ways of listing the failed runs, and the bytes of the
per-job logs it downloads against the whole-run zip it does not.

    .venv/bin/python benchmarks/detect.py [--runs 10000] [--latency-ms 50]

The GitHub fake (tests/fakes/github.py with tests/fakes/github_actions.py) serves the runs
through the real routes, pages (100 per page, ``Link`` headers) and 302 redirects; the client
is the real GitHubForge over PyGithub. No index is read (``--package`` unset): the figures are
GitHub's. Latency is the fake's own ``latency_s`` per request (no TCP handshake is charged).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from collections.abc import Callable
from pathlib import Path
from time import perf_counter
from typing import TypeVar

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.github import FakeGitHub  # noqa: E402

from unrelease.detect import Detector, runs  # noqa: E402
from unrelease.forges.github import GitHubForge  # noqa: E402

LOGS = REPO / "tests" / "fixtures" / "logs"
UTC = dt.UTC
T = TypeVar("T")
WORKFLOW = "release.yml"


def job_log(stem: str) -> str:
    return (LOGS / f"{stem}.txt").read_text("utf-8").replace("{dist}", "demo_pkg")


_WORDS = [
    "api",
    "core",
    "cli",
    "models",
    "utils",
    "views",
    "forms",
    "auth",
    "cache",
    "db",
    "io",
    "net",
    "parse",
    "render",
    "schema",
]


def busy_log(lines: int, seed: int) -> str:
    """A passing job's log that compresses like a real one: rising timestamps, varied lines."""
    rnd = random.Random(seed)
    start = dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    out = []
    for i in range(lines):
        when = start + dt.timedelta(microseconds=i * 137_513 + rnd.randrange(90_000))
        mod, fn = rnd.choice(_WORDS), rnd.choice(_WORDS)
        out.append(
            f"{when:%Y-%m-%dT%H:%M:%S.%f}0Z tests/test_{mod}.py::test_{fn}_{rnd.randrange(10**6)} "
            f"PASSED [{100 * i // lines:3d}%] {rnd.random():.4f}s"
        )
    return "\n".join(out) + "\n"


MATRIX = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")


def failed_jobs(seed: int) -> list[tuple[str, str | None, list[tuple[str, str]], str]]:
    """A release run's jobs: a build, a six-leg test matrix whose 3.12 leg failed (its log
    ends with the tests fixture), a skipped publish."""
    jobs: list[tuple[str, str | None, list[tuple[str, str]], str]] = [
        ("build", "success", [("Build sdist and wheel", "success")], busy_log(300, seed))
    ]
    for k, py in enumerate(MATRIX):
        if py == "3.12":
            log = busy_log(1200, seed + k) + job_log("tests")
            jobs.append((f"test ({py})", "failure", [("Run pytest", "failure")], log))
        else:
            log = busy_log(1200, seed + k)
            jobs.append((f"test ({py})", "success", [("Run pytest", "success")], log))
    jobs.append(("publish", "skipped", [], ""))
    return jobs


def seed(fake: FakeGitHub, n: int, success_at: int | None, fail_every: int, jobs: int) -> None:
    """N runs. Counting back from the newest (0), the run at SUCCESS_AT is the last success
    (None: no success at all); before it every FAIL_EVERY-th run failed and the others were
    cancelled; older runs mix successes and failures. The newest JOBS failed runs carry jobs
    and logs (what detect reads for the runs it reports)."""
    fake.actions.add_workflow("Release", ".github/workflows/release.yml")
    newest_first: list[str] = []
    for back in range(n):
        if success_at is None or back < success_at:
            newest_first.append("failure" if back % fail_every == 0 else "cancelled")
        elif back == success_at:
            newest_first.append("success")
        else:
            newest_first.append("success" if back % 7 == 0 else "failure")
    with_jobs = {b for b in range(n) if newest_first[b] == "failure"}
    with_jobs = set(sorted(with_jobs)[:jobs])
    start = dt.datetime(2024, 1, 1, tzinfo=UTC)
    for i, conclusion in enumerate(reversed(newest_first)):
        back = n - 1 - i
        fake.actions.add_run(
            conclusion=conclusion,
            head_branch=f"v1.{i}.0",
            created_at=start + dt.timedelta(minutes=10 * i),
            jobs=failed_jobs(i) if back in with_jobs else (),
        )


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    t0 = perf_counter()
    result = fn()
    return perf_counter() - t0, result


SCENARIOS = [
    ("last success 3 runs back", 3, 10),
    ("last success 2500 back, 1 in 10 failed", 2500, 10),
    ("last success 9000 back, 1 in 100 failed", 9000, 100),
    ("no success at all, 1 in 10 failed", None, 10),
]


def scans(n: int, latency: float) -> None:
    print("1. Listing the failed runs since the last success (no --limit; no logs)")
    print(
        f"  {'scenario':<42} {'strategy':<8} {'read':>6} {'failed':>6} {'requests':>8} "
        f"{'0 ms':>8} {f'{latency * 1000:.0f} ms':>9}  note"
    )
    for name, success_at, every in SCENARIOS:
        with FakeGitHub() as fake:
            seed(fake, n, success_at, every, jobs=0)
            total = sum(
                1
                for back, r in enumerate(sorted(fake.actions.runs.values(), key=lambda r: -r.id))
                if r.latest.conclusion == "failure" and (success_at is None or back < success_at)
            )
            forge = GitHubForge(fake.full_name, fake.token, base_url=fake.api_url)
            for strategy in runs.STRATEGIES:
                fake.latency_s = 0.0
                fake.clear_log()
                fast, found = timed(
                    lambda f=forge, s=strategy: runs.scan(f, "release.yml", strategy=s)
                )
                reqs = fake.count()
                fake.latency_s = latency
                slow, _ = timed(lambda f=forge, s=strategy: runs.scan(f, WORKFLOW, strategy=s))
                note = "" if len(found.failed) == total else f"{total} failed: GitHub's 1000 cap"
                print(
                    f"  {name:<42} {strategy:<8} {found.scanned:>6} {len(found.failed):>6} "
                    f"{reqs:>8} {fast * 1000:>5.0f} ms {slow * 1000:>6.0f} ms  {note}"
                )
            forge.close()


def detects(n: int, latency: float) -> None:
    print("\n2. The whole detect: scan + each reported run's jobs and its failed job's log")
    print(
        f"  {'scenario':<42} {'limit':>5} {'reported':>8} {'requests':>8} "
        f"{'0 ms':>8} {f'{latency * 1000:.0f} ms':>9}  log bytes"
    )
    for name, success_at, every in SCENARIOS[:2]:
        with FakeGitHub() as fake:
            seed(fake, n, success_at, every, jobs=10)
            forge = GitHubForge(fake.full_name, fake.token, base_url=fake.api_url)
            # diagnoses in parallel, as the CLI runs them (GitHubForge keeps a client per thread)
            det = Detector(forge, reader_factory=lambda f=forge: f)
            fake.latency_s = 0.0
            fake.clear_log()
            fast, report = timed(
                lambda d=det, f=fake: d.detect(f.full_name, "release.yml", limit=10)
            )
            reqs = fake.count()
            blobs = [r for r in fake.requests if r.path.startswith("/_blobs/")]
            size = sum(len(fake.actions.jobs[int(r.path.rsplit("/", 1)[1])].log) for r in blobs)
            fake.latency_s = latency
            slow, _ = timed(lambda d=det, f=fake: d.detect(f.full_name, WORKFLOW, limit=10))
            print(
                f"  {name:<42} {10:>5} {len(report.diagnoses):>8} {reqs:>8} "
                f"{fast * 1000:>5.0f} ms {slow * 1000:>6.0f} ms  {size:,} B"
            )
            forge.close()


def log_bytes() -> None:
    print("\n3. Bytes for one failed run (9 jobs: build, 6 test legs, publish skipped)")
    with FakeGitHub() as fake:
        fake.actions.add_workflow("Release", ".github/workflows/release.yml")
        rid = fake.actions.add_run(head_branch="v1.2.0", jobs=failed_jobs(7))
        token = {"Authorization": f"token {fake.token}"}

        def fetch(path: str) -> int:
            hop = requests.get(
                f"{fake.repo_api}{path}", headers=token, allow_redirects=False, timeout=10
            )
            return len(requests.get(hop.headers["Location"], timeout=10).content)

        (job,) = [j for j in fake.actions.runs[rid].latest.jobs if j.conclusion == "failure"]
        one = fetch(f"/actions/jobs/{job.id}/logs")
        whole = fetch(f"/actions/runs/{rid}/logs")
        text = sum(len(j.log.encode()) for j in fake.actions.runs[rid].latest.jobs)
        print(f"  the failed job's log (plain text, used): {one:>9,} B in 2 requests")
        print(f"  the run's zip of every job's log:        {whole:>9,} B in 2 requests")
        print(f"  (all logs unzipped: {text:,} B)")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    args = ap.parse_args()
    print(f"detect over {args.runs} runs of one workflow in the GitHub fake (per_page=100)\n")
    scans(args.runs, args.latency_ms / 1000)
    detects(args.runs, args.latency_ms / 1000)
    log_bytes()


if __name__ == "__main__":
    main()
