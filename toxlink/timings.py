"""Seconds spent per stage of a run, measured by one context manager.

>>> timings = Timings()
>>> with timings.stage("features"):
...     pass
>>> sorted(timings.seconds)
['features']
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Iterator


class Timings:
    """Seconds per stage name, added up over every ``with timings.stage(name):`` block.

    Safe to share between the threads of one run (a stage timed in two threads at once
    counts both, so the stages of overlapping threads may add up to more than the wall time).
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            with self._lock:
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed

    def add(self, other: "Timings | dict[str, float]", prefix: str = "") -> "Timings":
        """Add another run's seconds (e.g. a Dask worker's), each stage name after *prefix*."""
        seconds = other.seconds if isinstance(other, Timings) else other
        with self._lock:
            for name, sec in seconds.items():
                self.seconds[prefix + name] = self.seconds.get(prefix + name, 0.0) + sec
        return self

    def __getstate__(self) -> dict:  # a lock does not pickle (Dask workers return their timings)
        return {"seconds": dict(self.seconds)}

    def __setstate__(self, state: dict) -> None:
        self.seconds = state["seconds"]
        self._lock = threading.Lock()
