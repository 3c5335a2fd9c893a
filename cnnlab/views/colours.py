"""Values to colours for :mod:`cnnlab.views.render`: matplotlib's colour maps read once into
256-entry lookup tables (no figures), and the value limits a layer's one shared scale uses.
"""

from __future__ import annotations

import functools

import numpy as np


# Outside the memory budget on purpose: 32 tables of 768 bytes (257 × 3 with a background),
# keyed by colour-map names the code chooses (a user's text never reaches them): 25 kB at most.
@functools.lru_cache(maxsize=32)
def colormap_lut(cmap: str) -> np.ndarray:
    """The ``(256, 3)`` uint8 LUT of a matplotlib colour map (ValueError for unknown names)."""
    import matplotlib  # here, so importing this module stays cheap

    try:
        colormap = matplotlib.colormaps[cmap]
    except KeyError:
        raise ValueError(f"unknown colour map {cmap!r}; use a matplotlib name such as "
                         f"'viridis', 'gray' or 'RdBu_r'") from None
    lut = np.round(colormap(np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def layer_limits(values: np.ndarray, vmin: float | None = None,
                 vmax: float | None = None) -> tuple[float, float]:
    """``(vmin, vmax)`` as given, else the min/max over ALL the layer's values (every channel)."""
    return (float(np.min(values)) if vmin is None else float(vmin),
            float(np.max(values)) if vmax is None else float(vmax))


def diverging_limits(values: np.ndarray) -> tuple[float, float]:
    """``(-m, m)`` with ``m = max |value|`` (``(-1, 1)`` for all zeros): 0 is the middle colour.

    Example:
        >>> diverging_limits(np.array([-0.5, 2.0]))
        (-2.0, 2.0)
    """
    m = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return (-m, m) if m > 0 else (-1.0, 1.0)


def colorize(values: np.ndarray, vmin: float, vmax: float, cmap: str = "viridis") -> np.ndarray:
    """Map values to colours: ``vmin`` → the first LUT entry, ``vmax`` → the last.

    NaN is drawn as ``vmin``; ``vmax <= vmin`` draws everything in the bottom colour.
    Returns uint8 of shape ``values.shape + (3,)``.
    """
    return np.take(colormap_lut(cmap), lut_index(values, vmin, vmax), axis=0)


@functools.lru_cache(maxsize=32)  # as colormap_lut: tiny, keys from the code
def lut_with_background(cmap: str, background: tuple[int, int, int]) -> np.ndarray:
    """The LUT with ``background`` appended as entry 256."""
    return np.concatenate([colormap_lut(cmap), np.array([background], dtype=np.uint8)])


def lut_index(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """uint8 LUT positions: matplotlib's rule ``floor((v − vmin) / span · 256)``, clipped."""
    span = vmax - vmin
    if not span > 0:
        return np.zeros(np.shape(values), dtype=np.uint8)
    scaled = (np.asarray(values, dtype=np.float32) - np.float32(vmin)) * np.float32(256 / span)
    return np.clip(np.nan_to_num(scaled, nan=0.0), 0, 255).astype(np.uint8)
