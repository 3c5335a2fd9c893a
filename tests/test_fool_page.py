"""AppTest of Draw's "Fool it" section (ui/fool.py, issue 25 item 1): computed only while open;
"make it wrong" and "make it say K" show what cnnlab.inspect.adversarial finds for the same
picture, ε and target (the changed picture, the change, the answer and the sentence); a failed
attack offers the smallest ε, whose button moves the slider there and then fools the network;
the same attack on a second run; a network refused gradients says why."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from explain_views import alts, captions, opened, page, pixels, texts
from test_draw_fm_pages import a_one, canvas_with
from trained_digits import digits_run, summary_of

from cnnlab.architecture import spec
from cnnlab.inspect import adversarial, inference, preprocess
from cnnlab.models import builder
from cnnlab.views import overlay
from ui import text


@pytest.fixture(scope="module")
def run():
    return digits_run()


@pytest.fixture(scope="module")
def image():
    return preprocess.preprocess_canvas(canvas_with(a_one)).as_uint8()  # what Draw predicts


def attacked(run, image, eps, target=None) -> adversarial.Attack:
    return adversarial.Attacker(run.model, summary_of(run)).attack(image, eps, target)


def fool_page(run):
    return opened(page("pages/draw.py", run, draw_test_image=canvas_with(a_one)), "draw_fool")


def test_closed_the_section_attacks_nothing(run):
    at = page("pages/draw.py", run, draw_test_image=canvas_with(a_one))
    assert "draw_fool_goal" not in [r.key for r in at.radio]
    assert "fool_attacks" not in at.session_state and "fool_attackers" not in at.session_state


def test_make_it_wrong_shows_what_the_attack_finds(run, image):
    at = fool_page(run)
    assert at.radio(key="draw_fool_goal").value == "make it wrong"
    at.slider(key="draw_fool_eps").set_value(0.3).run()
    assert not at.exception, at.exception
    expected = attacked(run, image, 0.3)
    assert expected.succeeded  # a thin 1 falls well within 0.3
    assert texts(at, "success") == [text.md(expected.describe(run.class_names))]
    changed = pixels(at, "changed: ")
    assert np.array_equal(changed, expected.changed)
    said = int(np.argmax(inference.Predictor(run.model).probabilities(changed)))
    assert said == expected.class_after != expected.class_before
    assert np.array_equal(pixels(at, "before: "), image)
    assert np.array_equal(pixels(at, "the change, amplified"),
                          overlay.change_picture(expected.change, 1))


def test_make_it_say_k_targets_the_runner_up_first(run, image):
    at = fool_page(run)
    at.radio(key="draw_fool_goal").set_value("make it say …").run()
    probs = inference.Predictor(run.model).probabilities(image)
    runner_up = int(np.argsort(probs)[-2])
    assert at.selectbox(key="draw_fool_target").value == runner_up
    at.slider(key="draw_fool_eps").set_value(0.4).run()
    expected = attacked(run, image, 0.4, runner_up)
    assert expected.succeeded and expected.class_after == runner_up
    assert texts(at, "success") == [text.md(expected.describe(run.class_names))]
    assert np.array_equal(pixels(at, "changed: "), expected.changed)


def test_a_failed_attack_gives_the_smallest_eps_and_trying_it_works(run, image):
    at = fool_page(run)
    at.radio(key="draw_fool_goal").set_value("make it say …").run()
    target = at.selectbox(key="draw_fool_target").value
    at.slider(key="draw_fool_eps").set_value(0.02).run()
    failed = attacked(run, image, 0.02, target)
    assert not failed.succeeded and failed.smallest_eps is not None
    assert texts(at, "warning") == [text.md(failed.describe(run.class_names))]
    assert "The smallest ε that works is" in texts(at, "warning")[0]
    value = float(np.ceil(failed.smallest_eps * 100) / 100)
    at.button(key="draw_fool_smallest").click().run()
    assert not at.exception, at.exception
    assert at.slider(key="draw_fool_eps").value == pytest.approx(value)
    assert len(texts(at, "success")) == 1 and not texts(at, "warning")
    assert f"says {run.class_names[target]} " in texts(at, "success")[0]


def test_the_same_attack_on_a_second_run(run, image):
    weights = run.model.get_weights()
    weights[-2] = weights[-2] * 4  # the head's kernel: a far more confident network
    model = inference.keras.models.clone_model(run.model)
    model.set_weights(weights)
    bolder = dataclasses.replace(run, name="bolder", model=model)
    at = page("pages/draw.py", run, draw_test_image=canvas_with(a_one))
    state = at.session_state["cnnlab"]
    state.add_run(bolder)
    state.workspace.set_current(next(i.folder for i in state.runs if i.name == run.name))
    opened(at, "draw_fool")
    at.slider(key="draw_fool_eps").set_value(0.15).run()
    box = at.selectbox(key="draw_fool_other")
    assert box.value == -1  # none at first: nothing more computed
    box.set_value(0).run()
    assert not at.exception, at.exception
    mine, theirs = attacked(run, image, 0.15), attacked(bolder, image, 0.15)
    said = [text.md(a.describe(run.class_names)) for a in (mine, theirs)]
    shown = texts(at, "success") + texts(at, "warning")
    assert sorted(shown) == sorted(said)
    after = f"{run.class_names[theirs.class_after]} ({theirs.confidence_after:.0%})"
    assert f"bolder: the changed picture: it says {after}" in alts(at)
    if mine.succeeded != theirs.succeeded:
        held = (run.name, "bolder")[[mine.succeeded, theirs.succeeded].index(False)]
        assert any(m.startswith(f"**{held} held out at this ε") for m in texts(at, "markdown"))


def test_a_network_refused_gradients_says_why_and_is_still_covered(run):
    arch = spec.Architecture("skip", (
        spec.make_layer("conv2d", filters=4, kernel_size=1, strides=2),
        spec.make_layer("flatten")), (28, 28, 1), 10)
    skipping = dataclasses.replace(run, name="skip", architecture=arch,
                                   model=builder.build_model(arch, seed=0), epoch_weights={})
    at = fool_page(skipping)
    assert any("skips pixels, and TensorFlow's CPU gradient" in m for m in texts(at, "info"))
    assert "draw_fool_eps" not in [s.key for s in at.slider]
    opened(at, "draw_cover")
    assert any(m.startswith(text.md("No Grad-CAM or saliency map here"))
               for m in texts(at, "info"))
    assert "occlusion · 6×6 square" in captions(at)
