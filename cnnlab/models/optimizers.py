"""The optimizers a run may name, what each keeps per weight, and the learning-rate schedules.

The one list of each: the run's ``Hyperparameters`` checks against them, the builder makes
from them, the Train page and the CLI offer them, and the memory estimate counts the slots.
Keras is imported only when an optimizer is made.

Learning-rate schedules, over the whole training (``total_steps`` batches):

============  ================================================================
name          learning rate at a fraction ``p`` of the training's batches
============  ================================================================
``constant``  the learning rate throughout (every run saved before schedules)
``cosine``    ``lr · (1 + cos(π·p)) / 2``: from the learning rate down to 0
``step``      the learning rate, then a tenth of it from half-way, a hundredth
              from three quarters
============  ================================================================

Example:
    >>> NAMES
    ('adam', 'sgd', 'rmsprop')
    >>> SLOTS["adam"]
    2
    >>> [round(learning_rate_at("cosine", 1e-3, step, 100), 6) for step in (0, 50, 100)]
    [0.001, 0.0005, 0.0]
    >>> [learning_rate_at("step", 1.0, step, 100) for step in (49, 50, 75)]
    [1.0, 0.1, 0.01]
"""

from __future__ import annotations

import math
from typing import Any

# name -> float32 copies of every weight the optimizer keeps (Adam: two moments; SGD with
# momentum and RMSprop: one each)
SLOTS = {"adam": 2, "sgd": 1, "rmsprop": 1}
NAMES = tuple(SLOTS)
SCHEDULES = ("constant", "cosine", "step")
# The schedule of a new run, with Hyperparameters' default learning rate of 0.003: picked by
# measurement (bench/recipe_bench.py, the README's "The default recipe"); a run saved before
# schedules reads as "constant".
DEFAULT_SCHEDULE = "cosine"
STEP_DROPS = ((0.5, 0.1), (0.75, 0.01))  # (fraction of the batches, factor from there on)


def check_schedule(name: Any) -> str:
    """``name`` if it names a schedule; otherwise a ``ValueError`` that lists them."""
    if not isinstance(name, str) or name not in SCHEDULES:
        raise ValueError(f"learning-rate schedule must be one of {', '.join(SCHEDULES)}; "
                         f"received {name!r}")
    return name


def learning_rate_at(schedule: str, learning_rate: float, step: int, total_steps: int) -> float:
    """The learning rate ``schedule`` gives after ``step`` of ``total_steps`` batches (pure
    Python: the reference the Keras schedule is tested against)."""
    progress = min(step / max(total_steps, 1), 1.0)
    if check_schedule(schedule) == "cosine":
        return learning_rate * 0.5 * (1 + math.cos(math.pi * progress))
    if schedule == "step":
        factor = 1.0
        for start, drop in STEP_DROPS:
            factor = drop if progress >= start else factor
        return learning_rate * factor
    return learning_rate


def make(name: str, learning_rate: Any) -> Any:
    """A fresh Keras optimizer: Adam, SGD with momentum 0.9, or RMSprop, at ``learning_rate``
    (a number, or a schedule from :func:`make_schedule`).

    Raises ValueError for a name not in :data:`NAMES`.
    """
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    raise ValueError(f"optimizer must be one of {', '.join(NAMES)}; received {name!r}")


def make_schedule(schedule: str, learning_rate: float, total_steps: int) -> Any:
    """A Keras learning-rate schedule of kind ``schedule`` from ``learning_rate`` over
    ``total_steps`` batches. Its ``set(learning_rate, total_steps)`` changes both later
    without tracing a training step that reads it again.

    Raises ValueError for a name not in :data:`SCHEDULES`.
    """
    return _schedule_class()(check_schedule(schedule), learning_rate, total_steps)


_CLASS: Any = None


def _schedule_class() -> type:
    """The Keras schedule class, made on first use (Keras is imported only then)."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    import keras
    from keras import ops

    class Schedule(keras.optimizers.schedules.LearningRateSchedule):
        """:func:`learning_rate_at` in Keras ops. The rate and the length are variables, so
        a traced training step reads their new values when a kept model trains again
        (:mod:`cnnlab.training.compiled`)."""

        def __init__(self, kind: str, learning_rate: float, total_steps: int) -> None:
            self.kind = kind
            self.base = keras.Variable(float(learning_rate), trainable=False,
                                       name="base_learning_rate")
            self.total = keras.Variable(float(max(total_steps, 1)), trainable=False,
                                        name="total_steps")

        def __call__(self, step: Any) -> Any:
            progress = ops.minimum(ops.cast(step, "float32") / self.total, 1.0)
            if self.kind == "cosine":
                return self.base * 0.5 * (1.0 + ops.cos(math.pi * progress))
            if self.kind == "step":
                factor = ops.ones_like(progress)
                for start, drop in STEP_DROPS:
                    factor = ops.where(progress >= start, drop, factor)
                return self.base * factor
            return self.base * ops.ones_like(progress)

        def set(self, learning_rate: float, total_steps: int) -> None:
            self.base.assign(float(learning_rate))
            self.total.assign(float(max(total_steps, 1)))

        def get_config(self) -> dict[str, Any]:
            return {"kind": self.kind, "learning_rate": float(self.base.numpy()),
                    "total_steps": int(self.total.numpy())}

    _CLASS = Schedule
    return _CLASS
