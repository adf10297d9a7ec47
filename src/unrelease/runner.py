"""The one step runner of every command that writes (rollback, undo, and those built on them).

A step is an object with ``observe()`` (is the effect already there? read right before acting),
``apply()``, ``verify()`` and the steps it needs. The runner walks the dependency graph, runs
the steps whose needs are met concurrently, and is the one place where any exception
(``requests``, ``OSError``, ``subprocess``, PyGithub, ours) becomes a step outcome: nothing
escapes it. A write is retried only after an observe shows it did not take effect.

Steps run in worker threads but share no mutable state: a step writes only its own fields
while it runs, and the runner reads them (and calls ``on_done``) in the calling thread after
the step finished. A step reads its needs' results only, which are final before it starts.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from unrelease.errors import (
    AuthError,
    BadInput,
    NotFound,
    Refused,
    ServiceError,
    UnreleaseError,
    WaitingOnPerson,
    describe_os_error,
)
from unrelease.model import Status, Step
from unrelease.secrets import redact

log = logging.getLogger(__name__)

_OK = (Status.DONE, Status.ALREADY_DONE)
_FINAL_ERRORS = (BadInput, Refused, AuthError, WaitingOnPerson, NotFound)


class Task:
    """One observe → apply → verify step. Subclasses override the three; ``needs`` are the
    steps that must succeed first. A status other than PLANNED, set when the plan is made
    (already-done, skipped, pending), is kept: the runner does not run such a step."""

    retries = 2  # transient failures absorbed in the run, each after a fresh observe
    always = False  # runs after its needs whatever their outcome (the final record update)

    def __init__(
        self,
        name: str,
        action: str,
        *,
        needs: Iterable[Task] = (),
        status: Status = Status.PLANNED,
        detail: str = "",
        url: str | None = None,
    ) -> None:
        self.name = name
        self.action = action
        self.needs: tuple[Task, ...] = tuple(needs)
        self.status = status
        self.detail = detail
        self.url = url
        self.error: UnreleaseError | None = None
        self.attempts = 0

    def observe(self) -> str | None:
        """A detail when the effect is already there, else None. Read now, not from a plan."""
        return None

    def apply(self) -> str | None:
        """Make the effect; a detail for the record."""
        return None

    def verify(self) -> None:
        """Raise when the effect is not there after apply."""

    @property
    def ok(self) -> bool:
        return self.status in _OK

    def to_step(self) -> Step:
        return Step(self.name, self.action, self.status, self.detail, self.url)


class FnTask(Task):
    """A task whose three parts are functions (small steps need no class of their own)."""

    def __init__(
        self,
        name: str,
        action: str,
        apply: Callable[[], str | None],
        *,
        observe: Callable[[], str | None] | None = None,
        verify: Callable[[], None] | None = None,
        needs: Iterable[Task] = (),
        status: Status = Status.PLANNED,
        detail: str = "",
        url: str | None = None,
        always: bool = False,
    ) -> None:
        super().__init__(name, action, needs=needs, status=status, detail=detail, url=url)
        self._apply, self._observe, self._verify = apply, observe, verify
        self.always = always

    def observe(self) -> str | None:
        return self._observe() if self._observe else None

    def apply(self) -> str | None:
        return self._apply()

    def verify(self) -> None:
        if self._verify:
            self._verify()


def as_error(exc: BaseException) -> UnreleaseError:
    """Any exception as the project's error, one line, credentials redacted."""
    if isinstance(exc, UnreleaseError):
        return exc
    if isinstance(exc, subprocess.SubprocessError):
        return ServiceError(redact(f"a command failed: {exc}"))
    if isinstance(exc, OSError):  # requests' errors are OSErrors too
        return ServiceError(describe_os_error(exc))
    text = " ".join(str(exc).split())[:300]
    return ServiceError(redact(f"unexpected {type(exc).__name__}: {text}"))


def transient(err: UnreleaseError) -> bool:
    """Worth another try in the same run: a service hiccup, not a refusal or a wrong input."""
    return not isinstance(err, _FINAL_ERRORS)


def run_one(task: Task) -> None:
    """Observe → apply → verify TASK, retrying a transient failure after a fresh observe."""
    for attempt in range(task.retries + 1):
        task.attempts = attempt + 1
        try:
            seen = task.observe()
            if seen is not None:
                # On a retry, an effect that is there now is the earlier attempt's work.
                task.status = Status.ALREADY_DONE if attempt == 0 else Status.DONE
                task.detail = seen
                return
            detail = task.apply()
            task.verify()
        except Exception as exc:  # the one boundary: every error becomes an outcome
            err = as_error(exc)
            if isinstance(err, WaitingOnPerson):
                task.status, task.detail, task.error = Status.PENDING, str(err), err
                return
            if transient(err) and attempt < task.retries:
                log.info("step %s: %s; observing, then trying again", task.name, err)
                continue
            task.status, task.detail, task.error = Status.FAILED, str(err), err
            log.warning("step %s failed: %s", task.name, err)
            return
        task.status = Status.DONE
        if detail:
            task.detail = detail
        return


def _blocker(task: Task) -> Task | None:
    """The need that keeps TASK from running (failed, pending or itself held back)."""
    for need in task.needs:
        if need.status in (Status.FAILED, Status.PENDING) or (
            need.status is Status.SKIPPED and need.detail.startswith("not started")
        ):
            return need
    return None


def _hold(task: Task, need: Task) -> None:
    if need.status is Status.PENDING:
        task.status = Status.PENDING
        task.detail = f"after {need.name}, which waits on a person; rerun to finish"
    else:
        task.status = Status.SKIPPED
        task.detail = f"not started: {need.name} did not complete"


class Runner:
    """Runs TASKS in dependency order, independent ones at once, calling ON_DONE (in the
    calling thread) as each one ends, so the caller can keep the record current."""

    def __init__(
        self,
        tasks: Sequence[Task],
        on_done: Callable[[Task], None] | None = None,
        *,
        workers: int = 4,
    ) -> None:
        known = set(map(id, tasks))
        for t in tasks:
            missing = [n.name for n in t.needs if id(n) not in known]
            if missing:
                raise ValueError(f"step {t.name} needs steps not in the run: {missing}")
        self.tasks = list(tasks)
        self.on_done = on_done or (lambda task: None)
        self.workers = workers

    def run(self) -> list[Task]:
        waiting = list(self.tasks)
        running: dict[Future[None], Task] = {}
        ended: set[int] = set()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            while waiting or running:
                progress = True
                while progress:  # decided steps end at once; that may free others
                    progress = False
                    for task in list(waiting):
                        if not all(id(n) in ended for n in task.needs):
                            continue
                        waiting.remove(task)
                        progress = True
                        need = None if task.always else _blocker(task)
                        if task.status is Status.PLANNED and need is not None:
                            _hold(task, need)
                        if task.status is not Status.PLANNED:
                            ended.add(id(task))
                            self.on_done(task)
                            continue
                        running[pool.submit(run_one, task)] = task
                if not running:
                    if waiting:  # a cycle: a programming error, reported, never a hang
                        for task in waiting:
                            task.status, task.detail = Status.FAILED, "dependency cycle"
                            self.on_done(task)
                        waiting.clear()
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = running.pop(fut)
                    ended.add(id(task))
                    self.on_done(task)
        return self.tasks


def exit_code_of(tasks: Sequence[Task]) -> int:
    """0 done; 2 when a step was refused and nothing changed; 1 a step failed (a rerun
    resumes); 3 waiting on a person."""
    failed = [t for t in tasks if t.status is Status.FAILED]
    if failed:
        changed = any(t.status is Status.DONE for t in tasks)
        refused = any(t.error is not None and t.error.exit_code == 2 for t in failed)
        return 2 if refused and not changed else 1
    if any(t.status is Status.PENDING for t in tasks):
        return 3
    return 0
