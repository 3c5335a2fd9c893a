"""Sanity checks (inspect.sanity, Adebayo et al. 2018): cascading randomisation of a trained
two-conv digits run, and the maps recomputed on it.

Grad-CAM and the signed gradient of the trained and the fully randomised network differ (mean
Spearman rank correlation below 0.5 over eight test digits). The absolute saliency does not on
these black-background digits, and the test records why: a randomised network's saliency is
the shape of the ink (see the module's docstring).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from trained_digits import digit_images, digits_run, summary_of

from cnnlab.architecture import shapes, spec
from cnnlab.inspect import attribution, sanity
from cnnlab.models import builder

IMAGES = range(8)


@pytest.fixture(scope="module")
def explained():
    """(trained, fully randomised) explanations of eight test digits for their true class."""
    run = digits_run()
    summary = summary_of(run)
    first = sanity.randomisable_layers(summary)[0]
    random = sanity.randomised(run.model, summary, first, seed=0)
    trained_explainer = attribution.Explainer(run.model, summary)
    random_explainer = attribution.Explainer(random, summary)
    images, labels = digit_images()
    return [(trained_explainer.explain(images[i], int(labels[i])),
             random_explainer.explain(images[i], int(labels[i]))) for i in IMAGES]


def mean_finite(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    assert len(finite) >= 6, values  # a constant map (no Grad-CAM at all) is rare
    return float(np.mean(finite))


def test_gradcam_of_a_randomised_network_differs(explained):
    rho = [sanity.similarity(a, b).gradcam for a, b in explained]
    assert mean_finite(rho) < 0.5, rho


def test_signed_gradient_of_a_randomised_network_differs(explained):
    rho = [sanity.similarity(a, b).gradient for a, b in explained]
    assert abs(mean_finite(rho)) < 0.5, rho


def test_absolute_saliency_of_digits_follows_the_ink_whatever_the_weights(explained):
    rho = [sanity.similarity(a, b).saliency for a, b in explained]
    assert mean_finite(rho) > 0.5, rho  # fails the check: the digit's shape, not the weights
    random_maps = [b.saliency for _, b in explained]
    images = digit_images()[0]
    ink = [sanity.spearman(m, images[i] > 0) for m, i in zip(random_maps, IMAGES, strict=True)]
    assert min(ink) > 0.5, ink


def test_cascading_randomisation_keeps_the_layers_below():
    run = digits_run()
    summary = summary_of(run)
    assert sanity.randomisable_layers(summary) == ["conv_1", "conv_2", "dense_1", "output"]
    before = [w.copy() for w in run.model.get_weights()]
    top = sanity.randomised(run.model, summary, "dense_1", seed=3)
    for name in ("conv_1", "conv_2"):
        for kept, trained in zip(top.get_layer(name).get_weights(),
                                 run.model.get_layer(name).get_weights(), strict=True):
            assert np.array_equal(kept, trained)
    kernel, bias = top.get_layer("dense_1").get_weights()
    assert not np.allclose(kernel, run.model.get_layer("dense_1").get_weights()[0])
    assert not bias.any()  # biases start at zero, as their initialiser says
    limit = np.sqrt(6 / sum(kernel.shape))  # Glorot uniform's bound
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    again = sanity.randomised(run.model, summary, "dense_1", seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(top.get_weights(), again.get_weights(),
                                                    strict=True))
    other = sanity.randomised(run.model, summary, "dense_1", seed=4)
    assert not np.array_equal(other.get_layer("output").get_weights()[0],
                              top.get_layer("output").get_weights()[0])
    assert all(np.array_equal(a, b) for a, b in zip(before, run.model.get_weights(),
                                                    strict=True))  # the run's model untouched


def test_every_layer_type_with_weights_is_reinitialised():
    arch = spec.Architecture("mixed", (
        spec.make_layer("conv2d", filters=4, kernel_size=3),
        spec.make_layer("batch_norm"),
        spec.make_layer("depthwise_conv2d", kernel_size=3),
        spec.make_layer("flatten"),
        spec.make_layer("dense", units=6)), (12, 12, 3), 3)
    model = builder.build_model(arch, seed=0)
    model.set_weights([w + 0.5 for w in model.get_weights()])  # "trained": nothing at its start
    copy = sanity.randomised(model, shapes.summarize(arch), "conv_1", seed=1)
    gamma, beta, mean, variance = copy.get_layer("bn_1").get_weights()
    assert (gamma == 1).all() and (beta == 0).all() and (mean == 0).all()
    assert (variance == 1).all()
    for trained, fresh in zip(model.get_weights(), copy.get_weights(), strict=True):
        assert not np.allclose(trained, fresh)


def test_unknown_layer_is_refused_with_the_choices():
    run = digits_run()
    with pytest.raises(ValueError, match=r"cannot randomise from layer 'pool_1'.*one of "
                                         r"conv_1, conv_2, dense_1, output"):
        sanity.randomised(run.model, summary_of(run), "pool_1")


def test_spearman_against_known_values():
    assert sanity.spearman(np.arange(5), np.arange(5)[::-1]) == pytest.approx(-1)
    # scipy.stats.spearmanr([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) = 0.8207826816681233
    assert sanity.spearman(np.array([1, 2, 3, 4, 5]),
                           np.array([5, 6, 7, 8, 7])) == pytest.approx(0.8207826816681233)
    assert math.isnan(sanity.spearman(np.zeros(4), np.arange(4)))
    with pytest.raises(ValueError, match=r"same shape; received \(2,\) and \(3,\)"):
        sanity.spearman(np.zeros(2), np.zeros(3))
