"""AppTest of "Cover it up" (ui/occlude.py, issue 25 items 2 and 4, issue 22 item 8) on Draw and
Feature maps: computed only while open; Grad-CAM at the layer chosen with its own resolution
said, the saliency map the page shows (the signed gradient), the occlusion map and the sentence
on where they agree, each what cnnlab computes for the same picture; the sanity switch
recomputes every map on the randomised network, and on test digits Grad-CAM and the saliency
map shown change (ρ < 0.5) while the absolute gradient does not; on the hand-set network the
page says Grad-CAM and occlusion agree where the evidence is."""

from __future__ import annotations

import dataclasses
import re

import handset
import numpy as np
import pytest
from explain_views import captions, opened, page, pixels, texts
from test_draw_fm_pages import a_one, canvas_with
from trained_digits import digits_run, summary_of

from cnnlab.inspect import agreement, attribution, occlusion, preprocess, sanity
from cnnlab.views import overlay
from ui import text

RHO = re.compile(r"ρ (-?[\d.]+)")


@pytest.fixture(scope="module")
def run():
    return digits_run()


@pytest.fixture(scope="module")
def image():
    return preprocess.preprocess_canvas(canvas_with(a_one)).as_uint8()


def cover_page(run):
    return opened(page("pages/draw.py", run, draw_test_image=canvas_with(a_one)), "draw_cover")


def test_closed_the_section_computes_nothing(run):
    at = page("pages/draw.py", run, draw_test_image=canvas_with(a_one))
    assert "cover_tools" not in at.session_state
    assert "draw_cover_size" not in [s.key for s in at.slider]


def test_three_maps_at_the_layer_and_square_chosen_and_where_they_agree(run, image):
    at = cover_page(run)
    k = at.selectbox(key="draw_cover_class").value
    assert k == 1  # the predicted class first
    at.selectbox(key="draw_cover_layer").set_value("conv_1").run()
    at.slider(key="draw_cover_size").set_value(4).run()
    assert not at.exception, at.exception
    explained = attribution.Explainer(run.model, summary_of(run)).explain(image, k, "conv_1")
    occluded = occlusion.Occluder(run.model, summary_of(run)).map(image, k, 4)
    rows, cols = occluded.resolution
    assert captions(at)[-3:] == ["Grad-CAM · 26×26 on 28×28",
                                 "saliency: red raises, blue lowers", "occlusion · 4×4 square"]
    assert (f"Grad-CAM: where the evidence for 1 came from, conv_1's 26×26 map placed over "
            f"28×28. Saliency: red where more brightness would raise 1's score, blue where "
            f"less would. Occlusion: a 4×4 grey square at {rows}×{cols} places, bright where "
            f"covering lowers 1's score (the worst place leaves 1 at "
            f"{occluded.lowest_probability:.0%}).") in texts(at, "caption")
    assert np.array_equal(pixels(at, "Grad-CAM · 26×26"),
                          overlay.heat_overlay(image, explained.gradcam, 1))
    # the saliency map shown is the signed gradient (which passes the sanity check), not |.|
    assert np.array_equal(pixels(at, alt="saliency map: red where"),
                          overlay.signed_overlay(image, explained.gradient, 1))
    assert np.array_equal(pixels(at, "occlusion · "),
                          overlay.heat_overlay(image, occluded.heat, 1))
    said = agreement.compare(agreement.where_maps(explained.gradcam, explained.gradient,
                                                  occluded.heat)).sentence()
    assert text.md(said) in texts(at, "markdown")


def test_the_sanity_switch_recomputes_every_map_on_the_randomised_network(run, image):
    at = cover_page(run)
    assert "draw_sanity_from" not in [s.key for s in at.selectbox]  # off: nothing randomised
    at.toggle(key="draw_sanity").set_value(True).run()
    assert at.selectbox(key="draw_sanity_from").value == "conv_1"  # every layer
    at.selectbox(key="draw_sanity_from").set_value("dense_1").run()
    assert not at.exception, at.exception
    summary = summary_of(run)
    random = sanity.randomised(run.model, summary, "dense_1", seed=0)
    trained = attribution.Explainer(run.model, summary).explain(image, 1)
    shuffled = attribution.Explainer(random, summary).explain(image, 1)
    alike = sanity.similarity(trained, shuffled)
    size = occlusion.default_size(28, 28)
    occ = sanity.spearman(occlusion.Occluder(run.model, summary).map(image, 1, size).cells,
                          occlusion.Occluder(random, summary).map(image, 1, size).cells)
    shown = {c.split(", random · ")[0]: c for c in captions(at) if ", random · " in c}
    assert set(shown) == {"Grad-CAM", "saliency", "occlusion", "|gradient|"}
    for name, rho in (("Grad-CAM", alike.gradcam), ("saliency", alike.gradient),
                      ("occlusion", occ)):
        assert float(RHO.search(shown[name]).group(1)) == pytest.approx(rho, abs=0.0051)
    assert np.array_equal(pixels(at, "saliency, random"),
                          overlay.signed_overlay(image, shuffled.gradient, 1))
    assert float(RHO.search(shown["|gradient|"]).group(1)) == pytest.approx(alike.saliency,
                                                                          abs=0.0051)
    assert any(m.startswith("With the weights from dense_1 up random")
               for m in texts(at, "markdown"))


def test_on_test_digits_gradcam_and_the_saliency_shown_change_with_random_weights(run):
    """Adebayo et al.'s check, as the page shows it: fully randomised, over six test digits."""
    at = opened(page("pages/feature_maps.py", run), "fm_cover")
    at.toggle(key="fm_sanity").set_value(True).run()
    found: dict[str, list[float]] = {"Grad-CAM": [], "saliency": [], "|gradient|": []}
    for index in range(6):
        at.number_input(key="fm_index").set_value(index).run()
        assert not at.exception, at.exception
        for caption in captions(at):
            name = caption.split(", random · ")[0]
            if name in found and (match := RHO.search(caption)):
                found[name].append(float(match.group(1)))
        barely = any(c.startswith("The classic saliency map, the gradient's size, barely "
                                  "changes") for c in texts(at, "caption"))
        assert barely == (found["|gradient|"][-1] >= 0.5)  # the lesson says what ρ says
    assert all(len(values) == 6 for values in found.values()), found
    assert np.mean(found["Grad-CAM"]) < 0.5, found
    assert np.mean(found["saliency"]) < 0.5, found
    assert np.mean(found["|gradient|"]) > 0.5, found  # the lesson: |gradient| follows the ink


def test_on_the_hand_set_network_gradcam_and_occlusion_agree_where_the_evidence_is(run):
    model, _ = handset.model()
    hand = dataclasses.replace(run, name="handset", architecture=handset.architecture(),
                               model=model, class_names=("square", "lines"), epoch_weights={},
                               misclassified=())
    at = page("pages/feature_maps.py", hand, fm_source="my drawing",
              last_drawing=handset.image()[..., None])
    opened(at, "fm_cover")
    at.selectbox(key="fm_cover_class").set_value(0).run()
    assert not at.exception, at.exception
    said = [m for m in texts(at, "markdown") if "strongest pixels" in m]
    assert len(said) == 1 and "in the top right." in said[0], said
    assert said[0].startswith(("All 3 ", "Grad\\-CAM and occlusion ", "Grad-CAM and occlusion "))
