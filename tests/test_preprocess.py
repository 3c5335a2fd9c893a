"""Drawing and image preprocessing, the MNIST convention (inspect.preprocess) on every kind of
input: canvases, transparent canvases, dark ink on paper, PNG and JPEG files. No TensorFlow."""

from __future__ import annotations

import io

import numpy as np
import pytest
from drawn_digits import (
    KINDS,
    PLACEMENTS,
    assert_mnist_like,
    canvas_rgba,
    draw_digit,
    encode,
    ink_box,
    paper,
    reference,
    similar,
    transparent_rgba,
)
from PIL import Image, ImageDraw

from cnnlab.inspect import pixels
from cnnlab.inspect import preprocess as pp
from cnnlab.inspect.preprocess import ImageError

# ---------------------------------------------------------------------------------------------
# the convention, on every kind of input


def test_convention_constants():
    assert pp.STEP_TITLES == ("as drawn", "cropped", "scaled to 20 px", "centred 28×28")
    assert pp.CENTRE == (14.0, 14.0) and pp.FIELD == 28 and pp.BOX == 20
    assert issubclass(ImageError, ValueError)


@pytest.mark.parametrize("place", list(PLACEMENTS))
@pytest.mark.parametrize("kind", KINDS)
def test_white_on_black_canvas(kind, place):
    ink = draw_digit(kind, PLACEMENTS[place])
    image = assert_mnist_like(pp.preprocess_canvas(canvas_rgba(ink)))
    # position and size of the drawing do not matter: the same digit comes out
    assert similar(image, reference(kind)) > 0.9


@pytest.mark.parametrize("place", ["large", "corner"])
@pytest.mark.parametrize("kind", KINDS)
def test_transparent_canvas_reads_alpha(kind, place):
    ink = draw_digit(kind, PLACEMENTS[place])
    image = assert_mnist_like(pp.preprocess_canvas(transparent_rgba(ink)))
    opaque = pp.preprocess_canvas(canvas_rgba(ink)).image
    np.testing.assert_allclose(image, opaque, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_dark_ink_on_light_canvas_is_inverted(kind):
    ink = draw_digit(kind, PLACEMENTS["large"])
    inverted = canvas_rgba(255 - ink)  # black ink on a white, opaque canvas
    image = assert_mnist_like(pp.preprocess_canvas(inverted))
    np.testing.assert_allclose(image, reference(kind), atol=1e-6)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("place", ["large", "off-centre"])
@pytest.mark.parametrize("kind", KINDS)
def test_dark_on_light_file_bytes(kind, place, fmt):
    ink = draw_digit(kind, PLACEMENTS[place])
    data = encode(paper(ink), fmt, **({"quality": 80} if fmt == "JPEG" else {}))
    result = pp.preprocess_image_bytes(data)
    image = assert_mnist_like(result)
    assert similar(image, reference(kind)) > 0.9
    drawn = result.steps[0][1]
    assert drawn.shape == (280, 280) and drawn.dtype == np.float32
    # the paper became background (0) and the ink became light (1)
    assert drawn[ink == 0].mean() < 0.02 and drawn[ink == 255].mean() > 0.8


def test_white_on_black_file_and_rgb_canvas():
    ink = draw_digit("7", PLACEMENTS["large"])
    assert_mnist_like(pp.preprocess_image_bytes(encode(ink, "PNG")))
    assert_mnist_like(pp.preprocess_canvas(np.dstack([ink] * 3)))
    assert_mnist_like(pp.preprocess_canvas(ink))


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparent_png_bytes(mode):
    ink = draw_digit("0", PLACEMENTS["off-centre"])
    rgba = transparent_rgba(ink)
    img = Image.fromarray(rgba).convert(mode)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    image = assert_mnist_like(pp.preprocess_image_bytes(buf.getvalue()))
    assert similar(image, reference("0")) > 0.9


def test_sixteen_bit_png():
    ink = draw_digit("1", PLACEMENTS["large"]).astype(np.uint16)
    sixteen = (60000 - ink * 200).astype(np.uint16)  # dark ink on light 16-bit paper
    image = assert_mnist_like(pp.preprocess_image_bytes(encode(sixteen, "PNG")))
    assert similar(image, reference("1")) > 0.9


def test_exif_orientation_is_applied():
    upright = paper(draw_digit("7", PLACEMENTS["large"]))
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", quality=90, exif=exif)
    image = assert_mnist_like(pp.preprocess_image_bytes(buf.getvalue()))
    assert similar(image, reference("7")) > 0.9


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_large_photo_is_reduced_first(fmt):
    sheet = Image.fromarray(paper(draw_digit("7", PLACEMENTS["large"]))).resize((3000, 3000))
    result = pp.preprocess_image_bytes(encode(np.asarray(sheet), fmt))
    assert max(result.steps[0][1].shape) <= pixels.WORK_SIDE
    assert similar(assert_mnist_like(result), reference("7")) > 0.9


def test_explicit_polarity():
    ink = draw_digit("0", PLACEMENTS["large"])
    light = pp.preprocess_array(ink, ink_is_light=True).image
    dark = pp.preprocess_array(255 - ink, ink_is_light=False).image
    np.testing.assert_allclose(light, dark, atol=1e-6)
    np.testing.assert_allclose(pp.preprocess_array(ink / 255.0).image, light, atol=1e-5)


def test_steps_in_order_with_their_shapes():
    img = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(img).rectangle((40, 60, 140, 260), outline=255, width=12)  # 101 × 201
    result = pp.preprocess_canvas(canvas_rgba(np.asarray(img)))
    titles = [title for title, _ in result.steps]
    assert titles == ["as drawn", "cropped", "scaled to 20 px", "centred 28×28"]
    shapes = [image.shape for _, image in result.steps]
    assert shapes == [(280, 280), (201, 101), (20, 10), (28, 28)]
    for _, image in result.steps:
        assert image.dtype == np.float32 and image.min() >= 0 and image.max() <= 1
        assert not image.flags.writeable
    assert result.steps[3][1] is result.image


def test_thin_one_keeps_its_aspect_ratio():
    ink = np.zeros((280, 280), np.uint8)
    ink[40:240, 135:145] = 255  # 200 tall, 10 wide
    result = pp.preprocess_canvas(ink)
    assert result.steps[2][1].shape == (20, 1)
    assert ink_box(assert_mnist_like(result)) == (20, 1)


def test_tiny_digit_is_scaled_up():
    ink = draw_digit("0", (10, 10, 19, 21), size=40, width=2)
    result = pp.preprocess_array(ink)
    assert result.steps[1][1].shape[0] < 15
    assert_mnist_like(result)
