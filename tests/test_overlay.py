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
