"""The first-layer filters of a colour (rgb) network as colour patches.

A first conv layer on rgb input has a ``(kernel_h, kernel_w, 3)`` kernel per filter: read as a
tiny picture it shows the colour and edge the filter responds to most. Each filter is stretched
on its own to 0..255 (its smallest weight black, its largest white), as is usual for showing
AlexNet's first-layer filters; the per-channel view (``render.filter_grid``) keeps the signs.
"""

from __future__ import annotations

import numpy as np

from cnnlab.views import render

FILTER_BACKGROUND = render.FILTER_BACKGROUND


def rgb_patches(kernel: np.ndarray) -> np.ndarray:
    """Each filter's ``(kernel_h, kernel_w, 3)`` weights normalised on their own to 0..255.

    Args:
        kernel: ``(kernel_h, kernel_w, 3, filters)`` weights of a conv layer on rgb input.
    Returns:
        uint8 ``(filters, kernel_h, kernel_w, 3)``; a filter whose weights are all equal is
        mid-grey (128).
    Raises:
        ValueError: for a kernel that is not 4-D with 3 input channels.

    Example:
        >>> k = np.zeros((1, 1, 3, 1)); k[0, 0, :, 0] = (2.0, -1.0, 0.5)
        >>> rgb_patches(k)[0, 0, 0].tolist()
        [255, 0, 128]
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 4 or kernel.shape[2] != 3:
        raise ValueError(f"colour patches need a (kernel_h, kernel_w, 3, filters) kernel of a "
                         f"layer on rgb input; received shape {kernel.shape}")
    per_filter = np.moveaxis(kernel, -1, 0)  # (filters, kernel_h, kernel_w, 3)
    low = per_filter.min(axis=(1, 2, 3), keepdims=True)
    span = per_filter.max(axis=(1, 2, 3), keepdims=True) - low
    flat = span == 0
    scaled = np.where(flat, 0.5, (per_filter - low) / np.where(flat, 1, span))
    return np.round(scaled * 255).astype(np.uint8)


def rgb_filter_grid(kernel: np.ndarray, cols: int | None = None, pad: int = 6,
                    scale: int | None = None) -> tuple[np.ndarray, str]:
    """The colour patches of :func:`rgb_patches`, one tile per filter, and a description.

    Returns:
        ``(rgb, description)``: the uint8 ``(height, width, 3)`` grid, e.g.
        ``"32 filters of 3×3 as colour patches, each stretched to black..white"``.
    """
    patches = rgb_patches(kernel)
    filters, kh, kw = patches.shape[:3]
    scale = scale or render.auto_scale(kh, kw)
    big = np.repeat(np.repeat(patches, scale, axis=1), scale, axis=2)
    grid = render.tile(big, cols, pad, fill=FILTER_BACKGROUND)
    return grid, (f"{filters} filters of {kh}×{kw} as colour patches, each stretched on its "
                  "own from its smallest weight (black) to its largest (white)")
