"""Verifying a published release from the index against a baseline (``unrelease guard``).

visible.py waits until the release can be seen; checks.py runs the checks (files, metadata,
install, import, smoke) in venvs.py's fresh venvs; baseline.py picks the baseline and excuses
failures it shares; run.py puts them together; policy.py decides what a failure does;
report.py holds the result, its JSON and its text.
"""

from __future__ import annotations

from unrelease.guard.report import Check, Decision, Evidence, GuardResult
from unrelease.guard.run import GuardRequest, guard

__all__ = ["Check", "Decision", "Evidence", "GuardRequest", "GuardResult", "guard"]
