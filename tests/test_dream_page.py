"""AppTest of Feature maps' "Ask what it wants to see" (ui/dream.py, issue 25 item 3): computed
only while open; one filter's picture with its unit's receptive field outlined, as
cnnlab.inspect.feature_vis makes it; "what does my network think a 7 looks like?" with what
the network says of it; a whole layer in the background — its progress and Stop button while
it runs, the grid when it is done, at once from the cache for the next session; a network
refused gradients says why."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
from explain_views import alts, captions, opened, page, pixels, reopened, texts
from trained_digits import digits_run, summary_of

from cnnlab.architecture import spec
from cnnlab.inspect import background, feature_vis, inference, receptive
from cnnlab.models import builder
from cnnlab.views import overlay

WAIT = 300  # seconds: a bound for a stuck climb on a loaded machine, never a pace


@pytest.fixture(scope="module")
def run():
    return digits_run()


@pytest.fixture(scope="module")
def reference(run):
    """A visualizer of the same weights that keeps nothing in the cache."""
    return feature_vis.Visualizer(run.model, summary_of(run))


def dream_page(run):
    return opened(page("pages/feature_maps.py", run), "fm_dream")


def test_closed_the_section_computes_nothing(run):
    at = page("pages/feature_maps.py", run)
    assert "dream_visualizer" not in at.session_state
    assert "fm_dream_mode" not in [s.key for s in at.get("button_group")]


def test_one_filter_is_its_picture_with_the_units_receptive_field_outlined(run, reference):
    at = dream_page(run)
    at.selectbox(key="fm_dream_layer").set_value("conv_2").run()
    at.number_input(key="fm_dream_filter_conv_2").set_value(5).run()
    assert not at.exception, at.exception
    found = reference.unit("conv_2", 5)
    top, left, bottom, right = receptive.input_region(summary_of(run), "conv_2", 5, 5)
    assert found.box == (top, left, bottom, right)
    assert "conv_2 filter 5" in captions(at)
    assert np.array_equal(pixels(at, "conv_2 filter 5"),
                          overlay.outlined(found.image, found.box, 4, width=1))
    said = (f"What the centre unit of conv_2 filter 5 likes most; the red box is what that unit "
            f"sees, rows {top}–{bottom - 1}, columns {left}–{right - 1}: {bottom - top}×"
            f"{right - left} pixels. Gradient ascent from plain grey raised the unit's value "
            f"(before its activation) from {found.start_value:.3g} to {found.value:.3g}; only "
            "the pixels in the red box can change it.")
    assert said in texts(at, "caption")


def test_what_does_my_network_think_a_7_looks_like(run, reference):
    at = dream_page(run)
    at.get("button_group")[0].set_value("a class").run()
    at.selectbox(key="fm_dream_class").set_value(7).run()
    assert not at.exception, at.exception
    assert f"**What does {run.name} think a 7 looks like?**" in texts(at, "markdown")
    found = reference.output_class(7)
    probs = inference.Predictor(run.model).probabilities(found.as_uint8())
    said = int(np.argmax(probs))
    assert f"read as {said} ({probs[said]:.0%})" in captions(at)
    assert np.array_equal(pixels(at, "read as "),
                          np.repeat(np.repeat(overlay.as_rgb(found.image), 4, 0), 4, 1))


def test_a_whole_layer_runs_in_the_background_then_shows_and_is_kept(run, reference):
    at = dream_page(run)
    at.get("button_group")[0].set_value("a whole layer").run()
    at.selectbox(key="fm_dream_grid_layer").set_value("conv_1").run()
    assert not at.exception, at.exception
    at.button(key="fm_dream_start").click().run()
    assert not at.exception, at.exception
    task = at.session_state["dream_task"][1]
    assert task.finished.wait(WAIT) and task.snapshot().state == "done"
    at.run()
    grid = [a for a in alts(at) if a.startswith("conv_1 filter ")]
    assert grid == [f"conv_1 filter {i}: the picture that excites it most" for i in range(32)]
    first = reference.unit("conv_1", 0)
    assert np.array_equal(pixels(at, alt="conv_1 filter 0:"),
                          overlay.outlined(first.image, first.box, 2, width=1))
    # another session of the workspace: the pictures come from the run's cache
    again = opened(reopened(at, "pages/feature_maps.py"), "fm_dream")
    again.get("button_group")[0].set_value("a whole layer").run()
    again.selectbox(key="fm_dream_grid_layer").set_value("conv_1").run()
    assert "dream_task" not in again.session_state
    assert "fm_dream_start" not in [b.key for b in again.button]
    assert len([a for a in alts(again) if a.startswith("conv_1 filter ")]) == 32


def test_progress_shows_while_a_layer_runs_and_stop_stops_it(run):
    at = dream_page(run)
    at.get("button_group")[0].set_value("a whole layer").run()
    at.selectbox(key="fm_dream_grid_layer").set_value("conv_2").run()
    visualizer = at.session_state["dream_visualizer"][1]
    reported = threading.Event()

    def work(progress, stop):  # a layer that stays half done until it is stopped
        progress(48, 96)
        reported.set()
        stop.wait(WAIT)
        return []

    task = background.Task(work)
    assert reported.wait(WAIT)
    at.session_state["dream_task"] = ((visualizer.identity, "conv_2", feature_vis.Settings()),
                                      task)
    at.run()
    assert not at.exception, at.exception
    [bar] = at.get("progress")
    assert bar.value == 50 and bar.proto.text == "climbing all 64 filters of conv_2: step 48 of 96"
    at.button(key="fm_dream_stop").click().run()
    assert task.finished.wait(WAIT) and task.snapshot().state == "cancelled"
    at.run()
    assert not at.get("progress")
    assert at.button(key="fm_dream_start").label == "Show all 64 filters of conv_2"


def test_a_network_refused_gradients_says_why(run):
    arch = spec.Architecture("skip", (
        spec.make_layer("conv2d", filters=4, kernel_size=1, strides=2),
        spec.make_layer("flatten")), (28, 28, 1), 10)
    skipping = dataclasses.replace(run, name="skip", architecture=arch,
                                   model=builder.build_model(arch, seed=0), epoch_weights={})
    at = opened(page("pages/feature_maps.py", skipping), "fm_dream")
    assert any("skips pixels, and TensorFlow's CPU gradient" in m for m in texts(at, "info"))
    assert not at.get("button_group")
