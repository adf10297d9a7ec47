"""The guard and watch examples in workflows-examples/: pinned actions, no workflow-level
permissions, timeouts, inputs the action has, and a rollback only behind an environment."""

from __future__ import annotations

import re
from typing import Any

from tests.test_action_examples import ACTION, load, load_action


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def test_guard_after_publish_shape() -> None:
    wf = load("guard-after-publish.yml")
    inputs = set(load_action()["inputs"])
    assert wf["permissions"] == {}
    jobs = wf["jobs"]
    assert set(jobs) == {"guard", "verdict", "checkpoint", "rollback"}
    matrix = jobs["guard"]["strategy"]["matrix"]
    assert len(matrix["os"]) >= 2 and len(matrix["python"]) >= 2
    assert jobs["guard"]["strategy"]["fail-fast"] is False
    assert jobs["guard"]["permissions"] == {"contents": "read"}
    assert jobs["verdict"]["needs"] == "guard" and jobs["verdict"]["if"] == "always()"
    assert "fail" in jobs["rollback"]["if"] and "environment" in jobs["rollback"]
    assert jobs["rollback"]["needs"] == "verdict"
    for job_id, job in jobs.items():
        assert job.get("timeout-minutes"), job_id
        for step in _steps(job):
            uses = step.get("uses", "")
            if uses == ACTION:
                assert set(step.get("with", {})) <= inputs, set(step["with"]) - inputs
                secrets = re.findall(r"secrets\.\w+", str(step.get("with")))
                assert not secrets or job_id == "rollback", job_id  # secrets: gated job only
            elif uses:
                assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", uses), uses
            assert "${{" not in step.get("run", ""), job_id
    (guard,) = [s for s in _steps(jobs["guard"]) if s.get("uses") == ACTION]
    assert guard["with"]["command"] == "guard" and "python" in guard["with"]


def test_watch_example_shape() -> None:
    wf = load("watch.yml")
    assert wf["permissions"] == {}
    assert wf["on"]["schedule"] and "workflow_dispatch" in wf["on"]
    (job,) = wf["jobs"].values()
    assert job["timeout-minutes"] and job["concurrency"]["cancel-in-progress"] is False
    assert job["permissions"] == {"contents": "write", "issues": "write"}
    (step,) = _steps(job)
    assert step["uses"] == ACTION
    assert step["with"]["command"] == "watch" and step["with"]["window"] == "72h"
    assert set(step["with"]) <= set(load_action()["inputs"])
