"""How long the action's install step takes (action/install.sh, the step every rollback run
pays), measured for real: pip downloads the pinned, hashed wheels from the package index.

    python benchmarks/action_install.py [--runs 3] [--python python3]

- cold: a new runner (empty RUNNER_TEMP) and an empty pip cache (a new PIP_CACHE_DIR): what a
  GitHub-hosted runner pays on every job;
- warm: a new RUNNER_TEMP but pip's cache already holds the wheels (a self-hosted runner, or a
  job that restores ~/.cache/pip);
- reuse: the action used a second time in the same job (same RUNNER_TEMP): nothing installed.

Each figure is the median of RUNS runs of ``bash action/install.sh`` (wall time, including
the ``unrelease --version`` check at its end), for the script as it is ("after": pip install
--no-compile) and for the same script without --no-compile ("before": pip byte-compiles every
installed module). Needs the package index; not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "action" / "install.sh"


def without_no_compile(tmp: Path) -> Path:
    """A copy of install.sh whose pip byte-compiles (the install before --no-compile)."""
    text = INSTALL.read_text("utf-8")
    if " --no-compile" not in text:
        raise SystemExit(f"{INSTALL} has no --no-compile to take out")
    before = tmp / "install-compiling.sh"
    before.write_text(text.replace(" --no-compile", ""), "utf-8")
    return before


def run_install(
    script: Path, python: str, runner_temp: Path, pip_cache: Path
) -> tuple[float, float]:
    """(wall seconds, CPU seconds of every process the script ran)."""
    out = runner_temp / "output"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UNRELEASE_", "GITHUB_", "VIRTUAL_ENV"))
    }
    env.update(
        {
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_OUTPUT": str(out),
            "RUNNER_TEMP": str(runner_temp),
            "UNRELEASE_RUNNER_PYTHON": python,
            "PIP_CACHE_DIR": str(pip_cache),
        }
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0 or "python=" not in out.read_text():
        raise SystemExit(f"install failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed, cpu


def measure(
    script: Path, python: str, base: Path, into: dict[str, list[tuple[float, float]]]
) -> None:
    """One cold install (new RUNNER_TEMP, empty pip cache), its reuse, then a warm one."""
    cache, cold, warm = base / "pip-cache", base / "cold", base / "warm"
    cold.mkdir(parents=True)
    warm.mkdir()
    into["cold"].append(run_install(script, python, cold, cache))
    into["reuse"].append(run_install(script, python, cold, cache))
    into["warm"].append(run_install(script, python, warm, cache))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--python", default=shutil.which("python3") or sys.executable)
    args = parser.parse_args()
    python = subprocess.run(
        [args.python, "-c", "import sys; print(sys.executable)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    load_before = f"{os.getloadavg()[0]:.2f}"
    variants = ("before", "after")
    figures: dict[str, dict[str, list[tuple[float, float]]]] = {
        v: {"cold": [], "warm": [], "reuse": []} for v in variants
    }
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        scripts = {"before": without_no_compile(base), "after": INSTALL}
        for i in range(args.runs):
            for variant in variants:  # interleaved: a load change hits both alike
                measure(scripts[variant], python, base / f"{variant}-{i}", figures[variant])
    version = subprocess.run(
        [python, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    lines = sum(
        1
        for line in (ROOT / "action" / "requirements.txt").read_text().splitlines()
        if "==" in line
    )
    print(f"action install ({version}, {lines} pinned wheels, median of {args.runs} runs)")
    print(f"load average before and after: {load_before} / {os.getloadavg()[0]:.2f}")
    print("wall time (CPU time of all its processes); on a busy machine trust the CPU figure")
    labels = {"before": "pip compiles", "after": "--no-compile"}
    for variant in variants:
        print(f"{variant} ({labels[variant]})")
        for name, values in figures[variant].items():
            wall = statistics.median(w for w, _ in values)
            cpu = statistics.median(c for _, c in values)
            spread = ", ".join(f"{w:.2f}" for w, _ in values)
            print(f"  {name:<6} {wall:6.2f} s  (cpu {cpu:5.2f} s)   runs: {spread}")
    cold = {v: figures[v]["cold"] for v in variants}
    walls = [statistics.median(w for w, _ in cold[v]) for v in variants]
    cpus = [statistics.median(c for _, c in cold[v]) for v in variants]
    print(f"cold: {walls[0]:.2f} s -> {walls[1]:.2f} s wall", end=", ")
    print(f"{cpus[0]:.2f} s -> {cpus[1]:.2f} s cpu")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
