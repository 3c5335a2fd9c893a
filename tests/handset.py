"""A hand-set network whose evidence sits at a known, off-centre place (no training).

conv_1 (3×3 "valid", ReLU): filter 0 fires only where a 3×3 window is almost all bright (a
solid patch; a 1-px line fills at most a third of it), filter 1 on vertical lines. max_pool 2,
then conv_2 (3×3 "valid") passes each channel through by its centre tap. Class c's logit is
the sum of conv_2's channel c. The test image holds a solid 5×5 square near the top right
(rows 3–7, columns 19–23: class 0's only evidence) and vertical lines on the left (class 1's).
"""

from __future__ import annotations

import numpy as np

from cnnlab.architecture import shapes, spec

SQUARE = (3, 19, 8, 24)  # (top, left, bottom, right) of the evidence for class 0
LINES = (2, 5, 26, 14)  # the box holding class 1's vertical lines


def architecture(input_shape: tuple[int, int, int] = (28, 28, 1)) -> spec.Architecture:
    return spec.Architecture("handset", (
        spec.make_layer("conv2d", filters=2, kernel_size=3, activation="relu"),
        spec.make_layer("max_pool2d", pool_size=2),
        spec.make_layer("conv2d", filters=2, kernel_size=3, activation="relu"),
        spec.make_layer("flatten")), input_shape, 2)


def model(channels: int = 1):
    """The Keras model with its hand-set weights, and its summary (grey or colour input)."""
    from cnnlab.models import builder

    arch = architecture((28, 28, channels))
    built = builder.build_model(arch, seed=0)
    solid = np.full((3, 3), 1.0 / 9) / channels  # inputs are 0..1 after the rescaling
    vertical = np.tile(np.array([-1.0, 2.0, -1.0]), (3, 1)) / 3 / channels
    kernel = np.stack([solid, vertical], axis=-1)[:, :, None, :].repeat(channels, axis=2)
    built.get_layer("conv_1").set_weights([kernel.astype(np.float32),
                                           np.array([-0.8, 0.0], np.float32)])
    centre = np.zeros((3, 3, 2, 2), np.float32)
    centre[1, 1, 0, 0] = centre[1, 1, 1, 1] = 1.0
    built.get_layer("conv_2").set_weights([centre, np.zeros(2, np.float32)])
    flat = 11 * 11 * 2
    dense = np.zeros((flat, 2), np.float32)
    dense[0::2, 0] = dense[1::2, 1] = 1.0  # flatten order (h, w, c): channel c -> class c
    built.get_layer("output").set_weights([dense, np.zeros(2, np.float32)])
    return built, shapes.summarize(arch)


def image(channels: int = 1) -> np.ndarray:
    """uint8 (28, 28) (or (28, 28, 3)): the square and the lines on black."""
    pixels = np.zeros((28, 28), np.uint8)
    top, left, bottom, right = SQUARE
    pixels[top:bottom, left:right] = 255
    pixels[LINES[0]:LINES[2], [6, 12]] = 255  # two vertical lines, far apart
    return pixels if channels == 1 else np.repeat(pixels[..., None], channels, axis=-1)


def inside(box: tuple[int, int, int, int], row: float, col: float, margin: float = 0) -> bool:
    """Whether ``(row, col)`` lies within ``box`` grown by ``margin`` pixels."""
    top, left, bottom, right = box
    return top - margin <= row <= bottom - 1 + margin and left - margin <= col <= right - 1 + margin


def peak(values: np.ndarray) -> tuple[int, int]:
    """(row, col) of the largest value."""
    row, col = np.unravel_index(int(np.argmax(values)), values.shape[:2])
    return int(row), int(col)


def centroid(values: np.ndarray) -> tuple[float, float]:
    """(row, col) of the map's centre of mass."""
    total = float(values.sum())
    rows, cols = np.indices(values.shape[:2])
    return float((rows * values).sum() / total), float((cols * values).sum() / total)


def share_in(values: np.ndarray, box: tuple[int, int, int, int], margin: int = 0) -> float:
    """The share of the map's mass inside ``box`` grown by ``margin``."""
    top, left, bottom, right = box
    part = values[max(top - margin, 0):bottom + margin, max(left - margin, 0):right + margin]
    return float(part.sum() / values.sum())
