"""Plain-language hints where the training curves say something plain."""

from __future__ import annotations

import math
from collections.abc import Sequence

from cnnlab.runs.records import Curve, EpochRecord

OVERFIT_GAP = 0.05  # training accuracy this far above validation accuracy is worth a word


def training_hints(history: Sequence[EpochRecord], curve: Curve,
                   learning_rate: float) -> list[str]:
    """Hints for a learner from the per-epoch history and the per-batch curve.

    Args:
        history: per-epoch records so far.
        curve: the thinned per-batch training curve.
        learning_rate: the run's learning rate, quoted in the advice.
    Returns:
        Zero or more sentences, most important first.

    Example:
        >>> training_hints([], Curve(steps=(1,), loss=(float("nan"),), accuracy=(0.1,)), 0.5)[0]
        'The loss became NaN (not a number): learning rate 0.5 is far too high; try 0.05.'
    """
    hints = []
    losses = [*curve.loss, *(r.loss for r in history)]
    if any(not math.isfinite(v) for v in losses):
        return [f"The loss became NaN (not a number): learning rate {learning_rate:g} is far too "
                f"high; try {learning_rate / 10:g}."]
    points = list(curve.loss)
    if len(points) >= 12:
        third = len(points) // 3
        early, late = points[:third], points[-third:]
        if sum(late) / len(late) > 1.05 * sum(early) / len(early):
            hints.append(f"The training loss is rising instead of falling: learning rate "
                         f"{learning_rate:g} is probably too high; try {learning_rate / 10:g}.")
    complete = [r for r in history if r.complete and r.val_accuracy is not None]
    if complete:
        last = complete[-1]
        gap = last.accuracy - last.val_accuracy
        val_losses = [r.val_loss for r in complete]
        rising = len(val_losses) >= 3 and val_losses[-1] > min(val_losses[:-1])
        if gap > OVERFIT_GAP or (rising and gap > OVERFIT_GAP / 2):
            hints.append(f"Training accuracy ({last.accuracy:.1%}) is well above validation "
                         f"accuracy ({last.val_accuracy:.1%}): the network is memorising the "
                         f"training images (overfitting). Add dropout layers, or train for "
                         f"fewer epochs.")
    return hints
