"""Warm a process up for training before its first job: TensorFlow imported, the precision
calibrated, the Quick start's training traced, the garbage collector told what stays.

A fresh process pays all of this in its first job: importing TensorFlow (5-9 s here), the
first trace of any training step (TensorFlow's and Keras's lazy set-up, 1-3 s), the
precision's calibration, and a full garbage collection at the end of every job that walks
the ~350,000 objects TensorFlow and Keras loaded (0.3-0.5 s each time). :func:`warm` pays
them once, up front:

1. imports TensorFlow and calibrates the precision (:func:`cnnlab.models.precision.calibrate`);
2. trains the Quick start's network with the Quick start's recipe
   (:data:`cnnlab.runs.recipes.QUICK_START`) for one epoch of a few random images, so the
   kept compiled model (:mod:`cnnlab.training.compiled`) of exactly that training, with its
   traced training and validation steps, waits for the first Quick start;
3. collects the garbage once and then ``gc.freeze()``s everything alive: the objects of the
   loaded libraries move to a permanent generation that later collections skip, so a job's
   end-of-training collection (:func:`cnnlab.training.memory.return_freed_memory`) takes
   milliseconds. (Frozen objects are still freed when their last reference goes; only a
   reference cycle among them would now wait for ever, and at start-up there are none of
   ours.)

Who calls it: ``serve.py`` through :func:`start_in_background` (once per server process, in a
daemon thread, so the first page is not held up), and a Dask worker through its
``--preload cnnlab.cluster.warm`` (:mod:`cnnlab.cluster.warm`), before it takes its first task.
A failure is logged and forgotten: a cold process still trains, only later.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Any

_log = logging.getLogger(__name__)
_STARTED = threading.Lock()
_DONE = threading.Event()
_STARTED_ONCE: list[threading.Thread] = []
TIMINGS: dict[str, float] = {}  # what the last warm-up took, in seconds, by step


def warm() -> dict[str, float]:
    """Warm this process up (see the module); returns the seconds each step took.

    Safe to call more than once and from any thread; a second call only traces again.
    """
    clock = time.perf_counter()
    import numpy as np
    import tensorflow as tf  # noqa: F401  (the import is the point)

    TIMINGS["import"] = time.perf_counter() - clock
    from cnnlab.architecture import presets
    from cnnlab.data import datasets, refs
    from cnnlab.models import precision
    from cnnlab.runs import recipes
    from cnnlab.training import routine

    clock = time.perf_counter()
    precision.calibrate()
    TIMINGS["calibrate"] = time.perf_counter() - clock
    clock = time.perf_counter()
    rng = np.random.default_rng(0)
    classes = 10
    # (n, 28, 28, 1) noise, labels 0-9: shaped as the built-in digits, which need not be loaded
    # 100 training images: one full batch of 64 and a partial one, like a real epoch's, so the
    # traced step takes the batch size as unknown; 12 validation images trace the test step
    images = rng.integers(0, 256, size=(112, 28, 28, 1), dtype=np.uint8)
    labels = (np.arange(112) % classes).astype(np.uint8)
    data = datasets.Dataset(refs.recorded("warm-up"), tuple(str(c) for c in range(classes)),
                            images, labels, images[:8], labels[:8])
    quick = recipes.QUICK_START
    settings = type(quick)(**{**quick.to_dict(), "epochs": 1, "validation_fraction": 0.1})
    routine.train(presets.get(recipes.QUICK_START_ARCH), data, settings, name="warm-up")
    TIMINGS["trace"] = time.perf_counter() - clock
    clock = time.perf_counter()
    gc.collect()
    gc.freeze()
    TIMINGS["freeze"] = time.perf_counter() - clock
    return dict(TIMINGS)


def _warm_logged() -> None:
    try:
        timings = warm()
        _log.info("warmed up for training: %s", ", ".join(f"{k} {v:.2f} s"
                                                          for k, v in timings.items()))
    except Exception:  # a cold process still trains; the first job just pays for it
        _log.warning("warming up for training failed", exc_info=True)
    finally:
        _DONE.set()


def start_in_background() -> threading.Thread:
    """Start :func:`warm` in a daemon thread, once per process; the thread (the first one's
    on later calls)."""
    with _STARTED:
        if not _STARTED_ONCE:
            thread = threading.Thread(target=_warm_logged, name="cnnlab-warm-up", daemon=True)
            thread.start()
            _STARTED_ONCE.append(thread)
        return _STARTED_ONCE[0]


def wait(timeout: float | None = None) -> bool:
    """Wait for a background warm-up to end (warmed or failed); whether it has."""
    return _DONE.wait(timeout)


def state() -> dict[str, Any]:
    """Whether a warm-up was started and has ended, and its timings (for benchmarks)."""
    return {"started": bool(_STARTED_ONCE), "done": _DONE.is_set(), "timings": dict(TIMINGS)}
