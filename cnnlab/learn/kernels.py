"""Kernel presets, typed-in kernels, and what a kernel does to a real image.

Pure numpy. The presets are the classic hand-made filters (edge detectors, blur, sharpen),
built for any size from binomial rows so a 5×5 Sobel or Gaussian is the usual one.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from cnnlab.learn.conv_steps import Padding, conv_output, pool_output

MAX_KERNEL = 7


def _binomial(m: int) -> np.ndarray:
    """Row ``m`` of Pascal's triangle (``m`` entries): [1], [1, 1], [1, 2, 1], ..."""
    return np.array([comb(m - 1, i) for i in range(m)], dtype=float)


def _derivative(k: int) -> np.ndarray:
    """A smoothed left-minus-right difference of length ``k``: [1, 0, -1], [1, 2, 0, -2, -1]."""
    return np.convolve(_binomial(k - 1), [1.0, -1.0])


def _identity(k: int) -> np.ndarray:
    kernel = np.zeros((k, k))
    kernel[(k - 1) // 2, (k - 1) // 2] = 1.0  # the centre; with "same" padding, exact identity
    return kernel


def _sharpen(k: int) -> np.ndarray:
    kernel = np.zeros((k, k))
    c = (k - 1) // 2
    kernel[c, c] = 5.0
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        kernel[c + dr, c + dc] = -1.0
    return kernel


# name -> (builder for a k×k kernel, smallest k it makes sense for)
_PRESETS = {
    "vertical edge": (lambda k: np.tile(np.sign(np.arange(k)[::-1] - (k - 1) / 2), (k, 1)), 2),
    "horizontal edge": (lambda k: np.tile(np.sign(np.arange(k)[::-1] - (k - 1) / 2), (k, 1)).T,
                        2),
    "Sobel vertical": (lambda k: np.outer(_binomial(k), _derivative(k)), 3),
    "Sobel horizontal": (lambda k: np.outer(_derivative(k), _binomial(k)), 3),
    "box blur": (lambda k: np.full((k, k), 1.0 / (k * k)), 2),
    "Gaussian blur": (lambda k: np.outer(_binomial(k), _binomial(k)) / 4.0 ** (k - 1), 3),
    "sharpen": (_sharpen, 3),
    "identity": (_identity, 1),
}
PRESET_NAMES = tuple(_PRESETS)


def presets_for(size: int) -> tuple[str, ...]:
    """The preset names that exist for a ``size``×``size`` kernel."""
    return tuple(name for name, (_, smallest) in _PRESETS.items() if size >= smallest)


def kernel_preset(name: str, size: int = 3) -> np.ndarray:
    """A classic kernel of ``size``×``size``.

    Args:
        name: one of ``PRESET_NAMES``: vertical/horizontal edge, Sobel vertical/horizontal,
            box blur, Gaussian blur, sharpen, identity.
        size: 1 to ``MAX_KERNEL``; ``presets_for(size)`` lists what exists for it.

    Returns:
        A float array (size, size).

    Example:
        >>> kernel_preset("Sobel vertical", 3).tolist()[1]
        [2.0, 0.0, -2.0]
    """
    if name not in _PRESETS:
        raise ValueError(f"unknown kernel preset {name!r}; use one of {', '.join(PRESET_NAMES)}")
    build, smallest = _PRESETS[name]
    if not smallest <= size <= MAX_KERNEL:
        raise ValueError(f"the {name} kernel needs a size from {smallest} to {MAX_KERNEL}. "
                         f"Received: size={size}")
    return np.asarray(build(size), dtype=float) + 0.0  # + 0.0 turns -0.0 into 0.0


def parse_kernel(text: str, max_size: int = MAX_KERNEL) -> np.ndarray:
    """Read a typed kernel: one row per line (or rows split by ";"), numbers split by spaces
    or commas.

    Fractions like ``1/9`` are allowed. Every row must have the same number of values.

    Args:
        text: e.g. ``"1 0 -1\\n2 0 -2\\n1 0 -1"``.
        max_size: the largest number of rows or columns accepted.

    Returns:
        A float array (rows, cols).

    Raises:
        ValueError: with a message that says which row is wrong and why.

    Example:
        >>> parse_kernel("1, 0\\n0, 1/2").tolist()
        [[1.0, 0.0], [0.0, 0.5]]
    """
    lines = [line.strip() for line in text.replace(";", "\n").splitlines() if line.strip()]
    if not lines:
        raise ValueError("the kernel is empty: type one row of numbers per line, e.g. 1 0 -1")
    rows = []
    for number, line in enumerate(lines, start=1):
        row = []
        for token in line.replace(",", " ").split():
            try:
                row.append(_number(token))
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"row {number}: {token!r} is not a number "
                                 "(use e.g. 2, -1, 0.5 or 1/9)") from None
        rows.append(row)
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        counts = ", ".join(str(len(row)) for row in rows)
        raise ValueError(f"every row needs the same number of values; the rows have {counts}")
    if len(rows) > max_size or len(rows[0]) > max_size:
        raise ValueError(f"the kernel is {len(rows)}×{len(rows[0])}; at most "
                         f"{max_size}×{max_size} is allowed")
    return np.array(rows, dtype=float)


def _number(token: str) -> float:
    if "/" in token:
        top, bottom = token.split("/", 1)
        value = float(top) / float(bottom)
    else:
        value = float(token)
    if not np.isfinite(value):
        raise ValueError(token)
    return value


def kernel_text(kernel: np.ndarray) -> str:
    """A kernel as ``parse_kernel`` reads it back: one row per line."""
    def number(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else f"{v:.4g}"
    return "\n".join(" ".join(number(v) for v in row) for row in kernel)


@dataclass(frozen=True)
class Stage:
    """One picture of the real-image pipeline: a 2-D array and how it was made."""

    name: str
    values: np.ndarray  # (height, width)
    note: str

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape


def feature_map_stages(image: np.ndarray, kernel: np.ndarray, padding: Padding = "valid",
                       pool_size: int = 2) -> list[Stage]:
    """A kernel applied to an image the way one conv filter and a pooling layer see it.

    Args:
        image: a grey image (height, width), e.g. a 28×28 digit; uint8 is scaled to [0, 1].
        kernel: the weights (kh, kw). padding: the convolution's padding.
        pool_size: the max pooling window (and stride), "valid" padding as Keras's default.

    Returns:
        Four stages: the input, the raw feature map (may be negative), after ReLU, and after
        max pooling.

    Example:
        >>> [s.shape for s in feature_map_stages(np.zeros((28, 28)), np.ones((3, 3)))]
        [(28, 28), (26, 26), (26, 26), (13, 13)]
    """
    x = np.asarray(image, dtype=float)
    if np.asarray(image).dtype == np.uint8:
        x = x / 255.0
    kernel = np.asarray(kernel, dtype=float)
    raw = conv_output(x, kernel, 1, padding)
    relu = np.maximum(raw, 0.0)
    pooled = pool_output(relu, pool_size, pool_size, "valid", "max")
    kh, kw = kernel.shape
    return [
        Stage("input", x, "pixels scaled to 0–1"),
        Stage("feature map", raw, f"{kh}×{kw} kernel, stride 1, padding {padding!r}"),
        Stage("after ReLU", relu, "max(0, x): negative values become 0"),
        Stage(f"after {pool_size}×{pool_size} max pooling", pooled,
              f"the largest of each {pool_size}×{pool_size} block"),
    ]


def sample_digit() -> np.ndarray:
    """A hand-made 28×28 uint8 "7", for when the built-in digits cannot be loaded."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[6:9, 7:22] = 255  # the bar
    for row in range(9, 24):  # the stroke, down and to the left, 3 pixels wide
        col = round(20 - (row - 9) * 0.6)
        image[row, col - 1:col + 2] = 255
    return image
