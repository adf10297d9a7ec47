"""The step runner: dependency order, concurrency, one error boundary, retries only after an
observe shows a write did not happen."""

from __future__ import annotations

import subprocess
import threading

import pytest
import requests

from unrelease.errors import AuthError, BadInput, ServiceError, WaitingOnPerson
from unrelease.model import Status
from unrelease.runner import FnTask, Runner, Task, as_error, exit_code_of, run_one


class Counter(Task):
    """Applies once per call; the effect is there after FAIL_AFTER_APPLY failures of the answer."""

    def __init__(self, name: str, errors: list[BaseException], lost: bool = False) -> None:
        super().__init__(name, f"do {name}")
        self.errors = errors
        self.lost = lost  # the write happens, then the answer is lost
        self.applied = 0
        self.effect = False

    def observe(self) -> str | None:
        return "there" if self.effect else None

    def apply(self) -> str:
        if self.errors:
            err = self.errors.pop(0)
            if self.lost:
                self.applied += 1
                self.effect = True
            raise err
        self.applied += 1
        self.effect = True
        return "did it"


@pytest.mark.parametrize(
    "exc",
    [
        ServiceError("503"),
        requests.ConnectionError("reset"),
        requests.Timeout("slow"),
        OSError("broken pipe"),
        subprocess.CalledProcessError(1, ["pip"]),
        RuntimeError("a bug"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_transient_fault_is_absorbed_and_the_write_happens_once(exc: BaseException) -> None:
    task = Counter("x", [exc])
    run_one(task)
    assert task.status is Status.DONE and task.applied == 1


def test_a_lost_answer_is_seen_by_the_next_observe_and_never_repeated() -> None:
    task = Counter("x", [ServiceError("reset after the write")], lost=True)
    run_one(task)
    assert task.status is Status.DONE and task.applied == 1 and task.attempts == 2


@pytest.mark.parametrize("exc", [BadInput("no"), AuthError("403"), WaitingOnPerson("human")])
def test_a_refusal_is_not_retried(exc: BaseException) -> None:
    task = Counter("x", [exc, exc, exc])
    run_one(task)
    assert task.status is (Status.PENDING if isinstance(exc, WaitingOnPerson) else Status.FAILED)
    assert task.attempts == 1 and task.applied == 0


def test_retries_are_bounded() -> None:
    task = Counter("x", [ServiceError("503")] * 10)
    run_one(task)
    assert task.status is Status.FAILED and task.attempts == task.retries + 1
    assert "503" in task.detail


def test_every_exception_becomes_one_line() -> None:
    err = as_error(RuntimeError("line one\nline two"))
    assert "\n" not in str(err) and "RuntimeError" in str(err)
    assert "cannot use /x" in str(as_error(PermissionError(13, "Permission denied", "/x")))


def test_needs_order_and_blocked_dependents() -> None:
    order: list[str] = []
    lock = threading.Lock()

    def step(name: str, fail: bool = False) -> FnTask:
        def apply() -> str:
            with lock:
                order.append(name)
            if fail:
                raise BadInput("refused")
            return name

        return FnTask(name, name, apply)

    a, b = step("a"), step("b", fail=True)
    c = step("c")
    c.needs = (a,)
    d = step("d")
    d.needs = (b,)
    e = step("e")
    e.needs = (d,)
    final = FnTask("final", "final", lambda: "ran", needs=[a, b, c, d, e], always=True)
    done: list[str] = []
    Runner([e, d, c, b, a, final], on_done=lambda t: done.append(t.name)).run()
    assert order.index("a") < order.index("c")
    assert "d" not in order and "e" not in order
    assert d.status is Status.SKIPPED and e.status is Status.SKIPPED
    assert d.detail == "not started: b did not complete"
    assert final.status is Status.DONE and done[-1] == "final"
    assert exit_code_of([a, b, c, d, e]) == 1  # a and c changed something


def test_independent_steps_run_at_once() -> None:
    barrier = threading.Barrier(3, timeout=10)

    def meet() -> str:
        barrier.wait()  # only passes when all three run concurrently
        return "met"

    tasks = [FnTask(f"t{i}", "meet", meet) for i in range(3)]
    Runner(tasks).run()
    assert {t.status for t in tasks} == {Status.DONE}


def test_a_pending_need_makes_dependents_pending() -> None:
    def wait() -> str:
        raise WaitingOnPerson("by hand: press Yank")

    manual = FnTask("index:1.0", "yank", wait)
    verify = FnTask("verify", "read", lambda: "ok", needs=[manual])
    Runner([manual, verify]).run()
    assert manual.status is Status.PENDING and verify.status is Status.PENDING
    assert exit_code_of([manual, verify]) == 3


def test_refused_with_nothing_changed_is_exit_2() -> None:
    def refuse() -> str:
        raise AuthError("the token may not write issues")

    issue = FnTask("issue", "open", refuse)
    tag = FnTask("tag", "tag", lambda: "t", needs=[issue])
    Runner([issue, tag]).run()
    assert exit_code_of([issue, tag]) == 2


def test_a_step_outside_the_run_is_a_programming_error() -> None:
    stray = FnTask("stray", "x", lambda: None)
    with pytest.raises(ValueError, match="stray"):
        Runner([FnTask("a", "a", lambda: None, needs=[stray])])
