"""Reading pixels for :mod:`cnnlab.inspect.preprocess`: arrays, canvases and image files are checked
(shape, dtype, value range, file size, pixel dimensions) and turned into a gray ink image.

Image files are read with Pillow from bytes, PNG or JPEG only, never executed; the dimensions
are checked from the header before any pixels are decoded (which also stops decompression
bombs), and a large image is reduced to :data:`WORK_SIDE` pixels a side first.
"""

from __future__ import annotations

import base64
import binascii
import io
import math

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_FILE_BYTES = 5_000_000  # default limit on an uploaded file's size
MAX_INPUT_SIDE = 4096  # limit on an image's width and on its height, in pixels
WORK_SIDE = 1024  # an uploaded image is first reduced to at most this many pixels a side
ALLOWED_FORMATS = ("PNG", "JPEG")  # what read_image_bytes reads (Pillow format ids)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CANVAS_SCALE = 4  # a canvas's PNG may be up to this many times its CSS size (pixel ratio)
# Pillow refuses, process-wide, images of more than twice this many pixels before decoding
# them (and warns above it): also images decoded by other code, such as the canvas component.
Image.MAX_IMAGE_PIXELS = MAX_INPUT_SIDE * MAX_INPUT_SIDE


class ImageError(ValueError):
    """An image that cannot be preprocessed: unreadable, too large or of the wrong shape."""


def read_image_bytes(data: bytes, max_bytes: int = MAX_FILE_BYTES,
                     colour: bool = False) -> tuple[np.ndarray, float]:
    """(pixels, value of full ink) of an image file's bytes, upright by its EXIF orientation:
    (H, W, 4) RGBA when the image has transparency, else (H, W); with ``colour``, always
    (H, W, 3) uint8 RGB (see :func:`read_colour_bytes`).

    Raises:
        ImageError: for a file over ``max_bytes``, an image wider or taller than
            :data:`MAX_INPUT_SIDE` pixels, or bytes that are not a readable PNG or JPEG.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ImageError(f"image data must be bytes; received {type(data).__name__}")
    size = len(data)
    if size > max_bytes:
        raise ImageError(f"the image file is {size:,} bytes ({size / 1e6:.1f} MB); files up to "
                         f"{max_bytes:,} bytes ({max_bytes / 1e6:g} MB) are allowed")
    if size == 0:
        raise ImageError("could not read an empty file (0 bytes) as an image "
                         "(PNG or JPEG expected)")
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as im:
            check_side(*im.size, "image")  # from the header: nothing decoded yet
            if im.format == "JPEG" and max(im.size) > WORK_SIDE:  # decode at 1/2, 1/4 or 1/8
                factor = WORK_SIDE / max(im.size)
                im.draft(None, (math.ceil(im.width * factor), math.ceil(im.height * factor)))
            im.load()
            arr, full = (_rgb_pixels if colour else _pil_pixels)(_upright(im))
    except Image.DecompressionBombError as exc:
        raise ImageError(f"the image is far too large to open ({exc}); images up to "
                         f"{MAX_INPUT_SIDE}×{MAX_INPUT_SIDE} pixels are allowed") from None
    except (UnidentifiedImageError, OSError, SyntaxError, EOFError, ValueError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"could not read the {size:,} bytes as an image (PNG or JPEG "
                         f"expected): {exc}") from None
    return arr, full


def read_colour_bytes(data: bytes, max_bytes: int = MAX_FILE_BYTES) -> np.ndarray:
    """The (H, W, 3) uint8 RGB pixels of an image file's bytes, upright, at most
    :data:`WORK_SIDE` pixels a side; a grey file gives three equal channels, a transparent
    background becomes white.

    Raises:
        ImageError: as :func:`read_image_bytes`.
    """
    arr, _ = read_image_bytes(data, max_bytes, colour=True)
    return arr


def check_side(width: int, height: int, what: str) -> None:
    if width > MAX_INPUT_SIDE or height > MAX_INPUT_SIDE:
        raise ImageError(f"the {what} is {width:,}×{height:,} pixels (width×height); images up "
                         f"to {MAX_INPUT_SIDE}×{MAX_INPUT_SIDE} pixels are allowed")
    if width < 1 or height < 1:
        raise ImageError(f"the {what} is empty ({width}×{height} pixels)")


def checked_array(value: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise ImageError(f"the {what} must hold numbers; received dtype {arr.dtype}")
    if arr.ndim in (2, 3):
        check_side(arr.shape[1], arr.shape[0], what)
    return arr


def full_scale(arr: np.ndarray, what: str) -> float:
    """The value of full ink (1 for floats and bools, 255 for integers), checking the range."""
    if arr.dtype.kind == "b":
        return 1.0
    if arr.dtype == np.uint8:
        return 255.0
    low, high = float(arr.min()), float(arr.max())
    if arr.dtype.kind == "f":
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ImageError(f"the {what} holds NaN or infinite values")
        if low < 0 or high > 1:
            raise ImageError(f"a float {what} must hold values in 0..1; received values from "
                             f"{low:g} to {high:g} (integer arrays hold 0..255)")
        return 1.0
    if low < 0 or high > 255:
        raise ImageError(f"an integer {what} must hold values in 0..255; received values from "
                         f"{low:g} to {high:g}")
    return 255.0


def _upright(im: Image.Image) -> Image.Image:
    """The image turned by its EXIF orientation (phone photos); unchanged if that fails."""
    try:
        return ImageOps.exif_transpose(im) or im
    except Exception:  # a malformed EXIF block should not lose the picture
        return im


def _pil_pixels(im: Image.Image) -> tuple[np.ndarray, float]:
    """(pixels, value of full ink): (H, W, 4) RGBA when the image has transparency, else (H, W).

    An image over :data:`WORK_SIDE` pixels a side is reduced (averaging blocks of pixels) first:
    the result is 28×28, and numpy work on a 12-megapixel photo would take most of a second.
    """
    if im.has_transparency_data:
        im = im.convert("RGBA")
    elif im.mode.startswith("I") or im.mode == "F":  # 16-bit PNG gray
        im = im.convert("I") if im.mode != "F" else im
    else:
        im = im.convert("L")
    factor = math.ceil(max(im.size) / WORK_SIDE)
    if factor > 1:
        im = im.reduce(factor)
    if im.mode in ("I", "F"):
        arr = np.clip(np.asarray(im, dtype=np.float32), 0, None)
        return arr, 65535.0 if arr.max() > 255 else 255.0
    return np.asarray(im), 255.0


def _rgb_pixels(im: Image.Image) -> tuple[np.ndarray, float]:
    """(H, W, 3) uint8 RGB, transparency over white, reduced to :data:`WORK_SIDE` a side."""
    if im.mode.startswith("I") or im.mode == "F":  # 16-bit grey: scale to 8 bits first
        wide = np.clip(np.asarray(im.convert("I"), dtype=np.float32), 0, None)
        im = Image.fromarray(np.round(wide * (255 / (65535 if wide.max() > 255 else 255)))
                             .astype(np.uint8))
    if im.has_transparency_data:
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    im = im.convert("RGB")
    factor = math.ceil(max(im.size) / WORK_SIDE)
    if factor > 1:
        im = im.reduce(factor)
    return np.asarray(im), 255.0


def ink_source(arr: np.ndarray, full: float) -> tuple[np.ndarray, bool | None]:
    """(float32 gray image in 0..1, ink polarity or None to detect it).

    Args:
        arr: (H, W), (H, W, 3) or (H, W, 4) pixels in 0..full. A varying alpha channel marks
            the strokes (ink = alpha, light on dark). A constant alpha is ignored — except fully
            transparent, which shows nothing. RGB is read as luma, as Pillow's "L".
    """
    scale = np.float32(1 / full)
    if arr.ndim == 2:
        return np.minimum(arr.astype(np.float32) * scale, 1), None
    if arr.shape[2] == 4:
        alpha = arr[..., 3]
        if alpha.max() > alpha.min() or alpha.max() == 0:
            return np.minimum(alpha.astype(np.float32) * scale, 1), True
    luma = (arr[..., 0].astype(np.float32) * np.float32(0.299 / full)
            + arr[..., 1].astype(np.float32) * np.float32(0.587 / full)
            + arr[..., 2].astype(np.float32) * np.float32(0.114 / full))
    return np.minimum(luma, 1), None


def canvas_payload_limit(width: int, height: int) -> int:
    """The largest data URL a ``width``×``height`` canvas can send: an uncompressed RGBA PNG at
    :data:`CANVAS_SCALE` times the size, in base64, plus headers."""
    w, h = width * CANVAS_SCALE, height * CANVAS_SCALE
    png = (4 * w + 1) * h * 1.01 + 4096  # filter byte per row, deflate block headers, chunks
    return math.ceil(png * 4 / 3) + 64


def canvas_pixels(data_url: str | bytes, width: int, height: int) -> np.ndarray:
    """The (H, W, 4) uint8 RGBA pixels of a drawing canvas's ``data:image/png;base64,`` URL
    (or of the PNG bytes it holds).

    The payload is refused before decoding when it is longer than a ``width``×``height``
    canvas can produce (:func:`canvas_payload_limit`), is not a PNG, or its header declares
    more than :data:`CANVAS_SCALE` times the canvas's size.

    Raises:
        ImageError: saying which of these it is.

    Example:
        >>> url = "data:image/png;base64," + base64.b64encode(
        ...     _png(np.zeros((4, 6, 4), np.uint8))).decode()
        >>> canvas_pixels(url, 6, 4).shape
        (4, 6, 4)
    """
    limit = canvas_payload_limit(width, height)
    if len(data_url) > limit:
        raise ImageError(f"the canvas sent {len(data_url):,} bytes; a {width}×{height} canvas "
                         f"sends at most {limit:,}")
    is_png = isinstance(data_url, bytes | bytearray) and data_url.startswith(PNG_SIGNATURE)
    text = "" if is_png else (data_url.decode("ascii", "replace")
                              if isinstance(data_url, bytes | bytearray) else data_url)
    head, _, encoded = text.partition(",")
    if not is_png and head != "data:image/png;base64":
        raise ImageError(f"the canvas sent {head[:40]!r}; expected a data:image/png;base64 URL")
    try:
        data = bytes(data_url) if is_png else base64.b64decode(encoded, validate=True)
        with Image.open(io.BytesIO(data), formats=("PNG",)) as im:
            if im.width > width * CANVAS_SCALE or im.height > height * CANVAS_SCALE:
                raise ImageError(f"the canvas image is {im.width}×{im.height} pixels; a "
                                 f"{width}×{height} canvas makes at most "
                                 f"{width * CANVAS_SCALE}×{height * CANVAS_SCALE}")
            return np.asarray(im.convert("RGBA"))
    except (binascii.Error, UnidentifiedImageError, OSError, SyntaxError, EOFError,
            Image.DecompressionBombError) as exc:
        raise ImageError(f"the canvas sent an unreadable PNG ({exc})") from None


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


MAX_STROKES = 400  # strokes a canvas payload may hold
MAX_STROKE_NUMBERS = 50_000  # numbers in all strokes (widths, x, y): minutes of scribbling
MAX_PEN = 100  # pixels


def canvas_strokes(value: object, side: int) -> list[list[float]]:
    """The strokes of a drawing canvas's payload, checked, to draw them again: a list of
    ``[pen width, x0, y0, x1, y1, ...]`` with at least one point each, widths 1 to
    :data:`MAX_PEN`, points at most ``side`` pixels beyond the ``side``×``side`` canvas (a
    pen that leaves it keeps drawing, off the canvas), at most :data:`MAX_STROKES` strokes
    and :data:`MAX_STROKE_NUMBERS` numbers in all.

    Raises:
        ImageError: naming the first thing that is wrong.

    Example:
        >>> canvas_strokes([[22, 10, 10, 20.5, 30]], 280)
        [[22.0, 10.0, 10.0, 20.5, 30.0]]
    """
    if not isinstance(value, list):
        raise ImageError(f"the canvas's strokes must be a list; received {type(value).__name__}")
    if len(value) > MAX_STROKES:
        raise ImageError(f"the canvas sent {len(value):,} strokes; at most {MAX_STROKES:,} "
                         "are kept")
    strokes, numbers = [], 0
    for n, stroke in enumerate(value, 1):
        ok = (isinstance(stroke, list) and len(stroke) >= 3 and len(stroke) % 2 == 1 and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in stroke))
        if not ok:
            raise ImageError(f"stroke {n} of the canvas is not [pen width, x, y, ...] numbers")
        numbers += len(stroke)
        if numbers > MAX_STROKE_NUMBERS:
            raise ImageError(f"the canvas's strokes hold more than {MAX_STROKE_NUMBERS:,} "
                             "numbers")
        width = float(stroke[0])
        if not 1 <= width <= MAX_PEN:
            raise ImageError(f"stroke {n} of the canvas has pen width {width:g}; widths 1 to "
                             f"{MAX_PEN} are drawn")
        if not all(-side <= v <= 2 * side for v in stroke[1:]):
            raise ImageError(f"stroke {n} of the canvas goes more than {side} pixels beyond the "
                             f"{side}×{side} canvas")
        strokes.append([float(v) for v in stroke])
    return strokes
