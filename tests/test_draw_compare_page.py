"""AppTest of Draw's "Compare two runs" section: computed only when opened, a way to a second
run when there is one run, both runs side by side when there are two."""
# ruff: noqa: F811 (digits_run is the shared fixture, taken as an argument)

from __future__ import annotations

import dataclasses

import numpy as np
import pictures
from test_draw_fm_pages import a_one, canvas_with, digits_run, page  # noqa: F401 (fixture)

from cnnlab.inspect import inference, preprocess


def opened(at):
    at.session_state["draw_compare"] = True
    at.run()
    assert not at.exception, at.exception
    return at


def test_closed_the_section_costs_nothing(digits_run):
    at = page("pages/draw.py", digits_run, canvas_with(a_one))
    assert "draw_cmp_a" not in [s.key for s in at.selectbox]


def test_with_one_run_it_says_how_to_get_a_second(digits_run):
    at = opened(page("pages/draw.py", digits_run, canvas_with(a_one)))
    assert any("Train a second one" in i.value for i in at.info)


def test_two_runs_answer_the_same_drawing_side_by_side(digits_run):
    at = page("pages/draw.py", digits_run, canvas_with(a_one))
    weights = [np.zeros_like(w) for w in digits_run.model.get_weights()]
    weights[-1][3] = 5.0  # the head's bias: this run always says 3
    model = inference.keras.models.clone_model(digits_run.model)
    model.set_weights(weights)
    second = dataclasses.replace(digits_run, name="always-three", model=model)
    at.session_state["cnnlab"].add_run(second)
    kept = at.session_state["cnnlab"].runs
    names = [info.name for info in kept]
    first_run = names.index(digits_run.name)
    at.session_state["cnnlab"].workspace.set_current(kept[first_run].folder)  # the left run
    opened(at)
    assert at.selectbox(key="draw_cmp_a").value == first_run
    assert at.selectbox(key="draw_cmp_b").value == names.index("always-three")
    image = preprocess.preprocess_canvas(canvas_with(a_one)).as_uint8()
    probs = inference.Predictor(digits_run.model).probabilities(image)
    first = f"{digits_run.name} says {int(np.argmax(probs))} ({probs.max():.0%})"
    said = [m.value for m in at.markdown if m.value.startswith(("Both agree", "They disagree"))]
    assert said == [f"They disagree: {first}, always-three says 3 (94%)."]  # e⁵ / (e⁵ + 9)
    shown = pictures.captions(at)
    assert sum(c.startswith("first conv layer, conv_1 · 26×26×32") for c in shown) == 2
    assert any(c.startswith("Grad-CAM · conv_2 for 1") for c in shown)


def test_a_session_keeps_no_model_so_an_evicted_run_is_freed(digits_run):
    """Issue 21: every in-memory cache draws from the one budget. A session that showed two
    runs on Draw (predictions, Grad-CAM, the comparison) holds none of their models: once the
    budget's model cache lets a run go, the run and everything made from it are freed."""
    import gc
    import weakref

    from cnnlab.workspaces import models

    at = page("pages/draw.py", digits_run, canvas_with(a_one))
    model = inference.keras.models.clone_model(digits_run.model)
    model.set_weights(digits_run.model.get_weights())
    second = dataclasses.replace(digits_run, name="second", model=model)
    at.session_state["cnnlab"].add_run(second)  # the current model now
    gone = weakref.ref(second), weakref.ref(model)
    del second, model
    opened(at)
    assert any(c.startswith("Grad-CAM · conv_2") for c in pictures.captions(at))
    token = at.session_state["cnnlab"].workspace.token
    assert all(g() is not None for g in gone)  # in the model cache, with its tools
    models.forget(token)
    gc.collect()  # the run goes, and its finalizer lets go of its tools:
    gc.collect()  # their own reference cycles go in the next collection
    assert [g() for g in gone] == [None, None]
