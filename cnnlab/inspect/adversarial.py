"""Fool it: a small change to an image that makes the network answer K ("make it say K", a
targeted attack) or anything but its answer ("make it wrong", untargeted).

Projected gradient descent in an L∞ ball (Madry et al. 2018; Goodfellow et al. 2015's fast
gradient sign method is its one-step case). Pixels are measured in [0, 1] units (0 black,
1 white; the models take 0..255 and rescale inside, so an image is divided by 255 here and
multiplied back for the model). No pixel may move by more than ε from the original, nor leave
[0, 1]. Each of :data:`STEPS` steps moves every pixel by ``α_t`` along the sign of the
gradient of the *margin* (Carlini & Wagner's loss: the target's logit minus the best other
class's, or the best other class's minus the current answer's; unlike the cross-entropy it
does not flatten when the softmax saturates), then clips back into the ball; ``α_t`` falls
geometrically from ε/4 to ε/40, so early steps cross the ball and late ones settle (40 steps
found the same smallest ε as 200 to within 0.005 on a two-conv digits run).

**Saved as a PNG.** The model is only ever asked about images on the uint8 grid: each step's
point is rounded to whole brightness levels (1/255) before its prediction and gradient, and
the ball is ε rounded down to whole levels, so the changed image is exactly what a PNG holds
and ``cnnlab predict --prepared`` on it gives the same answer. An answer counts only when it
leads the next class's logit by :data:`MARGIN`, so float rounding in another code path cannot
flip it.

**Size of the change**, in words a learner reads: the *largest change* is the most any one
pixel (any one colour channel of it) moved (L∞, at most ε); the *total change* is every
pixel's change added up (L1): 1.0 is as much as one pixel going from black to white.

**When nothing within ε works**, :meth:`Attacker.attack` searches for the smallest ε that
does: ε doubled until the attack succeeds (at most 1), then halved back by bisection to one
brightness level, at most :data:`MAX_SEARCH` attacks in all. It is the smallest ε *this attack*
finds (assuming a larger ball never hurts): an upper bound on the true smallest.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from cnnlab.architecture.rows import Summary
from cnnlab.inspect.attribution import gradient_hazard, head_logits
from cnnlab.inspect.inference import as_batch

STEPS = 40  # projected steps per attack
FIRST_STEP, LAST_STEP = 1 / 4, 1 / 40  # the step size falls from ε/4 to ε/40
MARGIN = 0.01  # logits by which the wanted answer must lead the next class
LEVELS = 255  # brightness levels per unit: ε is used in whole levels
MAX_SEARCH = 16  # attacks the search for the smallest ε may run


@dataclass(frozen=True, eq=False)
class Attack:
    """One attack on one image.

    Attributes:
        target: the class asked for ("make it say K"), None for "make it wrong".
        eps: the ball's radius asked for, in [0, 1] pixel units.
        original, changed: uint8 images of the model's input shape without the batch axis
            (``(h, w)`` grey, ``(h, w, 3)`` colour): the image attacked and the best found
            (the answer asked for when ``succeeded``, else the closest attempt).
        change: float32, ``(changed − original) / 255``: in [−ε, ε].
        class_before, confidence_before: the answer and its probability on the original.
        class_after, confidence_after: the same on the changed image.
        succeeded: whether the changed image gives the answer asked for.
        largest_change: the most any pixel (any channel) moved, [0, 1] units (L∞).
        total_change: all pixels' changes added up, [0, 1] units (L1).
        pixels_changed: how many pixel values (channels counted apart) changed.
        steps: the projected steps taken (fewer than :data:`STEPS` when it worked early).
        smallest_eps: when it failed, the smallest ε the search found to work, None when none
            up to 1 did (or none was searched for).
    """

    target: int | None
    eps: float
    original: np.ndarray
    changed: np.ndarray
    change: np.ndarray
    class_before: int
    confidence_before: float
    class_after: int
    confidence_after: float
    succeeded: bool
    largest_change: float
    total_change: float
    pixels_changed: int
    steps: int
    smallest_eps: float | None = None

    def describe(self, class_names: Sequence[str]) -> str:
        """What happened, in a learner's words.

        Example:
            >>> a = Attack(3, 0.1, None, None, None, 7, 0.98, 3, 0.61, True, 0.1, 12.5, 230, 9)
            >>> print(a.describe([str(d) for d in range(10)]))
            It now says 3 (61%) instead of 7 (98%). No pixel changed by more than 0.1 (26 of 255 brightness levels); all the changes added up come to 12.5, as much as 12.5 pixels going from black to white.
        """  # noqa: E501 (a doctest's output is one line)
        before = f"{class_names[self.class_before]} ({self.confidence_before:.0%})"
        after = f"{class_names[self.class_after]} ({self.confidence_after:.0%})"
        size = (f"No pixel changed by more than {self.largest_change:.2g} "
                f"({round(self.largest_change * LEVELS)} of 255 brightness levels); all the "
                f"changes added up come to {self.total_change:.3g}, as much as "
                f"{self.total_change:.3g} pixels going from black to white.")
        if self.succeeded:
            return f"It now says {after} instead of {before}. {size}"
        wanted = ("say anything else" if self.target is None
                  else f"say {class_names[self.target]}")
        found = (f" The smallest ε that works is {self.smallest_eps:.3g} "
                 f"({round(self.smallest_eps * LEVELS)} brightness levels)."
                 if self.smallest_eps is not None else " No ε up to 1 worked for this attack.")
        return (f"No change within ε = {self.eps:g} made it {wanted}: it still says {after}."
                f"{found}")


def _levels(eps: float) -> int:
    """ε in whole brightness levels, rounded down (a hair of float error forgiven)."""
    return int(math.floor(eps * LEVELS + 1e-6))


def checked_eps(eps: float) -> float:
    """``eps`` as a float if it lies in [0, 1]; else ValueError saying so."""
    value = float(eps)
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"ε (eps) must be in [0, 1] pixel units (0.1 lets each pixel move by "
                         f"a tenth of black-to-white); received {eps}")
    return value


class Attacker:
    """Targeted and untargeted attacks on one Keras model (from
    :func:`cnnlab.models.builder`), grey or colour.

    Example:
        >>> from cnnlab.architecture import presets, shapes
        >>> from cnnlab.models import builder
        >>> arch = presets.get("two-conv")
        >>> attacker = Attacker(builder.build_model(arch), shapes.summarize(arch))
        >>> attacker.attack(np.zeros((28, 28), np.uint8), 0.1, target=3).largest_change <= 0.1
        True
    """

    def __init__(self, model: keras.Model, summary: Summary) -> None:
        hazard = gradient_hazard(summary)
        if hazard:
            raise ValueError(hazard)
        self.input_shape = tuple(model.input_shape[1:])
        self.num_classes = int(model.output_shape[-1])
        logits_of = head_logits(model, summary)
        signature = [tf.TensorSpec((1, *self.input_shape), tf.float32),
                     tf.TensorSpec((), tf.int32), tf.TensorSpec((), tf.float32)]

        def step(x: tf.Tensor, label: tf.Tensor, sign: tf.Tensor):
            """(logits, sign of d loss / d x): loss = sign · (best other logit − label's)."""
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(x)
                logits = logits_of(x)[-1]
                chosen = logits[0, label]
                others = tf.reduce_max(tf.where(tf.range(tf.shape(logits)[1]) == label,
                                                -np.inf, logits[0]))
                loss = sign * (others - chosen)
            return logits[0], tf.sign(tape.gradient(loss, x))

        self._step = tf.function(step, input_signature=signature)

    def attack(self, image: np.ndarray, eps: float, target: int | None = None,
               search: bool = True) -> Attack:
        """Change ``image`` by at most ``eps`` a pixel so that it says ``target`` (or, without
        a target, anything but its answer now).

        Args:
            image: uint8-range, as for the Predictor (float values are rounded to whole
                levels first).
            eps: the largest change allowed to any pixel, [0, 1] units.
            target: the class to make it say; None for "make it wrong".
            search: when it fails, search for the smallest ε that works.
        Returns:
            The :class:`Attack`.
        Raises:
            ValueError: for an image that does not fit, ε outside [0, 1] or a target out of
                range.
        """
        eps = checked_eps(eps)
        if target is not None and not 0 <= int(target) < self.num_classes:
            raise ValueError(f"target must be a class in 0..{self.num_classes - 1}; received "
                             f"{target}")
        target = None if target is None else int(target)
        original = np.round(as_batch(image, self.input_shape))  # (1, h, w, c), whole levels
        first = self._run(original, _levels(eps), target)
        attack = self._result(original, eps, target, *first)
        if attack.succeeded or not search:
            return attack
        return self._with_smallest_eps(attack, original, target)

    def _run(self, original: np.ndarray, levels: int, target: int | None):
        """(changed (1, h, w, c) on the uint8 grid, its logits, the original's logits, steps)."""
        low = np.maximum(original - levels, 0) / LEVELS  # the ball, in [0, 1] units
        high = np.minimum(original + levels, LEVELS) / LEVELS
        before = self._logits(original)
        answer = int(np.argmax(before))
        label = tf.constant(answer if target is None else target, tf.int32)
        sign = tf.constant(-1.0 if target is None else 1.0)  # away from the answer, or towards
        x = original / LEVELS
        best, best_lead, best_logits = original, -np.inf, before
        for t in range(STEPS + 1):
            point = np.round(x * LEVELS).astype(np.float32)  # what a PNG would hold
            logits, direction = self._step(tf.constant(point), label, sign)
            logits = logits.numpy()
            lead = _lead(logits, target, answer)
            if lead > best_lead:
                best, best_lead, best_logits = point, lead, logits
            if lead >= MARGIN or t == STEPS or levels == 0:
                return best, best_logits, before, t
            size = levels / LEVELS * FIRST_STEP * (LAST_STEP / FIRST_STEP) ** (t / (STEPS - 1))
            x = np.clip(x - size * direction.numpy(), low, high)
        raise AssertionError("unreachable")

    def _logits(self, point: np.ndarray) -> np.ndarray:
        return self._step(tf.constant(point, tf.float32), tf.constant(0, tf.int32),
                          tf.constant(1.0))[0].numpy()

    def _result(self, original: np.ndarray, eps: float, target: int | None,
                changed: np.ndarray, after: np.ndarray, before: np.ndarray,
                steps: int) -> Attack:
        shape = self.input_shape if self.input_shape[2] > 1 else self.input_shape[:2]
        change = ((changed - original) / LEVELS).reshape(shape).astype(np.float32)
        p_before, p_after = _softmax(before), _softmax(after)
        k_before, k_after = int(np.argmax(before)), int(np.argmax(after))
        return Attack(target, eps, original.reshape(shape).astype(np.uint8),
                      changed.reshape(shape).astype(np.uint8), change, k_before,
                      float(p_before[k_before]), k_after, float(p_after[k_after]),
                      _lead(after, target, k_before) >= MARGIN,
                      float(np.abs(change).max()), float(np.abs(change).sum()),
                      int(np.count_nonzero(change)), steps)

    def _with_smallest_eps(self, failed: Attack, original: np.ndarray,
                           target: int | None) -> Attack:
        """``failed`` with ``smallest_eps``: doubling, then bisection on whole levels."""
        bad, good, tries = _levels(failed.eps), None, 0
        while good is None and bad < LEVELS and tries < MAX_SEARCH:
            trial = min(max(2 * bad, 1), LEVELS)
            tries += 1
            if _lead(self._run(original, trial, target)[1], target,
                     failed.class_before) >= MARGIN:
                good = trial
            else:
                bad = trial
        while good is not None and good - bad > 1 and tries < MAX_SEARCH:
            middle = (bad + good) // 2
            tries += 1
            if _lead(self._run(original, middle, target)[1], target,
                     failed.class_before) >= MARGIN:
                good = middle
            else:
                bad = middle
        smallest = None if good is None else good / LEVELS
        return dataclasses.replace(failed, smallest_eps=smallest)


def _lead(logits: np.ndarray, target: int | None, answer: int) -> float:
    """How far the wanted answer leads: the target's logit over the best other class's, or
    (no target) the best other class's over the original answer's."""
    wanted = answer if target is None else target
    others = float(np.delete(logits, wanted).max())
    return others - float(logits[answer]) if target is None else float(logits[target]) - others


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


@dataclass(frozen=True, eq=False)
class Comparison:
    """The same attack on two runs (e.g. trained with and without strong augmentation)."""

    names: tuple[str, str]
    attacks: tuple[Attack, Attack]

    def describe(self, class_names: Sequence[str]) -> str:
        """One sentence per run, then which one held out better."""
        lines = [f"{name}: {attack.describe(class_names)}"
                 for name, attack in zip(self.names, self.attacks, strict=True)]
        fooled = [a.succeeded for a in self.attacks]
        if fooled[0] != fooled[1]:
            lines.append(f"{self.names[fooled.index(False)]} held out at this ε; "
                         f"{self.names[fooled.index(True)]} did not.")
        return "\n".join(lines)


def compare(runs: Sequence[tuple[str, Attacker, np.ndarray]], eps: float,
            target: int | None = None) -> Comparison:
    """The same attack (ε, target) on two runs, each on the image prepared for it.

    Args:
        runs: two ``(name, attacker, image)``: each run's name, its :class:`Attacker` and the
            image prepared by that run's input record.
        eps, target: as for :meth:`Attacker.attack` (the target must be a class of both).
    Returns:
        The :class:`Comparison`; a failed attack carries the smallest ε that worked.
    Raises:
        ValueError: for other than two runs, or as :meth:`Attacker.attack`.
    """
    if len(runs) != 2:
        raise ValueError(f"compare takes two runs; received {len(runs)}")
    attacks = tuple(attacker.attack(image, eps, target) for _, attacker, image in runs)
    return Comparison((runs[0][0], runs[1][0]), attacks)  # type: ignore[arg-type]
