"""TensorFlow made ready in the background when a server starts (issue 22, item 9).

Importing TensorFlow and Keras takes seconds (about 5 s on 2 busy cores), and the first model
call traces its function. A page that only names the current model (Home, the sidebar) needs
neither, so the first page after a restart shows at once. :func:`start`, called once per
server process (``serve.py``'s startup), starts a daemon thread that waits until the first page
has been drawn (:func:`page_shown`, at the end of every ``app.py`` run) or
:data:`GRACE_SECONDS` have passed, so that it does not hold the first page back (browsers
reconnect to a restarted server at once: a class's first pages come right after the start),
then imports them and calls and trains one batch of a tiny throwaway network, so the first
Draw, Feature maps or Train does not pay for it either. Nothing here is shared with users'
models: the network is dropped when the warm-up ends.
"""

from __future__ import annotations

import threading
import time

GRACE_SECONDS = 10.0  # the warm-up begins this long after start() if no page has been drawn
_lock = threading.Lock()
_thread: threading.Thread | None = None
_page_shown = threading.Event()
finished = threading.Event()  # set when the warm-up has ended, whether it worked or not
outcome: dict[str, object] = {}  # "seconds" it took, or "error": what went wrong


def warm() -> float:
    """Import TensorFlow and Keras, then predict one image with, and train one batch of, a
    tiny throwaway network; the seconds it took.

    Its weights start at zero: the builder's layers would draw theirs from Keras's
    process-wide random generator, which a job started meanwhile has just seeded for a
    reproducible start (a Quick start clicked right after a restart)."""
    started = time.perf_counter()
    import keras
    import numpy as np

    from cnnlab.inspect import inference

    zeros = {"kernel_initializer": "zeros"}
    inputs = keras.Input((28, 28, 1))  # functional, as the builder's: Predictor reads .inputs
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(2, 3, activation="relu", **zeros)(x)  # (batch, 26, 26, 2)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", **zeros)(x))
    inference.Predictor(model).probabilities(np.zeros((28, 28), np.uint8))  # (10,)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.train_on_batch(np.zeros((8, 28, 28, 1), np.uint8), np.zeros(8, np.int64))
    return time.perf_counter() - started


def _run(grace: float) -> None:
    _page_shown.wait(grace)
    try:
        outcome["seconds"] = warm()
    except Exception as exc:  # a warm-up failure must not take the server down; pages retry
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        finished.set()


def start(grace: float = GRACE_SECONDS) -> threading.Thread:
    """Start the warm-up thread, once per process; the thread (the same one on later calls).
    It warms up once a page has been drawn, or after ``grace`` seconds."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_run, args=(grace,), name="cnnlab-warmup",
                                       daemon=True)
            _thread.start()
        return _thread


def page_shown() -> None:
    """A page has been drawn: the warm-up may begin (and starts, if nothing started it)."""
    _page_shown.set()
    start()
