"""Transforming a prepared drawing (inspect.transform) and the stability sweep."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.architecture import presets
from cnnlab.inspect import inference, transform
from cnnlab.models import builder


def digit(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 10:18] = rng.integers(1, 256, (16, 8))
    return image


def rolled(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """np.roll, with what wrapped around zeroed: the reference for a shift."""
    out = np.roll(image, (dy, dx), axis=(0, 1))
    if dy > 0:
        out[:dy] = 0
    elif dy < 0:
        out[dy:] = 0
    if dx > 0:
        out[:, :dx] = 0
    elif dx < 0:
        out[:, dx:] = 0
    return out


@pytest.mark.parametrize("dx", [-14, -6, -1, 0, 3, 13])
@pytest.mark.parametrize("dy", [-7, 0, 2, 14])
def test_shift_is_roll_with_zero_fill(dx, dy):
    image = np.random.default_rng(abs(dx * 31 + dy)).integers(0, 256, (28, 28)).astype(np.uint8)
    assert np.array_equal(transform.transform(image, dx=dx, dy=dy), rolled(image, dx, dy))


def test_quarter_turn_and_identity_are_exact():
    image = digit()
    assert np.array_equal(transform.transform(image), image)
    assert np.array_equal(transform.transform(image, angle=90), np.rot90(image))
    assert np.array_equal(transform.transform(image, angle=-90), np.rot90(image, -1))


def test_scale_grows_the_ink_about_the_centre():
    image = np.zeros((28, 28), np.uint8)
    image[12:16, 12:16] = 255
    bigger = transform.transform(image, scale=2.0)
    rows, cols = np.nonzero(bigger > 127)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 17, 10, 17)


def test_thicken_and_thin_are_grey_dilation_and_erosion():
    image = np.zeros((28, 28), np.uint8)
    image[10:18, 13] = 200
    thick = transform.transform(image, thickness=1)
    assert np.array_equal(thick[9:19, 12:15], np.full((10, 3), 200, np.uint8))
    assert thick.sum() == 200 * 30
    assert not transform.transform(image, thickness=-1).any()  # a 1-px line disappears


def test_out_of_range_settings_are_refused():
    with pytest.raises(ValueError, match=r"angle must be in -180..180; received 200"):
        transform.transform(digit(), angle=200)
    with pytest.raises(ValueError, match=r"dx and dy must be whole pixels; received dx=1.5"):
        transform.shift(digit(), 1.5, 0)
    with pytest.raises(ValueError, match=r"uint8 array; received shape \(28, 28\) and dtype "):
        transform.transform(digit().astype(np.float32))


def test_sweep_is_one_batched_call_equal_to_direct_predictions():
    model = builder.build_model(presets.get("two-conv"), seed=3)
    predictor = inference.Predictor(model)
    calls = []

    def predict(batch):
        calls.append(batch.shape)
        return inference.predict_batch(model, batch)

    image = digit(1)
    result = transform.sweep(image, predict)
    assert calls == [(21, 28, 28, 1)]
    assert result.labels[0] == "dx -6" and result.labels[-1] == "+30°"
    for i, (kind, label) in enumerate(zip(result.kinds, result.labels, strict=True)):
        value = int(label.split()[-1].rstrip("°"))
        moved = transform.transform(image, **{kind: value})
        assert np.array_equal(result.images[i], moved)
        np.testing.assert_allclose(result.probabilities[i], predictor.probabilities(moved),
                                   rtol=1e-4, atol=1e-6)
    assert result.predicted().shape == (21,)
