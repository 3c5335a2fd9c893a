"""Arrays to images: grid sizes, one colour scale per layer, legends, filters, digit grids."""

import warnings

import matplotlib
import numpy as np
import pytest

from cnnlab.views import colours, render

VIRIDIS = colours.colormap_lut("viridis")
WHITE = np.array(render.BACKGROUND, np.uint8)


def test_lut_matches_matplotlib():
    colormap = matplotlib.colormaps["RdBu_r"]
    lut = colours.colormap_lut("RdBu_r")
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    for i in (0, 100, 255):
        np.testing.assert_array_equal(lut[i], np.round(np.array(colormap(i)[:3]) * 255))
    with pytest.raises(ValueError, match="unknown colour map 'nope'"):
        colours.colormap_lut("nope")


@pytest.mark.parametrize("shape, kwargs, expected", [
    ((5, 5, 4), {"scale": 2}, (21, 21, 3)),  # 2x2 tiles of 10 px, 1-px separators
    ((5, 5, 4), {"scale": 2, "cols": 4}, (10, 43, 3)),
    ((5, 5, 5), {"scale": 1, "pad": 0}, (10, 15, 3)),  # 3 columns, 2 rows
    ((3, 7, 1), {"scale": 3}, (9, 21, 3)),
    ((26, 26, 32), {}, (317, 317, 3)),  # automatic: scale 2, 6x6 grid
    ((5, 5, 64), {}, (407, 407, 3)),  # automatic: scale 10, 8x8 grid
])
def test_channel_grid_dimensions(shape, kwargs, expected):
    rgb, _, _ = render.channel_grid(np.random.default_rng(0).normal(size=shape), **kwargs)
    assert rgb.shape == expected and rgb.dtype == np.uint8


def test_channels_share_one_colour_scale():
    values = np.zeros((2, 2, 2), np.float32)
    values[0, 0, 0] = 10.0  # channel 0 holds the layer's maximum
    values[1, 1, 1] = 1.0  # channel 1's maximum is a tenth of it
    rgb, vmin, vmax = render.channel_grid(values, scale=1, pad=1, cols=2)
    assert (vmin, vmax) == (0.0, 10.0)
    np.testing.assert_array_equal(rgb[0, 0], VIRIDIS[255])  # channel 0 at column 0
    np.testing.assert_array_equal(rgb[1, 4], VIRIDIS[25])  # channel 1 at column 3: floor(25.6)
    np.testing.assert_array_equal(rgb[0, 3], VIRIDIS[0])
    np.testing.assert_array_equal(rgb[:, 2], np.broadcast_to(WHITE, (2, 3)))  # separator


def test_given_limits_are_used_and_clip():
    values = np.array([[[-5.0, 0.5, 5.0]]])  # one pixel, three channels
    rgb, vmin, vmax = render.channel_grid(values, vmin=0.0, vmax=1.0, scale=1, pad=0, cols=3)
    assert (vmin, vmax) == (0.0, 1.0)
    np.testing.assert_array_equal(rgb[0], VIRIDIS[[0, 128, 255]])


@pytest.mark.parametrize("constant", [0.0, 3.5])
def test_constant_layer_does_not_divide_by_zero(constant):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rgb, vmin, vmax = render.channel_grid(np.full((4, 4, 3), constant), scale=1, pad=0)
        strip, _, _ = render.vector_strip(np.full(5, constant))
    assert vmin == vmax == constant
    np.testing.assert_array_equal(rgb[:4, :4], np.broadcast_to(VIRIDIS[0], (4, 4, 3)))
    np.testing.assert_array_equal(strip[0, 0], VIRIDIS[0])


def test_empty_cells_are_background():
    rgb, _, _ = render.channel_grid(np.ones((2, 2, 3)), scale=1, pad=1, cols=2)
    np.testing.assert_array_equal(rgb[3:, 3:], np.broadcast_to(WHITE, (2, 2, 3)))
    dark = (1, 2, 3)
    rgb, _, _ = render.channel_grid(np.ones((2, 2, 3)), scale=1, cols=2, background=dark)
    np.testing.assert_array_equal(rgb[4, 4], dark)


def test_diverging_limits_are_symmetric():
    assert colours.diverging_limits(np.array([-0.5, 2.0])) == (-2.0, 2.0)
    assert colours.diverging_limits(np.array([[-3.0], [1.0]])) == (-3.0, 3.0)
    assert colours.diverging_limits(np.zeros((3, 3))) == (-1.0, 1.0)
    low, high = colours.diverging_limits(np.array([0.0, 0.25]))
    rgb = colours.colorize(np.array([0.0]), low, high, "RdBu_r")
    np.testing.assert_array_equal(rgb[0], colours.colormap_lut("RdBu_r")[128])  # 0 is the middle


def test_colorize_ends_and_nan():
    rgb = colours.colorize(np.array([1.0, 3.0, np.nan, 2.0]), 1.0, 3.0)
    np.testing.assert_array_equal(rgb, VIRIDIS[[0, 255, 0, 128]])


def test_vector_strip_dimensions_and_colours():
    strip, vmin, vmax = render.vector_strip(np.arange(10.0), cell=4, height=6)
    assert strip.shape == (6, 40, 3) and (vmin, vmax) == (0.0, 9.0)
    np.testing.assert_array_equal(strip[5, 39], VIRIDIS[255])
    np.testing.assert_array_equal(strip[0, 0], VIRIDIS[0])
    wrapped, _, _ = render.vector_strip(np.arange(10.0), cell=4, height=6, cols=4, pad=1)
    assert wrapped.shape == (3 * 6 + 2, 4 * 4 + 3, 3)
    assert render.vector_strip(np.arange(10.0))[0].shape == (24, 80, 3)  # one row, 8x24 cells
    flatten, _, _ = render.vector_strip(np.arange(1600.0))  # wraps after 64, square cells
    assert flatten.shape == (25 * 8, 64 * 8, 3)
    np.testing.assert_array_equal(flatten[-1, -1], VIRIDIS[255])
    with pytest.raises(ValueError, match="at least one activation"):
        render.vector_strip(np.array([]))


def test_colorbar_runs_from_vmin_to_vmax():
    bar = render.colorbar_image(-1.0, 1.0, "viridis", width=100, height=10, labels=False)
    assert bar.shape == (10, 100, 3)
    np.testing.assert_array_equal(bar[:, 0], np.broadcast_to(VIRIDIS[0], (10, 3)))
    np.testing.assert_array_equal(bar[:, -1], np.broadcast_to(VIRIDIS[255], (10, 3)))
    legend = render.colorbar_image(-1.0, 1.0, width=100, height=10)
    assert legend.shape[0] > 10 and legend.shape[1] == 100
    assert (legend[10:] < 100).all(axis=-1).any()  # dark label text under the bar


def test_filter_grid_describes_what_it_shows():
    kernel = np.random.default_rng(1).normal(size=(3, 3, 32, 64))
    rgb, vmin, vmax, text = render.filter_grid(kernel, scale=1, pad=1, cols=8)
    assert text == "64 filters of 3×3, averaged over 32 input channels"
    assert vmin == -vmax and vmax == pytest.approx(np.abs(kernel.mean(axis=2)).max())
    assert rgb.shape == (8 * 4 - 1, 8 * 4 - 1, 3)
    expected = colours.colorize(kernel.mean(axis=2)[:, :, 0], vmin, vmax, "RdBu_r")
    np.testing.assert_array_equal(rgb[:3, :3], expected)
    np.testing.assert_array_equal(rgb[3, 0], render.FILTER_BACKGROUND)

    rgb, vmin, vmax, text = render.filter_grid(kernel, mode="channel", channel=5, scale=1)
    assert text == "64 filters of 3×3, input channel 5 of 32"
    assert vmax == pytest.approx(np.abs(kernel[:, :, 5, :]).max())

    _, _, _, text = render.filter_grid(kernel[:, :, :1, :6], mode="channel", channel=0)
    assert text == "6 filters of 3×3, on the single input channel"


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "max"}, "mode must be 'mean' or 'channel'; received 'max'"),
    ({"mode": "channel", "channel": 32}, r"channel must be in 0\.\.31; received 32"),
])
def test_filter_grid_refuses_bad_choices(kwargs, message):
    with pytest.raises(ValueError, match=message):
        render.filter_grid(np.zeros((3, 3, 32, 4)), **kwargs)
    with pytest.raises(ValueError, match="received shape"):
        render.filter_grid(np.zeros((3, 3, 4)))


def test_image_grid_layout_and_boxes():
    images = np.random.default_rng(2).integers(0, 256, size=(10, 28, 28), dtype=np.uint8)
    rgb, boxes = render.image_grid(images, cols=4, scale=2, pad=4)
    assert rgb.shape == (3 * 56 + 2 * 4, 4 * 56 + 3 * 4, 3)
    assert boxes[5] == (60, 60, 116, 116)
    top, left, bottom, right = boxes[5]
    np.testing.assert_array_equal(rgb[top:bottom, left:right, 0], render.upscale(images[5], 2))
    np.testing.assert_array_equal(rgb[-1, -1], WHITE)  # empty cell


def test_image_grid_writes_captions_under_images():
    images = np.zeros((3, 28, 28, 1), np.uint8) + 255  # white digits: only text is dark
    rgb, boxes = render.image_grid(images, cols=3, labels=["7 as 1", "3", "9 as 4"])
    assert rgb.shape[0] == 56 + 14
    top, left, bottom, right = boxes[0]
    assert (rgb[bottom:, left:right] < 128).any()  # the caption band has text
    assert (rgb[top:bottom, left:right] == 255).all()
    with pytest.raises(ValueError, match="one caption per image"):
        render.image_grid(images, labels=["a"])


def test_upscale_repeats_pixels():
    up = render.upscale(np.array([[1, 2], [3, 4]], np.uint8), 3)
    assert up.shape == (6, 6)
    np.testing.assert_array_equal(up[:3, 3:], 2)
    assert render.upscale(np.zeros((2, 2, 3)), 2).shape == (4, 4, 3)
    with pytest.raises(ValueError, match="received 0"):
        render.upscale(np.zeros((2, 2)), 0)


def test_thumbnails_of_differently_shaped_steps_are_equal_squares_that_keep_the_shape():
    """The Draw page's preprocessing steps (280×280, a tall crop, 20 px, 28×28) line up."""
    from cnnlab.inspect import preprocess

    canvas = np.zeros((280, 280, 4), dtype=np.uint8)
    canvas[..., 3] = 255
    canvas[40:240, 139:161, :3] = 255  # a tall stroke: its crop is 200×22
    steps = [step for _, step in preprocess.preprocess_canvas(canvas).steps]
    assert len({step.shape for step in steps}) > 1
    thumbs = [render.thumbnail(step, size=110) for step in steps]
    assert {thumb.shape for thumb in thumbs} == {(110, 110, 3)}
    cropped = thumbs[1][..., 0]
    assert (cropped[:, 0] == 64).all() and (cropped[55, 50:60] == 255).all()  # grey sides


def test_thumbnail_refuses_what_is_not_an_image():
    with pytest.raises(ValueError, match=r"\(h, w, 3\) colour image; received shape "
                                         r"\(3, 3, 2\)"):
        render.thumbnail(np.zeros((3, 3, 2)))
