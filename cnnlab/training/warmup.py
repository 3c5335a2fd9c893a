"""Warm a process up for training and drawing before its first job: TensorFlow imported, the
precision calibrated, the Quick start's training traced, the garbage collector told what stays.

A fresh process pays all of this in its first job: importing TensorFlow and Keras (5-9 s
here), the first trace of any training step (TensorFlow's and Keras's lazy set-up, 1-3 s),
the precision's calibration, and a full garbage collection at the end of every job that walks
the ~350,000 objects TensorFlow and Keras loaded (0.3-0.5 s each time). :func:`warm` pays
them once, up front:

1. imports TensorFlow and calibrates the precision (:func:`cnnlab.models.precision.calibrate`);
2. trains the Quick start's network with the Quick start's recipe
   (:data:`cnnlab.runs.recipes.QUICK_START`) for one epoch of a few random images, through
   the training routine (whose seeded builds hold its lock, so a job started meanwhile keeps
   its reproducible start): the kept compiled model (:mod:`cnnlab.training.compiled`) of
   exactly that training, with its traced training and validation steps, waits for the first
   Quick start; then predicts one image with a :class:`cnnlab.inspect.inference.Predictor`
   of the run, so the first Draw or Feature maps does not pay for that trace either;
3. collects the garbage once and then ``gc.freeze()``s everything alive: the objects of the
   loaded libraries move to a permanent generation that later collections skip, so a job's
   end-of-training collection (:func:`cnnlab.training.memory.return_freed_memory`) takes
   milliseconds. (Frozen objects are still freed when their last reference goes; only a
   reference cycle among them would now wait for ever.)

Who calls it:

- a server, through :func:`start` (``serve.py``'s startup, once per process): a daemon
  thread waits until the first page has been drawn (:func:`page_shown`, at the end of every
  ``app.py`` run) or :data:`GRACE_SECONDS` have passed, so that it does not hold the first
  page back (browsers reconnect to a restarted server at once: a class's first pages come
  right after the start), then warms up (issue 22 item 9; issue 24 item 4);
- a Dask worker, through its ``--preload cnnlab.cluster.warm`` (:mod:`cnnlab.cluster.warm`),
  before it joins the scheduler.

A server's job that begins while the warm-up is under way waits for it (:func:`wait_for_it`,
called by :mod:`cnnlab.jobs.local`), so that the first Train on a fresh server takes the
warm-up's kept model instead of tracing the same network beside it on the same cores.

A failure is kept in :data:`outcome` (a server) or logged (a worker): a cold process still
trains, only later. Nothing of the warm-up's own run is kept except the compiled model.

TensorFlow's and Keras's first import, one thread at a time (:func:`guard_first_import`):
their packages import each other in cycles, and two threads importing them at once (the
warm-up and a page, or two pages on a fresh server) can each be handed the other's
half-initialised module by Python's import locks. The import then fails, and every later
import in that process fails too ("Registering two gradient with name 'ReduceDataset'"): seen
on a freshly started server in the browser tests. So a server (and a Dask worker) lets only
one thread at a time begin importing either, until both are loaded.
"""

from __future__ import annotations

import builtins
import gc
import logging
import sys
import threading
import time
from typing import Any

_log = logging.getLogger(__name__)
GRACE_SECONDS = 10.0  # the warm-up begins this long after start() if no page has been drawn
JOB_WAIT_SECONDS = 20.0  # a job waits this long at most for a warm-up under way
_lock = threading.Lock()
_thread: threading.Thread | None = None
_page_shown = threading.Event()
finished = threading.Event()  # set when a server's warm-up has ended, whether it worked or not
outcome: dict[str, object] = {}  # "seconds" it took and "steps" (seconds by step), or "error"
TIMINGS: dict[str, float] = {}  # what the last warm-up took, in seconds, by step
HEAVY = ("tensorflow", "keras")  # the packages whose first import is one thread at a time
_importing = threading.RLock()  # held by the thread importing one of them
_plain_import: Any = None  # builtins.__import__ while the guard stands in for it


def _loaded() -> bool:
    """Whether every package of :data:`HEAVY` is imported, whole."""
    modules = [sys.modules.get(name) for name in HEAVY]
    return all(m is not None and not getattr(getattr(m, "__spec__", None), "_initializing",
                                             False) for m in modules)


def _guarded_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                    level: int = 0) -> Any:
    plain = _plain_import or builtins.__import__
    if level or name.partition(".")[0] not in HEAVY:
        return plain(name, globals, locals, fromlist, level)
    with _importing:  # taken before any of the import's own module locks, by every thread
        module = plain(name, globals, locals, fromlist, level)
    if _loaded():
        unguard_first_import()
    return module


def guard_first_import() -> None:
    """Until TensorFlow and Keras are both loaded, let one thread at a time import either (see
    the module). Idempotent; a process that has them loaded already is left as it is."""
    global _plain_import
    with _lock:
        if _plain_import is None and not _loaded():
            _plain_import = builtins.__import__
            builtins.__import__ = _guarded_import


def unguard_first_import() -> None:
    """Give ``import`` back its plain function (done by the guard once both are loaded)."""
    global _plain_import
    with _lock:
        if _plain_import is not None and builtins.__import__ is _guarded_import:
            builtins.__import__ = _plain_import
        _plain_import = None


def warm() -> dict[str, float]:
    """Warm this process up (see the module); returns the seconds each step took (``import``,
    ``calibrate``, ``trace``, ``freeze``).

    Safe to call more than once and from any thread; a second call only traces again.
    """
    clock = time.perf_counter()
    guard_first_import()
    import numpy as np
    import tensorflow as tf  # noqa: F401  (the import is the point)

    TIMINGS["import"] = time.perf_counter() - clock
    from cnnlab.architecture import presets
    from cnnlab.data import datasets, refs
    from cnnlab.inspect import inference
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
    run = routine.train(presets.get(recipes.QUICK_START_ARCH), data, settings, name="warm-up")
    inference.Predictor(run.model).probabilities(images[0])  # (10,): Draw's first call
    del run
    TIMINGS["trace"] = time.perf_counter() - clock
    clock = time.perf_counter()
    gc.collect()
    gc.freeze()
    TIMINGS["freeze"] = time.perf_counter() - clock
    return dict(TIMINGS)


def _run(grace: float) -> None:
    _page_shown.wait(grace)
    started = time.perf_counter()
    try:
        steps = warm()
        outcome["steps"] = steps
        outcome["seconds"] = time.perf_counter() - started
        _log.info("warmed up: %s", ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()))
    except Exception as exc:  # a warm-up failure must not take the server down; pages retry
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        finished.set()


def start(grace: float = GRACE_SECONDS) -> threading.Thread:
    """Start the warm-up thread, once per process; the thread (the same one on later calls).
    It warms up once a page has been drawn, or after ``grace`` seconds."""
    global _thread
    guard_first_import()
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_run, args=(grace,), name="cnnlab-warmup",
                                       daemon=True)
            _thread.start()
        return _thread


def wait_for_it(timeout: float = JOB_WAIT_SECONDS) -> bool:
    """Before a job trains in a server whose warm-up is under way: wait for it to end (at most
    ``timeout`` seconds). The first Train on a fresh server otherwise traces its own model
    while the warm-up traces the same one on the same cores, instead of taking the warm-up's
    kept model once it is done. Returns at once where no warm-up was started (the CLI, a
    Dask worker's task) or it has ended; True if none is under way now."""
    if _thread is None:
        return True
    return finished.wait(timeout)


def page_shown() -> None:
    """A page has been drawn: the warm-up may begin (and starts, if nothing started it)."""
    _page_shown.set()
    start()
