"""The newcomer's path through CNN Lab in a real browser, one test per step.

Each test has its own browser context, so its own Streamlit session: the Feature maps and Draw
steps train their own small model first, exactly as a user of a fresh session would.
"""

from __future__ import annotations

import math
import re

import pytest

from .conftest import TRAINING_MS, import_expect, stroke

expect = import_expect()

pytestmark = pytest.mark.e2e

PAGES = ["Home", "Build", "Train", "Feature maps", "Draw", "My classes", "Learn", "Class"]
PROGRESS = re.compile(r"epoch (\d+)/(\d+), batch (\d+)/(\d+)")


def test_home_lists_every_page(app):
    nav = app.page.get_by_test_id("stSidebarNav").get_by_role("link")
    expect(nav).to_have_count(len(PAGES))
    for link, title in zip(nav.all(), PAGES, strict=True):  # in order; icons are not names
        expect(link).to_have_accessible_name(title)
    for title in PAGES[1:]:  # the path through the app, also in the page body
        expect(app.main.get_by_role("link", name=title, exact=True)).to_be_visible()
    expect(app.sidebar).to_contain_text("none trained yet")
    app.shot("1-home")


def _blocks(app):
    """The diagram's blocks, as their titles say: ``conv_1 (conv2d): 26×26×32``."""
    return app.main.locator("svg g.block > title")


def _table_cell(app, column: int, row: int):
    """A cell of the shape table: columns layer, output, params, MACs, RF."""
    return app.widget("build_table").locator("tbody tr").nth(row).locator("td").nth(column)


def test_build_shapes_follow_the_kernel_and_impossible_settings_stop_training(app):
    app.nav("Build")
    first_conv = {name: app.page.locator(f"[class*='st-key-layer'][class*='_{name}']").first
                  for name in ("kernel_h", "kernel_w", "stride_h")}
    expect(_blocks(app).nth(1)).to_have_text("conv_1 (conv2d): 26×26×32")
    expect(_table_cell(app, 0, 0)).to_have_text("conv_1")
    expect(_table_cell(app, 1, 0)).to_have_text("26×26×32")

    app.set_number(first_conv["kernel_h"], 5)
    expect(_blocks(app).nth(1)).to_have_text("conv_1 (conv2d): 24×26×32")
    app.set_number(first_conv["kernel_w"], 5)
    expect(_blocks(app).nth(1)).to_have_text("conv_1 (conv2d): 24×24×32")
    expect(_blocks(app).nth(2)).to_have_text("pool_1 (max_pool2d): 12×12×32")
    expect(_table_cell(app, 1, 0)).to_have_text("24×24×32")
    expect(_table_cell(app, 1, 1)).to_have_text("12×12×32")
    expect(app.main.get_by_role("link", name="Train this network →")).to_be_visible()
    app.shot("2-build")

    # Stride 5 leaves conv_2 a 2×12 input: its 3×3 kernel cannot fit.
    app.set_number(first_conv["stride_h"], 5)
    error = app.main.get_by_test_id("stAlertContentError")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("does not fit")
    expect(error).to_contain_text("layer 3 (conv2d)")
    train = app.widget("build_train_disabled").get_by_role("button")
    expect(train.first).to_be_visible()
    for button in train.all():  # Streamlit draws a disabled button with help twice
        expect(button).to_be_disabled()
    expect(app.main.get_by_role("link", name="Train this network →")).to_have_count(0)
    expect(_blocks(app)).to_have_count(3)  # the diagram stops before the problem
    expect(_blocks(app).nth(1)).to_have_text("conv_1 (conv2d): 5×24×32")
    app.shot("2-build-problem")

    app.set_number(first_conv["stride_h"], 1)
    expect(error).to_have_count(0)
    expect(app.main.get_by_role("link", name="Train this network →")).to_be_visible()
    expect(app.widget("build_train_disabled")).to_have_count(0)
    app.check()


LIVE = ".cnnlab-live"  # the Train page's live element (serve.py's feed; CSS pierces its shadow)


def _progress(app):
    """The live element's progress line ("epoch 2/20, batch 13/57 · ...")."""
    return app.main.locator(f"{LIVE} .live-text")


def test_train_live_curves_stop_and_results(app):
    # A finished run: the default network, one quick epoch on the built-in digits.
    app.nav("Train")
    app.set_number("train_epochs", 1)
    expect(app.widget("train_epochs").locator("input")).to_have_value("1")
    app.set_select_slider("train_batch", [8, 16, 32, 64, 128, 256, 512], 512)
    app.click("train_start")
    expect(app.widget("train_stop")).to_be_visible(timeout=TRAINING_MS)  # TF's first import
    results = app.main.get_by_role("heading", name=re.compile(r"^Results of two-conv"))
    expect(results).to_be_visible(timeout=TRAINING_MS)
    expect(results).not_to_contain_text("stopped early")
    accuracy = app.main.get_by_test_id("stMetric").filter(has_text="test accuracy")
    expect(accuracy.get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\d+\.\d\d%$"))
    expect(app.main.get_by_test_id("stMetric").filter(has_text="epochs trained")
           .get_by_test_id("stMetricValue")).to_have_text("1 of 1")
    confusion = app.main.get_by_test_id("stVegaLiteChart").filter(has_text="confusion matrix")
    expect(confusion).to_be_visible()
    expect(confusion.locator("path[aria-label*='count:']")).to_have_count(100)  # 10 × 10 cells
    expect(app.main.get_by_role("heading", name="Runs of this workspace")).to_be_visible()
    expect(app.sidebar).to_contain_text("test accuracy")
    app.shot("3-train")

    # A second, long run: the curves grow while it trains, and Stop ends it.
    app.set_number("train_epochs", 20)
    expect(app.widget("train_epochs").locator("input")).to_have_value("20")
    app.set_select_slider("train_batch", [8, 16, 32, 64, 128, 256, 512], 64)
    app.click("train_start")
    first = _progress(app).filter(has_text=re.compile(r"epoch \d+/20, batch [1-9]\d*/"))
    expect(first).to_be_visible(timeout=TRAINING_MS)
    seen = PROGRESS.search(first.inner_text()).group(0)
    live = app.main.locator(LIVE)
    drawn = live.get_attribute("data-points")  # the curve's points the element has drawn
    later = _progress(app).filter(has_text=re.compile(r"epoch \d+/20, batch [1-9]\d*/")
                                  ).filter(has_not_text=seen)
    expect(later).to_be_visible(timeout=TRAINING_MS)  # a later refresh, further on
    expect(live).not_to_have_attribute("data-points", drawn or "0",
                                       timeout=TRAINING_MS)  # and the curve has grown
    assert live.locator("path[data-series=batch]").count() == 2  # loss and accuracy lines
    app.shot("3-train-live")

    app.click("train_stop")
    stopped = app.main.get_by_role("heading", name=re.compile(r"^Results of .*\(stopped early\)"))
    expect(stopped).to_be_visible(timeout=TRAINING_MS)
    expect(app.main.get_by_test_id("stMetric").filter(has_text="epochs trained")
           .get_by_test_id("stMetricValue")).to_have_text(re.compile(r"^\d+ of 20$"))
    expect(app.widget("train_start")).to_be_visible()
    expect(app.sidebar).to_contain_text("stopped early")
    app.shot("3-train-stopped")


def _expect_loaded(images) -> None:
    """Every image of ``images`` has arrived and has pixels."""
    for image in images.all():
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("img => img.naturalWidth") > 0


def test_feature_maps_show_a_grid_per_layer(app):
    app.train_small_model()
    app.nav("Feature maps")
    layers = {"conv_1": "conv2d · 26×26×32", "pool_1": "max_pool2d · 13×13×32",
              "conv_2": "conv2d · 11×11×64", "pool_2": "max_pool2d · 5×5×64",
              "flatten_1": "flatten · 1600", "dense_1": "dense · 128"}
    for name, description in layers.items():
        box = app.widget(f"fm_layer_{name}")
        expect(box).to_contain_text(f"{name} · {description}")
        images = box.get_by_test_id("stImage").locator("img")
        expect(images).to_have_count(2)  # the channels' grid and its colour scale
        _expect_loaded(images)
    expect(app.main).to_contain_text("test image 0:")
    expect(app.main.get_by_text(re.compile(r"^Prediction: \d"))).to_be_visible()

    app.set_number("fm_index", 7)
    expect(app.main.get_by_test_id("stImage").filter(
        has_text=re.compile(r"test image 7: \d"))).to_be_visible()
    expect(app.widget("fm_layer_conv_1").get_by_test_id("stImage")).to_have_count(2)
    app.shot("4-feature-maps")


def test_draw_predicts_a_drawn_digit_and_clear_empties_it(app):
    app.train_small_model()
    app.nav("Draw")
    canvas = app.page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible()
    waiting = app.main.get_by_text("Draw a digit in the black box")
    expect(waiting).to_be_visible()
    prediction = app.main.get_by_role("heading", name=re.compile(r"^Prediction: \d \(\d+%\)$"))
    steps = app.main.locator("div:has(> figure)").filter(has_text="as drawn")  # ui/images.py

    stroke(app.page, canvas.bounding_box(), [(0.52, 0.15), (0.5, 0.5), (0.48, 0.85)])
    expect(prediction).to_be_visible()
    for title in ("as drawn", "cropped", "scaled to 20 px", "centred 28×28"):
        expect(steps).to_contain_text(title)
    expect(waiting).to_have_count(0)
    app.shot("5-draw-one")

    app.widget("draw_canvas").get_by_role("button", name="Clear").click()
    expect(waiting).to_be_visible()
    expect(prediction).to_have_count(0)
    app.check()

    angles = [2 * math.pi * t / 24 for t in range(25)]
    ring = [(0.5 + 0.22 * math.sin(a), 0.5 - 0.32 * math.cos(a)) for a in angles]  # a "0"
    stroke(app.page, canvas.bounding_box(), ring, steps=2)
    expect(prediction).to_be_visible()
    expect(steps).to_contain_text("centred 28×28")
    app.shot("5-draw")
