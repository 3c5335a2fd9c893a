"""The Learn page's own image: an uploaded PNG or JPEG, grey or colour, made small enough to
convolve by hand, and split into what one kernel is shown on.

A conv layer on a colour image has one kernel slice per input channel and adds the three
results; the page shows one kernel on each channel separately (``"channels"``) or on the
image converted to grey (``"grey"``, luma as Pillow's "L": 0.299 R + 0.587 G + 0.114 B).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from cnnlab.inspect.pixels import MAX_FILE_BYTES, read_colour_bytes

MAX_SIDE = 64  # the longer side of the image the page convolves, in pixels
MODES = ("channels", "grey")
CHANNEL_NAMES = ("red", "green", "blue")


def learn_image(data: bytes, max_bytes: int = MAX_FILE_BYTES) -> np.ndarray:
    """An image file's bytes as uint8 ``(h, w, 3)`` RGB, its longer side at most
    :data:`MAX_SIDE` pixels (area-averaged, aspect ratio kept).

    Raises:
        cnnlab.inspect.pixels.ImageError: an unreadable or oversized file (the message says).

    Example:
        >>> learn_image(open("cat.jpg", "rb").read()).shape  # doctest: +SKIP
        (48, 64, 3)
    """
    rgb = read_colour_bytes(data, max_bytes)
    h, w = rgb.shape[:2]
    factor = MAX_SIDE / max(h, w)
    if factor < 1:
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))
    return rgb


def is_colour(rgb: np.ndarray) -> bool:
    """True when the channels differ anywhere (a grey file read as RGB has equal channels)."""
    return bool((rgb[..., 0] != rgb[..., 1]).any() or (rgb[..., 1] != rgb[..., 2]).any())


def planes(rgb: np.ndarray, mode: str) -> list[tuple[str, np.ndarray]]:
    """``(title, uint8 (h, w) image)`` pairs to convolve: the red, green and blue channels
    (``"channels"``) or one grey image (``"grey"``).

    Example:
        >>> pixel = np.array([[[255, 0, 0]]], np.uint8)
        >>> [(t, p.tolist()) for t, p in planes(pixel, "grey")]
        [('converted to grey', [[76]])]
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; received {mode!r}")
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"the image must be uint8 (height, width, 3); received {rgb.dtype} "
                         f"shaped {rgb.shape}")
    if mode == "grey":
        return [("converted to grey", np.asarray(Image.fromarray(rgb).convert("L")))]
    return [(f"{name} channel", rgb[..., i].copy()) for i, name in enumerate(CHANNEL_NAMES)]
