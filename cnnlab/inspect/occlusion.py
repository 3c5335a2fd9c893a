"""Cover it up: how much a class's score falls when a grey square hides each part of the image
(occlusion sensitivity, Zeiler & Fergus 2014).

A square of ``size`` × ``size`` pixels, filled with mid grey (0.5 in [0, 1] pixel units, every
channel), slides over the image ``stride`` pixels at a time; the last row and column of
positions are moved in to touch the image's far edges, so every pixel is covered at least once.
Each position's image is predicted (all of them in a few batched calls) and the class's *score*
(its logit, as for Grad-CAM and saliency: :func:`cnnlab.inspect.attribution.head_logits`) is
compared with the whole image's. The map's own resolution is the grid of positions (12×12 for
a 28×28 image with the defaults). Each position's fall belongs to the square's centre, and the
map is brought to the input's pixels as Grad-CAM's is (:func:`cnnlab.inspect.receptive.place`:
linear between centres, fading beyond the outermost ones), so both share the input's frame.
(Giving every pixel the mean fall of the squares covering it, as Captum's ``Occlusion`` does,
smears a large square's fall into the empty margin next to the evidence.) Only forward
passes: networks whose input gradient is refused
(:func:`cnnlab.inspect.attribution.gradient_hazard`) get occlusion maps too.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from cnnlab.architecture.rows import Summary
from cnnlab.inspect import receptive
from cnnlab.inspect.attribution import head_logits
from cnnlab.inspect.inference import as_batch

GREY = 0.5  # the square's fill, in [0, 1] pixel units
BATCH = 256  # occluded images per call


@dataclass(frozen=True, eq=False)
class Occlusion:
    """An occlusion map of one image for one class.

    Attributes:
        class_index: the class whose score was watched.
        cells: ``(rows, cols)`` float32, the fall of the class's logit with the square at each
            position (negative: covering that part raised the score): the map's own
            resolution.
        fall: ``(height, width)`` float32, ``cells`` placed at the squares' centres on the
            input's pixels.
        heat: ``fall``'s positive part scaled so its largest value is 1 (all zero when no
            position lowers the score), for drawing over the image.
        tops, lefts: the square's top rows and left columns (cell ``(i, j)`` is the square at
            ``(tops[i], lefts[j])``).
        size, stride, fill: the square's side and step in pixels, and its grey in 0..1.
        score, probability: the class's logit and probability on the whole image.
        lowest_probability: the class's probability with the most harmful position covered.
    """

    class_index: int
    cells: np.ndarray
    fall: np.ndarray
    heat: np.ndarray
    tops: tuple[int, ...]
    lefts: tuple[int, ...]
    size: int
    stride: int
    fill: float
    score: float
    probability: float
    lowest_probability: float

    @property
    def resolution(self) -> tuple[int, int]:
        """(rows, cols) of the map's own grid of positions."""
        return len(self.tops), len(self.lefts)


def default_size(height: int, width: int) -> int:
    """The square's side: a fifth of the shorter side, at least 2 px (6 for 28×28)."""
    return max(2, min(height, width, round(min(height, width) / 5)))


def positions(length: int, size: int, stride: int) -> tuple[int, ...]:
    """Where the square starts along one axis: every ``stride`` px, the last moved in to touch
    the far edge.

    Example:
        >>> positions(10, 4, 3)
        (0, 3, 6)
        >>> positions(11, 4, 3)
        (0, 3, 6, 7)
    """
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] + size < length:
        starts.append(length - size)
    return tuple(starts)


def _checked(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"occlusion {name} must be in {low:g}..{high:g}; received {value:g}")


class Occluder:
    """Occlusion maps of one Keras model (from :func:`cnnlab.models.builder`), grey or colour.

    Example:
        >>> from cnnlab.architecture import presets, shapes
        >>> from cnnlab.models import builder
        >>> arch = presets.get("two-conv")
        >>> occluder = Occluder(builder.build_model(arch), shapes.summarize(arch))
        >>> occluder.map(np.zeros((28, 28), np.uint8), 3).resolution
        (12, 12)
    """

    def __init__(self, model: keras.Model, summary: Summary) -> None:
        self.input_shape = tuple(model.input_shape[1:])
        self.num_classes = int(model.output_shape[-1])
        logits_of = head_logits(model, summary)
        signature = [tf.TensorSpec((None, *self.input_shape), tf.float32)]
        self._logits = tf.function(lambda x: logits_of(x)[-1], input_signature=signature)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """``(n, classes)`` logits of ``(n, height, width, channels)`` 0..255 images, in
        batched calls."""
        return np.concatenate([self._logits(tf.constant(batch[start:start + BATCH])).numpy()
                               for start in range(0, len(batch), BATCH)])

    def map(self, image: np.ndarray, class_index: int, size: int | None = None,
            stride: int | None = None, fill: float = GREY) -> Occlusion:
        """The occlusion map of ``image`` for ``class_index``.

        Args:
            image: uint8-range, as for the Predictor: ``(h, w)`` grey, ``(h, w, c)`` or
                ``(1, h, w, c)``.
            class_index: the class whose score is watched.
            size: the square's side in pixels, 1..the shorter side; default
                :func:`default_size`.
            stride: pixels between positions, 1..size; default a third of ``size``.
            fill: the square's grey in [0, 1] units (default 0.5).
        Returns:
            The :class:`Occlusion`.
        Raises:
            ValueError: for an image that does not fit, a class out of range, or a size,
                stride or fill out of range (the message says which and what works).
        """
        if not 0 <= int(class_index) < self.num_classes:
            raise ValueError(f"class_index must be in 0..{self.num_classes - 1}; received "
                             f"{class_index}")
        height, width = self.input_shape[:2]
        size = default_size(height, width) if size is None else int(size)
        _checked("size", size, 1, min(height, width))
        stride = max(1, size // 3) if stride is None else int(stride)
        _checked("stride", stride, 1, size)
        _checked("fill", fill, 0.0, 1.0)
        batch = as_batch(image, self.input_shape)  # (1, height, width, channels)
        tops, lefts = positions(height, size, stride), positions(width, size, stride)
        covered = np.repeat(batch, len(tops) * len(lefts), axis=0)  # one per position
        for i, (top, left) in enumerate((t, m) for t in tops for m in lefts):
            covered[i, top:top + size, left:left + size, :] = fill * 255.0
        logits = self.logits(np.concatenate([batch, covered]))  # (1 + positions, classes)
        k = int(class_index)
        score = float(logits[0, k])
        cells = (score - logits[1:, k]).reshape(len(tops), len(lefts)).astype(np.float32)
        centre = (size - 1) / 2
        fall = receptive.place(cells, np.add(tops, centre), np.add(lefts, centre),
                               (height, width))
        positive = np.maximum(fall, 0)
        top_fall = float(positive.max())
        heat = positive / top_fall if top_fall > 0 else np.zeros_like(positive)
        probabilities = _softmax(logits[:, k], logits)
        return Occlusion(k, cells, fall, heat.astype(np.float32), tops, lefts, size, stride,
                         float(fill), score, float(probabilities[0]),
                         float(probabilities[1:].min()))


def _softmax(chosen: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """The chosen class's probability in each row of ``logits``."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return np.exp(chosen - logits.max(axis=1)) / np.exp(shifted).sum(axis=1)
