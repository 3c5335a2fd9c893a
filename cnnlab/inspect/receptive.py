"""What one unit of a feature map can see: its region of the input image, and of the drawing.

A unit at ``(row, col)`` of a layer sees input rows ``row·jump + start`` up to
``row·jump + start + rf − 1`` (and the same for columns), where ``rf`` and ``jump`` are the
shape arithmetic's receptive field and jump (dilation included) and ``start`` moves up by
``pad_before · jump`` at every "same"-padded window (Keras puts the smaller half of the
padding top/left). The region is then clipped to the image. Pure integers, no TensorFlow;
``tests/test_receptive_region.py`` holds it against Keras's gradients. The same arithmetic
places a whole layer's map on the input (:func:`unit_grid`, :func:`to_input`), so Grad-CAM's
upsampling and the outline share one coordinate frame.

Boxes are ``(top, left, bottom, right)`` with ``bottom`` and ``right`` exclusive, like slices:
``image[top:bottom, left:right]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cnnlab.architecture import layer_types
from cnnlab.architecture.conv_arithmetic import same_padding_total
from cnnlab.architecture.rows import Row, Summary
from cnnlab.inspect.preprocess import Placement

Box = tuple[int, int, int, int]


def unit_rows(summary: Summary) -> list[Row]:
    """The rows whose units have a receptive field: every layer with a spatial output."""
    return [row for row in summary.rows if row.receptive_field is not None]


def _row(summary: Summary, layer_name: str) -> tuple[int, Row]:
    for index, row in enumerate(summary.rows):
        if row.name == layer_name:
            if row.receptive_field is None:
                raise ValueError(f"layer {layer_name} ({row.type}) gives a flat vector, so its "
                                 f"units have no place in the image; received layer "
                                 f"{layer_name!r}; use one of "
                                 f"{', '.join(r.name for r in unit_rows(summary))}")
            return index, row
    names = ", ".join(r.name for r in unit_rows(summary)) or "none in this network"
    raise ValueError(f"no layer named {layer_name!r}; use one of {names}")


def _walk(summary: Summary, index: int) -> tuple[list[int], list[int], list[int]]:
    """``(start, jump, rf)`` per axis of the layer at ``index``: unit ``r`` sees input rows
    ``r·jump + start`` to ``r·jump + start + rf − 1``."""
    start, jump, rf = [0, 0], [1, 1], [1, 1]
    for step in summary.rows[:index + 1]:
        out = layer_types.REGISTRY[step.type].rule(step.layer, step.input_shape)
        window = getattr(out, "window", None)
        if not window:
            continue
        kernel, stride = window
        for axis in (0, 1):
            if step.layer.padding == "same":
                n = step.input_shape[axis]
                start[axis] -= same_padding_total(n, kernel[axis], stride[axis]) // 2 * jump[axis]
            rf[axis] += (kernel[axis] - 1) * jump[axis]
            jump[axis] *= stride[axis]
    return start, jump, rf


def region_unclipped(summary: Summary, layer_name: str, row: int, col: int) -> Box:
    """The region before clipping to the image: its size is the receptive field exactly
    (it may reach into the padding, i.e. start above or left of the image).

    Raises:
        ValueError: for an unknown or flat layer, or a position outside the layer's map.
    """
    index, target = _row(summary, layer_name)
    height, width = target.output_shape[0], target.output_shape[1]
    if not (0 <= row < height and 0 <= col < width):
        raise ValueError(f"layer {layer_name}: position ({row}, {col}) is outside its "
                         f"{height}×{width} map; received row {row}, col {col}; use rows "
                         f"0..{height - 1} and columns 0..{width - 1}")
    start, jump, rf = _walk(summary, index)
    top, left = row * jump[0] + start[0], col * jump[1] + start[1]
    return top, left, top + rf[0], left + rf[1]


@dataclass(frozen=True)
class Grid:
    """Where a layer's units sit on the input image, in its pixel-index coordinates (pixel
    ``(y, x)`` has its centre at ``(y, x)``): unit ``(r, c)``'s receptive field is centred at
    ``(origin[0] + r·step[0], origin[1] + c·step[1])``.

    A 3×3 "valid" conv's units are centred on input pixels 1, 2, ..., 26 of a 28-pixel side,
    not spread over 0..27: stretching the map over the whole image moves each unit's value
    away from the pixels it saw (by up to 3 px for two-conv's ``conv_2``).
    """

    shape: tuple[int, int]  # the layer's map: (rows, columns)
    origin: tuple[float, float]  # centre of unit (0, 0)
    step: tuple[int, int]  # input pixels from one unit's centre to the next (the jump)


def unit_grid(summary: Summary, layer_name: str) -> Grid:
    """The :class:`Grid` of a layer with a spatial output.

    Raises:
        ValueError: as :func:`region_unclipped`.

    Example:
        >>> from cnnlab.architecture import presets, shapes
        >>> unit_grid(shapes.summarize(presets.get("two-conv")), "conv_2")
        Grid(shape=(11, 11), origin=(3.5, 3.5), step=(2, 2))
    """
    index, target = _row(summary, layer_name)
    start, jump, rf = _walk(summary, index)
    origin = tuple(start[axis] + (rf[axis] - 1) / 2 for axis in (0, 1))
    return Grid((target.output_shape[0], target.output_shape[1]), origin,  # type: ignore[arg-type]
                (jump[0], jump[1]))


def _axis_weights(size: int, centres: np.ndarray) -> np.ndarray:
    """(size, cells): each pixel's linear weights on the two nearest cell centres (sorted),
    fading to zero beyond the outermost centres over the spacing next to them; one cell: 1."""
    if len(centres) == 1:
        return np.ones((size, 1), np.float64)
    gap_low, gap_high = centres[1] - centres[0], centres[-1] - centres[-2]
    ring = np.concatenate([[centres[0] - gap_low], centres, [centres[-1] + gap_high]])
    pixels = np.arange(size, dtype=np.float64)
    high = np.clip(np.searchsorted(ring, pixels, side="right"), 1, len(ring) - 1)
    share = np.clip((pixels - ring[high - 1]) / (ring[high] - ring[high - 1]), 0, 1)
    weights = np.zeros((size, len(ring)), np.float64)  # with a zero cell on either side
    weights[np.arange(size), high - 1] += 1 - share
    weights[np.arange(size), high] += share
    return weights[:, 1:-1]


def place(values: np.ndarray, row_centres: np.ndarray, col_centres: np.ndarray,
          input_hw: tuple[int, int]) -> np.ndarray:
    """``(rows, cols)`` cells at the input's resolution: cell ``(i, j)``'s value at input pixel
    ``(row_centres[i], col_centres[j])`` (pixel-index coordinates, increasing), linear in
    between, fading to zero over one spacing beyond the outermost centres (:func:`to_input`)."""
    values = np.asarray(values, np.float64)
    rows = _axis_weights(input_hw[0], np.asarray(row_centres, np.float64))
    cols = _axis_weights(input_hw[1], np.asarray(col_centres, np.float64))
    return (rows @ values @ cols.T).astype(np.float32)  # (height, width)


def to_input(values: np.ndarray, grid: Grid, input_hw: tuple[int, int]) -> np.ndarray:
    """A layer's ``(rows, columns)`` map at the input's resolution, in the input's frame: each
    unit's value sits at the centre of its receptive field and values between centres are
    interpolated linearly. Beyond the outermost centres the value fades to zero over one step,
    as if the map were ringed by zero cells: the margins are seen only by the edges of the
    outer units' fields, and holding the outer values constant would paint evidence into
    them. Along an axis the map is one unit wide, it says nothing about position: constant.

    Example:
        >>> grid = Grid((2, 1), (2.0, 0.0), (2, 1))  # units centred on rows 2 and 4
        >>> to_input(np.array([[1.0], [0.5]]), grid, (7, 1))[:, 0].tolist()
        [0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0]
    """
    if np.shape(values) != grid.shape:
        raise ValueError(f"values must have the layer's map shape {grid.shape}; received "
                         f"{np.shape(values)}")
    rows = grid.origin[0] + grid.step[0] * np.arange(grid.shape[0])
    cols = grid.origin[1] + grid.step[1] * np.arange(grid.shape[1])
    return place(values, rows, cols, input_hw)


def input_region(summary: Summary, layer_name: str, row: int, col: int) -> Box:
    """The input pixels the unit ``(row, col)`` of ``layer_name`` can see (any channel).

    Args:
        summary: the network's :func:`cnnlab.architecture.shapes.summarize` result.
        layer_name: a row's name (``conv_1``, ``pool_2``, ...) with a spatial output.
        row, col: the unit's position in that layer's map, from 0.
    Returns:
        ``(top, left, bottom, right)``, bottom/right exclusive, clipped to the input image.
    Raises:
        ValueError: as :func:`region_unclipped`.

    Example:
        >>> from cnnlab.architecture import presets, shapes
        >>> input_region(shapes.summarize(presets.get("two-conv")), "conv_1", 0, 0)
        (0, 0, 3, 3)
    """
    top, left, bottom, right = region_unclipped(summary, layer_name, row, col)
    h, w = summary.input_shape[0], summary.input_shape[1]
    return max(top, 0), max(left, 0), min(bottom, h), min(right, w)


def to_drawing(box: Box, placement: Placement | None,
               drawing_shape: tuple[int, ...]) -> Box | None:
    """The part of the drawing (the ``"as drawn"`` step) that ends up in ``box`` of the final
    image, through the preprocessing's crop, scale and shift; None when the box holds none of
    the drawing (or no placement is known, e.g. for a blank drawing).

    Example:
        >>> to_drawing((0, 0, 28, 28), Placement(10, 20, 0.5, 0.5, 4, 4), (100, 100))
        (2, 12, 58, 68)
    """
    if placement is None:
        return None
    top, left, bottom, right = box
    p = placement
    d_top = math.floor(p.crop_top + (top - p.offset_top) / p.scale_y)
    d_bottom = math.ceil(p.crop_top + (bottom - p.offset_top) / p.scale_y)
    d_left = math.floor(p.crop_left + (left - p.offset_left) / p.scale_x)
    d_right = math.ceil(p.crop_left + (right - p.offset_left) / p.scale_x)
    h, w = drawing_shape[0], drawing_shape[1]
    clipped = max(d_top, 0), max(d_left, 0), min(d_bottom, h), min(d_right, w)
    if clipped[0] >= clipped[2] or clipped[1] >= clipped[3]:
        return None
    return clipped
