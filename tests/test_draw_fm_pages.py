"""AppTest of the Feature maps and Draw pages (issue: the app, part 2)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pictures
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from cnnlab.architecture import shapes
from cnnlab.data import refs
from cnnlab.workspaces import held_back

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


@pytest.fixture(scope="module")
def digits_run():
    """One epoch of tutorial-1conv on the built-in digits (a couple of seconds)."""
    from cnnlab.architecture import presets
    from cnnlab.data import datasets
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import routine

    return routine.train(presets.get("two-conv"), datasets.load_dataset("mnist-5k"),
                         Hyperparameters(epochs=1, seed=1))


def page(path: str, run=None, drawing: np.ndarray | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if drawing is not None:
        at.session_state["draw_test_image"] = drawing
    at.run()
    if run is not None:
        at.session_state["cnnlab"].add_run(run)
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def canvas_with(draw_fn) -> np.ndarray:
    """A 280x280 RGBA canvas as the drawing canvas (ui/canvas.py) gives it: white on black."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    draw_fn(ImageDraw.Draw(img))
    return np.asarray(img)


def a_one(draw: ImageDraw.ImageDraw) -> None:
    draw.line([(150, 40), (150, 240)], fill=(255, 255, 255, 255), width=22)


@pytest.mark.parametrize("path", ["pages/feature_maps.py", "pages/draw.py"])
def test_without_a_model_the_page_offers_to_make_one(path):
    at = page(path)
    key = "fm" if "feature" in path else "draw"
    assert at.button(key=f"{key}_quick").label.startswith("Quick start")
    assert any("needs a trained model" in i.value for i in at.info)


def test_feature_maps_show_one_grid_per_layer_with_the_right_shapes(digits_run):
    at = page("pages/feature_maps.py", digits_run)
    rows = shapes.summarize(digits_run.architecture).rows
    header = re.compile(r"^\*\*\w+\*\* · \w+ · [\d×]+$")
    headers = [m.value for m in at.markdown if header.match(m.value)]
    expected = [f"**{r.name}** · {r.type} · {'×'.join(map(str, r.output_shape))}"
                for r in rows[:-1]]
    assert headers == expected
    assert at.markdown and any(m.value.startswith("Prediction: **") for m in at.markdown)


def test_feature_maps_epoch_slider_and_random_image(digits_run):
    at = page("pages/feature_maps.py", digits_run)
    at.select_slider(key="fm_epoch").set_value(0).run()
    assert not at.exception
    at.button(key="fm_random").click().run()
    assert not at.exception


def test_draw_page_predicts_a_drawing_through_the_seam(digits_run):
    at = page("pages/draw.py", digits_run, canvas_with(a_one))
    prediction = [h.value for h in at.subheader if h.value.startswith("Prediction:")]
    assert prediction and prediction[0].startswith("Prediction: 1 (")
    captions = pictures.captions(at)
    assert captions[:4] == ["as drawn", "cropped", "scaled to 20 px", "centred 28×28"]
    assert "conv_1 · 26×26×32" in captions  # the compact feature maps of the drawing
    assert at.session_state["last_drawing"].shape == (28, 28, 1)


def test_draw_page_blank_canvas_gives_a_hint_and_no_prediction(digits_run):
    at = page("pages/draw.py", digits_run, canvas_with(lambda d: None))
    assert not [h for h in at.subheader if h.value.startswith("Prediction:")]
    assert any("Draw a digit" in i.value for i in at.info)


def test_drawing_is_selectable_on_the_feature_maps_page(digits_run):
    at = page("pages/draw.py", digits_run, canvas_with(a_one))
    at.switch_page("pages/feature_maps.py").run()
    at.radio(key="fm_source").set_value("my drawing").run()
    assert not at.exception
    assert "Prediction: **1**" in [m.value.split(" (")[0] for m in at.markdown]
    assert "your drawing" in pictures.captions(at)


def test_draw_page_prepares_the_drawing_as_the_run_records(digits_run):
    """A run whose data set's images were plainly resized (whatever its name) gets the drawing
    resized, not centred the MNIST way."""
    clothes = dataclasses.replace(digits_run, dataset=refs.recorded("clothes"),
                                  input_preparation="resize")
    at = page("pages/draw.py", clothes, canvas_with(a_one))
    captions = pictures.captions(at)
    assert captions[:2] == ["as drawn", "scaled to 28×28"] and "centred 28×28" not in captions


def test_draw_page_says_which_models_it_cannot_feed(digits_run):
    """A run on 32×32 colour images: the page says why drawing cannot feed it and offers the
    image upload instead (no crash; issue 16 item 4)."""
    colour = dataclasses.replace(
        digits_run, architecture=digits_run.architecture.with_data((32, 32, 3), 10))
    at = page("pages/draw.py", colour, canvas_with(a_one))
    assert any("takes 32×32 colour images" in i.value and "Upload a colour image" in i.value
               for i in at.info), at.info
    assert not [h for h in at.subheader if h.value.startswith("Prediction:")]


def test_an_uploaded_set_is_named_by_its_label_and_draw_asks_for_its_classes(digits_run):
    """A run on an uploaded set of clothes: the sidebar and Draw name the set by its label
    (never ``upload:...``), and Draw asks for one of its classes, not a digit (issue 22
    item 6)."""
    from cnnlab.data import kinds

    clothes = dataclasses.replace(digits_run, dataset=refs.upload("fashion3"),
                                  class_names=kinds.FASHION_CLASSES)
    at = page("pages/draw.py", clothes, canvas_with(lambda d: None))
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "fashion3 (your upload) · trained" in sidebar and "upload:" not in sidebar, sidebar
    infos = [i.value for i in at.info]
    assert any("trained on fashion3 (your upload): it knows only" in i for i in infos), infos
    assert any(i.startswith("Draw one of its classes: T-shirt/top, Trouser, ") for i in infos)
    assert not any("a digit" in i for i in infos + [c.value for c in at.caption]), infos
def test_feature_maps_answer_a_test_image_out_of_range(digits_run):
    at = page("pages/feature_maps.py", digits_run)
    at.selectbox(key="fm_class").set_value("7").run()  # a class chosen, then a number typed
    at.number_input(key="fm_index").set_value(5000).run()
    assert not at.exception, at.exception
    shown = len(held_back.split("mnist-5k").visible)  # the held-back test images are not
    assert [e.value for e in at.error] == [
        f"test image must be an integer from 0 to {shown - 1}; received 5000"]
    assert not [m for m in at.markdown if m.value.startswith("Prediction:")]  # nothing shown
    at.number_input(key="fm_index").set_value(12).run()
    assert not at.error and [m for m in at.markdown if m.value.startswith("Prediction:")]
