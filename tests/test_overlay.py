"""The pictures of "Inside the decision" (views.overlay)."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.views import overlay


def test_outline_frames_exactly_the_box():
    rgb = overlay.outlined(np.zeros((28, 28), np.uint8), (2, 3, 7, 10), scale=4, width=1)
    red = np.all(rgb == overlay.OUTLINE, axis=-1)
    rows, cols = np.nonzero(red)
    assert (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1) == (8, 12, 28, 40)
    assert not red[9:27, 13:39].any()  # the inside stays the image


def test_outline_is_clipped_to_the_picture():
    rgb = overlay.outlined(np.zeros((4, 4), np.uint8), (2, 2, 9, 9), scale=2)
    assert rgb.shape == (8, 8, 3) and np.all(rgb[7, 4:] == overlay.OUTLINE)


def test_heat_overlay_colours_where_the_heat_is():
    heat = np.zeros((4, 4), np.float32)
    heat[:, :2] = 1.0
    rgb = overlay.heat_overlay(np.zeros((4, 4), np.uint8), heat, scale=1)
    assert rgb[:, :2].mean() > rgb[:, 2:].mean() + 50
    with pytest.raises(ValueError, match=r"heat must have the image's shape \(4, 4\); received"):
        overlay.heat_overlay(np.zeros((4, 4), np.uint8), np.zeros((3, 3)))


def test_colour_images_keep_their_colours_under_heat_and_outline():
    image = np.zeros((4, 4, 3), np.uint8)
    image[..., 0] = 200  # red
    rgb = overlay.heat_overlay(image, np.zeros((4, 4)), scale=2)
    assert rgb.shape == (8, 8, 3) and rgb[..., 0].mean() > rgb[..., 1].mean() + 20
    framed = overlay.outlined(image.astype(np.float32) / 255, (1, 1, 3, 3), scale=2, width=1)
    assert np.all(framed[0, 0] == (200, 0, 0)) and np.all(framed[2, 2] == overlay.OUTLINE)
    with pytest.raises(ValueError, match=r"\(h, w\) grey or \(h, w, 3\) colour; received"):
        overlay.as_rgb(np.zeros((4, 4, 2)))


def test_change_picture_is_diverging_around_white():
    change = np.array([[0.2, -0.2], [0.0, 0.0]], np.float32)
    rgb = overlay.change_picture(change, scale=1)
    red, blue, unchanged = (rgb[0, 0].astype(int), rgb[0, 1].astype(int),
                            rgb[1, 0].astype(int))
    assert red[0] > red[2] + 50 and blue[2] > blue[0] + 50
    assert unchanged.min() > 240  # white-ish: the middle of the map
    assert overlay.change_picture(np.zeros((2, 2, 3)), scale=3).shape == (6, 6, 3)
