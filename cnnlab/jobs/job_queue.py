"""The process-wide limit on training jobs running at once, and the queue of the rest.

Every user of a server shares it: at most :func:`max_jobs` jobs train at the same time
(``CNNLAB_MAX_JOBS``, default the CPU count, since more would only share the same cores);
later jobs wait first-in, first-out. A job training on a Dask cluster waits in the cluster's
queue instead (:mod:`cnnlab.jobs.cluster`). No TensorFlow here.
"""

from __future__ import annotations

import collections
import os
import threading
from typing import Protocol


class Launchable(Protocol):
    """What the queue needs of an entry: a way to start it once admitted."""

    def launch(self) -> None: ...


class JobQueue:
    """At most ``limit`` jobs running; the rest wait first-in, first-out. Thread-safe.

    Example:
        >>> queue = JobQueue(limit=1)
        >>> class Job:
        ...     def launch(self): print("started")
        >>> first, second = Job(), Job()
        >>> queue.submit(first)
        started
        >>> queue.submit(second); queue.position(second)
        1
    """

    def __init__(self, limit: int | None = None) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._running = 0
        self._waiting: collections.deque[Launchable] = collections.deque()

    def limit(self) -> int:
        """The limit in force, reading ``CNNLAB_MAX_JOBS`` the first time if none was set."""
        with self._lock:
            return self._current_limit()

    def _current_limit(self) -> int:
        if self._limit is None:
            raw = os.environ.get("CNNLAB_MAX_JOBS", "").strip()
            if raw and (not raw.isdigit() or int(raw) < 1):
                raise ValueError(f"CNNLAB_MAX_JOBS must be a whole number >= 1; received {raw!r}")
            self._limit = int(raw) if raw else (os.cpu_count() or 1)
        return self._limit

    def _admit(self) -> list[Launchable]:
        admitted = []
        while self._waiting and self._running < self._current_limit():
            admitted.append(self._waiting.popleft())
            self._running += 1
        return admitted

    @staticmethod
    def _launch_all(jobs: list[Launchable]) -> None:
        for job in jobs:  # outside the lock: a launch may take a moment
            job.launch()

    def submit(self, job: Launchable) -> None:
        """Queue ``job``; it is launched at once if a slot is free."""
        with self._lock:
            self._current_limit()  # a bad CNNLAB_MAX_JOBS fails here, before queueing
            self._waiting.append(job)
            admitted = self._admit()
        self._launch_all(admitted)

    def cancel(self, job: Launchable) -> bool:
        """Take a waiting job out of the queue; False if it is not waiting (any more)."""
        with self._lock:
            if job in self._waiting:
                self._waiting.remove(job)
                return True
            return False

    def position(self, job: Launchable) -> int | None:
        """1 for the next job to start; None if ``job`` is not waiting."""
        with self._lock:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    def finished(self) -> None:
        """A launched job has ended: free its slot and launch the next."""
        with self._lock:
            self._running -= 1
            admitted = self._admit()
        self._launch_all(admitted)

    def set_limit(self, limit: int | None) -> None:
        """Change the limit (None: ``CNNLAB_MAX_JOBS`` or the CPU count); admits waiters."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            raise ValueError(f"the job limit must be an integer >= 1; received {limit!r}")
        with self._lock:
            self._limit = limit
            admitted = self._admit()
        self._launch_all(admitted)

    def counts(self) -> tuple[int, int]:
        """(jobs running, jobs waiting) right now."""
        with self._lock:
            return self._running, len(self._waiting)


JOBS = JobQueue()


def max_jobs() -> int:
    """How many training jobs may run at once in this process."""
    return JOBS.limit()


def set_max_jobs(limit: int | None) -> None:
    """Set the process-wide limit (None: back to ``CNNLAB_MAX_JOBS`` or the CPU count).

    Raising the limit starts waiting jobs at once.
    """
    JOBS.set_limit(limit)
