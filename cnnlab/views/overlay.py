"""Pictures for "Inside the decision": a heat map over an image, a signed map (the saliency
map's gradient) over it, a unit's outline, and an attack's change in a diverging colour map.

Pure numpy: (h, w) grey or (h, w, 3) colour inputs in, (H, W, 3) uint8 RGB out, enlarged by
whole pixels so each input pixel stays a sharp square.
"""

from __future__ import annotations

import numpy as np

from cnnlab.views import colours, render

OUTLINE = (255, 64, 64)  # red: seen on black ink-free background and on white ink
HEAT_ALPHA = 0.6  # the heat map's share of each pixel's colour


def grey_rgb(image: np.ndarray) -> np.ndarray:
    """(h, w) uint8, or float in 0..1, as (h, w, 3) uint8 grey."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)
    return np.repeat(arr[..., None], 3, axis=-1)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """A grey ``(h, w)`` / ``(h, w, 1)`` or colour ``(h, w, 3)`` image, uint8 or float in 0..1,
    as ``(h, w, 3)`` uint8."""
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 2:
        return grey_rgb(arr)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"image must be (h, w) grey or (h, w, 3) colour; received shape "
                         f"{arr.shape}")
    if arr.dtype != np.uint8:
        arr = np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8)
    return arr


def heat_overlay(image: np.ndarray, heat: np.ndarray, scale: int = 8,
                 cmap: str = "inferno", alpha: float = HEAT_ALPHA) -> np.ndarray:
    """``heat`` (0..1, same height × width as ``image``) coloured over the grey or colour image.

    Example:
        >>> heat_overlay(np.zeros((2, 2), np.uint8), np.ones((2, 2)), scale=3).shape
        (6, 6, 3)
    """
    if np.shape(heat) != np.shape(image)[:2]:
        raise ValueError(f"heat must have the image's shape {np.shape(image)[:2]}; received "
                         f"{np.shape(heat)}")
    coloured = colours.colorize(np.asarray(heat, np.float32), 0.0, 1.0, cmap).astype(np.float32)
    mixed = (1 - alpha) * as_rgb(image).astype(np.float32) + alpha * coloured
    return render.upscale(np.round(mixed).astype(np.uint8), scale)


def signed_overlay(image: np.ndarray, values: np.ndarray, scale: int = 8, cmap: str = "RdBu_r",
                   alpha: float = 0.75) -> np.ndarray:
    """Signed ``values`` (in -1..1, the image's height × width) in a diverging colour map over
    the grey or colour image: red above zero, blue below, white at zero.

    Example:
        >>> signed_overlay(np.zeros((1, 2), np.uint8), np.array([[1.0, -1.0]]), 1)[0].tolist()
        [[77, 0, 23], [4, 36, 73]]
    """
    if np.shape(values) != np.shape(image)[:2]:
        raise ValueError(f"values must have the image's shape {np.shape(image)[:2]}; received "
                         f"{np.shape(values)}")
    coloured = colours.colorize(np.asarray(values, np.float32), -1.0, 1.0, cmap)
    mixed = (1 - alpha) * as_rgb(image).astype(np.float32) + alpha * coloured.astype(np.float32)
    return render.upscale(np.round(mixed).astype(np.uint8), scale)


def outlined(image: np.ndarray, box: tuple[int, int, int, int], scale: int = 8,
             width: int = 2, colour: tuple[int, int, int] = OUTLINE) -> np.ndarray:
    """The grey or colour image enlarged ``scale`` times with a rectangle drawn around ``box``
    (top, left, bottom, right; bottom/right exclusive, in the image's own pixels)."""
    rgb = render.upscale(as_rgb(image), scale)
    top, left, bottom, right = (v * scale for v in box)
    h, w = rgb.shape[:2]
    top, left = max(top, 0), max(left, 0)
    bottom, right = min(bottom, h), min(right, w)
    if bottom <= top or right <= left:
        return rgb
    t = max(1, min(width, (bottom - top) // 2, (right - left) // 2))
    rgb[top:top + t, left:right] = colour
    rgb[bottom - t:bottom, left:right] = colour
    rgb[top:bottom, left:left + t] = colour
    rgb[top:bottom, right - t:right] = colour
    return rgb


def change_picture(change: np.ndarray, scale: int = 8, cmap: str = "RdBu_r") -> np.ndarray:
    """An attack's change (``(h, w)`` or ``(h, w, 3)``, in [-1, 1] pixel units), amplified
    so the largest change is full colour: red brighter, blue darker, white unchanged (a colour
    image's change is averaged over its channels).

    Example:
        >>> change_picture(np.array([[0.1, -0.1], [0.0, 0.05]]), scale=1)[1, 0].tolist()
        [247, 246, 246]
    """
    values = np.asarray(change, np.float32)
    if values.ndim == 3:
        values = values.mean(axis=-1)
    low, high = colours.diverging_limits(values)
    return render.upscale(colours.colorize(values, low, high, cmap), scale)
