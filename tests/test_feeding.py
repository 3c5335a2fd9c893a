"""The validation split: stratified, seeded, checked."""

import math

import numpy as np
import pytest

from cnnlab.training import feeding


def test_split_is_stratified_and_seeded():
    y = np.repeat(np.arange(4, dtype=np.uint8), [40, 20, 20, 20])
    train, val = feeding.split(y, 0.25, seed=7)
    assert np.bincount(y[val]).tolist() == [10, 5, 5, 5]
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(y)))
    again_train, again_val = feeding.split(y, 0.25, seed=7)
    assert np.array_equal(val, again_val) and np.array_equal(train, again_train)
    assert not np.array_equal(val, feeding.split(y, 0.25, seed=8)[1])
    train, val = feeding.split(y, 0, seed=7)
    assert len(val) == 0 and np.array_equal(train, np.arange(len(y)))


@pytest.mark.parametrize("fraction", [-0.1, 0.95, math.nan, "0.1", None])
def test_split_rejects_bad_fractions(fraction):
    with pytest.raises(ValueError, match="from 0 to 0.9"):
        feeding.split(np.zeros(10, dtype=np.uint8), fraction, seed=0)
