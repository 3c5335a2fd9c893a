"""Attacks (inspect.adversarial) on a trained two-conv digits run: "make it say K" and "make it
wrong" within ε, the changed image checked by Keras's own predictions, the smallest ε search,
colour networks, two runs compared."""

from __future__ import annotations

import numpy as np
import pytest
from trained_digits import digit_images, digits_run, summary_of

from cnnlab.architecture import shapes, spec
from cnnlab.inspect import adversarial
from cnnlab.models import builder


@pytest.fixture(scope="module")
def trained():
    run = digits_run()
    return run, adversarial.Attacker(run.model, summary_of(run))


def runner_up(model, image: np.ndarray) -> int:
    probabilities = model.predict(image[None, ..., None].astype(np.float32), verbose=0)[0]
    return int(np.argsort(probabilities)[-2])


def keras_answer(model, image: np.ndarray) -> int:
    batch = image.reshape(1, *model.input_shape[1:]).astype(np.float32)
    return int(np.argmax(model.predict(batch, verbose=0)[0]))


@pytest.mark.parametrize("index", [0, 1, 2])
def test_make_it_say_k_within_eps(trained, index):
    run, attacker = trained
    image = digit_images()[0][index]
    target = runner_up(run.model, image)
    result = attacker.attack(image, 0.3, target=target)
    assert result.succeeded and result.class_after == target != result.class_before
    assert keras_answer(run.model, result.changed) == target  # Keras's own predict agrees
    moved = np.abs(result.changed.astype(int) - image.astype(int))
    assert moved.max() <= 0.3 * 255 and result.largest_change == pytest.approx(moved.max() / 255)
    assert result.total_change == pytest.approx(moved.sum() / 255, rel=1e-5)
    assert result.pixels_changed == np.count_nonzero(moved)
    assert np.allclose(result.change * 255, result.changed.astype(int) - image.astype(int),
                       atol=1e-3)


def test_make_it_wrong(trained):
    run, attacker = trained
    image = digit_images()[0][3]
    result = attacker.attack(image, 0.3)
    assert result.target is None and result.succeeded
    assert keras_answer(run.model, result.changed) == result.class_after != result.class_before
    assert result.class_before == keras_answer(run.model, image)


def test_too_small_eps_fails_and_finds_the_smallest_that_works(trained):
    _, attacker = trained
    image = digit_images()[0][4]
    failed = attacker.attack(image, 0.02)
    assert not failed.succeeded and failed.class_after == failed.class_before
    assert failed.largest_change <= 0.02 and failed.smallest_eps is not None
    assert failed.smallest_eps > 0.02
    assert attacker.attack(image, failed.smallest_eps, search=False).succeeded
    assert not attacker.attack(image, failed.smallest_eps - 1 / 255, search=False).succeeded
    assert "The smallest ε that works is" in failed.describe(digits_run().class_names)


def test_eps_zero_changes_nothing_and_bad_input_is_refused(trained):
    _, attacker = trained
    image = digit_images()[0][0]
    result = attacker.attack(image, 0.0, target=5, search=False)
    assert np.array_equal(result.changed, image) and result.total_change == 0
    with pytest.raises(ValueError, match=r"ε \(eps\) must be in \[0, 1\].*received 1.5"):
        attacker.attack(image, 1.5)
    with pytest.raises(ValueError, match=r"target must be a class in 0..9; received 10"):
        attacker.attack(image, 0.1, target=10)


def test_colour_network_is_attacked_in_every_channel():
    arch = spec.Architecture("rgb", (spec.make_layer("conv2d", filters=4, kernel_size=3),
                                     spec.make_layer("max_pool2d"),
                                     spec.make_layer("flatten")), (16, 16, 3), 4)
    attacker = adversarial.Attacker(builder.build_model(arch, seed=2), shapes.summarize(arch))
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    result = attacker.attack(image, 0.5)
    assert result.changed.shape == result.change.shape == (16, 16, 3)
    assert result.succeeded and result.largest_change <= 0.5
    assert np.count_nonzero(result.change.reshape(-1, 3), axis=0).min() > 0  # every channel


def test_two_runs_compared_on_the_same_attack(trained):
    run, attacker = trained
    arch = run.architecture
    untrained = adversarial.Attacker(builder.build_model(arch, seed=5), summary_of(run))
    image = digit_images()[0][0]
    comparison = adversarial.compare([("trained", attacker, image),
                                      ("untrained", untrained, image)], 0.05)
    assert comparison.names == ("trained", "untrained")
    assert [a.eps for a in comparison.attacks] == [0.05, 0.05]
    text = comparison.describe(run.class_names)
    assert text.startswith("trained: ") and "\nuntrained: " in text
    with pytest.raises(ValueError, match="compare takes two runs; received 1"):
        adversarial.compare([("a", attacker, image)], 0.1)


def test_one_tap_strided_kernel_is_refused():
    arch = spec.Architecture("s", (spec.make_layer("conv2d", filters=2, kernel_size=(1, 1),
                                                    strides=(2, 2)),), (28, 28, 1), 10)
    with pytest.raises(ValueError, match=r"conv_1: a kernel_size \[1, 1\] with strides"):
        adversarial.Attacker(builder.build_model(arch), shapes.summarize(arch))
