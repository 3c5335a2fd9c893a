"""Convolution, stride, padding and pooling, one output cell at a time.

Pure numpy, no TensorFlow: the Learn page steps through these lists and prints their
arithmetic. Padding follows Keras exactly ("same" puts the odd extra row/column at the
bottom/right; average pooling with "same" counts only real cells), and
``tests/test_conv_steps.py`` holds every number against a plain reference and Keras's layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnlab.architecture import conv_arithmetic, fields

PADDINGS = fields.PADDINGS  # the Learn page adds "explicit" padding on top
POOL_MODES = ("max", "avg")
Padding = str | int  # "valid", "same", or that many zero rows/columns on every side


def padding_amounts(n: int, k: int, s: int, padding: Padding) -> tuple[int, int]:
    """Rows (or columns) added before and after one axis of length ``n``, as Keras adds them.

    Args:
        n: input length; k: window length; s: stride.
        padding: "valid", "same" or an explicit number of zero rows/columns per side.

    Returns:
        (before, after). For "same" the total is max((⌈n/s⌉ − 1)·s + k − n, 0) and, when it
        is odd, the extra one goes after (bottom/right), as TensorFlow does.

    Example:
        >>> padding_amounts(6, 4, 1, "same")
        (1, 2)
    """
    if min(n, k, s) < 1:
        raise ValueError(f"sizes and stride must be at least 1. Received: n={n}, k={k}, s={s}")
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = conv_arithmetic.same_padding_total(n, k, s)
        return total // 2, total - total // 2
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool) and padding >= 0:
        return int(padding), int(padding)
    raise ValueError('padding must be "valid", "same" or a whole number of zero rows/columns '
                     f">= 0. Received: padding={padding!r}")


def output_length(n: int, k: int, s: int, padding: Padding) -> int:
    """Output length along one axis; 0 when the window does not fit in the padded input."""
    before, after = padding_amounts(n, k, s, padding)
    return max((n + before + after - k) // s + 1, 0)


@dataclass(frozen=True)
class Padded:
    """The input with its padding: ``grid`` holds ``fill`` where ``real`` is False."""

    grid: np.ndarray  # (top + h + bottom, left + w + right)
    real: np.ndarray  # bool, same shape: True on the input's own cells
    top: int
    bottom: int
    left: int
    right: int


def pad_input(x: np.ndarray, window: int | tuple[int, int], stride: int, padding: Padding,
              fill: float = 0.0) -> Padded:
    """Pad a 2-D input for a ``window`` (kernel or pool size) sliding with ``stride``.

    Args:
        x: the input, shape (h, w).
        window: window size, an int or (rows, cols).
        stride: step between windows, the same along both axes.
        padding: "valid", "same" or a number of zero rows/columns per side.
        fill: the value of padding cells (0 for convolution, NaN to mark "not there").

    Returns:
        A ``Padded`` with the grid, the mask of real cells and the four padding amounts.
    """
    x = np.asarray(x, dtype=float)
    kh, kw = _rows_cols(window)
    top, bottom = padding_amounts(x.shape[0], kh, stride, padding)
    left, right = padding_amounts(x.shape[1], kw, stride, padding)
    widths = ((top, bottom), (left, right))
    grid = np.pad(x, widths, constant_values=fill)
    real = np.pad(np.ones(x.shape, dtype=bool), widths, constant_values=False)
    return Padded(grid, real, top, bottom, left, right)


@dataclass(frozen=True)
class Step:
    """One output cell: where the window sits in the padded grid and what it computes.

    For convolution ``products`` = window · kernel and ``value`` is their sum. For pooling
    ``products`` is None, ``window`` holds NaN on padding, and ``winner`` is the (row, col)
    of the max inside the window (max pooling) or None (average pooling).
    """

    out_row: int
    out_col: int
    top: int  # the window's top-left cell in the padded grid
    left: int
    window: np.ndarray  # (kh, kw)
    value: float
    products: np.ndarray | None = None
    kernel: np.ndarray | None = None
    real: np.ndarray | None = None  # (kh, kw) bool: which window cells are real input
    mode: str = "conv"  # "conv", "max" or "avg"
    winner: tuple[int, int] | None = None


def _rows_cols(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, (int, np.integer)) else (value[0], value[1])


def _positions(padded: Padded, window: tuple[int, int], stride: int):
    rows = range(0, padded.grid.shape[0] - window[0] + 1, stride)
    cols = range(0, padded.grid.shape[1] - window[1] + 1, stride)
    for i, top in enumerate(rows):
        for j, left in enumerate(cols):
            yield i, j, top, left


def conv_steps(x: np.ndarray, kernel: np.ndarray, stride: int = 1,
               padding: Padding = "valid") -> list[Step]:
    """Every output cell of a 2-D cross-correlation (what Keras's Conv2D computes), in order.

    Args:
        x: the input, shape (h, w). kernel: the weights, shape (kh, kw).
        stride: step between windows. padding: "valid", "same" or zero rows/columns per side.

    Returns:
        One ``Step`` per output cell, row by row; empty when the kernel does not fit.

    Example:
        >>> conv_steps(np.arange(9).reshape(3, 3), np.ones((2, 2)))[0].value
        8.0
    """
    kernel = np.asarray(kernel, dtype=float)
    padded = pad_input(x, kernel.shape, stride, padding)
    kh, kw = kernel.shape
    steps = []
    for i, j, top, left in _positions(padded, (kh, kw), stride):
        window = padded.grid[top:top + kh, left:left + kw]
        products = window * kernel
        steps.append(Step(i, j, top, left, window, float(products.sum()), products, kernel,
                          padded.real[top:top + kh, left:left + kw]))
    return steps


def conv_output(x: np.ndarray, kernel: np.ndarray, stride: int = 1,
                padding: Padding = "valid") -> np.ndarray:
    """The whole convolution output at once (vectorised), shape (out_h, out_w)."""
    kernel = np.asarray(kernel, dtype=float)
    grid = pad_input(x, kernel.shape, stride, padding).grid
    if grid.shape[0] < kernel.shape[0] or grid.shape[1] < kernel.shape[1]:
        return np.zeros((0, 0))
    windows = sliding_window_view(grid, kernel.shape)[::stride, ::stride]
    return np.einsum("ijkl,kl->ij", windows, kernel)  # (out_h, out_w)


def _check_pool(padding: Padding, mode: str) -> None:
    if padding not in PADDINGS:
        raise ValueError('pooling padding must be "valid" or "same". '
                         f"Received: padding={padding!r}")
    if mode not in POOL_MODES:
        raise ValueError(f'mode must be "max" or "avg". Received: mode={mode!r}')


def pool_steps(x: np.ndarray, pool_size: int, stride: int, padding: str = "valid",
               mode: str = "max") -> list[Step]:
    """Every output cell of max or average pooling, in order, as Keras computes them.

    Padding cells are NaN and never take part: max ignores them, and the average is taken
    over the real cells only (Keras's AveragePooling2D with "same" does the same).

    Args:
        x: the input, shape (h, w). pool_size: window size. stride: step between windows.
        padding: "valid" or "same". mode: "max" or "avg".

    Returns:
        One ``Step`` per output cell, row by row; for max, ``winner`` marks the max cell.
    """
    _check_pool(padding, mode)
    padded = pad_input(x, pool_size, stride, padding, fill=np.nan)
    kh, kw = _rows_cols(pool_size)
    steps = []
    for i, j, top, left in _positions(padded, (kh, kw), stride):
        window = padded.grid[top:top + kh, left:left + kw]
        real = padded.real[top:top + kh, left:left + kw]
        if mode == "max":
            flat = int(np.nanargmax(window))
            winner = (flat // kw, flat % kw)
            value = float(window[winner])
        else:
            winner, value = None, float(window[real].mean())
        steps.append(Step(i, j, top, left, window, value, real=real, mode=mode, winner=winner))
    return steps


def pool_output(x: np.ndarray, pool_size: int, stride: int, padding: str = "valid",
                mode: str = "max") -> np.ndarray:
    """The whole pooling output at once (vectorised), shape (out_h, out_w)."""
    _check_pool(padding, mode)
    grid = pad_input(x, pool_size, stride, padding, fill=np.nan).grid
    kh, kw = _rows_cols(pool_size)
    if grid.shape[0] < kh or grid.shape[1] < kw:
        return np.zeros((0, 0))
    windows = sliding_window_view(grid, (kh, kw))[::stride, ::stride]
    reduce = np.nanmax if mode == "max" else np.nanmean
    return reduce(windows, axis=(2, 3))  # (out_h, out_w)


def output_grid(steps: list[Step], upto: int) -> np.ndarray:
    """The output as filled in after steps 0..``upto``; cells not computed yet are NaN."""
    if not steps:
        return np.zeros((0, 0))
    out = np.full((steps[-1].out_row + 1, steps[-1].out_col + 1), np.nan)
    for step in steps[:upto + 1]:
        out[step.out_row, step.out_col] = step.value
    return out


def fmt(value: float) -> str:
    """A number as the formulas show it: ``3``, ``-1``, ``0.25``, ``0.11``."""
    if np.isnan(value):
        return "·"
    rounded = round(float(value), 2)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.2f}".rstrip("0")


def _factor(value: float) -> str:
    text = fmt(value)
    return f"({text})" if text.startswith("-") else text


def step_formula(step: Step) -> str:
    """The arithmetic of one step with its numbers.

    Convolution: ``0·1 + 3·0 + 2·(-1) + ... = 7``; max pooling: ``max(3, 5, 1, 0) = 5``;
    average pooling: ``(3 + 5 + 1 + 0) / 4 = 2.25`` (real cells only).
    """
    if step.mode == "conv":
        terms = [f"{_factor(a)}·{_factor(b)}"
                 for a, b in zip(step.window.ravel(), step.kernel.ravel(), strict=True)]
        return f"{' + '.join(terms)} = {fmt(step.value)}"
    values = [fmt(v) for v in step.window[step.real]]
    if step.mode == "max":
        return f"max({', '.join(values)}) = {fmt(step.value)}"
    return f"({' + '.join(values)}) / {len(values)} = {fmt(step.value)}"
