"""A clock that tests move by hand: ``sleep`` advances it at once instead of waiting."""

from __future__ import annotations

import threading


class FakeClock:
    """Time in seconds since the epoch, standing still until told to move.

    Hand ``clock.time`` to whatever reads the time (the fake warehouse, TOTP code makers) and
    ``clock`` itself to code that sleeps: ``sleep(s)`` returns at once, ``s`` seconds later.
    """

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.slept: list[float] = []  # every sleep asked for, in order

    def time(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        with self._lock:
            self.slept.append(float(seconds))
            self._now += float(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += float(seconds)

    def __call__(self) -> float:
        return self.time()
