"""Transform a prepared 28×28 drawing: shift, rotate, scale, thicken or thin; and the sweep
of shifts and rotations behind the Draw page's stability strip.

Pure numpy + Pillow, no TensorFlow: the sweep takes a ``predict`` function (one call for the
whole batch), e.g. ``lambda batch: inference.predict_batch(model, batch)``.

Images are (height, width) uint8, ink bright on black, as :meth:`Preprocessed.as_uint8`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

MAX_SHIFT = 14
MAX_ANGLE = 180.0
SCALES = (0.25, 4.0)
MAX_THICKNESS = 3
SWEEP_SHIFTS = (-6, -4, -2, 0, 2, 4, 6)
SWEEP_ANGLES = (-30, -20, -10, 0, 10, 20, 30)


def _checked(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.dtype != np.uint8:
        raise ValueError(f"image must be a (height, width) uint8 array; received shape "
                         f"{arr.shape} and dtype {arr.dtype}")
    return arr


def _in_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low:g}..{high:g}; received {value:g}")


def shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Moved ``dx`` px right and ``dy`` px down (negative: left, up); what leaves the field is
    lost and the uncovered side is black. Whole pixels only, no resampling.

    Example:
        >>> shift(np.eye(3, dtype=np.uint8), 1, 0)[0].tolist()
        [0, 1, 0]
    """
    arr = _checked(image)
    if int(dx) != dx or int(dy) != dy:
        raise ValueError(f"dx and dy must be whole pixels; received dx={dx}, dy={dy}")
    dx, dy = int(dx), int(dy)
    h, w = arr.shape
    out = np.zeros_like(arr)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        arr[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def _affine(arr: np.ndarray, angle: float, scale: float) -> np.ndarray:
    """Rotated ``angle`` degrees anticlockwise and scaled about the centre (bilinear)."""
    if angle == 0 and scale == 1:
        return arr
    h, w = arr.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    theta = np.deg2rad(angle)
    # rounded, so a quarter turn is exact (cos 90° is 6e-17 in floating point)
    cos, sin = round(np.cos(theta) / scale, 12), round(np.sin(theta) / scale, 12)
    # Pillow maps each output pixel (x, y) to the input pixel (a·x + b·y + c, d·x + e·y + f)
    a, b, d, e = cos, -sin, sin, cos
    c, f = cx - a * cx - b * cy, cy - d * cx - e * cy
    # Pillow's pixel centres sit at +0.5; the matrix above uses centres at integers
    c += 0.5 * (1 - a - b)
    f += 0.5 * (1 - d - e)
    picture = Image.fromarray(arr).transform((w, h), Image.Transform.AFFINE, (a, b, c, d, e, f),
                                             resample=Image.Resampling.BILINEAR, fillcolor=0)
    return np.asarray(picture, np.uint8)


def _thickness(arr: np.ndarray, steps: int) -> np.ndarray:
    """Grey dilation (steps > 0) or erosion (steps < 0) with a 3×3 square, |steps| times."""
    picture = Image.fromarray(arr)
    grow = ImageFilter.MaxFilter(3) if steps > 0 else ImageFilter.MinFilter(3)
    for _ in range(abs(steps)):
        picture = picture.filter(grow)
    return np.asarray(picture, np.uint8)


def transform(image: np.ndarray, dx: int = 0, dy: int = 0, angle: float = 0.0,
              scale: float = 1.0, thickness: int = 0) -> np.ndarray:
    """The drawing thickened or thinned, then scaled and rotated about the centre, then shifted.

    Args:
        image: (28, 28) uint8 (any height × width works).
        dx, dy: whole pixels right and down, within ±14.
        angle: degrees anticlockwise, within ±180.
        scale: size factor, 0.25..4.
        thickness: 3×3 grey dilations (> 0) or erosions (< 0), within ±3.
    Returns:
        A new uint8 array of the same shape.
    Raises:
        ValueError: naming the setting out of range.
    """
    arr = _checked(image)
    _in_range("dx", dx, -MAX_SHIFT, MAX_SHIFT)
    _in_range("dy", dy, -MAX_SHIFT, MAX_SHIFT)
    _in_range("angle", angle, -MAX_ANGLE, MAX_ANGLE)
    _in_range("scale", scale, *SCALES)
    _in_range("thickness", thickness, -MAX_THICKNESS, MAX_THICKNESS)
    if thickness:
        arr = _thickness(arr, int(thickness))
    return shift(_affine(arr, float(angle), float(scale)), dx, dy)


@dataclass(frozen=True, eq=False)
class Sweep:
    """Predictions across shifts and rotations of one drawing."""

    labels: tuple[str, ...]  # "dx −6", "dy +2", "−30°", ...
    kinds: tuple[str, ...]  # "dx", "dy" or "angle", one per label
    images: np.ndarray  # (n, height, width) uint8
    probabilities: np.ndarray  # (n, classes)

    def predicted(self) -> np.ndarray:
        """(n,) index of the top class of each transformed drawing."""
        return self.probabilities.argmax(axis=1)


def sweep(image: np.ndarray, predict: Callable[[np.ndarray], np.ndarray]) -> Sweep:
    """The drawing shifted −6…+6 px sideways and up/down, and rotated −30…+30°, all
    predicted in ONE call of ``predict`` on an (n, height, width, 1) uint8 batch."""
    arr = _checked(image)
    labels, kinds, images = [], [], []
    for kind, values in (("dx", SWEEP_SHIFTS), ("dy", SWEEP_SHIFTS), ("angle", SWEEP_ANGLES)):
        for value in values:
            settings = {kind: value}
            images.append(transform(arr, **settings))
            labels.append(f"{value:+d}°" if kind == "angle" else f"{kind} {value:+d}")
            kinds.append(kind)
    batch = np.stack(images)  # (n, height, width)
    probabilities = np.asarray(predict(batch[..., None]))
    if probabilities.shape[0] != len(images):
        raise ValueError(f"predict must give one row per image; received "
                         f"{probabilities.shape[0]} rows for {len(images)} images")
    return Sweep(tuple(labels), tuple(kinds), batch, probabilities)
