"""AppTest of Feature maps' "Why this answer? What does a unit see?" section for a test image:
Grad-CAM and saliency for its predicted class, a unit's region outlined on it and the unit
marked on its map (the same pieces as Draw's tabs, ui/explain.py)."""
# ruff: noqa: F811 (digits_run is the shared fixture, taken as an argument)

from __future__ import annotations

import numpy as np
import pictures
from test_draw_fm_pages import digits_run, page  # noqa: F401 (fixture)

from cnnlab.architecture import shapes
from cnnlab.data import datasets
from cnnlab.inspect import inference, receptive
from cnnlab.workspaces import held_back


def captions(at) -> list[str]:
    return pictures.captions(at)  # st.image's and inline pictures' alike


def opened(run):
    at = page("pages/feature_maps.py", run)
    assert "fm_why_class" not in [s.key for s in at.selectbox]  # closed: nothing computed
    at.session_state["fm_inside"] = True
    at.run()
    assert not at.exception, at.exception
    return at


def test_test_image_gets_gradcam_and_saliency_for_its_prediction(digits_run):
    at = opened(digits_run)
    index = at.number_input(key="fm_index").value
    image = held_back.visible(datasets.load_dataset("mnist-5k")).x_test[index]  # as shown
    probs = inference.Predictor(digits_run.model).probabilities(image)
    top = int(np.argmax(probs))
    assert at.selectbox(key="fm_why_class").value == top
    name = digits_run.class_names[top]
    assert "Grad-CAM · conv_2 · 11×11 on 28×28" in captions(at)
    assert "saliency: red raises, blue lowers" in captions(at)
    assert any(c.value.startswith(f"Grad-CAM: where the evidence for {name} came from")
               for c in at.caption)


def test_a_picked_unit_is_outlined_on_the_test_image_and_marked_on_its_map(digits_run):
    at = opened(digits_run)
    assert "fm_unit_layer" not in [s.key for s in at.selectbox]  # its tab closed: not computed
    at.session_state["fm_tabs"] = "What does a unit see?"
    at.run()
    assert "fm_why_class" not in [s.key for s in at.selectbox]
    at.selectbox(key="fm_unit_layer").set_value("pool_1").run()
    at.number_input(key="fm_unit_row_pool_1").set_value(2).run()
    at.number_input(key="fm_unit_ch_pool_1").set_value(4).run()
    assert not at.exception, at.exception
    summary = shapes.summarize(digits_run.architecture)
    top, left, bottom, right = receptive.input_region(summary, "pool_1", 2, 6)
    shown = captions(at)
    assert any(c.startswith(f"pool_1 (2, 6) sees rows {top}–{bottom - 1}, columns {left}–"
                            f"{right - 1}") for c in shown), shown
    assert "the unit on pool_1's map, channel 4" in shown
    assert "the same region of your drawing" not in shown  # a test image has no drawing
