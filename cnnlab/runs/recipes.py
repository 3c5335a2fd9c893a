"""The recipe a Quick start trains with: one place for the Home page, the "this page needs a
model" offers, the server's warm-up (which traces exactly this training) and the benchmark.

Picked by measurement (``python bench/recipe_bench.py``; the README's "The default recipe"):
the default network on the built-in digits reaches at least 0.97 test accuracy for seeds 0, 1
and 2 in well under 10 s of training on 2 cores. No TensorFlow here.

Example:
    >>> QUICK_START.lr_schedule
    'cosine'
"""

from __future__ import annotations

from cnnlab.architecture import presets
from cnnlab.runs.records import Hyperparameters

QUICK_START_ARCH = presets.DEFAULT_PRESET
QUICK_START_DATASET = "mnist-5k"
# 5 epochs; the rest is a new run's default: batch 64, Adam at 0.003 on the cosine schedule, a
# 10 % validation split, no augmentation (with light augmentation 6 epochs reached 0.97 in
# bfloat16 only just, and not in float32: the README's figures of 2026-12-05)
QUICK_START = Hyperparameters(epochs=5)


def describe(hyperparameters: Hyperparameters) -> str:
    """One line: ``"5 epochs, batch 64, adam 0.003, cosine, augment off"``."""
    h = hyperparameters
    return (f"{h.epochs} epochs, batch {h.batch_size}, {h.optimizer} {h.learning_rate:g}, "
            f"{h.lr_schedule}, augment {h.augment}")
