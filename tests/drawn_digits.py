"""Synthetic digits drawn with Pillow, and the documented MNIST convention as an assertion,
for the preprocessing tests (test_preprocess*.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnnlab.inspect import preprocess as pp


def draw_digit(kind: str, box: tuple[int, int, int, int], size: int = 280,
               width: int | None = None) -> np.ndarray:
    """A (size, size) uint8 image, white ink (255) on black, of digit ``kind`` in ``box``.

    ``box`` is (left, top, right, bottom); the stroke width defaults to 1/8 of the box height.
    """
    left, top, right, bottom = box
    width = width or max(1, (bottom - top) // 8)
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    if kind == "1":
        mid = (left + right) // 2
        draw.line([(mid + (right - left) // 6, top), (mid - (right - left) // 6, bottom)],
                  fill=255, width=width)
    elif kind == "0":
        draw.ellipse(box, outline=255, width=width)
    elif kind == "7":
        draw.line([(left, top + width // 2), (right, top + width // 2)], fill=255, width=width)
        draw.line([(right, top), (left + (right - left) // 3, bottom)], fill=255, width=width)
    else:
        raise ValueError(kind)
    return np.asarray(img)


def canvas_rgba(ink: np.ndarray) -> np.ndarray:
    """White-on-black opaque canvas, as the drawing canvas (ui/canvas.py) gives it."""
    return np.dstack([ink, ink, ink, np.full_like(ink, 255)])


def transparent_rgba(ink: np.ndarray, seed: int = 0) -> np.ndarray:
    """Strokes in the alpha channel, the RGB values random (they must be ignored)."""
    rgb = np.random.default_rng(seed).integers(0, 256, (*ink.shape, 3), dtype=np.uint8)
    return np.dstack([rgb, ink])


def encode(array: np.ndarray, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **params)
    return buf.getvalue()


def paper(ink: np.ndarray, seed: int = 0) -> np.ndarray:
    """Dark ink (~30) on slightly noisy light-grey paper (~215), like a photo of a digit."""
    noise = np.random.default_rng(seed).normal(0, 4, ink.shape)
    values = 215 - (185 / 255) * ink.astype(np.float64) + noise
    return np.clip(values, 0, 255).astype(np.uint8)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def ink_box(image: np.ndarray, threshold: float = 0.0) -> tuple[int, int]:
    """(height, width) of the bounding box of pixels above ``threshold``."""
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.asarray(a, np.float64).ravel(),
                             np.asarray(b, np.float64).ravel())[0, 1])


def similar(a: np.ndarray, b: np.ndarray) -> float:
    """The best correlation over shifts of up to one pixel each way.

    Two drawings of one digit may legitimately land a pixel apart: each centre of mass is
    placed at (14, 14) only to within ±0.5 px (a whole-pixel shift, as MNIST's).
    """
    return max(corr(np.roll(a, (dy, dx), (0, 1)), b) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def assert_mnist_like(result: pp.Preprocessed, solid: bool = True) -> np.ndarray:
    """The documented convention: 28×28 float32 0..1, ink box 20 px, centre of mass (14, 14).

    ``solid``: also the box of the clearly inked pixels (> 0.25) is 19 or 20 px long.
    """
    assert not result.blank and result.note == ""
    image = result.image
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert image.min() >= 0 and image.max() == pytest.approx(1.0)
    assert max(ink_box(image)) == 20
    if solid:
        assert max(ink_box(image, 0.25)) in (19, 20)
    row, col = centre_of_mass(image)
    assert abs(row - pp.CENTRE[0]) <= 0.5 + 1e-4 and abs(col - pp.CENTRE[1]) <= 0.5 + 1e-4, \
        (row, col)
    assert [title for title, _ in result.steps] == list(pp.STEP_TITLES)
    return image


# boxes (left, top, right, bottom) on a 280×280 canvas, all 10 wide to 11 tall, so the same
# digit drawn in each is the same shape: small, large, off-centre and touching a corner
PLACEMENTS = {
    "large": (40, 30, 240, 250),
    "small": (125, 120, 155, 153),
    "off-centre": (160, 20, 260, 130),
    "corner": (1, 169, 101, 279),
}
KINDS = ("1", "0", "7")


def reference(kind: str) -> np.ndarray:
    return pp.preprocess_canvas(canvas_rgba(draw_digit(kind, PLACEMENTS["large"]))).image
