"""Inside the decision, part 2 (issue 25, issue 22 item 8) in a real browser: Grad-CAM at the
layer the learner picks with its own resolution said; Fool it — the smallest ε tried with its
button, and the same attack on a run trained with strong augmentation; Cover it up — three maps
and where they agree, then the sanity check's randomised maps; Ask what it wants to see — one
filter with its receptive field, a whole layer computed in the background, a class; and a
colour run through all of them.

One browser session trains a run and draws a 7 once (module scope); a second run of the same
network, trained with strong augmentation, is written into its workspace by the test. Each
step waits on what a learner sees appear (a picture's alternative text, a sentence).
"""

from __future__ import annotations

import base64
import dataclasses
import io
import re

import numpy as np
import pytest
from PIL import Image

from tests.test_colour_runs import colour_dataset, train

from .conftest import SHOTS, AppPage, import_expect

expect = import_expect()

pytestmark = pytest.mark.e2e

LAYER_MS = 180_000  # a whole layer's pictures in the background, on a loaded machine
STRONG = "two-conv-strong"  # the second run: the same network, strong augmentation


@pytest.fixture(scope="module")
def lab(browser, app_url):
    """One session with a trained two-conv run and a 7 drawn on Draw; a second run of the
    same network trained with strong augmentation in its workspace."""
    opened = AppPage(browser, app_url)
    try:
        opened.open()
        opened.train_small_model()
        add_strong_run(opened)
        opened.draw_digit([(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)])
        opened.check()
        yield opened
        opened.check()
    finally:
        opened.close()


def add_strong_run(app: AppPage) -> None:
    """Train two-conv with strong augmentation here and save it into the page's workspace."""
    from cnnlab.architecture import presets
    from cnnlab.data import datasets
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import routine
    from cnnlab.workspaces import store

    token = re.search(r"[?&]w=([^&]+)", app.page.url).group(1)
    run = routine.train(presets.get("two-conv"), datasets.load_dataset("mnist-5k"),
                        Hyperparameters(epochs=1, batch_size=128, seed=4, augment="strong"))
    workspace = store.open_workspace(token)
    first = workspace.current()
    workspace.save_run(dataclasses.replace(run, name=STRONG))
    workspace.set_current(first)  # saving made it current: the page's run stays the first


def picture(app: AppPage, alt: str | re.Pattern):
    """The inline picture (an ``img``) whose alternative text is ``alt`` (or matches it)."""
    return app.main.get_by_role("img", name=alt)


def section_shot(app: AppPage, key: str, name: str, anchor=None) -> None:
    """Check the page, then save a screenshot of the part of one section (an expander) in the
    window, ``anchor`` (default its first picture) scrolled to the window's middle. (An element
    screenshot would be blank below the window: Streamlit scrolls its own container.)"""
    app.idle()
    app.check()
    section = app.widget(key)
    (anchor if anchor is not None else section.get_by_role("img")).first.evaluate(
        "el => el.scrollIntoView({block: 'center', behavior: 'instant'})")
    app.idle()
    box, window = section.bounding_box(), app.page.viewport_size
    header = app.page.get_by_test_id("stHeader").bounding_box()  # the bar that stays on top
    top = max(box["y"], header["y"] + header["height"] if header else 0)
    bottom = min(box["y"] + box["height"], window["height"])
    app.page.screenshot(path=str(SHOTS / f"{name}.png"), clip={
        "x": box["x"], "y": top, "width": box["width"], "height": bottom - top})


def choose(app: AppPage, key: str, option: str) -> None:
    """Pick ``option`` in the select box ``key``, opened by its combobox role."""
    app.idle()
    box = app.widget(key).get_by_role("combobox")
    box.click()
    box.press("ArrowDown")  # opens the list if the click only focused it (it does after a tab)
    app.page.get_by_role("option", name=option, exact=True).click()
    app.idle()


def open_section(app: AppPage, key: str) -> None:
    app.widget(key).locator("summary").click()
    app.idle()


def test_gradcam_at_the_first_conv_layer_says_its_resolution(lab):
    lab.main.get_by_role("tab", name="Why this answer?", exact=True).click()
    coarse = picture(lab, re.compile(r"^Grad-CAM heat map of conv_2 over the input "
                                     r"\(11×11 map placed over 28×28\)"))
    expect(coarse).to_be_visible()
    choose(lab, "draw_why_layer", "conv_1")
    fine = picture(lab, re.compile(r"^Grad-CAM heat map of conv_1 over the input "
                                   r"\(26×26 map placed over 28×28\)"))
    expect(fine).to_be_visible()
    expect(lab.main.get_by_text("Grad-CAM · conv_1 · 26×26 on 28×28", exact=True)
           ).to_be_visible()  # the picture's caption
    expect(lab.main.get_by_text(re.compile(r"conv_1's 26×26 map placed over 28×28\."))
           ).to_be_visible()
    expect(picture(lab, re.compile(r"^saliency map over the input: red where more brightness"))
           ).to_be_visible()
    fine.evaluate("el => el.scrollIntoView({block: 'center'})")
    lab.shot("25-gradcam-layer")


def test_fool_it_tries_the_smallest_eps_and_attacks_a_second_run(lab):
    open_section(lab, "draw_fool")
    expect(picture(lab, re.compile(r"^the changed picture: it says "))).to_be_visible()
    lab.widget("draw_fool_goal").get_by_text("make it say …").click()
    lab.idle()
    answer = lab.main.get_by_text(re.compile(r"^(It now says|No change within ε = 0\.1 made "
                                             r"it say)"))
    expect(answer).to_be_visible()
    if lab.widget("draw_fool_smallest").count():  # ε = 0.1 was not enough: try the smallest
        expect(answer).to_contain_text("The smallest ε that works is")
        lab.click("draw_fool_smallest")
        lab.idle()
    success = lab.main.get_by_text(re.compile(r"^It now says \S+ \(\d+%\) instead of"))
    expect(success).to_be_visible()
    target = success.inner_text().split()[3]  # "It now says 3 (61%) ..."
    expect(lab.widget("draw_fool_target").get_by_role("combobox")).to_have_value(target)
    expect(picture(lab, re.compile(rf"^the changed picture: it says {re.escape(target)} "))
           ).to_be_visible()
    expect(picture(lab, re.compile(r"^the change, amplified: red where a pixel was made "
                                   r"brighter"))).to_be_visible()
    section_shot(lab, "draw_fool", "25-fool")
    choose(lab, "draw_fool_other", STRONG)
    expect(picture(lab, re.compile(rf"^{STRONG}: the changed picture: it says "))
           ).to_be_visible()
    expect(lab.main.get_by_text(re.compile(rf"^{STRONG} \(trained on mnist-5k\), the same "
                                           r"picture"))).to_be_visible()
    section_shot(lab, "draw_fool", "25-fool-compare",
                 picture(lab, re.compile(rf"^{STRONG}: the changed picture")))
    open_section(lab, "draw_fool")  # closed again


def test_cover_it_up_then_randomise_the_weights(lab):
    open_section(lab, "draw_cover")
    for alt in (r"^Grad-CAM at conv_2 \(11×11 map placed over 28×28\): bright where",
                r"^saliency map: red where",
                r"^occlusion map: bright where covering"):
        expect(picture(lab, re.compile(alt))).to_be_visible()
    expect(lab.main.get_by_text(re.compile(r"strongest pixels"))).to_be_visible()
    section_shot(lab, "draw_cover", "25-cover")
    lab.widget("draw_sanity").locator("label").click()
    lab.idle()
    for alt in (r"^Grad-CAM of the randomised network at conv_2",
                r"^saliency map of the randomised network", r"^occlusion map of the randomised",
                r"^the classic saliency map, the gradient's size, of the randomised network"):
        expect(picture(lab, re.compile(alt))).to_be_visible()
    expect(lab.main.get_by_text(re.compile(r"^With the weights from conv_1 up random, "))
           ).to_be_visible()
    section_shot(lab, "draw_cover", "25-sanity",
                 picture(lab, re.compile(r"^occlusion map of the randomised")))
    open_section(lab, "draw_cover")


def test_ask_what_a_filter_a_layer_and_a_class_want_to_see(lab):
    lab.nav("Feature maps")
    open_section(lab, "fm_dream")
    expect(picture(lab, re.compile(r"^the picture that excites conv_1 filter 0 most, its unit's "
                                   r"receptive field \(rows 13–15, columns 13–15: 3×3 pixels\)"))
           ).to_be_visible()
    lab.widget("fm_dream_mode").get_by_text("a whole layer", exact=True).click()
    lab.idle()
    lab.click("fm_dream_start")
    expect(picture(lab, "conv_1 filter 31: the picture that excites it most")).to_be_visible(
        timeout=LAYER_MS)
    expect(picture(lab, re.compile(r"^conv_1 filter \d+: the picture that excites it most$"))
           ).to_have_count(32)
    section_shot(lab, "fm_dream", "25-dream-layer")
    lab.widget("fm_dream_mode").get_by_text("a class", exact=True).click()
    lab.idle()
    choose(lab, "fm_dream_class", "7")
    expect(lab.main.get_by_text(re.compile(r"^What does two-conv-\d+ think a 7 looks like\?$"))
           ).to_be_visible()
    expect(picture(lab, re.compile(r"^the picture that raises the score of 7 most; the network "
                                   r"reads it as"))).to_be_visible()
    section_shot(lab, "fm_dream", "25-dream-class")


def colourful(img) -> bool:
    """Whether an inline picture holds colour (its channels differ), not only grey: read from
    the ``data:`` URI the browser shows (a screenshot of a picture outside the window would be
    blank: Streamlit scrolls its own container)."""
    data = base64.b64decode(img.get_attribute("src").split(",", 1)[1])
    shown = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    return float((np.abs(shown[..., 0] - shown[..., 2]) > 40).mean()) > 0.05


def test_a_colour_run_is_explained_fooled_covered_and_visualised(app, tmp_path):
    from cnnlab.workspaces import store

    workspace = store.create()
    workspace.save_run(train("two-conv-dropout", colour_dataset(side=32, train=150, test=30)))
    photo = np.zeros((60, 80, 3), np.uint8)
    photo[..., 0] = 220  # red, with a yellow square
    photo[20:40, 30:50] = (250, 250, 0)
    Image.fromarray(photo).save(tmp_path / "red.png")
    page = app.page
    page.goto(f"{app.base_url}/?w={workspace.token}")
    app.idle()
    app.nav("Draw")
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(
        str(tmp_path / "red.png"))
    expect(app.main.get_by_role("heading", name=re.compile(r"^Prediction: "))).to_be_visible()
    app.idle()
    gradcam = picture(app, re.compile(r"^Grad-CAM heat map of conv_2 over the input \(\d+×\d+ "
                                      r"map placed over 32×32\)"))
    expect(gradcam).to_be_visible()
    assert colourful(gradcam)
    open_section(app, "draw_fool")
    changed = picture(app, re.compile(r"^the changed picture: it says "))
    expect(changed).to_be_visible()
    assert colourful(changed)
    open_section(app, "draw_cover")
    expect(picture(app, re.compile(r"^occlusion map: bright where covering"))).to_be_visible()
    section_shot(app, "draw_cover", "25-colour-cover")
    app.nav("Feature maps")  # the run's test images are not here: no picture is needed
    open_section(app, "fm_dream")
    expect(picture(app, re.compile(r"^the picture that excites conv_1 filter 0 most"))
           ).to_be_visible()
    app.widget("fm_dream_mode").get_by_text("a class", exact=True).click()
    app.idle()
    wanted = picture(app, re.compile(r"^the picture that raises the score of (red|green|blue) "
                                     r"most;"))
    expect(wanted).to_be_visible()
    assert colourful(wanted)  # a whole picture in colour (a filter's changes only its box)
    section_shot(app, "fm_dream", "25-colour-dream")
