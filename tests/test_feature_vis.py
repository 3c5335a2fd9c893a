"""Feature visualization (inspect.feature_vis) on a trained two-conv digits run, against exact
and data-set references: a first-layer unit is linear in its 3×3 pixels, so its best input in
[0, 1] is known; a second-layer unit is compared with the test digits that excite it most."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tensorflow as tf
from trained_digits import digit_images, digits_run, summary_of

from cnnlab.architecture import shapes, spec
from cnnlab.inspect import feature_vis
from cnnlab.memory import budget
from cnnlab.models import builder


@pytest.fixture(scope="module")
def visualizer():
    run = digits_run()
    return feature_vis.Visualizer(run.model, summary_of(run))


def test_every_first_layer_unit_climbs_most_of_the_way_to_its_exact_optimum(visualizer):
    kernel, bias = digits_run().model.get_layer("conv_1").get_weights()
    optimum = np.maximum(kernel, 0).sum(axis=(0, 1, 2)) + bias  # white where a weight is > 0
    found = visualizer.layer("conv_1")
    assert [v.index for v in found] == list(range(32))
    start = np.array([v.start_value for v in found])
    value = np.array([v.value for v in found])
    assert ((value - start) / (optimum - start)).min() > 0.5
    plain = visualizer.layer("conv_1", feature_vis.Settings(blur_every=0))  # no regulariser
    reached = (np.array([v.value for v in plain]) - start) / (optimum - start)
    assert reached.min() > 0.95


def test_every_second_layer_unit_is_excited_more_than_by_most_digits(visualizer):
    found = visualizer.layer("conv_2")
    assert len(found) == 64 and all(v.value > v.start_value + 0.1 for v in found)
    _, objective = visualizer._compiled("conv_2", "unit")
    digits = digit_images()[0][:300].reshape(-1, 28, 28, 1).astype(np.float32) / 255
    best_digit = objective(tf.constant(digits)).numpy().max(axis=0)  # (filters,)
    ratio = np.array([v.value for v in found]) / best_digit
    assert ratio.min() > 0.5, np.sort(ratio)[:5]


def test_the_picture_sits_in_the_units_receptive_field(visualizer):
    found = visualizer.unit("conv_2", 7)
    assert found.box == (10, 10, 18, 18)  # unit (5, 5) of conv_2 sees 8×8 pixels
    change = np.abs(found.image - 0.5)
    top, left, bottom, right = found.box
    assert change[top - 2:bottom + 2, left - 2:right + 2].sum() > 0.9 * change.sum()


def test_class_pictures_are_read_as_their_classes(visualizer):
    found = visualizer.layer(None)
    assert [v.layer for v in found] == [None] * 10
    batch = np.stack([v.as_uint8() for v in found])[..., None].astype(np.float32)
    probabilities = digits_run().model.predict(batch, verbose=0)
    read = probabilities.argmax(axis=1) == np.arange(10)
    assert read.sum() >= 8, probabilities.round(2)  # a thin "1" may pass for a 3 as well
    runner_up = np.argsort(probabilities, axis=1)[:, -2]
    assert (read | (runner_up == np.arange(10))).all()
    assert all(v.value > v.start_value + 3 for v in found)


def test_the_same_seed_gives_the_same_picture_alone_or_with_its_layer(visualizer):
    settings = feature_vis.Settings(steps=24, seed=5)
    alone = visualizer.unit("conv_2", 3, settings)
    again = visualizer.unit("conv_2", 3, settings)
    assert np.array_equal(alone.image, again.image)
    in_layer = visualizer.layer("conv_2", settings)[3]
    assert np.allclose(alone.image, in_layer.image, atol=1e-3)
    other = visualizer.unit("conv_2", 3, feature_vis.Settings(steps=24, seed=6))
    assert not np.allclose(alone.image, other.image, atol=1e-2)


def test_results_are_cached_per_run_identity_in_the_memory_budget():
    run = digits_run()
    settings = feature_vis.Settings(steps=4, seed=11)
    cached = feature_vis.Visualizer(run.model, summary_of(run), identity=("test", "run-1"))
    first = cached.unit("conv_1", 2, settings)
    assert cached.unit("conv_1", 2, settings) is first
    assert ("test", "run-1") in {key[0] for key in feature_vis.CACHE.keys()}
    assert feature_vis.CACHE.budget is budget.BUDGET and feature_vis.CACHE.nbytes() > 0
    seen = []
    whole = cached.layer("conv_1", settings, progress=lambda done, total: seen.append(
        (done, total)))
    assert whole[2] is first  # from the cache; the other 31 climbed in one batch
    assert seen == [(t, 4) for t in range(1, 5)]
    plain = feature_vis.Visualizer(run.model, summary_of(run))  # no identity: nothing kept
    assert plain.unit("conv_1", 2, settings) is not plain.unit("conv_1", 2, settings)


def test_a_whole_layer_reports_progress_and_stops_when_asked(visualizer, monkeypatch):
    monkeypatch.setattr(feature_vis, "CHUNK", 16)
    settings = feature_vis.Settings(steps=5, seed=2)
    stop, seen = threading.Event(), []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 7:
            stop.set()

    partial = visualizer.layer("conv_1", settings, progress, stop)
    assert [v.index for v in partial] == list(range(16))  # the first batch of 16 finished
    assert seen == [(t, 10) for t in range(1, 8)]


def test_colour_network_gets_colour_pictures():
    arch = spec.Architecture("rgb", (spec.make_layer("conv2d", filters=3, kernel_size=3),
                                     spec.make_layer("max_pool2d"),
                                     spec.make_layer("flatten")), (16, 16, 3), 2)
    visualizer = feature_vis.Visualizer(builder.build_model(arch, seed=1),
                                        shapes.summarize(arch))
    conv = visualizer.model.get_layer("conv_1")
    kernel, _ = conv.get_weights()
    bias = np.full(3, 0.2, np.float32)  # alive on grey, as trained filters are (zero: silent)
    conv.set_weights([kernel, bias])
    optimum = np.maximum(kernel, 0).sum(axis=(0, 1, 2)) + bias
    for found in visualizer.layer("conv_1", feature_vis.Settings(blur_every=0)):
        assert found.image.shape == (16, 16, 3)
        assert found.value == pytest.approx(optimum[found.index], rel=0.05)
        assert np.ptp(found.image, axis=-1).max() > 0.5  # the channels differ: colour
    found = visualizer.output_class(1)
    assert found.image.shape == (16, 16, 3) and found.value > found.start_value


def test_bad_requests_say_what_works(visualizer):
    with pytest.raises(ValueError, match=r"no conv layer named 'dense_1'.*conv_1, conv_2"):
        visualizer.unit("dense_1", 0)
    with pytest.raises(ValueError, match=r"layer conv_1 has filters 0..31; received 32"):
        visualizer.unit("conv_1", 32)
    with pytest.raises(ValueError, match=r"classes are 0..9; received -1"):
        visualizer.output_class(-1)
    with pytest.raises(ValueError, match=r"steps must be in 1..2000; received 0"):
        feature_vis.Settings(steps=0)
    with pytest.raises(ValueError, match=r"objective must be one of unit, channel"):
        feature_vis.Settings(objective="neuron")
    arch = spec.Architecture("s", (spec.make_layer("conv2d", filters=2, kernel_size=(1, 1),
                                                    strides=(2, 2)),), (28, 28, 1), 10)
    with pytest.raises(ValueError, match=r"conv_1: a kernel_size \[1, 1\] with strides"):
        feature_vis.Visualizer(builder.build_model(arch), shapes.summarize(arch))
