"""Training runs at a lower CPU priority than the pages, so a page renders while others train.

On Linux every thread has its own nice value, and a thread a niced thread creates inherits
it. A training job lowers its own thread and TensorFlow's worker threads (``tf_*``: the
intra- and inter-op pools, which TensorFlow creates on first use) to ``CNNLAB_TRAINING_NICE``
(default 10; 0 leaves them alone). When nothing else wants the CPU, training still gets all
of it; when a page has work to do, the page goes first. Elsewhere this does nothing.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

DEFAULT_NICE = 10
_TASKS = Path("/proc/self/task")
_TF_THREAD_PREFIX = "tf_"


def training_niceness() -> int:
    """The nice value for training threads, from ``CNNLAB_TRAINING_NICE`` (0 to 19)."""
    raw = os.environ.get("CNNLAB_TRAINING_NICE", "").strip()
    if not raw:
        return DEFAULT_NICE
    if not raw.isdigit() or int(raw) > 19:
        raise ValueError(f"CNNLAB_TRAINING_NICE must be a whole number from 0 to 19 (0: off); "
                         f"received {raw!r}")
    return int(raw)


def _renice(tid: int, nice: int) -> None:
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:  # never raise a priority back
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError:  # the thread has ended, or the system refuses: leave it
        pass


def lower_training_priority(nice: int | None = None) -> list[int]:
    """Lower the calling thread and TensorFlow's worker threads to ``nice``.

    Returns the thread ids changed or already as low (empty where threads have no nice value
    of their own, i.e. off Linux, or with a nice value of 0).
    """
    nice = training_niceness() if nice is None else nice
    if nice <= 0 or not hasattr(os, "setpriority") or not _TASKS.is_dir():
        return []
    own = threading.get_native_id()
    tids = [own]
    for task in _TASKS.iterdir():
        try:
            if (task / "comm").read_text().startswith(_TF_THREAD_PREFIX):
                tids.append(int(task.name))
        except (OSError, ValueError):  # a thread that ended meanwhile
            continue
    for tid in tids:
        _renice(tid, nice)
    return tids
