"""How long the action's install step takes (action/install.sh, the step every rollback run
pays), measured for real: pip downloads the pinned, hashed wheels from the package index.

    python benchmarks/action_install.py [--runs 3] [--python python3]

- cold: a new runner (empty RUNNER_TEMP) and an empty pip cache: what a GitHub-hosted runner
  pays on every job;
- warm: a new RUNNER_TEMP but pip's cache already holds the wheels (a self-hosted runner, or a
  job that restores ~/.cache/pip);
- reuse: the action used a second time in the same job (same RUNNER_TEMP): nothing installed.

Each figure is the median of RUNS runs of ``bash action/install.sh`` (wall time, including
the ``unrelease --version`` check at its end). Needs the package index; not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "action" / "install.sh"


def run_install(python: str, runner_temp: Path, pip_cache: Path) -> float:
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
    started = time.perf_counter()
    proc = subprocess.run(["bash", str(INSTALL)], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or "python=" not in out.read_text():
        raise SystemExit(f"install failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


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
    figures: dict[str, list[float]] = {"cold": [], "warm": [], "reuse": []}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for i in range(args.runs):
            cache = base / f"cache-{i}"
            temp = base / f"cold-{i}"
            temp.mkdir()
            figures["cold"].append(run_install(python, temp, cache))
            figures["reuse"].append(run_install(python, temp, cache))
            warm = base / f"warm-{i}"
            warm.mkdir()
            figures["warm"].append(run_install(python, warm, cache))
    version = subprocess.run(
        [python, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    lines = sum(
        1
        for line in (ROOT / "action" / "requirements.txt").read_text().splitlines()
        if "==" in line
    )
    print(f"action install ({version}, {lines} pinned wheels, median of {args.runs} runs)")
    for name, values in figures.items():
        spread = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {name:<6} {statistics.median(values):6.2f} s   ({spread})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
