"""The optimizers a run may name, and what each keeps per weight while training.

The one list: the run's ``Hyperparameters`` checks against it, the builder makes from it, the
Train page and the CLI offer it, and the memory estimate counts its slots. Keras is imported
only when an optimizer is made.

Example:
    >>> NAMES
    ('adam', 'sgd', 'rmsprop')
    >>> SLOTS["adam"]
    2
"""

from __future__ import annotations

from typing import Any

# name -> float32 copies of every weight the optimizer keeps (Adam: two moments; SGD with
# momentum and RMSprop: one each)
SLOTS = {"adam": 2, "sgd": 1, "rmsprop": 1}
NAMES = tuple(SLOTS)


def make(name: str, learning_rate: float) -> Any:
    """A fresh Keras optimizer: Adam, SGD with momentum 0.9, or RMSprop at ``learning_rate``.

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
