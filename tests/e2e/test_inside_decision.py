"""Inside the decision (issue 15) in a real browser: a picked unit's outline, Grad-CAM after
drawing, a shift slider moving the stability strip, two runs side by side, a quiz answer.

One browser session trains two small runs once (module scope) and the tests walk through it in
order; each asserts on what a learner sees change (an image's content, a caption, a text).
"""

from __future__ import annotations

import re

import pytest

from .conftest import AppPage, import_expect

expect = import_expect()

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lab(browser, app_url):
    """One session with two trained runs (tutorial-1conv-1, then two-conv-1, the current one)
    and a digit drawn on Draw."""
    opened = AppPage(browser, app_url)
    try:
        opened.open()
        load_preset(opened, "tutorial-1conv")  # one network trained twice gives the same run
        opened.train_small_model()
        load_preset(opened, "two-conv")
        opened.train_small_model()
        opened.draw_digit([(0.52, 0.15), (0.5, 0.5), (0.48, 0.85)])
        opened.check()
        yield opened
        opened.check()
    finally:
        opened.close()


def load_preset(app: AppPage, name: str) -> None:
    app.nav("Build")
    app.widget("build_preset").locator("button[aria-label=Open]").click()
    app.page.get_by_role("option", name=name, exact=True).click()
    app.click("build_load")
    app.idle()


def image_with(app: AppPage, caption: str | re.Pattern):
    """The picture (an ``img``) whose caption matches."""
    item = app.main.get_by_test_id("stImageContainer").filter(
        has=app.page.get_by_test_id("stImageCaption").filter(has_text=caption))
    return item.locator("img")


def shown(img) -> bool:
    """The image has loaded and has pixels."""
    return img.evaluate("el => el.complete && el.naturalWidth > 0")


def centre(locator) -> None:
    """Scroll so the element is in the middle of the window (for the screenshot)."""
    locator.first.evaluate("el => el.scrollIntoView({block: 'center'})")


def tab(app: AppPage, name: str) -> None:
    app.main.get_by_role("tab", name=name, exact=True).click()
    app.idle()


def inline(app: AppPage, alt: re.Pattern):
    """The inline picture (ui/images.py) whose alternative text matches."""
    return app.main.get_by_role("img", name=alt)


def test_gradcam_is_shown_after_drawing(lab):
    tab(lab, "Why this answer?")
    gradcam = inline(lab, re.compile(r"^Grad-CAM heat map of conv_2 over the input \(11×11 map "
                                     r"placed over 28×28\): bright where the evidence for \S+"))
    expect(gradcam).to_be_visible()
    assert shown(gradcam)
    saliency = inline(lab, re.compile(r"^saliency map over the input: red where more"))
    expect(saliency).to_be_visible()
    # the heat map is not the plain drawing: Grad-CAM and saliency pictures differ
    assert gradcam.get_attribute("src") != saliency.get_attribute("src")
    centre(gradcam)
    lab.shot("15-why-gradcam")


def test_picking_a_unit_draws_its_outline(lab):
    tab(lab, "What does a unit see?")
    outline = image_with(lab, re.compile(r"^conv_1 \(13, 13\) sees rows 13–15, columns 13–15 "))
    expect(outline).to_be_visible()
    before = outline.get_attribute("src")
    lab.set_number("draw_unit_row_conv_1", 2)
    moved = image_with(lab, re.compile(r"^conv_1 \(2, 13\) sees rows 2–4, columns 13–15 "))
    expect(moved).to_be_visible()
    assert shown(moved) and moved.get_attribute("src") != before  # the outline moved
    lab.widget("draw_unit_layer").get_by_role("combobox").click()  # the box, not its label
    lab.page.get_by_role("option", name="pool_2", exact=True).click()
    lab.idle()
    wider = image_with(lab, re.compile(r"^pool_2 \(2, 2\) sees rows 8–17, columns 8–17 "))
    expect(wider).to_be_visible()  # a deeper unit sees a larger region (10×10)
    expect(image_with(lab, "the unit on pool_2's map, channel 0")).to_be_visible()
    centre(wider)
    lab.shot("15-unit-outline")


def test_a_shift_slider_changes_the_stability_strip(lab):
    tab(lab, "Transform")
    strip = lab.main.get_by_test_id("stTable")  # the strip: the only table on Draw
    expect(strip).to_be_visible()
    lab.idle()
    before = strip.inner_text()
    assert "rotated, 10° a step" in before
    # One key press, one rerun: a press per pixel would rerun once a step, and a picture of a
    # run already replaced answers 404 in the browser.
    lab.widget("draw_tf_dx").get_by_role("slider").press("PageUp")
    thumb = lab.widget("draw_tf_dx").get_by_test_id("stSliderThumbValue")
    expect(thumb).not_to_have_text("0")
    lab.idle()
    expect(image_with(lab, "what the model sees now")).to_be_visible()
    centre(strip)
    lab.idle()
    assert strip.inner_text() != before  # the sweep is now around the shifted drawing
    lab.shot("15-transform-strip")


def test_two_runs_side_by_side(lab):
    lab.main.get_by_text("Compare two runs on this drawing").click()
    verdict = lab.main.get_by_text(re.compile(
        r"^(Both agree|They disagree): two-conv-1 says \S+ \(\d+%\), tutorial-1conv-1 says "))
    expect(verdict).to_be_visible()
    maps = image_with(lab, re.compile(r"^first conv layer, conv_1 · 26×26×32"))
    expect(maps).to_have_count(2)
    expect(image_with(lab, re.compile(r"^Grad-CAM · conv_\d for "))).to_have_count(2)
    assert maps.nth(0).get_attribute("src") != maps.nth(1).get_attribute("src")  # two models
    centre(image_with(lab, "what this run sees"))
    lab.shot("15-compare-runs")
    lab.widget("draw_compare").locator("summary").click()  # closed again
    lab.idle()


def test_a_quiz_answer_is_checked(lab):
    lab.nav("Build")
    lab.main.get_by_text("Quiz: predict, then reveal").click()
    lab.idle()
    expect(lab.main.get_by_text("Score: 0 / 0")).to_be_visible()
    expect(lab.main.get_by_text("→ 26×26×32")).to_have_count(0)  # the answers are hidden
    lab.widget("quiz_0_None_shape").locator("input").fill("26, 26, 32")
    lab.widget("quiz_0_None_params").locator("input").fill("300")
    lab.main.get_by_role("button", name="Check").click()
    lab.idle()
    expect(lab.main.get_by_text("Score: 1 / 2")).to_be_visible()
    expect(lab.main.get_by_text(re.compile(r"you said 300"))).to_be_visible()
    expect(lab.main.get_by_text(re.compile(r"parameters: \(3 × 3 × 1 \+ 1\) × 32 = 320"))
           ).to_be_visible()
    lab.widget("quiz_1_None_shape").locator("input").fill("13x13x32")
    lab.widget("quiz_1_None_params").locator("input").fill("0")
    lab.main.get_by_role("button", name="Check").click()
    lab.idle()
    expect(lab.main.get_by_text("Score: 3 / 4")).to_be_visible()
    lab.shot("15-quiz")


def test_feature_maps_explain_a_test_image(lab):
    lab.nav("Feature maps")
    lab.main.get_by_text("Why this answer? What does a unit see?").click()
    gradcam = inline(lab, re.compile(r"^Grad-CAM heat map of conv_2 over the input"))
    expect(gradcam).to_be_visible()
    assert shown(gradcam)
    centre(gradcam)
    lab.shot("15-fm-why")
    tab(lab, "What does a unit see?")
    outline = image_with(lab, re.compile(r"^conv_1 \(13, 13\) sees rows 13–15, columns 13–15 "))
    expect(outline).to_be_visible()
    expect(image_with(lab, "the unit on conv_1's map, channel 0")).to_be_visible()
