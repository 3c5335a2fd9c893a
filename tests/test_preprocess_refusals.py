"""What preprocessing refuses (inspect.pixels' checks through inspect.preprocess's entry
points): oversized files and images, unreadable bytes, wrong shapes, dtypes and ranges."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cnnlab.inspect import preprocess as pp
from cnnlab.inspect.preprocess import ImageError


def encode(array: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt)
    return buf.getvalue()


def digit_on_paper() -> np.ndarray:
    """A dark "1" on light paper, 280×280 uint8: an image preprocessing accepts."""
    image = np.full((280, 280), 215, np.uint8)
    image[60:220, 130:150] = 30
    return image


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height but holds no real pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


def test_oversized_file_is_refused():
    with pytest.raises(ImageError, match=r"5,000,001 bytes.*up to 5,000,000 bytes"):
        pp.preprocess_image_bytes(b"\0" * 5_000_001)
    data = encode(digit_on_paper(), "PNG")
    with pytest.raises(ImageError, match=f"{len(data):,} bytes.*up to 100 bytes"):
        pp.preprocess_image_bytes(data, max_bytes=100)


def test_huge_dimensions_are_refused_before_decoding():
    with pytest.raises(ImageError, match=r"5,000×3,000 pixels.*4096×4096"):
        pp.preprocess_image_bytes(png_header_only(5000, 3000))  # no pixels: decoding would fail
    with pytest.raises(ImageError, match=r"4096×4096 pixels are allowed"):
        pp.preprocess_image_bytes(png_header_only(100_000, 100_000))  # a decompression bomb
    wide = encode(np.zeros((2, 4097), np.uint8), "PNG")
    with pytest.raises(ImageError, match=r"4,097×2 pixels"):
        pp.preprocess_image_bytes(wide)
    with pytest.raises(ImageError, match=r"4,097×4,097 pixels.*4096×4096"):
        pp.preprocess_canvas(np.zeros((4097, 4097, 4), np.uint8))


@pytest.mark.parametrize("data", [
    b"this is not an image",
    b"",
    b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
    encode(np.zeros((20, 20), np.uint8), "GIF"),  # readable, but not PNG or JPEG
], ids=["text", "empty", "broken-png", "gif"])
def test_unreadable_bytes_are_refused(data):
    with pytest.raises(ImageError, match=r"could not read .* as an image \(PNG or JPEG expected\)"):
        pp.preprocess_image_bytes(data)


def test_truncated_file_is_refused():
    data = encode(digit_on_paper(), "PNG")
    with pytest.raises(ImageError, match="could not read"):
        pp.preprocess_image_bytes(data[: len(data) // 2])


def test_not_bytes_is_refused():
    with pytest.raises(ImageError, match="must be bytes; received str"):
        pp.preprocess_image_bytes("digit.png")  # type: ignore[arg-type]


@pytest.mark.parametrize("array, words", [
    (np.zeros((280, 280, 2), np.uint8), r"\(H, W, 4\) RGBA.*received shape \(280, 280, 2\)"),
    (np.zeros(280, np.uint8), r"received shape \(280,\)"),
    (np.zeros((1, 280, 280, 4), np.uint8), r"received shape \(1, 280, 280, 4\)"),
    (np.zeros((0, 280, 4), np.uint8), "empty"),
    (np.full((28, 28, 4), "x"), "must hold numbers; received dtype <U1"),
    (np.full((28, 28), 300, np.int64), "integer .* 0..255; received values from 300 to 300"),
    (np.full((28, 28), 2.0), "float .* 0..1; received values from 2 to 2"),
    (np.full((28, 28), np.nan), "NaN"),
])
def test_bad_canvas_arrays_are_refused(array, words):
    with pytest.raises(ImageError, match=words):
        pp.preprocess_canvas(array)


def test_bad_grayscale_arrays_are_refused():
    with pytest.raises(ImageError, match=r"shape \(H, W\); received shape \(28, 28, 3\)"):
        pp.preprocess_array(np.zeros((28, 28, 3), np.uint8))
    with pytest.raises(ImageError, match=r"4,097×10 pixels"):
        pp.preprocess_array(np.zeros((10, 4097), np.uint8))
    with pytest.raises(ImageError, match="received values from -1 to 0"):
        pp.preprocess_array(np.array([[-1, 0]], np.int16))
