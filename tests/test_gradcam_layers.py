"""Grad-CAM at a chosen layer, in the input's coordinate frame (issue 22 item 8), and saliency,
on a hand-set network whose evidence sits off-centre (tests/handset.py).

Stretching two-conv-like ``conv_2``'s 11×11 map over the 28×28 input edge to edge (what
Grad-CAM did before) put the square's evidence at rows 0–3, in the empty margin above it:
its peak fell outside the square and its centre of mass 3 px too high. Placing each cell at
its receptive field's centre keeps it on the square at both layers.
"""

from __future__ import annotations

import numpy as np
import pytest
from handset import SQUARE, centroid, image, inside, model, peak, share_in

from cnnlab.architecture import presets, shapes
from cnnlab.inspect import attribution, receptive

SQUARE_CENTRE = ((SQUARE[0] + SQUARE[2] - 1) / 2, (SQUARE[1] + SQUARE[3] - 1) / 2)


@pytest.fixture(scope="module", params=[1, 3], ids=["grey", "rgb"])
def handset(request):
    channels = request.param
    built, summary = model(channels)
    return attribution.Explainer(built, summary), image(channels)


@pytest.mark.parametrize("layer, resolution", [("conv_1", (26, 26)), ("conv_2", (11, 11))])
def test_gradcam_at_each_layer_covers_the_off_centre_evidence(handset, layer, resolution):
    explainer, pixels = handset
    result = explainer.explain(pixels, 0, layer=layer)
    assert result.gradcam_layer == layer and result.gradcam_resolution == resolution
    assert result.gradcam.shape == (28, 28) and result.gradcam.max() == pytest.approx(1.0)
    assert inside(SQUARE, *peak(result.gradcam))
    assert share_in(result.gradcam, SQUARE, margin=1) > 0.9
    row, col = centroid(result.gradcam)
    assert abs(row - SQUARE_CENTRE[0]) <= 1 and abs(col - SQUARE_CENTRE[1]) <= 1


def test_saliency_covers_the_off_centre_evidence(handset):
    explainer, pixels = handset
    result = explainer.explain(pixels, 0)
    assert inside(SQUARE, *peak(result.saliency))
    assert share_in(result.saliency, SQUARE, margin=1) > 0.9


def test_default_layer_is_the_last_conv_and_unknown_layers_are_refused(handset):
    explainer, pixels = handset
    assert explainer.layers == ["conv_1", "conv_2"]
    assert explainer.explain(pixels, 1).gradcam_layer == "conv_2"
    with pytest.raises(ValueError, match=r"no conv layer named 'pool_1'.*use one of conv_1, "
                                         r"conv_2"):
        explainer.explain(pixels, 0, layer="pool_1")


def test_unit_grid_centres_are_the_receptive_fields_centres():
    summary = shapes.summarize(presets.get("lenet-5"))  # "same" padding, then "valid"
    for name in ("conv_1", "pool_1", "conv_2", "pool_2"):
        grid = receptive.unit_grid(summary, name)
        rows, cols = grid.shape
        for r, c in ((0, 0), (rows - 1, cols - 1), (rows // 2, cols // 3)):
            top, left, bottom, right = receptive.region_unclipped(summary, name, r, c)
            assert grid.origin[0] + r * grid.step[0] == (top + bottom - 1) / 2
            assert grid.origin[1] + c * grid.step[1] == (left + right - 1) / 2


def test_to_input_puts_a_single_cell_at_its_centre_and_fades_outside():
    summary = shapes.summarize(presets.get("two-conv"))
    grid = receptive.unit_grid(summary, "conv_2")  # 11×11, centres 3.5, 5.5, ..., 23.5
    cells = np.zeros(grid.shape)
    cells[0, 10] = 1.0  # the top-right cell
    placed = receptive.to_input(cells, grid, (28, 28))
    assert set(peak(placed)) <= {3, 4, 23, 24}  # the pixels next to (3.5, 23.5)
    assert placed[:2].max() == 0 and placed[:, 26:].max() == 0  # the margin beyond stays dark
    with pytest.raises(ValueError, match=r"map shape \(11, 11\); received \(5, 5\)"):
        receptive.to_input(np.zeros((5, 5)), grid, (28, 28))
