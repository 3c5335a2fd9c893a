"""My classes in Chromium: name two classes, draw ten of each with the mouse, train the default
network on them, and get a prediction by drawing on the Draw page, named by the student's
classes. Screenshots in ``artifacts/e2e/my-classes-*.png``."""

from __future__ import annotations

import math
import re

from .conftest import TRAINING_MS, import_expect, stroke

expect = import_expect()


def ring(k: int) -> list[tuple[float, float]]:
    """A circle, a little bigger or smaller and off-centre with ``k``."""
    r, cx, cy = 0.22 + 0.02 * (k % 4), 0.5 + 0.03 * (k % 3 - 1), 0.5 + 0.03 * (k % 5 - 2)
    return [(cx + r * math.sin(2 * math.pi * t / 16), cy - r * math.cos(2 * math.pi * t / 16))
            for t in range(17)]


def bar(k: int) -> list[tuple[float, float]]:
    """A vertical line, slanted a little with ``k``."""
    slant = 0.02 * (k % 5 - 2)
    return [(0.5 + slant, 0.15), (0.5 - slant, 0.85)]


def test_name_draw_train_and_predict_my_classes(app):
    app.nav("My classes")
    app.widget("mine_names").locator("textarea").fill("circle\nbar")
    app.widget("mine_names").locator("textarea").press("Tab")
    app.idle()
    app.shot("my-classes-0-names")
    app.click("mine_create")
    classes, counts = app.widget("mine_class"), app.widget("mine_counts")
    expect(counts).to_have_text("examples: circle 0/10 · bar 0/10")
    canvas = app.page.locator(".st-key-mine_canvas_0 canvas.upper-canvas")
    expect(canvas).to_be_visible()
    add = app.widget("mine_add").get_by_role("button")

    # a stray stroke, cleared with the canvas's own button: nothing to add
    canvas.scroll_into_view_if_needed()
    stroke(app.page, canvas.bounding_box(), [(0.2, 0.2), (0.3, 0.25)], steps=3)
    expect(add).to_be_enabled()
    app.page.get_by_role("button", name="Reset canvas & history").click()
    expect(add).to_be_disabled()

    for index, (name, shape) in enumerate((("circle", ring), ("bar", bar))):
        classes.get_by_text(name, exact=True).click()
        app.idle()
        for k in range(10):
            live = app.page.locator("canvas.upper-canvas")
            live.scroll_into_view_if_needed()
            stroke(app.page, live.bounding_box(), shape(k), steps=3)
            expect(add).to_be_enabled()
            add.click()
            expect(counts).to_contain_text(f"{name} {k + 1}/10")
            app.idle()
        if index == 0:
            app.shot("my-classes-1-drawing")
    app.check()

    app.set_number("mine_epochs", 10)
    app.idle()
    app.click("mine_train")
    heading = app.main.get_by_role("heading", name=re.compile(r"held-out drawings right"))
    expect(heading).to_be_visible(timeout=TRAINING_MS)
    confusion = app.main.get_by_test_id("stVegaLiteChart").filter(has_text="confusion matrix")
    expect(confusion).to_be_visible()
    confusion.scroll_into_view_if_needed()
    app.shot("my-classes-2-trained")

    app.main.get_by_role("link", name=re.compile("Test it: draw on the Draw page")).click()
    expect(app.main.get_by_role("heading", name="Draw", exact=True)).to_be_visible()
    app.idle()
    draw = app.page.locator(".st-key-draw_canvas canvas.upper-canvas")
    expect(draw).to_be_visible()
    draw.scroll_into_view_if_needed()
    stroke(app.page, draw.bounding_box(), ring(1), steps=3)
    prediction = app.main.get_by_role("heading",
                                      name=re.compile(r"^Prediction: (circle|bar) \(\d+%\)$"))
    expect(prediction).to_be_visible()
    app.shot("my-classes-3-draw")


def test_upload_a_class_folder_zip_and_a_hostile_one(app, tmp_path):
    """A downloaded set uploaded again gives the same counts; a zip with ``../`` is refused
    by name and nothing changes."""
    import numpy as np

    from cnnlab.data import drawn, drawn_zip

    good = drawn.DrawnSet.named(["sun", "moon"])
    for k in range(12):
        good = good.add(k % 2, np.full((28, 28), 40 + k, np.uint8))
    (tmp_path / "mine.zip").write_bytes(drawn_zip.to_zip_bytes(good))
    evil = tmp_path / "evil.zip"
    import zipfile

    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../escape/1.png", b"x")
        zf.writestr("b/1.png", b"x")
    app.nav("My classes")
    upload = app.widget("mine_upload").locator("input[type=file]")
    upload.set_input_files(str(evil))
    app.idle()
    app.click("mine_use_zip")
    expect(app.main.get_by_test_id("stAlertContentError")).to_contain_text(
        "'../escape/1.png' has an unsafe path")
    expect(app.widget("mine_create")).to_be_visible()  # still on the naming step
    upload.set_input_files(str(tmp_path / "mine.zip"))
    app.idle()
    app.click("mine_use_zip")
    expect(app.widget("mine_counts")).to_have_text("examples: moon 6/10 · sun 6/10")
    app.check()
