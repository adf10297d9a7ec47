"""One rollback at a time per package and version: claimed atomically on the forge before
the first write (a ref on GitHub, a lock file locally), kept after success so a run that
started beside it finds the work done, dropped after a failure so a rerun starts at once.

A claim is someone else's while its holder may still be running: not when its record says
the rollback finished, not when its holder is an earlier attempt of this same Actions run or
a dead process on this machine, and not when it is older than the stale bound.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from packaging.utils import canonicalize_name

from unrelease.errors import UnreleaseError
from unrelease.forges.base import Claim, Forge

STALE_AFTER = timedelta(minutes=15)


class Busy(UnreleaseError):
    """Another run holds the rollback: a person (or that run) finishes first."""

    exit_code = 3


def key(package: str, version: str) -> str:
    return f"{canonicalize_name(package)}/{version}"


def holder() -> str:
    """Who this process is: an Actions run attempt, or host, pid and a nonce."""
    run = os.environ.get("GITHUB_RUN_ID", "")
    if run.isdigit():
        attempt = os.environ.get("GITHUB_RUN_ATTEMPT", "1")
        return f"gha:{run}:{attempt if attempt.isdigit() else '1'}:{uuid.uuid4().hex[:8]}"
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def new_claim(note: str, now: datetime) -> Claim:
    return Claim(holder=holder(), since=now.isoformat(timespec="seconds"), note=note)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def gone(claim: Claim, now: datetime, stale_after: timedelta = STALE_AFTER) -> str | None:
    """Why CLAIM's holder cannot be running any more, or None when it may be."""
    parts = claim.holder.split(":")
    if parts[0] == "gha" and len(parts) >= 3:
        run, attempt = os.environ.get("GITHUB_RUN_ID"), os.environ.get("GITHUB_RUN_ATTEMPT", "1")
        same_run = run == parts[1] and attempt.isdigit() and parts[2].isdigit()
        if same_run and int(attempt) > int(parts[2]):
            return f"it was held by attempt {parts[2]} of this run"
    elif len(parts) >= 3 and parts[0] == socket.gethostname() and parts[1].isdigit():
        pid = int(parts[1])
        if pid != os.getpid() and not _pid_alive(pid):
            return f"its holder (process {pid} on this machine) has ended"
    try:
        since = datetime.fromisoformat(claim.since)
    except ValueError:
        return "its start time is unreadable"
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if now - since > stale_after:
        return f"it is older than {int(stale_after.total_seconds() // 60)} minutes"
    return None


def acquire(
    forge: Forge,
    key_: str,
    mine: Claim,
    judge: Callable[[Claim], str | None],
    now: datetime,
    notify: Callable[[str], None],
) -> Claim | None:
    """Claim KEY_ for MINE. JUDGE says what the holder's record shows: "done" (nothing left
    to do: None is returned), "over" (its rollback was undone: taken over), or None (it may
    still be running: Busy, exit 3, unless the claim is stale, then it is taken over)."""
    held = forge.claim(key_, mine)
    if held is None or held.holder == mine.holder:  # ours (an earlier try's answer was lost)
        return mine
    verdict = judge(held)
    if verdict == "done":
        return None
    why = "its rollback was undone" if verdict == "over" else gone(held, now)
    if why is None:
        raise Busy(
            f"another run ({held.holder}, since {held.since}) holds {key_}; "
            "rerun when it has finished"
        )
    taken = Claim(mine.holder, mine.since, f"{mine.note}; took over a stale claim: {why}")
    if not forge.take_over(key_, held, taken):
        raise Busy(f"another run took {key_} over just now; rerun when it has finished")
    notify(f"took over {key_}: {why}")
    return taken


def drop(forge: Forge, key_: str, mine: Claim | None, log: Callable[[str], None]) -> None:
    if mine is None:
        return
    try:
        forge.release(key_, mine.holder)
    except UnreleaseError as exc:
        log(f"could not drop the claim on {key_}: {exc}")
