"""What of a version reached the index: complete, partial (which files), or nothing.

The rule: when the run's log names the files it built or uploaded (twine's ``Checking`` and
``Uploading`` lines), the version is complete when every one of them is on the index and
partial otherwise. When the log names none (publishing happened in a job that did not fail,
or the log is gone), it is complete when the index has an sdist and at least one wheel, and
partial when one of the two kinds is missing. No file of the version: nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.version import Version

from unrelease.detect.logs import Artifact
from unrelease.model import Reached, Release
from unrelease.versions import find_release

RULE_EXPECTED = "every file the run's log names is on the index"
RULE_KINDS = "an sdist and at least one wheel are on the index"


def _kind(filename: str) -> str:
    return "wheel" if filename.endswith(".whl") else "sdist"


def reached(
    version: str, releases: Sequence[Release], expected: Sequence[Artifact] = ()
) -> Reached:
    rel = find_release(releases, Version(version))
    files = tuple(sorted(f.filename for f in rel.files)) if rel else ()
    wanted = sorted({a.filename for a in expected if Version(a.version) == Version(version)})
    if not files:
        detail = f"no file of {version} is on the index"
        if wanted:
            detail += f" (the run named {len(wanted)})"
        return Reached(state="nothing", rule=RULE_EXPECTED if wanted else RULE_KINDS, detail=detail)
    yanked = " (yanked)" if rel is not None and rel.yanked else ""
    if wanted:
        missing = tuple(f for f in wanted if f not in files)
        state = "partial" if missing else "complete"
        detail = f"{len(wanted) - len(missing)} of the {len(wanted)} files the run named{yanked}"
        return Reached(state=state, files=files, missing=missing, rule=RULE_EXPECTED, detail=detail)
    kinds = {_kind(f) for f in files}
    missing = tuple(k for k in ("sdist", "wheel") if k not in kinds)
    state = "partial" if missing else "complete"
    detail = f"{len(files)} file(s){yanked}" + (f", no {' or '.join(missing)}" if missing else "")
    return Reached(state=state, files=files, missing=missing, rule=RULE_KINDS, detail=detail)


def unknown(why: str) -> Reached:
    return Reached(state="unknown", detail=why)
