"""Saliency and Grad-CAM (inspect.attribution) on a network whose answer is known.

Hand-set weights: conv filter 0 detects vertical strokes, filter 1 horizontal ones; class 0's
logit sums filter 0's map, class 1's filter 1's. The test image has vertical strokes in its
left half and horizontal ones in its right half, so class 0's evidence is on the left and
class 1's on the right: both maps must put their mass there.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.architecture import shapes, spec
from cnnlab.inspect import attribution
from cnnlab.models import builder


def strokes() -> np.ndarray:
    image = np.zeros((28, 28), np.uint8)
    image[:, 4] = image[:, 9] = 255  # vertical strokes, left half, edge to edge
    image[8, 15:] = image[18, 15:] = 255  # horizontal strokes, right half, to the edge
    return image


@pytest.fixture(scope="module")
def known():
    arch = spec.Architecture("known", (spec.make_layer("conv2d", filters=2, kernel_size=(3, 3),
                                                        padding="valid", activation="relu"),),
                             (28, 28, 1), 2)
    model = builder.build_model(arch)
    vertical = np.tile(np.array([-1.0, 2.0, -1.0]), (3, 1))  # (3, 3): reacts to a column
    kernel = np.stack([vertical, vertical.T], axis=-1)[:, :, None, :]  # (3, 3, 1, 2)
    flat = 26 * 26 * 2
    dense = np.zeros((flat, 2), np.float32)
    dense[0::2, 0] = 1.0  # flatten order (h, w, c): channel 0 -> class 0
    dense[1::2, 1] = 1.0
    model.get_layer("conv_1").set_weights([kernel.astype(np.float32), np.zeros(2, np.float32)])
    model.get_layer("output").set_weights([dense, np.zeros(2, np.float32)])
    return attribution.Explainer(model, shapes.summarize(arch))


def left_share(values: np.ndarray) -> float:
    return float(values[:, :14].sum() / values.sum())


def test_class_driven_by_the_left_filter_looks_left(known):
    result = known.explain(strokes(), 0)
    assert result.gradcam_layer == "conv_1" and result.message == ""
    assert result.gradcam.shape == result.saliency.shape == (28, 28)
    assert left_share(result.gradcam) > 0.9
    assert left_share(result.saliency) > 0.85  # the horizontal strokes' ends are vertical edges
    assert result.saliency.max() == pytest.approx(1.0)


def test_class_driven_by_the_right_filter_looks_right(known):
    result = known.explain(strokes(), 1)
    assert left_share(result.gradcam) < 0.2
    assert left_share(result.saliency) < 0.2


def test_saliency_is_the_input_gradient_of_the_logit(known):
    # the logit of class 0 is sum(relu(conv0)) / 255-scaled; flipping one stroke pixel off
    # changes it only where the saliency is non-zero
    result = known.explain(strokes(), 0)
    assert result.saliency[14, 4] > 0 and result.saliency[14, 20] == 0


def test_network_without_conv_gives_saliency_and_says_why():
    arch = spec.Architecture("flat", (spec.make_layer("dense", units=8),), (28, 28, 1), 10)
    explainer = attribution.Explainer(builder.build_model(arch, seed=1), shapes.summarize(arch))
    result = explainer.explain(strokes(), 3)
    assert result.gradcam is None and result.gradcam_layer is None
    assert "no conv layer" in result.message and result.saliency.max() == pytest.approx(1.0)


def test_depthwise_counts_as_conv_and_last_conv_is_found_by_type():
    layers = (spec.make_layer("conv2d", filters=4, kernel_size=(3, 3)),
              spec.make_layer("depthwise_conv2d", kernel_size=(3, 3)),
              spec.make_layer("dense", units=8))
    arch = spec.Architecture("dw", layers, (28, 28, 1), 10)
    summary = shapes.summarize(arch)
    assert attribution.last_conv_row(summary) == "dwconv_1"


def test_refusals_name_what_works(known):
    with pytest.raises(ValueError, match=r"class_index must be in 0..1; received 2"):
        known.explain(strokes(), 2)
    arch = spec.Architecture("s", (spec.make_layer("conv2d", filters=2, kernel_size=(1, 1),
                                                    strides=(2, 2)),), (28, 28, 1), 10)
    with pytest.raises(ValueError, match=r"conv_1: a kernel_size \[1, 1\] with strides"):
        attribution.Explainer(builder.build_model(arch), shapes.summarize(arch))
