"""NumPy arrays to RGB images for the pages: feature-map grids, strips, filters, legends.

NumPy only, plus matplotlib's colour maps read once into 256-entry lookup tables; no figures.
Every function returns ``uint8`` arrays of shape ``(height, width, 3)`` that ``st.image`` shows
as they are. A layer's maps share ONE colour scale so channels can be compared; small maps are
enlarged by repeating pixels (nearest neighbour) so they stay crisp.
"""

from __future__ import annotations

import math

import numpy as np

from cnnlab.views import colours

BACKGROUND = (255, 255, 255)  # separators and empty grid cells
FILTER_BACKGROUND = (96, 96, 96)  # white would vanish into a diverging map's middle colour
STRIP_COLS = 64  # vector_strip's default cells per row
TILE_TARGET = 48  # automatic scale: smallest factor making a tile at least this many pixels


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Enlarge an ``(h, w)`` or ``(h, w, c)`` image ``factor`` times by repeating pixels.

    Example:
        >>> upscale(np.eye(2, dtype=np.uint8), 2).shape
        (4, 4)
    """
    if factor < 1:
        raise ValueError(f"factor must be at least 1; received {factor}")
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)


def thumbnail(img: np.ndarray, size: int = 112, pad: int = 64) -> np.ndarray:
    """A ``(size, size, 3)`` uint8 picture of a grey ``(h, w)`` or colour ``(h, w, 3)`` image
    (values 0..1), for a row of steps that all line up: a non-square image is centred on a grey
    (``pad``) square first, so its shape still shows, then scaled by nearest neighbour.

    Example:
        >>> thumbnail(np.ones((280, 140)), size=8)[0].tolist()[:3]
        [[64, 64, 64], [64, 64, 64], [255, 255, 255]]
    """
    img = np.asarray(img, dtype=float)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 3) or img.size == 0:
        raise ValueError(f"thumbnail needs a non-empty (h, w) grey or (h, w, 3) colour image; "
                         f"received shape {img.shape}")
    side = max(img.shape[:2])
    square = np.full((side, side, img.shape[2]), pad, dtype=np.uint8)
    top, left = (side - img.shape[0]) // 2, (side - img.shape[1]) // 2
    square[top:top + img.shape[0], left:left + img.shape[1]] = np.round(
        np.clip(img, 0, 1) * 255).astype(np.uint8)
    index = np.arange(size) * side // size
    return np.broadcast_to(square[np.ix_(index, index)], (size, size, 3)).copy()


def input_picture(image: np.ndarray, target: int = 140) -> np.ndarray:
    """A model input (uint8-range ``(h, w)``, ``(h, w, 1)`` grey or ``(h, w, 3)`` colour) as a
    ``(h·s, w·s, 3)`` uint8 picture about ``target`` px on its longer side: grey as grey,
    colour in its own colours.

    Example:
        >>> input_picture(np.full((2, 2, 3), (255, 0, 0), np.uint8), target=4)[0, 0].tolist()
        [255, 0, 0]
    """
    arr = np.asarray(image)
    arr = arr[..., None] if arr.ndim == 2 else arr
    if arr.ndim != 3 or arr.shape[2] not in (1, 3) or arr.size == 0:
        raise ValueError(f"an input picture needs an (h, w), (h, w, 1) or (h, w, 3) image; "
                         f"received shape {arr.shape}")
    rgb = np.broadcast_to(np.clip(np.round(arr), 0, 255).astype(np.uint8),
                          (*arr.shape[:2], 3))
    return upscale(rgb, max(1, target // max(arr.shape[:2])))


def auto_scale(height: int, width: int, target: int = TILE_TARGET) -> int:
    """The smallest whole factor that makes a ``height × width`` tile at least ``target`` px."""
    return max(1, math.ceil(target / max(height, width, 1)))


def grid_shape(n: int, cols: int | None = None) -> tuple[int, int]:
    """``(rows, cols)`` for ``n`` tiles: ``cols`` given, or a near-square grid."""
    cols = max(1, min(n, cols if cols else math.ceil(math.sqrt(n))))
    return max(1, math.ceil(n / cols)), cols


def tile(tiles: np.ndarray, cols: int | None = None, pad: int = 1,
         fill: int | tuple[int, ...] = BACKGROUND) -> np.ndarray:
    """``(n, h, w, ...)`` tiles row by row with ``pad``-pixel separators and empty cells of
    ``fill``: shape ``(rows·(h + pad) − pad, cols·(w + pad) − pad, ...)``."""
    n, h, w = tiles.shape[:3]
    rows, cols = grid_shape(n, cols)
    cells = np.empty((rows * cols, h + pad, w + pad, *tiles.shape[3:]), dtype=tiles.dtype)
    cells[n:] = fill
    cells[:n, h:] = fill
    cells[:n, :h, w:] = fill
    cells[:n, :h, :w] = tiles
    grid = cells.reshape(rows, cols, h + pad, w + pad, *tiles.shape[3:]).swapaxes(1, 2)
    grid = grid.reshape(rows * (h + pad), cols * (w + pad), *tiles.shape[3:])
    return np.ascontiguousarray(grid[:grid.shape[0] - pad, :grid.shape[1] - pad])


def channel_grid(
    values: np.ndarray, vmin: float | None = None, vmax: float | None = None,
    cmap: str = "viridis", cols: int | None = None, pad: int = 1, scale: int | None = None,
    background: tuple[int, int, int] = BACKGROUND,
) -> tuple[np.ndarray, float, float]:
    """All channels of one feature map as one grid image with ONE colour scale.

    Args:
        values: ``(height, width, channels)`` activations of one layer.
        vmin: value of the bottom colour; default the layer's minimum.
        vmax: value of the top colour; default the layer's maximum.
        cmap: a matplotlib colour-map name (``"RdBu_r"`` with :func:`diverging_limits`).
        cols: tiles per row; default a near-square grid.
        pad: separator width in pixels (after upscaling).
        scale: nearest-neighbour enlargement; default :func:`auto_scale`.
        background: RGB of the separators and empty cells.
    Returns:
        ``(rgb, vmin, vmax)``: the uint8 image and the limits used (for :func:`colorbar_image`).

    Example:
        >>> rgb, low, high = channel_grid(np.zeros((5, 5, 4)), scale=2)
        >>> rgb.shape
        (21, 21, 3)
    """
    values = np.asarray(values)
    if values.ndim != 3 or min(values.shape) < 1:
        raise ValueError(f"values must be a non-empty (height, width, channels) map; received "
                         f"shape {values.shape}")
    vmin, vmax = colours.layer_limits(values, vmin, vmax)
    scale = scale or auto_scale(values.shape[0], values.shape[1])
    # Tile the LUT positions, not colours (a third of the bytes); 256 marks the background.
    index = colours.lut_index(np.moveaxis(values, -1, 0), vmin, vmax).astype(np.uint16)
    index = np.repeat(np.repeat(index, scale, axis=1), scale, axis=2)  # (channels, h·s, w·s)
    grid = tile(index, cols, pad, fill=256)
    return np.take(colours.lut_with_background(cmap, tuple(background)), grid, axis=0), vmin, vmax


def vector_strip(
    values: np.ndarray, vmin: float | None = None, vmax: float | None = None,
    cmap: str = "viridis", cell: int = 8, height: int | None = None, cols: int | None = None,
    pad: int = 0,
) -> tuple[np.ndarray, float, float]:
    """A dense layer's activations as a strip of coloured cells, wrapped after ``cols``.

    Args:
        values: ``(units,)`` activations.
        vmin: value of the bottom colour; default the minimum.
        vmax: value of the top colour; default the maximum.
        cmap: a matplotlib colour-map name.
        cell: width of one unit's cell in pixels.
        height: height of a row of cells; default 3·cell for one row, else square cells.
        cols: units per row; default :data:`STRIP_COLS` (a flatten of 1,600 values wraps).
        pad: separator between cells in pixels.
    Returns:
        ``(rgb, vmin, vmax)`` like :func:`channel_grid`.

    Example:
        >>> vector_strip(np.arange(10.0), cell=4, height=6)[0].shape
        (6, 40, 3)
    """
    values = np.asarray(values).reshape(-1)
    if values.size == 0:
        raise ValueError("values must hold at least one activation; received none")
    vmin, vmax = colours.layer_limits(values, vmin, vmax)
    cells = colours.colorize(values, vmin, vmax, cmap)[:, None, None, :]  # (units, 1, 1, 3)
    cols = min(values.size, cols or STRIP_COLS)
    height = height or (3 * cell if cols == values.size else cell)
    cells = np.broadcast_to(cells, (values.size, height, cell, 3))
    return tile(cells, cols, pad), vmin, vmax


def colorbar_image(vmin: float, vmax: float, cmap: str = "viridis", width: int = 256,
                   height: int = 12, labels: bool = True) -> np.ndarray:
    """A horizontal legend: the colour map from ``vmin`` (left) to ``vmax`` (right).

    Args:
        vmin: the value at the left end (written under it when ``labels``).
        vmax: the value at the right end.
        cmap: a matplotlib colour-map name.
        width: bar width in pixels.
        height: bar height in pixels.
        labels: write vmin, the middle value and vmax under the bar.
    Returns:
        uint8 ``(height, width, 3)``, plus a text band when ``labels``.
    """
    if width < 2 or height < 1:
        raise ValueError(f"width must be >= 2 and height >= 1; received {width}x{height}")
    ramp = np.take(colours.colormap_lut(cmap), np.linspace(0, 255, width).astype(np.uint8), axis=0)
    bar = np.ascontiguousarray(np.broadcast_to(ramp, (height, width, 3)))
    if not labels:
        return bar
    from PIL import Image, ImageDraw

    band = Image.new("RGB", (width, 14), BACKGROUND)
    draw = ImageDraw.Draw(band)
    texts = [f"{vmin:.3g}", f"{(vmin + vmax) / 2:.3g}", f"{vmax:.3g}"]
    for text, align in zip(texts, (0.0, 0.5, 1.0), strict=True):
        x = (width - draw.textlength(text)) * align
        draw.text((max(0.0, x), 1), text, fill=(0, 0, 0))
    return np.concatenate([bar, np.asarray(band)], axis=0)


def filter_grid(
    kernel: np.ndarray, mode: str = "mean", channel: int = 0, cmap: str = "RdBu_r",
    cols: int | None = None, pad: int = 2, scale: int | None = None,
) -> tuple[np.ndarray, float, float, str]:
    """A conv layer's kernels, one tile per filter, on a scale symmetric around 0.

    Args:
        kernel: ``(kernel_h, kernel_w, in_channels, filters)`` weights.
        mode: ``"mean"`` averages each filter over its input channels; ``"channel"`` shows
            the weights that read input channel ``channel``.
        channel: the input channel for ``mode="channel"``.
        cmap: a diverging matplotlib colour map (0 is its middle colour).
        cols: tiles per row; default a near-square grid.
        pad: separator width in pixels.
        scale: nearest-neighbour enlargement; default :func:`auto_scale`.
    Returns:
        ``(rgb, vmin, vmax, description)``; the description says which weights are shown,
        e.g. ``"32 filters of 3×3, averaged over 32 input channels"``.
    Raises:
        ValueError: for a kernel that is not 4-D, an unknown mode or a channel out of range.
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 4:
        raise ValueError(f"kernel must be (kernel_h, kernel_w, in_channels, filters); received "
                         f"shape {kernel.shape}")
    kh, kw, in_channels, filters = kernel.shape
    head = f"{filters} filters of {kh}×{kw}"
    if mode not in ("mean", "channel"):
        raise ValueError(f"mode must be 'mean' or 'channel'; received {mode!r}")
    if in_channels == 1:
        shown, text = kernel[:, :, 0, :], f"{head}, on the single input channel"
    elif mode == "mean":
        shown, text = kernel.mean(axis=2), f"{head}, averaged over {in_channels} input channels"
    else:
        if not 0 <= channel < in_channels:
            raise ValueError(f"channel must be in 0..{in_channels - 1}; received {channel}")
        shown = kernel[:, :, channel, :]
        text = f"{head}, input channel {channel} of {in_channels}"
    vmin, vmax = colours.diverging_limits(shown)
    rgb, vmin, vmax = channel_grid(shown, vmin, vmax, cmap, cols, pad, scale,
                                   FILTER_BACKGROUND)
    return rgb, vmin, vmax, text


def image_grid(
    images: np.ndarray, cols: int = 8, labels: list[str] | None = None, scale: int = 2,
    pad: int = 4,
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Tile uint8 images (digits) with optional captions written under each one.

    Args:
        images: ``(n, h, w)``, ``(n, h, w, 1)`` or ``(n, h, w, 3)`` uint8.
        cols: images per row.
        labels: one caption per image, drawn in black under it.
        scale: nearest-neighbour enlargement.
        pad: separator width in pixels.
    Returns:
        ``(rgb, boxes)``: the image and each tile's ``(top, left, bottom, right)`` pixels.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=-1)
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
        raise ValueError(f"images must be a non-empty (n, h, w), (n, h, w, 1) or (n, h, w, 3) "
                         f"array; received shape {images.shape}")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"labels must have one caption per image ({len(images)}); received "
                         f"{len(labels)}")
    tiles = np.stack([upscale(image, scale) for image in images.astype(np.uint8, copy=False)])
    caption = 14 if labels is not None else 0  # a white band under each image for its label
    tiles = np.pad(tiles, ((0, 0), (0, caption), (0, 0), (0, 0)), constant_values=255)
    rgb = tile(tiles, cols, pad)
    rows, cols = grid_shape(len(images), cols)
    th, tw = tiles.shape[1], tiles.shape[2]
    boxes = [((i // cols) * (th + pad), (i % cols) * (tw + pad),
              (i // cols) * (th + pad) + th - caption, (i % cols) * (tw + pad) + tw)
             for i in range(len(images))]
    if labels is not None:
        from PIL import Image, ImageDraw

        canvas = Image.fromarray(rgb)
        draw = ImageDraw.Draw(canvas)
        for (_, left, bottom, right), text in zip(boxes, labels, strict=True):
            x = (left + right - draw.textlength(str(text))) / 2
            draw.text((max(float(left), x), bottom + 1), str(text), fill=(0, 0, 0))
        rgb = np.asarray(canvas).copy()
    return rgb, boxes
