"""Two runs side by side (cnnlab/inspect/compare.py) against direct Keras calls on tiny
untrained models, and the Draw page's section through AppTest."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnlab.architecture import presets, shapes, spec
from cnnlab.data import kinds
from cnnlab.inspect import attribution, compare, for_run, inference, preprocess
from cnnlab.models import builder


def canvas() -> np.ndarray:
    """A white "7" on black, as the canvas gives it."""
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[50:70, 60:220, :3] = 255
    for row in range(70, 230):
        col = 200 - (row - 70) // 2
        rgba[row, col - 10:col + 10, :3] = 255
    return rgba


def drawn() -> np.ndarray:
    return preprocess.preprocess_canvas(canvas()).steps[0][1]


def tools(arch: spec.Architecture):
    keras.utils.set_random_seed(3)
    model = builder.build_model(arch)
    summary = shapes.summarize(arch)
    try:
        explainer = attribution.Explainer(model, summary)
    except ValueError as exc:
        explainer = str(exc)
    return model, inference.Predictor(model), explainer


@pytest.mark.parametrize("preparation", ["mnist-digits", "resize"])
def test_each_run_prepares_the_drawing_by_its_own_record(preparation):
    direct = preprocess.preprocess_canvas(canvas(), preparation).as_uint8()
    assert np.array_equal(compare.prepare(drawn(), kinds.InputFormat(preparation=preparation)),
                          direct)


def test_the_two_preparations_differ():
    assert not np.array_equal(compare.prepare(drawn(), kinds.InputFormat()),
                              compare.prepare(drawn(), kinds.InputFormat(preparation="resize")))


def test_a_grey_run_of_another_size_gets_the_drawing_at_its_size():
    fmt = kinds.InputFormat(32, 32)
    direct = preprocess.preprocess_canvas(canvas(), size=(32, 32)).as_uint8()
    assert np.array_equal(compare.prepare(drawn(), fmt), direct)


def test_a_side_holds_what_keras_gives_for_that_run():
    arch = presets.get("two-conv")
    model, predictor, explainer = tools(arch)
    fmt = kinds.InputFormat(preparation="resize")
    side = compare.side("a", tuple("0123456789"), fmt, predictor, explainer, drawn())
    image = preprocess.preprocess_canvas(canvas(), "resize").as_uint8()
    assert np.array_equal(side.image, image)
    batch = image[None, ..., None].astype(np.float32)
    expected = keras.ops.convert_to_numpy(model(batch, training=False))[0]
    np.testing.assert_allclose(side.probabilities, expected, rtol=1e-5, atol=1e-6)
    assert side.top == int(np.argmax(expected))
    conv = keras.Model(model.input, model.get_layer("conv_1").output)
    np.testing.assert_allclose(side.first_conv.values,
                               keras.ops.convert_to_numpy(conv(batch))[0], rtol=1e-5, atol=1e-5)
    again = explainer.explain(image, side.top)
    assert side.explanation.gradcam_layer == "conv_2"
    np.testing.assert_allclose(side.explanation.gradcam, again.gradcam, atol=1e-6)


def test_a_run_without_conv_has_no_maps_and_says_why():
    arch = spec.Architecture("dense", (spec.make_layer("flatten"),
                                       spec.make_layer("dense", units=8)))
    _, predictor, explainer = tools(arch)
    side = compare.side("d", tuple("0123456789"), kinds.InputFormat(), predictor, explainer,
                        drawn())
    assert side.first_conv is None and side.explanation.gradcam is None
    assert side.message == attribution.NO_CONV and side.top is not None


def test_a_colour_run_says_why_it_cannot_take_the_drawing():
    arch = spec.Architecture("rgb", presets.get("tutorial-1conv").layers, (32, 32, 3), 10)
    _, predictor, explainer = tools(arch)
    fmt = kinds.InputFormat.from_shape((32, 32, 3), "resize")
    side = compare.side("c", tuple("0123456789"), fmt, predictor, explainer, drawn())
    assert side.top is None and side.image is None
    assert side.message == for_run.canvas_refusal(fmt)
    other = compare.Side("d", tuple("0123456789"), probabilities=np.eye(10)[3])
    assert compare.verdict(side, other) == "Only one of the two runs can take this drawing."


def test_verdict_compares_the_class_names():
    a = compare.Side("a", ("cat", "dog"), probabilities=np.array([0.3, 0.7]))
    b = compare.Side("b", ("dog", "cat"), probabilities=np.array([0.6, 0.4]))
    assert compare.verdict(a, b) == "Both agree: a says dog (70%), b says dog (60%)."


def test_a_grad_cam_that_is_zero_everywhere_says_why_it_shows_nothing():
    from ui import explain

    flat = attribution.Explanation(1, np.ones((4, 4), np.float32), np.zeros((4, 4), np.float32),
                                   "conv_1", "")
    assert explain.gradcam_note(flat, "7").startswith("Grad-CAM is zero everywhere here")
    assert "conv_1's maps add up to evidence against 7" in explain.gradcam_note(flat, "7")
    lit = attribution.Explanation(1, flat.saliency, np.eye(4, dtype=np.float32), "conv_1", "")
    assert explain.gradcam_note(lit, "7") == ""
    none = attribution.Explanation(1, flat.saliency, None, None, attribution.NO_CONV)
    assert explain.gradcam_note(none, "7") == ""
