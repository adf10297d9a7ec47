"""Write action/requirements.txt: unrelease's runtime dependencies, pinned, with the sha256 of
every wheel of each pinned version, for the action's ``pip install --no-compile --require-hashes
--no-deps --only-binary=:all:``.

    python scripts/lock_action_requirements.py            # resolve anew and rewrite the file
    python scripts/lock_action_requirements.py --check    # exit 1 when pyproject changed since

pip resolves the dependencies of ``[project].dependencies`` for this interpreter; a dependency
that only other platforms or Pythons need (a marker that is false here, e.g. click's
``colorama; platform_system == "Windows"``) is added with its marker. The hashes cover every
wheel of the pinned version on PyPI, so one file serves Linux, macOS and Windows runners and
Python 3.11 to 3.14. It asks PyPI's simple index (PEP 691 JSON) once per pinned package.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import requests
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "action" / "requirements.txt"
PYTHONS = ("3.11", "3.12", "3.13", "3.14")
PLATFORMS = (("Linux", "linux"), ("Darwin", "darwin"), ("Windows", "win32"))


def dependencies() -> list[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    return list(data["project"]["dependencies"])


def fingerprint(deps: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(deps)).encode()).hexdigest()[:16]


def resolve(specs: list[str]) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, requires_dist) as pip would install SPECS from PyPI right now."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
        cmd += ["--only-binary=:all:", "--quiet", "--report", str(report), *specs]
        subprocess.run(cmd, check=True)
        data = json.loads(report.read_text("utf-8"))
    out = {}
    for item in data["install"]:
        meta = item["metadata"]
        out[canonicalize_name(meta["name"])] = (meta["version"], meta.get("requires_dist", []))
    return out


def environments() -> list[dict[str, str]]:
    envs = []
    for system, platform in PLATFORMS:
        for py in PYTHONS:
            envs.append(
                {
                    "platform_system": system,
                    "sys_platform": platform,
                    "os_name": "nt" if platform == "win32" else "posix",
                    "python_version": py,
                    "python_full_version": f"{py}.0",
                    "implementation_name": "cpython",
                    "platform_python_implementation": "CPython",
                    "extra": "",
                }
            )
    return envs


def elsewhere(locked: dict[str, tuple[str, list[str]]]) -> dict[str, str]:
    """Dependencies some supported platform or Python needs that this one does not:
    name -> the requirement string with its marker."""
    extra: dict[str, str] = {}
    for _version, requires in locked.values():
        for text in requires:
            req = Requirement(text)
            name = canonicalize_name(req.name)
            if name in locked or req.marker is None:
                continue
            marker: Marker = req.marker
            if any(marker.evaluate(env) for env in environments()):
                extra[name] = text
    return extra


def hashes(name: str, version: str) -> list[str]:
    """sha256 of every wheel of NAME VERSION, from PyPI's simple index (PEP 691 JSON)."""
    resp = requests.get(
        f"https://pypi.org/simple/{name}/",
        timeout=30,
        headers={
            "Accept": "application/vnd.pypi.simple.v1+json",
            "User-Agent": "unrelease-lock-script",
        },
    )
    resp.raise_for_status()
    wanted = Version(version)
    digests = []
    for f in resp.json()["files"]:
        if not f["filename"].endswith(".whl"):
            continue
        _, wheel_version, _, _ = parse_wheel_filename(f["filename"])
        if wheel_version == wanted and "sha256" in f["hashes"]:
            digests.append(f["hashes"]["sha256"])
    if not digests:
        raise SystemExit(f"{name} {version} has no wheel on PyPI")
    return sorted(digests)


def render(deps: list[str]) -> str:
    locked = resolve(deps)
    markers = {}
    extra = elsewhere(locked)
    if extra:
        more = resolve([*(f"{n}=={v}" for n, (v, _) in locked.items()), *extra])
        for name, text in extra.items():
            version = more[name][0]
            locked[name] = (version, more[name][1])
            markers[name] = str(Requirement(text).marker)
    lines = [
        "# The unrelease action's runtime dependencies: pinned, every wheel hashed.",
        "# Installed with: pip install --no-compile --require-hashes --no-deps"
        " --only-binary=:all: -r THIS",
        "# Written by scripts/lock_action_requirements.py from [project].dependencies",
        f"# (fingerprint {fingerprint(deps)}); do not edit by hand.",
    ]
    for name in sorted(locked):
        version = locked[name][0]
        suffix = f" ; {markers[name]}" if name in markers else ""
        lines.append(f"{name}=={version}{suffix} \\")
        digests = hashes(name, version)
        for i, digest in enumerate(digests):
            end = " \\" if i < len(digests) - 1 else ""
            lines.append(f"    --hash=sha256:{digest}{end}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the fingerprint")
    args = parser.parse_args()
    deps = dependencies()
    if args.check:
        current = OUT.read_text("utf-8") if OUT.exists() else ""
        ok = f"(fingerprint {fingerprint(deps)})" in current
        print("up to date" if ok else f"{OUT} is stale: run {Path(__file__).name}")
        return 0 if ok else 1
    OUT.write_text(render(deps), "utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
