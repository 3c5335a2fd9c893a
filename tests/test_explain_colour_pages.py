"""Issue 25 item 5 on the pages: a colour (rgb) run gets Grad-CAM, the saliency map and a
unit's outline on Draw (for an uploaded image) and Feature maps, "Fool it", "Cover it up" and
feature visualizations in colour; only the transforms stay for grey drawings."""

from __future__ import annotations

import numpy as np
import pytest
from explain_views import captions, opened, page, pixels, texts
from test_colour_runs import colour_dataset, png_bytes, train

from cnnlab.architecture import shapes
from cnnlab.data import kinds
from cnnlab.inspect import adversarial, attribution, feature_vis, for_run
from cnnlab.views import overlay


@pytest.fixture(scope="module")
def colour_run():
    return train("two-conv-dropout", colour_dataset())


@pytest.fixture(scope="module")
def upload():
    """A 48×48 colour picture: a red square on blue."""
    pixels = np.zeros((48, 48, 3), np.uint8)
    pixels[..., 2] = 200
    pixels[10:30, 14:34] = (230, 40, 20)
    return png_bytes(pixels)


def prepared(run, data: bytes) -> np.ndarray:
    return for_run.prepare_upload(data, kinds.input_format(run)).as_uint8()


def summary_of(run):
    return shapes.summarize(run.architecture, num_classes=len(run.class_names))


def in_colour(picture: np.ndarray) -> bool:
    return picture.ndim == 3 and not (np.array_equal(picture[..., 0], picture[..., 1])
                                      and np.array_equal(picture[..., 1], picture[..., 2]))


def test_draw_explains_an_uploaded_colour_image(colour_run, upload):
    at = page("pages/draw.py", colour_run, draw_test_upload=upload)
    image = prepared(colour_run, upload)
    assert image.shape == (16, 16, 3)
    assert not any("grey networks only" in c for c in texts(at, "caption"))
    assert "Transforms (shift, rotate, thicken) work on grey drawings only." in texts(
        at, "caption")
    k = at.selectbox(key="draw_why_class").value
    result = attribution.Explainer(colour_run.model, summary_of(colour_run)).explain(image, k)
    name = colour_run.class_names[k]
    rows, cols = result.gradcam_resolution
    shown = pixels(at, f"Grad-CAM · {result.gradcam_layer} · {rows}×{cols} on 16×16")
    assert any(f"where the evidence for {name} came from, {result.gradcam_layer}'s {rows}×{cols} "
               f"map placed over 16×16" in c for c in texts(at, "caption"))
    assert np.array_equal(shown, overlay.heat_overlay(image, result.gradcam, 1))
    assert in_colour(shown)
    assert np.array_equal(pixels(at, "saliency: "),
                          overlay.signed_overlay(image, result.gradient, 1))
    at.session_state["draw_tabs"] = "What does a unit see?"  # as a click on the tab
    at.run()
    assert not at.exception, at.exception
    outlines = [c for c in captions(at) if " sees rows " in c]
    assert len(outlines) == 1 and "of the 16×16 input" in outlines[0]


def test_fool_it_and_cover_it_up_take_a_colour_image(colour_run, upload):
    at = page("pages/draw.py", colour_run, draw_test_upload=upload)
    image = prepared(colour_run, upload)
    opened(at, "draw_fool")
    at.slider(key="draw_fool_eps").set_value(0.3).run()
    assert not at.exception, at.exception
    expected = adversarial.Attacker(colour_run.model, summary_of(colour_run)).attack(image, 0.3)
    changed = pixels(at, "changed: ")
    assert changed.shape == (16, 16, 3) and np.array_equal(changed, expected.changed)
    opened(at, "draw_cover")
    k = at.selectbox(key="draw_cover_class").value
    assert [c.split(" ")[0] for c in captions(at)[-3:]] == ["Grad-CAM", "saliency:",
                                                             "occlusion"]
    assert in_colour(pixels(at, "occlusion · "))
    result = attribution.Explainer(colour_run.model, summary_of(colour_run)).explain(image, k)
    assert np.array_equal(pixels(at, alt="saliency map: red where"),
                          overlay.signed_overlay(image, result.gradient, 1))


def test_feature_maps_explain_and_visualise_in_colour(colour_run):
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 230
    at = page("pages/feature_maps.py", colour_run, last_drawing=red, fm_source="my drawing")
    opened(at, "fm_inside")
    assert not any("grey images only" in i for i in texts(at, "info"))
    assert any(c.startswith("Grad-CAM · conv_2 · ") for c in captions(at))
    opened(at, "fm_dream")
    assert not at.exception, at.exception
    found = feature_vis.Visualizer(colour_run.model, summary_of(colour_run)).unit("conv_1", 0)
    assert found.image.shape == (16, 16, 3)
    picture = pixels(at, "conv_1 filter 0")
    assert in_colour(picture)
    assert np.array_equal(picture, overlay.outlined(found.image, found.box, 7, width=1))
    at.get("button_group")[0].set_value("a class").run()
    assert not at.exception, at.exception
    assert in_colour(pixels(at, "read as "))

