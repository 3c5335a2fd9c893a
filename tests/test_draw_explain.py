"""AppTest of the Draw page's "Inside the decision" tabs through the canvas seam:
why this answer (Grad-CAM, saliency), what a unit sees (its outline), transform (sliders
feeding the prediction, the stability strip); only the open tab is computed, after the answer
is shown."""
# ruff: noqa: F811 (digits_run is the shared fixture, taken as an argument)

from __future__ import annotations

import dataclasses

import numpy as np
import pictures
from explain_views import pixels
from test_draw_fm_pages import a_one, canvas_with, digits_run, page  # noqa: F401 (fixture)

from cnnlab.architecture import shapes, spec
from cnnlab.inspect import attribution, inference, preprocess, receptive, transform
from cnnlab.models import builder
from cnnlab.views import overlay
from ui import chart_specs

UNIT, TRANSFORM = "What does a unit see?", "Transform"


def open_tab(at, label: str):
    """Open one of the "Inside the decision" tabs, as a click on it does."""
    at.session_state["draw_tabs"] = label
    at.run()
    assert not at.exception, at.exception
    return at


def captions(at) -> list[str]:
    return pictures.captions(at)  # st.image's and inline pictures' alike


def prepared_one() -> np.ndarray:
    return preprocess.preprocess_canvas(canvas_with(a_one)).as_uint8()


def test_why_shows_gradcam_and_saliency_for_the_predicted_and_a_picked_class(digits_run):
    at = page("pages/draw.py", digits_run, canvas_with(a_one))
    shown = captions(at)
    assert "Grad-CAM · conv_2 · 11×11 on 28×28" in shown
    assert "saliency: red raises, blue lowers" in shown
    assert any(c.value.startswith("Grad-CAM: where the evidence for 1 came from, conv_2's 11×11 "
                                  "map placed over 28×28. Saliency: red where more brightness "
                                  "would raise 1's score") for c in at.caption)
    assert at.selectbox(key="draw_why_class").value == 1
    at.selectbox(key="draw_why_class").set_value(7).run()
    assert not at.exception
    assert any("evidence for 7 came" in c.value for c in at.caption)


def test_why_takes_the_conv_layer_chosen_and_says_its_map_s_resolution(digits_run):
    """Issue 22 item 8: a finer map from conv_1, its own resolution said on the picture; the
    saliency map is the signed gradient (why: the caption, and README's sanity checks)."""
    at = page("pages/draw.py", digits_run, canvas_with(a_one))
    assert at.selectbox(key="draw_why_layer").options == ["conv_1", "conv_2"]
    assert at.selectbox(key="draw_why_layer").value == "conv_2"  # the last at first
    at.selectbox(key="draw_why_layer").set_value("conv_1").run()
    assert not at.exception, at.exception
    caption = "Grad-CAM · conv_1 · 26×26 on 28×28"
    assert caption in captions(at)
    assert any("conv_1's 26×26 map placed over 28×28" in c.value for c in at.caption)
    image = prepared_one()
    result = attribution.Explainer(digits_run.model, shapes.summarize(
        digits_run.architecture)).explain(image, 1, "conv_1")
    assert result.gradcam_resolution == (26, 26)
    assert np.array_equal(pixels(at, caption), overlay.heat_overlay(image, result.gradcam, 1))
    assert np.array_equal(pixels(at, "saliency: "),
                          overlay.signed_overlay(image, result.gradient, 1))
    assert any("The saliency map keeps the gradient's sign." in c.value for c in at.caption)


def test_unit_outline_is_the_receptive_region_and_maps_to_the_drawing(digits_run):
    at = open_tab(page("pages/draw.py", digits_run, canvas_with(a_one)), UNIT)
    summary = shapes.summarize(digits_run.architecture)
    names = at.selectbox(key="draw_unit_layer").options
    assert names == [r.name for r in summary.rows if r.type in ("conv2d", "max_pool2d")]
    at.selectbox(key="draw_unit_layer").set_value("conv_2").run()
    at.number_input(key="draw_unit_row_conv_2").set_value(0).run()
    at.number_input(key="draw_unit_col_conv_2").set_value(5).run()
    assert not at.exception
    top, left, bottom, right = receptive.input_region(summary, "conv_2", 0, 5)
    expected = (f"conv_2 (0, 5) sees rows {top}–{bottom - 1}, columns {left}–{right - 1} of "
                f"the 28×28 input")
    assert any(c.startswith(expected) for c in captions(at)), captions(at)


def test_unit_over_the_ink_is_outlined_on_the_drawing_too(digits_run):
    at = open_tab(page("pages/draw.py", digits_run, canvas_with(a_one)), UNIT)  # centre: ink
    assert "the same region of your drawing" in captions(at)


def test_transform_sliders_feed_the_prediction_and_the_strip_is_shown(digits_run):
    at = open_tab(page("pages/draw.py", digits_run, canvas_with(a_one)), TRANSFORM)
    frames = [d.value for d in at.table if "rotated, 10° a step" in list(d.value.index)]
    assert len(frames) == 1
    frame = frames[0]
    assert list(frame.index) == ["right, 2 px a step", "down, 2 px a step", "rotated, 10° a step"]
    assert list(frame.columns) == ["-3", "-2", "-1", "0", "+1", "+2", "+3"]
    column = set(frame["0"])  # the drawing itself, three times
    assert len(column) == 1 and column.pop().startswith("1 · ")
    assert frame.shape == (3, 7)
    at.slider(key="draw_tf_dx").set_value(4).run()
    at.slider(key="draw_tf_angle").set_value(20).run()
    assert not at.exception
    moved = transform.transform(prepared_one(), dx=4, angle=20)
    assert np.array_equal(at.session_state["last_drawing"][..., 0], moved)
    probs = inference.Predictor(digits_run.model).probabilities(moved)
    top = int(np.argmax(probs))
    heading = [h.value for h in at.subheader if h.value.startswith("Prediction:")]
    assert heading == [f"Prediction: {digits_run.class_names[top]} ({probs[top]:.0%})"]
    assert "what the model sees now" in captions(at)
    open_tab(at, UNIT)  # the transform applies while its tab is open
    assert np.array_equal(at.session_state["last_drawing"][..., 0], prepared_one())


def test_network_without_conv_says_why_and_shows_saliency(digits_run):
    arch = spec.Architecture("flat", (spec.make_layer("dense", units=8),), (28, 28, 1), 10)
    flat = dataclasses.replace(digits_run, architecture=arch,
                               model=builder.build_model(arch, seed=1))
    at = page("pages/draw.py", flat, canvas_with(a_one))
    assert any("no conv layer" in i.value for i in at.info)
    assert any(c.startswith("saliency:") for c in captions(at))
    assert not any(c.startswith("Grad-CAM") for c in captions(at))
    open_tab(at, UNIT)
    assert any("no conv or pooling layer" in i.value for i in at.info)


def test_only_the_open_tab_is_computed_and_after_the_answer(digits_run, monkeypatch):
    """Grad-CAM and saliency (the explainer) run only while "Why this answer?" is open, and
    after the prediction and its chart are made; the stability strip only while Transform
    is; the open tab is kept while the canvas is empty."""
    events = []
    explain, sweep, show = attribution.Explainer.explain, transform.sweep, chart_specs.show
    monkeypatch.setattr(attribution.Explainer, "explain", lambda self, *args, **kwargs: (
        events.append("explain"), explain(self, *args, **kwargs))[1])
    monkeypatch.setattr(transform, "sweep", lambda *args, **kwargs: (
        events.append("sweep"), sweep(*args, **kwargs))[1])
    monkeypatch.setattr(chart_specs, "show", lambda *args, key, **kwargs: (
        events.append("answer") if key == "draw_probs" else None,
        show(*args, key=key, **kwargs))[1])
    at = page("pages/draw.py", digits_run, canvas_with(a_one))
    assert events == ["answer", "explain"]  # "Why this answer?" is open at first
    events.clear()
    open_tab(at, TRANSFORM)
    assert events == ["answer", "sweep"]
    events.clear()
    open_tab(at, UNIT)
    assert events == ["answer"]
    at.session_state["draw_test_image"] = canvas_with(lambda d: None)  # the canvas cleared
    at.run()
    at.session_state["draw_test_image"] = canvas_with(a_one)  # and a drawing again
    events.clear()
    at.run()
    assert events == ["answer"] and not at.exception  # still on the unit tab
    assert any(c.startswith("conv_1 (") for c in captions(at))
def test_a_unit_out_of_its_map_is_answered_by_the_map_s_size(digits_run):
    at = open_tab(page("pages/draw.py", digits_run, canvas_with(a_one)), UNIT)
    at.selectbox(key="draw_unit_layer").set_value("conv_2").run()
    h, w, c = next(r for r in shapes.summarize(digits_run.architecture).rows
                   if r.name == "conv_2").output_shape
    at.number_input(key="draw_unit_col_conv_2").set_value(w).run()  # one past the last
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        f"column must be an integer from 0 to {w - 1} (conv_2's maps are {h}×{w}×{c}); "
        f"received {w}"]
    assert not any(" sees rows " in caption for caption in captions(at))
