"""One image file of a class folder, opened safely: a regular file (never a symbolic link, FIFO
or device), its size checked before reading, its header (size, colour, format) read before any
pixel is decoded, so a file that declares 100,000 × 100,000 pixels is refused without allocating
them.

Decoding goes no larger than the size wanted where the format allows: a JPEG is decoded at 1/2,
1/4 or 1/8 of its size (``Image.draft``, still at least the size wanted), and any image at least
twice the size wanted is first shrunk by a whole factor (``Image.reduce``, a box average) before
the final bilinear resize. :func:`decode_cost` estimates the CPU a decode takes from the header
alone, so a whole set can be refused before any of it is decoded.

Pillow only (no TensorFlow). Problems are :class:`BadImage`, whose message is the reason alone
(the caller names the file).
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FORMATS = ("PNG", "JPEG")
GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F")
WIDE_MODES = {"I;16": 65535, "I;16B": 65535, "I;16L": 65535, "I": 65535}  # grey over 8 bits
REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA", "I", "F")  # what Image.reduce takes
JPEG_SCALES = (8, 4, 2)  # the reductions a JPEG decoder offers, largest first
SECONDS_PER_PIXEL = 10e-9  # estimated CPU per decoded pixel: measured 2-11 ns (Pillow 13, PNG)
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


class BadImage(ValueError):
    """A file that cannot be used as an image; ``str()`` is the reason."""


@dataclass(frozen=True)
class Header:
    """What an image file declares: its size, whether it is in colour, and its format."""

    height: int
    width: int
    colour: bool
    format: str = "PNG"  # one of FORMATS


def is_image_name(name: str) -> bool:
    """True for ``.png``, ``.jpg`` and ``.jpeg`` names (any case), as Keras accepts."""
    return name.lower().endswith(IMAGE_SUFFIXES)


def _open_regular(path: Path, max_bytes: int) -> BinaryIO:
    """``path`` opened for reading: a regular file of at most ``max_bytes``, not a link."""
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0))
    if os.path.islink(path):
        raise BadImage("a symbolic link (links are refused; copy the file instead)")
    try:
        fd = os.open(path, flags)  # non-blocking: a FIFO returns at once
    except OSError as exc:
        raise BadImage(f"unreadable ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadImage("not a regular file (a FIFO, device or socket)")
        if info.st_size > max_bytes:
            raise BadImage(f"{info.st_size:,} bytes, over the {max_bytes:,}-byte limit per file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _checked_size(img: Image.Image, max_pixels: int) -> tuple[int, int]:
    width, height = img.size
    if width * height > max_pixels:
        raise BadImage(f"declares {width}×{height} pixels, over the {max_pixels:,}-pixel limit "
                       "per image")
    return height, width


def _has_colour(img: Image.Image) -> bool:
    if img.mode in GREY_MODES:
        return False
    if img.mode in ("P", "PA"):
        palette = np.asarray(img.getpalette() or [], dtype=np.int64)
        triples = palette[:len(palette) // 3 * 3].reshape(-1, 3)
        return bool((triples != triples[:, :1]).any())
    return True


def read_header(path: Path, max_bytes: int, max_pixels: int) -> Header:
    """The size and colour ``path`` declares, reading only its header.

    Raises:
        BadImage: a link or not a regular file, over ``max_bytes`` or ``max_pixels``, or not a
            PNG or JPEG image.
    """
    with _open_regular(path, max_bytes) as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we check ourselves
        try:
            with Image.open(f, formats=FORMATS) as img:
                height, width = _checked_size(img, max_pixels)
                return Header(height, width, _has_colour(img), str(img.format))
        except BadImage:
            raise
        except Image.DecompressionBombError:
            raise BadImage(f"declares more pixels than the {max_pixels:,}-pixel limit per "
                           "image") from None
        except _PILLOW_ERRORS:
            raise BadImage("not a readable PNG or JPEG image") from None


def jpeg_scale(header: Header, size: tuple[int, int]) -> int:
    """How much smaller than declared a JPEG decodes for ``size`` = ``(height, width)``: 8, 4,
    2 or 1, the largest that still gives at least ``size`` (1 for any other format)."""
    if header.format != "JPEG":
        return 1
    return next((s for s in JPEG_SCALES if header.height // s >= size[0]
                 and header.width // s >= size[1]), 1)


def decode_cost(header: Header, size: tuple[int, int]) -> float:
    """Estimated CPU seconds to decode the image ``header`` declares at ``size``: its declared
    pixels (a JPEG's divided by its :func:`jpeg_scale`) times :data:`SECONDS_PER_PIXEL`."""
    return header.height * header.width / jpeg_scale(header, size) * SECONDS_PER_PIXEL


def decode(path: Path, size: tuple[int, int], rgb: bool, max_bytes: int,
           max_pixels: int) -> np.ndarray:
    """The image at ``path`` as uint8 ``(height, width, 3 or 1)``, resized (bilinear, like
    Keras's ``image_dataset_from_directory``, after a whole-factor reduction of a large image)
    to ``size`` = ``(height, width)`` if it differs.

    Raises:
        BadImage: as :func:`read_header`, or truncated or corrupt pixel data.
    """
    with _open_regular(path, max_bytes) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadImage(f"grew past the {max_bytes:,}-byte limit while being read")
    return decode_bytes(data, size, rgb, max_pixels)


def decode_bytes(data: bytes, size: tuple[int, int] | None, rgb: bool,
                 max_pixels: int) -> np.ndarray:
    """:func:`decode` of a file's bytes already read; ``size`` None keeps the image's own.

    Grey images of more than 8 bits (16-bit PNGs) are scaled to 0..255, not clipped.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=FORMATS) as img:
                height, width = _checked_size(img, max_pixels)
                size = size or (height, width)
                mode = "RGB" if rgb else "L"
                if img.format == "JPEG":  # decode at 1/2, 1/4 or 1/8, still >= size
                    img.draft(mode, (size[1], size[0]))
                img.load()
                converted = _reduced(img, size, mode)
        except BadImage:
            raise
        except _PILLOW_ERRORS as exc:
            reason = "truncated" if "truncated" in str(exc) else "corrupt"
            raise BadImage(f"not a readable PNG or JPEG image ({reason} pixel data)") from None
    height, width = size
    if converted.size != (width, height):
        converted = converted.resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(converted, dtype=np.uint8)
    return array if rgb else array[:, :, None]


def _reduced(img: Image.Image, size: tuple[int, int], mode: str) -> Image.Image:
    """``img`` in ``mode``, shrunk by the largest whole factor that keeps it >= ``size``."""
    if img.mode in WIDE_MODES:  # 16-bit grey: scale to 8 bits (convert would clip at 255)
        wide = np.asarray(img, dtype=np.float64) * (255 / WIDE_MODES[img.mode])
        img = Image.fromarray(np.clip(np.round(wide), 0, 255).astype(np.uint8), "L")
    factor = min(img.height // size[0], img.width // size[1])
    if factor >= 2 and img.mode not in REDUCIBLE_MODES:
        img = img.convert(mode)  # e.g. a palette: to colours first, then averaged
    if factor >= 2:
        img = img.reduce(factor)
    return img.convert(mode) if img.mode != mode else img
