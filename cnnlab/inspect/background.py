"""One computation in the background, for a page that must not wait for it (a whole layer's
feature visualizations): a thread, its progress, a stop flag and one state.

A :class:`Task`'s life is one state machine, owned by the task: ``running`` →
``done``, ``cancelled`` (stopped on request: what was finished is kept) or ``failed``; one
``threading.Event`` (:attr:`Task.finished`) is set when it leaves ``running``, and tests wait
on it. The work is a plain function ``work(progress, stop)``: it calls ``progress(done,
total)`` as it goes and checks ``stop`` (a ``threading.Event``) between steps.

Example:
    >>> task = Task(lambda progress, stop: [progress(i + 1, 3) for i in range(3)] and "ok")
    >>> task.finished.wait(5), task.snapshot().state, task.snapshot().result
    (True, 'done', 'ok')
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

STATES = ("running", "done", "cancelled", "failed")
Work = Callable[[Callable[[int, int], None], threading.Event], Any]


@dataclass(frozen=True)
class Snapshot:
    """A task's state at one moment.

    Attributes:
        state: one of :data:`STATES`.
        done, total: progress as the work last reported it (0, 0 before its first report).
        result: what the work returned (``done`` or ``cancelled``), None before.
        error: why it failed, "" otherwise.
    """

    state: str
    done: int
    total: int
    result: Any
    error: str

    @property
    def fraction(self) -> float:
        """Progress in 0..1 (0 before the first report)."""
        return min(1.0, self.done / self.total) if self.total else 0.0


class Task:
    """``work`` run at once in a daemon thread (see the module's docstring)."""

    def __init__(self, work: Work, name: str = "background task") -> None:
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state, self._done, self._total = "running", 0, 0
        self._result: Any = None
        self._error = ""
        self._thread = threading.Thread(target=self._run, args=(work,), name=name, daemon=True)
        self._thread.start()

    def _progress(self, done: int, total: int) -> None:
        with self._lock:
            self._done, self._total = int(done), int(total)

    def _run(self, work: Work) -> None:
        try:
            result = work(self._progress, self._stop)
        except Exception as exc:  # noqa: BLE001 (any failure ends in "failed", said in words)
            with self._lock:
                self._state, self._error = "failed", f"{type(exc).__name__}: {exc}"
        else:
            with self._lock:
                self._result = result
                self._state = "cancelled" if self._stop.is_set() else "done"
        finally:
            self.finished.set()

    def cancel(self) -> None:
        """Ask the work to stop after its current step (it keeps what it finished)."""
        self._stop.set()

    def snapshot(self) -> Snapshot:
        """The state, progress, result and error together, as of now."""
        with self._lock:
            return Snapshot(self._state, self._done, self._total, self._result, self._error)
