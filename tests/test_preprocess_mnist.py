"""Preprocessing against MNIST itself, blank drawings, and the result object
(inspect.preprocess)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from drawn_digits import (
    KINDS,
    PLACEMENTS,
    assert_mnist_like,
    canvas_rgba,
    corr,
    draw_digit,
    encode,
    ink_box,
    paper,
    reference,
    similar,
    transparent_rgba,
)
from PIL import Image

from cnnlab.inspect import pixels
from cnnlab.inspect import preprocess as pp
from cnnlab.inspect.preprocess import ImageError

MNIST_5K = Path(__file__).resolve().parent.parent / "cnnlab" / "data" / "mnist_5k.npz"


# ---------------------------------------------------------------------------------------------
# against MNIST itself


def test_centred_mnist_like_digit_is_nearly_unchanged():
    """An image that is already MNIST-style (the output) comes back as it was."""
    for kind in KINDS:
        once = reference(kind)
        twice = pp.preprocess_array(once).image
        assert corr(once, twice) > 0.99


def test_real_mnist_digits_are_nearly_unchanged():
    images = np.load(MNIST_5K)["images"][:300]
    rows, cols = np.indices((28, 28))
    correlations, solid = [], []
    for digit in images:
        # MNIST's own convention, which the documented one matches
        mass = digit.astype(np.float64)
        assert abs((rows * mass).sum() / mass.sum() - 14) <= 0.5
        assert abs((cols * mass).sum() / mass.sum() - 14) <= 0.5
        image = assert_mnist_like(pp.preprocess_array(digit), solid=False)
        correlations.append(corr(image, digit))
        # the rest moved by one pixel: a centre of mass close to x.5 that rounded the other way
        assert similar(image, digit) > 0.97
        solid.append(max(ink_box(image, 0.25)) in (19, 20))
    correlations = np.array(correlations)
    assert np.median(correlations) > 0.99
    assert np.mean(correlations > 0.95) > 0.9
    assert np.mean(solid) > 0.98  # a few MNIST digits carry faint specks that widen the box


def test_mnist_digit_drawn_large_comes_back():
    """A digit blown up to a 280×280 canvas shrinks back to (nearly) the MNIST original."""
    images = np.load(MNIST_5K)["images"][:100]
    correlations = []
    for digit in images:
        big = np.asarray(Image.fromarray(digit).resize((280, 280), Image.Resampling.BILINEAR))
        image = assert_mnist_like(pp.preprocess_canvas(canvas_rgba(big)), solid=False)
        correlations.append(similar(image, digit))
    assert np.median(correlations) > 0.95 and min(correlations) > 0.75


# ---------------------------------------------------------------------------------------------
# blank drawings


@pytest.mark.parametrize("canvas", [
    np.zeros((280, 280, 4), np.uint8),  # fully transparent
    canvas_rgba(np.zeros((280, 280), np.uint8)),  # opaque black
    canvas_rgba(np.full((280, 280), 255, np.uint8)),  # opaque white
    transparent_rgba(np.zeros((280, 280), np.uint8)),  # transparent, RGB noise
    np.full((280, 280), 0.4, np.float32),
], ids=["transparent", "black", "white", "transparent-noise", "grey"])
def test_blank_canvas(canvas):
    result = pp.preprocess_canvas(canvas)
    assert result.blank and result.image is None
    assert "nothing drawn" in result.note
    assert [title for title, _ in result.steps] == ["as drawn"]
    assert result.steps[0][1].shape == (280, 280)
    with pytest.raises(ImageError, match="nothing drawn"):
        result.model_input()
    with pytest.raises(ImageError, match="nothing drawn"):
        result.as_uint8()


def test_blank_paper_photo():
    sheet = paper(np.zeros((300, 400), np.uint8))
    result = pp.preprocess_image_bytes(encode(sheet, "JPEG", quality=70))
    assert result.blank and result.image is None


def test_speck_is_blank_but_a_stroke_is_not():
    speck = np.zeros((280, 280), np.uint8)
    speck[100:104, 50:53] = 255  # 12 pixels
    result = pp.preprocess_canvas(canvas_rgba(speck))
    assert result.blank and "speck" in result.note and "12 pixels" in result.note
    dot = np.zeros((280, 280), np.uint8)
    dot[100:108, 50:56] = 255  # 48 pixels: a small mark, kept
    assert not pp.preprocess_canvas(canvas_rgba(dot)).blank
    # a speck beside a real digit does not make it blank
    digit = draw_digit("1", PLACEMENTS["large"]) | speck
    assert not pp.preprocess_canvas(canvas_rgba(digit)).blank


def test_faint_ink_is_blank():
    faint = np.zeros((280, 280), np.uint8)
    faint[50:200, 100:120] = 20  # 8% brighter than the background
    assert pp.preprocess_canvas(canvas_rgba(faint)).blank


# ---------------------------------------------------------------------------------------------
# the result object


def test_model_input_and_uint8():
    result = pp.preprocess_canvas(canvas_rgba(draw_digit("7", PLACEMENTS["large"])))
    as_uint8 = result.as_uint8()
    assert as_uint8.shape == (28, 28) and as_uint8.dtype == np.uint8 and as_uint8.max() == 255
    batch = result.model_input()
    assert batch.shape == (1, 28, 28, 1) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[0, :, :, 0], as_uint8)
    unit = result.model_input("unit")
    assert unit.shape == (1, 28, 28, 1) and unit.dtype == np.float32
    np.testing.assert_array_equal(unit[0, :, :, 0], result.image)
    unit[0, 0, 0, 0] = 5  # a copy: the result stays intact
    assert result.image[0, 0] == 0
    with pytest.raises(ValueError, match="uint8"):
        result.model_input("float")
    with pytest.raises(ValueError):
        result.image[0, 0] = 1  # read-only
    assert "blank=False" in repr(result) and "centred 28×28" in repr(result)


def test_no_heavy_imports():
    for module in (pp, pixels):
        source = Path(module.__file__).read_text(encoding="utf-8")
        for name in ("streamlit", "tensorflow", "keras", "scipy"):
            assert f"import {name}" not in source and f"from {name}" not in source, module
