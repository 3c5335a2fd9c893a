"""Drawing and image preprocessing, the MNIST convention (inspect.preprocess). No TensorFlow."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnnlab.inspect import pixels
from cnnlab.inspect import preprocess as pp
from cnnlab.inspect.preprocess import ImageError

MNIST_5K = Path(__file__).resolve().parent.parent / "cnnlab" / "data" / "mnist_5k.npz"


# ---------------------------------------------------------------------------------------------
# synthetic digits


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
    """White-on-black opaque canvas, as streamlit-drawable-canvas gives with a black background."""
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


def test_fast_enough_for_a_canvas():
    canvas = canvas_rgba(draw_digit("0", PLACEMENTS["large"]))
    pp.preprocess_canvas(canvas)
    times = []
    for _ in range(20):
        start = time.perf_counter()
        pp.preprocess_canvas(canvas)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 0.010


# ---------------------------------------------------------------------------------------------
# refusals


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
    data = encode(draw_digit("1", PLACEMENTS["large"]), "PNG")
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
    data = encode(paper(draw_digit("7", PLACEMENTS["large"])), "PNG")
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


def test_no_heavy_imports():
    source = Path(pp.__file__).read_text(encoding="utf-8")
    for name in ("streamlit", "tensorflow", "keras", "scipy"):
        assert f"import {name}" not in source and f"from {name}" not in source

