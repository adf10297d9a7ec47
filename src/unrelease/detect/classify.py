"""Failure classes of a release run, following the rollback runbook's root-cause table
(tests, dependency conflict, type check, build/packaging, docs) plus publish/upload.

The evidence, strongest first: lines of the failed step's log that only one kind of failure
prints (pytest's summary, pip's ResolutionImpossible, mypy's "Found N errors", twine's
HTTPError, sphinx's "Warning, treated as error", ...), then the failed step's name, then the
job's name. Each distinct log pattern counts 10, a step name 4, a job name 2; the highest
score wins (ties: the order of ``CLASSES``), and below 3 the class is ``unknown``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from unrelease.detect.logs import MAX_SCAN_CHARS


def _rx(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


@dataclass(frozen=True)
class FailureClass:
    key: str
    label: str
    prevention: str  # the runbook's prevention column
    log: tuple[re.Pattern[str], ...]
    names: re.Pattern[str]


CLASSES: tuple[FailureClass, ...] = (
    FailureClass(
        key="publish",
        label="publish/upload",
        prevention=(
            "publish to TestPyPI first; check the trusted publisher or token before the "
            "release; a version that reached the index cannot be uploaded again"
        ),
        log=_rx(
            r"HTTPError: \d{3} .*from https?://\S+",
            r"File already exists",
            r"Trusted publishing exchange failure",
            r"invalid-publisher",
            r"isn't allowed to upload to project",
            r"Non-user identities cannot create new projects",
            r"Invalid or non-existent authentication information",
            r"Error during upload",
            r"is too similar to an existing project",
        ),
        names=re.compile(r"(?i)\b(publish\w*|upload\w*|pypi|testpypi|twine upload)\b"),
    ),
    FailureClass(
        key="dependency-conflict",
        label="dependency conflict",
        prevention="review the version constraints; test against a dependency matrix",
        log=_rx(
            r"ResolutionImpossible",
            r"because these package versions have conflicting dependencies",
            r"^The conflict is caused by:",
            r"ERROR: No matching distribution found for",
            r"ERROR: Could not find a version that satisfies the requirement",
            r"version solving failed",
            r"No solution found when resolving dependencies",
            r"SolverProblemError",
        ),
        names=re.compile(
            r"(?i)\b(install\w*|dependenc\w*|deps|requirements|lock\w*|resolv\w*|sync)\b"
        ),
    ),
    FailureClass(
        key="type-check",
        label="type check",
        prevention="run mypy --strict (or pyright) in CI before the release job",
        log=_rx(
            r"^Found \d+ errors? in \d+ files? \(checked \d+ source files?\)",
            r"^[^\s:]+\.pyi?:\d+(?::\d+)?: error: .+\[[a-z0-9\-]+\]\s*$",
            r"^\s*\d+ errors?, \d+ warnings?, \d+ (?:informations?|notes?)\s*$",
            r"- error: .+\(report[A-Z]\w+\)\s*$",
        ),
        names=re.compile(r"(?i)\b(mypy|pyright|pytype|type[\s_\-]?check\w*|typing)\b"),
    ),
    FailureClass(
        key="docs",
        label="docs",
        prevention="build the docs in CI with warnings as errors (sphinx -W, mkdocs --strict)",
        log=_rx(
            r"Warning, treated as error",
            r"^Sphinx error:",
            r"sphinx\.errors\.\w+",
            r"Aborted with \d+ warnings? in strict mode",
            r"^ERROR\s+-\s+Config value",
            r"build finished with problems",
            r"mkdocs\.exceptions\.\w+",
        ),
        names=re.compile(r"(?i)\b(docs?|documentation|sphinx|mkdocs|readthedocs|gh-pages|pages)\b"),
    ),
    FailureClass(
        key="build",
        label="build/packaging",
        prevention="build the distributions and run twine check on every change, before tagging",
        log=_rx(
            r"ERROR Backend subprocess exited when trying to invoke build_(?:wheel|sdist)",
            r"error: subprocess-exited-with-error",
            r"ERROR: Failed building wheel for",
            r"ERROR: Could not build wheels for",
            r"ERROR Missing dependencies:",
            r"^Checking \S+: FAILED",
            r"InvalidDistribution:",
            r"`long_description` has syntax errors",
            r"Unable to determine which files to ship inside the wheel",
            r"setuptools-scm was unable to detect version",
            r"error in \S+ setup command:",
            r"maturin failed",
            r"configuration error: `project",
        ),
        names=re.compile(r"(?i)\b(build\w*|package|packaging|dist|wheels?|sdist|twine check)\b"),
    ),
    FailureClass(
        key="tests",
        label="tests",
        prevention="enforce the coverage bar in CI (the runbook: 85 %) and add a test for this",
        log=_rx(
            r"^=+ .*\b\d+ (?:failed|errors?)\b.* in [\d.]+s",
            r"^(?:FAILED|ERROR) \S+\.py(?:::\S+)?",
            r"^_{4,} \S*test\w* _{4,}$",
            r"^E {3,}\S",
            r"short test summary info",
            r"Required test coverage of [\d.]+% not reached",
            r"Coverage failure: total of [\d.]+ is less than fail-under",
            r"^FAIL: test\w* \(",
            r"^FAILED \((?:failures|errors)=\d+",
        ),
        names=re.compile(r"(?i)\b(tests?|pytest|unittest|nox|tox|coverage)\b"),
    ),
)
BY_KEY = {c.key: c for c in CLASSES}
UNKNOWN = FailureClass(
    key="unknown",
    label="unknown",
    prevention="read the failed step's log; add a check that catches this before release",
    log=(),
    names=re.compile(r"(?!)"),
)
BY_KEY[UNKNOWN.key] = UNKNOWN
_THRESHOLD = 3


@dataclass(frozen=True)
class Verdict:
    cls: FailureClass
    score: int
    hits: list[int]  # region line indexes that matched the winning class's log patterns


def classify(job: str | None, step: str | None, region: list[str]) -> Verdict:
    """The failure class from the failed JOB's and STEP's names and the failed REGION's lines."""
    best: Verdict | None = None
    for cls in CLASSES:
        matched: set[int] = set()
        hits: list[int] = []
        for i, line in enumerate(region):
            line = line[:MAX_SCAN_CHARS]  # some patterns backtrack: quadratic on a long line
            found = [n for n, p in enumerate(cls.log) if p.search(line)]
            if found:
                hits.append(i)
                matched.update(found)
        score = 10 * len(matched)
        if step and cls.names.search(step):
            score += 4
        if job and cls.names.search(job):
            score += 2
        if best is None or score > best.score:
            best = Verdict(cls, score, hits)
    assert best is not None
    if best.score < _THRESHOLD:
        return Verdict(UNKNOWN, best.score, [])
    return best
