"""From a drawing or an uploaded photo to a 28×28 MNIST-style digit, step by step.

MNIST's own recipe: the ink is cropped to its bounding box, scaled (keeping the aspect ratio,
antialiased) so its longest side is 20 px, then put in a 28×28 field and moved so the centre of
mass of the pixel values sits at the centre of the field. The functions here do the same and
return every step (:class:`Preprocessed`), so the Draw page can show
them side by side:

1. ``"as drawn"``: the ink image (float32 0..1, ink = 1, background 0), any size;
2. ``"cropped"``: the ink's bounding box;
3. ``"scaled to 20 px"``: the longest side scaled to 20 px (Lanczos);
4. ``"centred 28×28"``: the final image the model sees.

A drawing with no ink (or only a speck) stops after step 1 with ``blank=True``.

A grey run of another size (``size=(H, W)``) gets the same recipe scaled: the ink's longest
side ``round(20 · min(H, W) / 28)`` px, centred by mass at ``(H / 2, W / 2)`` of an H×W field.
Colour runs, and choosing by a run's record, are in :mod:`cnnlab.inspect.for_run`.

A model trained on pictures that were simply scaled to fit (Fashion-MNIST's,
``preparation="resize"``; see :mod:`cnnlab.data.kinds`) gets the drawing the same way:
``"as drawn"``, then ``"scaled to 28×28"``: the whole canvas, longest side 28 px, centred.

**Centre-of-mass convention.** Coordinates are pixel *indices*: pixel ``(row, col)`` has its
centre at ``(row, col)``, rows and columns 0..27. "Centred" means the centre of mass is at
:data:`CENTRE` = ``(14, 14)`` within ±0.5 px, i.e. half a pixel below and right of the
geometric middle (13.5, 13.5). That is what MNIST itself does — it moves each digit by a whole
number of pixels — and what its images show: over the 5,000 built-in digits the centre of mass
averages (13.99, 14.00) and every one lies in [13.5, 14.5]. Here too the shift is a whole
number of pixels (no resampling blur), so the error is at most 0.5 px; the 20-px box is never
pushed out of the field, so a very lopsided shape can miss by more rather than lose ink.

Pure numpy + Pillow (no streamlit, no TensorFlow, no scipy); a 280×280 canvas takes ~1 ms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image

from cnnlab.data import kinds
from cnnlab.inspect.pixels import (
    MAX_FILE_BYTES,
    MAX_INPUT_SIDE,
    ImageError,
    checked_array,
    full_scale,
    ink_source,
    read_image_bytes,
)

FIELD = 28  # side of the final image
BOX = 20  # the ink's longest side in the final image
CENTRE = (14.0, 14.0)  # (row, col) of the centre of mass, pixel-index coordinates
STEP_TITLES = ("as drawn", "cropped", "scaled to 20 px", "centred 28×28")
RESIZE_TITLES = ("as drawn", "scaled to 28×28")  # the steps for preparation "resize"


@dataclass(frozen=True)
class Placement:
    """Where the "as drawn" image went in the final 28×28 field, for mapping a region back.

    The drawing's rows ``crop_top..`` and columns ``crop_left..`` (the ink's box; 0 for a
    whole picture) were scaled by ``scale_y`` / ``scale_x`` and placed with their top-left
    corner at final pixel ``(offset_top, offset_left)``: final ``y`` ↔ drawing
    ``crop_top + (y − offset_top) / scale_y`` (pixel edges, not centres).
    """

    crop_top: int
    crop_left: int
    scale_y: float
    scale_x: float
    offset_top: int
    offset_left: int


@dataclass(frozen=True, eq=False)
class Preprocessed:
    """The result of preprocessing one drawing or image: every step and the final image.

    Attributes:
        steps: ``(title, image)`` pairs in order, titles from
            :data:`cnnlab.inspect.preprocess.STEP_TITLES`; each image
            is read-only float32 in 0..1 with ink = 1. Only ``"as drawn"`` when ``blank``.
        image: the final read-only float32 image in 0..1, ``(height, width)`` grey (its
            brightest pixel is 1) or ``(height, width, 3)`` colour, or None when ``blank``.
        blank: True when nothing was drawn (no ink, or only a speck): do not predict.
        note: why the drawing counts as blank, "" otherwise.
        placement: how the ``"as drawn"`` image maps into the final one (None when
            ``blank``); :func:`cnnlab.inspect.receptive.to_drawing` uses it.

    The project's models take uint8-range pixels and scale them themselves (their first layer
    is ``Rescaling(1/255)``), so :meth:`model_input` gives 0..255 values by default.
    """

    steps: tuple[tuple[str, np.ndarray], ...]
    image: np.ndarray | None
    blank: bool
    note: str = ""
    placement: Placement | None = None

    def as_uint8(self) -> np.ndarray:
        """The final image as uint8 in 0..255, like an MNIST image: (28, 28) by default,
        ``(height, width)`` or ``(height, width, 3)`` for other runs.

        Returns:
            A new uint8 array.

        Raises:
            ImageError: when ``blank`` (there is no image).

        Example:
            >>> prepared.as_uint8().shape  # doctest: +SKIP
            (28, 28)
        """
        image = self._final()
        return np.round(image * 255.0).astype(np.uint8)

    def model_input(self, scale: Literal["uint8", "unit"] = "uint8") -> np.ndarray:
        """The final image as a one-image batch, float32 ``(1, height, width, channels)``:
        (1, 28, 28, 1) by default.

        Args:
            scale: ``"uint8"`` (default) for values 0..255 — exactly :meth:`as_uint8` as
                float32, what this project's models (``Rescaling(1/255)`` first) are trained
                on; ``"unit"`` for the unquantised 0..1 values, for a model without rescaling.

        Returns:
            A new float32 array, ``(1, height, width, channels)``.

        Raises:
            ImageError: when ``blank``. ValueError: for another ``scale``.

        Example:
            >>> predictor.probabilities(prepared.model_input())  # doctest: +SKIP
        """
        if scale == "uint8":
            values = self.as_uint8().astype(np.float32)
        elif scale == "unit":
            values = self._final().astype(np.float32, copy=True)
        else:
            raise ValueError(f'scale must be "uint8" or "unit"; received {scale!r}')
        if values.ndim == 2:  # grey: add the channel axis
            values = values[..., None]
        return values[None]  # (1, height, width, channels)

    def _final(self) -> np.ndarray:
        if self.image is None:
            raise ImageError(f"nothing to feed the model: {self.note or 'nothing drawn'}")
        return self.image

    def __repr__(self) -> str:
        titles = [title for title, _ in self.steps]
        shape = None if self.image is None else self.image.shape
        return (f"Preprocessed(blank={self.blank}, image={shape}, steps={titles}, "
                f"note={self.note!r})")

MIN_CONTRAST = 0.1  # ink must differ from the background by this much (0..1) to count
INK_FLOOR = 0.15  # values within this share of the contrast above the background are background
MIN_INK_PIXELS = 4  # fewer solid ink pixels than this is a speck, not a drawing...
MIN_INK_FRACTION = 0.0005  # ...and so is fewer than this share of the image's pixels


# ---------------------------------------------------------------------------------------------
# public entry points


def preprocess_canvas(rgba: np.ndarray, preparation: str = kinds.MNIST_DIGITS,
                      size: tuple[int, int] = (FIELD, FIELD)) -> Preprocessed:
    """Preprocess a drawing canvas's pixels (RGBA, as ui/canvas.py decodes its PNG).

    Opaque pixels are read by brightness, with the ink's polarity detected (white on black is
    the usual canvas; dark on light works too). When the alpha channel varies, the canvas has a
    transparent background: alpha alone marks the strokes and the RGB values are ignored.

    Args:
        rgba: shape (H, W, 4) RGBA, (H, W, 3) RGB or (H, W) gray; integer values in 0..255
            (uint8, as the canvas gives), float values in 0..1, or bool.
        preparation: how the model's training images were made (a run's
            ``input_preparation``): ``"mnist-digits"`` (default) or ``"resize"``.
        size: ``(height, width)`` of the final image (the run's input size), 28×28 by default.

    Returns:
        The :class:`Preprocessed` steps and final image.

    Raises:
        ImageError: for a wrong shape or dtype, values out of range, or a side over
            :data:`cnnlab.inspect.pixels.MAX_INPUT_SIDE`.

    Example:
        >>> canvas = np.zeros((280, 280, 4), np.uint8); canvas[..., 3] = 255
        >>> canvas[60:220, 130:150, :3] = 255  # a white "1" on black
        >>> prepared = preprocess_canvas(canvas)
        >>> prepared.image.shape, prepared.blank
        ((28, 28), False)
    """
    arr = checked_array(rgba, "canvas image")
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(f"a canvas image must have shape (H, W, 4) RGBA, (H, W, 3) RGB or "
                         f"(H, W) gray; received shape {arr.shape}")
    gray, ink_is_light = ink_source(arr, full_scale(arr, "canvas image"))
    return _preprocess(gray, ink_is_light, preparation, size)


def preprocess_image_bytes(data: bytes, max_bytes: int = MAX_FILE_BYTES,
                           preparation: str = kinds.MNIST_DIGITS,
                           size: tuple[int, int] = (FIELD, FIELD)) -> Preprocessed:
    """Preprocess an image file's bytes: a photo or scan of a digit, a screenshot, a PNG.

    Dark ink on light paper is detected (the border is light) and inverted; a PNG with a
    transparent background is read by its alpha channel (see :func:`preprocess_canvas`). The
    file's EXIF orientation is applied. Image dimensions are checked from the header before
    any pixels are decoded, which also stops decompression bombs. An image over
    :data:`cnnlab.inspect.pixels.WORK_SIDE` (1024) pixels a side is reduced to that size first, so
    the ``"as drawn"`` step of a large photo is smaller than the photo.

    Args:
        data: the file's bytes, PNG or JPEG.
        max_bytes: the largest file accepted, in bytes.
        preparation, size: as for :func:`preprocess_canvas`.

    Returns:
        The :class:`Preprocessed` steps and final image.

    Raises:
        ImageError: for a file over ``max_bytes``, an image wider or taller than
            :data:`cnnlab.inspect.pixels.MAX_INPUT_SIDE` pixels, or bytes that are not a
            readable PNG or JPEG.

    Example:
        >>> prepared = preprocess_image_bytes(open("seven.jpg", "rb").read())  # doctest: +SKIP
        >>> prepared.as_uint8().shape  # doctest: +SKIP
        (28, 28)
    """
    arr, full = read_image_bytes(data, max_bytes)
    gray, ink_is_light = ink_source(arr, full)
    return _preprocess(gray, ink_is_light, preparation, size)


def preprocess_array(gray: np.ndarray, ink_is_light: bool | None = None) -> Preprocessed:
    """The shared core: preprocess one grayscale image.

    Args:
        gray: shape (H, W); integer values in 0..255, float values in 0..1, or bool.
        ink_is_light: True for light ink on a dark background, False for dark ink on light
            paper (it is inverted), None to detect it: the background is the median of a thin
            ring along the border, and a background brighter than 0.5 means dark ink.

    Returns and raises as :func:`preprocess_canvas`.

    Example:
        >>> paper = np.full((100, 80), 230, np.uint8); paper[20:80, 35:45] = 20  # a dark "1"
        >>> prepared = preprocess_array(paper)
        >>> [title for title, _ in prepared.steps]
        ['as drawn', 'cropped', 'scaled to 20 px', 'centred 28×28']
    """
    arr = checked_array(gray, "grayscale image")
    if arr.ndim != 2:
        raise ImageError(f"a grayscale image must have shape (H, W); received shape {arr.shape}")
    gray, _ = ink_source(arr, full_scale(arr, "grayscale image"))
    return _preprocess(gray, ink_is_light)


# ---------------------------------------------------------------------------------------------
# the pipeline


def _border(x: np.ndarray) -> np.ndarray:
    """The pixels of a ring along the edge, ~2% of the shorter side thick (at least 1 px)."""
    h, w = x.shape
    r = max(1, min(h, w) // 50)
    if 2 * r >= min(h, w):
        return x.ravel()
    return np.concatenate([x[:r].ravel(), x[-r:].ravel(), x[r:-r, :r].ravel(),
                           x[r:-r, -r:].ravel()])


def _readonly(x: np.ndarray) -> np.ndarray:
    x.flags.writeable = False
    return x


def _blank(ink: np.ndarray, note: str) -> Preprocessed:
    return Preprocessed(steps=((STEP_TITLES[0], _readonly(ink)),), image=None, blank=True,
                        note=note)


def _centre_of_mass(x: np.ndarray) -> tuple[float, float]:
    """(row, col) of the centre of mass, pixel-index coordinates; x must have positive mass."""
    total = float(x.sum(dtype=np.float64))
    rows = float(x.sum(axis=1, dtype=np.float64) @ np.arange(x.shape[0])) / total
    cols = float(x.sum(axis=0, dtype=np.float64) @ np.arange(x.shape[1])) / total
    return rows, cols


def _preprocess(gray: np.ndarray, ink_is_light: bool | None,
                preparation: str = kinds.MNIST_DIGITS,
                size: tuple[int, int] = (FIELD, FIELD)) -> Preprocessed:
    """gray: float32 (H, W) in 0..1; size: (height, width) of the final image."""
    preparation = kinds.checked_preparation(preparation, "preprocessing")
    field_h, field_w = (int(v) for v in size)
    if min(field_h, field_w) < 1 or max(field_h, field_w) > MAX_INPUT_SIDE:
        raise ImageError(f"the model's input size must be 1..{MAX_INPUT_SIDE} pixels a side; "
                         f"received {field_h}×{field_w}")
    background = float(np.median(_border(gray)))
    if ink_is_light is None:
        ink_is_light = background <= 0.5
    if not ink_is_light:
        gray = 1.0 - gray
        background = 1.0 - background
    peak = float(gray.max())
    contrast = peak - background
    if contrast < MIN_CONTRAST:
        return _blank(np.zeros(gray.shape, np.float32), "nothing drawn: the image is blank")

    # 1. as drawn: background -> 0, the strongest ink -> 1, faint noise above the background
    # (paper texture, JPEG artefacts) -> 0 as well
    low = background + INK_FLOOR * contrast
    ink = np.clip((gray - np.float32(low)) * np.float32(1 / (peak - low)), 0, 1)
    solid = int(np.count_nonzero(ink >= 0.5))
    needed = max(MIN_INK_PIXELS, math.ceil(MIN_INK_FRACTION * ink.size))
    if solid < needed:
        return _blank(ink, f"nothing drawn: only a speck of ink ({solid} pixel"
                           f"{'' if solid == 1 else 's'}; a drawing needs at least {needed})")

    if preparation == kinds.RESIZE:
        return _resized(ink, (field_h, field_w))

    # 2. cropped to the ink's bounding box
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    cropped = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].copy()

    # 3. scaled: longest side 20 px (for 28×28), aspect ratio kept, Lanczos (antialiased when
    # shrinking)
    box = max(1, round(BOX * min(field_h, field_w) / FIELD))
    h, w = cropped.shape
    factor = box / max(h, w)
    new_size = (max(1, min(box, math.floor(w * factor + 0.5))),
                max(1, min(box, math.floor(h * factor + 0.5))))  # (width, height) for Pillow
    scaled = np.asarray(Image.fromarray(cropped).resize(new_size, Image.Resampling.LANCZOS),
                        dtype=np.float32)
    scaled = np.clip(scaled, 0, None)  # Lanczos rings below 0 (and above the peak)
    top = float(scaled.max())
    if top <= 0:  # cannot happen after the speck test; kept as a guard
        return _blank(ink, "nothing drawn: the ink vanished when scaled")
    scaled = scaled * np.float32(1 / top)

    # 4. centred: the centre of mass moved to CENTRE (the field's middle) by a whole number of
    # pixels, the scaled box kept inside the field
    com_row, com_col = _centre_of_mass(scaled)
    sh, sw = scaled.shape
    top_row = min(max(math.floor(field_h / 2 - com_row + 0.5), 0), field_h - sh)
    left_col = min(max(math.floor(field_w / 2 - com_col + 0.5), 0), field_w - sw)
    final = np.zeros((field_h, field_w), np.float32)
    final[top_row:top_row + sh, left_col:left_col + sw] = scaled

    titles = STEP_TITLES if (field_h, field_w, box) == (FIELD, FIELD, BOX) else (
        *STEP_TITLES[:2], f"scaled to {box} px", f"centred {field_h}×{field_w}")
    steps = tuple(zip(titles, map(_readonly, (ink, cropped, scaled, final)), strict=True))
    placement = Placement(int(rows[0]), int(cols[0]), sh / h, sw / w, top_row, left_col)
    return Preprocessed(steps=steps, image=final, blank=False, placement=placement)


def _resized(ink: np.ndarray, field: tuple[int, int] = (FIELD, FIELD)) -> Preprocessed:
    """The whole picture scaled to fit the field (28×28 by default; area-averaged, aspect
    ratio kept), centred in it; brightest pixel 1."""
    h, w = ink.shape
    field_h, field_w = field
    factor = min(field_h / h, field_w / w)
    size = (max(1, min(field_w, round(w * factor))), max(1, min(field_h, round(h * factor))))
    scaled = np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.BOX), np.float32)
    top = float(scaled.max())
    if top <= 0:
        return _blank(ink, "nothing drawn: the ink vanished when scaled")
    final = np.zeros((field_h, field_w), np.float32)
    row, col = (field_h - size[1]) // 2, (field_w - size[0]) // 2
    final[row:row + size[1], col:col + size[0]] = scaled * np.float32(1 / top)
    titles = RESIZE_TITLES if field == (FIELD, FIELD) else (
        RESIZE_TITLES[0], f"scaled to {field_h}×{field_w}")
    steps = tuple(zip(titles, map(_readonly, (ink, final)), strict=True))
    placement = Placement(0, 0, size[1] / h, size[0] / w, row, col)
    return Preprocessed(steps=steps, image=final, blank=False, placement=placement)
