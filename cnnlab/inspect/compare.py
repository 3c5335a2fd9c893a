"""Two runs side by side: the same drawing through both, each prepared by its own run's record.

The drawing is kept as drawn (the ``"as drawn"`` step: ink = 1 on 0, any size) and prepared
again for each run by that run's input record (:class:`cnnlab.data.kinds.InputFormat`: size and
MNIST centring or a plain resize, :mod:`cnnlab.inspect.for_run`), so a digits run and a
Fashion-MNIST run each see what their training images looked like. For
each run a :class:`Side` holds its prediction, probabilities, first conv layer's maps and the
Grad-CAM of its predicted class; a run that cannot take a drawing says why in ``message``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnlab.data import kinds
from cnnlab.inspect import for_run
from cnnlab.inspect.attribution import CONV_TYPES, Explainer, Explanation
from cnnlab.inspect.inference import FeatureMap, Predictor
from cnnlab.inspect.pixels import ImageError


@dataclass(frozen=True, eq=False)
class Side:
    """What one run makes of the drawing; ``message`` says why something is missing."""

    name: str
    class_names: tuple[str, ...]
    image: np.ndarray | None = None  # uint8 (height, width): the prepared drawing
    probabilities: np.ndarray | None = None  # (classes,)
    first_conv: FeatureMap | None = None  # None for a network without a conv layer
    explanation: Explanation | None = None  # Grad-CAM and saliency of the predicted class
    message: str = ""

    @property
    def top(self) -> int | None:
        """Index of the predicted class, None when the run could not take the drawing."""
        return None if self.probabilities is None else int(np.argmax(self.probabilities))


def prepare(drawn: np.ndarray, fmt: kinds.InputFormat) -> np.ndarray:
    """The drawing (the ``"as drawn"`` ink image) prepared for a run of input format ``fmt``:
    uint8 (height, width).

    Raises:
        ValueError: for a colour run (a drawing is grey ink; the message says so), or a
            drawing that is blank.

    Example:
        >>> ink = np.zeros((280, 280), np.float32); ink[60:220, 130:150] = 1
        >>> prepare(ink, kinds.InputFormat(32, 32)).shape
        (32, 32)
    """
    try:
        prepared = for_run.prepare_canvas(np.asarray(drawn, np.float32), fmt)
    except ImageError as exc:
        raise ValueError(str(exc)) from exc
    if prepared.blank:
        raise ValueError(f"the drawing is blank for this run: {prepared.note}")
    return prepared.as_uint8()


def first_conv_map(maps: list[FeatureMap]) -> FeatureMap | None:
    """The first conv (or depthwise conv) layer's maps, by layer type; None without one."""
    return next((m for m in maps if m.type in CONV_TYPES and m.spatial), None)


def side(name: str, class_names: tuple[str, ...], fmt: kinds.InputFormat,
         predictor: Predictor, explainer: Explainer | str, drawn: np.ndarray) -> Side:
    """One run's view of the drawing.

    Args:
        name, class_names, fmt: the run's record (:func:`cnnlab.data.kinds.input_format`).
        predictor: the run's :class:`Predictor` (its input shape is the run's).
        explainer: the run's :class:`Explainer`, or the reason it has none.
        drawn: the ``"as drawn"`` ink image (float 0..1, ink = 1), any size.
    Returns:
        A :class:`Side`; when the run cannot take the drawing, only ``message`` is set.
    """
    try:
        image = prepare(drawn, fmt)
    except ValueError as exc:
        return Side(name, tuple(class_names), message=str(exc))
    maps = predictor.feature_maps(image)
    probs = maps[-1].values  # the softmax head's output
    top = int(np.argmax(probs))
    if isinstance(explainer, str):
        explanation, message = None, explainer
    else:
        explanation = explainer.explain(image, top)
        message = explanation.message
    return Side(name, tuple(class_names), image, probs, first_conv_map(maps), explanation,
                message)


def verdict(left: Side, right: Side) -> str:
    """One sentence: do the two runs agree on the drawing?

    Example:
        >>> a = Side("a", ("0", "1"), probabilities=np.array([0.2, 0.8]))
        >>> verdict(a, Side("b", ("0", "1"), probabilities=np.array([0.9, 0.1])))
        'They disagree: a says 1 (80%), b says 0 (90%).'
    """
    if left.top is None or right.top is None:
        return "Only one of the two runs can take this drawing."
    said = [f"{s.name} says {s.class_names[s.top]} ({s.probabilities[s.top]:.0%})"
            for s in (left, right)]
    same = left.class_names[left.top] == right.class_names[right.top]
    return f"{'Both agree' if same else 'They disagree'}: {said[0]}, {said[1]}."
