"""The Draw page in Chromium (issue 22): it asks for what the current model knows, not for a
digit (item 6), and the drawing stays for the session when the learner leaves the page and
comes back (item 10)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from .conftest import import_expect, stroke

expect = import_expect()

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def shapes_workspace():
    """A workspace whose current model knows circle, cross and line (trained here, one epoch,
    on thirty drawn shapes)."""
    from cnnlab.architecture import presets
    from cnnlab.data import drawn
    from cnnlab.inspect import preprocess
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import routine
    from cnnlab.workspaces import store
    from tests.drawn_shapes import SHAPES, canvas

    rng = np.random.default_rng(0)
    shapes = drawn.DrawnSet.named(list(SHAPES))
    for index, kind in enumerate(SHAPES):
        for _ in range(drawn.MIN_PER_CLASS):
            image = preprocess.preprocess_canvas(canvas(kind, rng)).as_uint8()
            shapes = shapes.add(index, image)
    run = routine.train(presets.get("tutorial-1conv"), shapes.to_dataset(),
                        Hyperparameters(epochs=1, batch_size=16,
                                        validation_fraction=0))
    workspace = store.create()
    workspace.save_run(run)
    return workspace.token


def open_draw(app, token: str) -> None:
    app.page.goto(f"{app.base_url}/?w={token}")
    app.idle()
    app.nav("Draw")


def test_draw_asks_for_what_the_model_knows(app, shapes_workspace):
    open_draw(app, shapes_workspace)
    asks = "Draw one of its classes: circle, cross or line"
    expect(app.main.get_by_text(f"{asks} in the black box")).to_be_visible()
    expect(app.main.get_by_text(f"{asks}, large, in the middle.")).to_be_visible()
    expect(app.main).not_to_contain_text("digit")
    app.check()


def canvas_ink(canvas) -> int:
    """How many pixels of the canvas, as the screen shows it, are ink (bright)."""
    import io

    from PIL import Image

    shown = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("L"))
    return int((shown > 127).sum())


def test_the_drawing_stays_when_the_learner_comes_back(app, shapes_workspace):
    open_draw(app, shapes_workspace)
    canvas = app.widget("draw_canvas").locator("canvas.upper-canvas")
    expect(canvas).to_be_visible()
    empty = canvas_ink(canvas)  # its frame, maybe
    stroke(app.page, canvas.bounding_box(), [(0.3, 0.3), (0.7, 0.7)])
    prediction = app.main.get_by_role("heading", name=re.compile(r"^Prediction: "))
    expect(prediction).to_be_visible()
    app.idle()
    drawn = canvas_ink(canvas)
    assert drawn > empty + 1000
    said = prediction.inner_text()

    app.nav("Feature maps")
    app.nav("Draw")
    expect(prediction).to_have_text(said)  # the same drawing, predicted again
    expect(canvas).to_be_visible()
    assert canvas_ink(canvas) == drawn  # and drawn again, stroke for stroke
    app.widget("draw_canvas").get_by_role("button", name="Undo stroke").click()
    expect(prediction).to_have_count(0)  # a stroke like any other: undo removes it
    assert canvas_ink(canvas) == empty
    app.check()
