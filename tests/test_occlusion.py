"""Occlusion sensitivity (inspect.occlusion) on the hand-set network whose evidence sits
off-centre (tests/handset.py), and against Keras's own predictions of the covered images."""

from __future__ import annotations

import numpy as np
import pytest
from handset import LINES, SQUARE, centroid, image, inside, model, peak, share_in

from cnnlab.inspect import occlusion

SQUARE_CENTRE = ((SQUARE[0] + SQUARE[2] - 1) / 2, (SQUARE[1] + SQUARE[3] - 1) / 2)


@pytest.fixture(scope="module", params=[1, 3], ids=["grey", "rgb"])
def handset(request):
    built, summary = model(request.param)
    return built, occlusion.Occluder(built, summary), image(request.param)


@pytest.mark.parametrize("size, stride, resolution", [(None, None, (12, 12)), (3, 1, (26, 26)),
                                                      (8, 4, (6, 6))])
def test_the_strongest_fall_is_on_the_off_centre_evidence(handset, size, stride, resolution):
    _, occluder, pixels = handset
    result = occluder.map(pixels, 0, size, stride)
    assert result.resolution == resolution and result.fall.shape == result.heat.shape == (28, 28)
    assert inside(SQUARE, *peak(result.heat))
    row, col = centroid(result.heat)
    assert abs(row - SQUARE_CENTRE[0]) <= 1 and abs(col - SQUARE_CENTRE[1]) <= 1
    assert result.heat.max() == pytest.approx(1.0)


def test_class_one_falls_where_its_lines_are(handset):
    _, occluder, pixels = handset
    result = occluder.map(pixels, 1)
    assert inside(LINES, *peak(result.heat)) and share_in(result.heat, LINES, 1) > 0.7


def test_each_cell_is_the_fall_of_the_covered_image_as_keras_predicts_it(handset):
    built, occluder, pixels = handset
    result = occluder.map(pixels, 0, 6, 2)
    i, j = 1, 9  # the square over rows 2-7, columns 18-23: the evidence hidden
    covered = np.array(pixels, np.float32).reshape(1, 28, 28, -1)
    covered[0, result.tops[i]:result.tops[i] + 6, result.lefts[j]:result.lefts[j] + 6] = 127.5
    probabilities = built.predict(np.concatenate([pixels.reshape(covered.shape), covered]),
                                  verbose=0)[:, 0]
    assert result.probability == pytest.approx(probabilities[0], rel=1e-4)
    # hiding the whole square is the most harmful position: the largest fall, the lowest p
    assert result.cells[i, j] > 0 and result.cells[i, j] == result.cells.max()
    assert result.lowest_probability == pytest.approx(probabilities[1], rel=1e-3)


def test_positions_cover_every_pixel():
    assert occlusion.positions(28, 6, 2) == tuple(range(0, 23, 2))
    assert occlusion.positions(28, 5, 4) == (0, 4, 8, 12, 16, 20, 23)
    assert occlusion.default_size(28, 28) == 6 and occlusion.default_size(4, 9) == 2


def test_refusals_say_what_works(handset):
    _, occluder, pixels = handset
    with pytest.raises(ValueError, match=r"size must be in 1..28; received 29"):
        occluder.map(pixels, 0, size=29)
    with pytest.raises(ValueError, match=r"stride must be in 1..4; received 5"):
        occluder.map(pixels, 0, size=4, stride=5)
    with pytest.raises(ValueError, match=r"fill must be in 0..1; received 1.5"):
        occluder.map(pixels, 0, fill=1.5)
    with pytest.raises(ValueError, match=r"class_index must be in 0..1; received 2"):
        occluder.map(pixels, 2)
