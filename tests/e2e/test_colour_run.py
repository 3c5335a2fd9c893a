"""Colour networks in Chromium (issue 16, item 4): Draw offers the upload instead of the canvas
and predicts a colour PNG; Feature maps shows that input in colour and the first layer's
filters as colour patches."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.test_colour_runs import colour_dataset, train


def picture(locator) -> np.ndarray:
    """The pixels of an element's screenshot, RGB."""
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB"))


def test_a_colour_run_takes_an_upload_and_shows_colour(app, tmp_path):
    from playwright.sync_api import expect

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
    expect(page.get_by_text("takes 32×32 colour images", exact=False)).to_be_visible(
        timeout=120_000)
    app.idle()
    assert page.locator("iframe").count() == 0  # no canvas
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(
        str(tmp_path / "red.png"))
    expect(page.get_by_text("Prediction:", exact=False)).to_be_visible(timeout=120_000)
    app.shot("colour_run_draw")
    page.get_by_text("See every layer for this drawing").click()
    expect(page.get_by_text("your drawing", exact=True)).to_be_visible(timeout=120_000)
    app.idle()
    shown = picture(page.locator("[data-testid=stImage]").first)  # the input, as shown
    corner = shown[5:20, 5:20].reshape(-1, 3).mean(axis=0)
    assert corner[0] > 180 and corner[1] < 60 and corner[2] < 60, corner  # red stays red
    middle = shown[shown.shape[0] // 2, shown.shape[1] // 2]
    assert middle[0] > 180 and middle[1] > 180 and middle[2] < 80, middle  # and yellow yellow
    page.get_by_text("Filters (the learned kernels)").click()
    patches = page.locator("[data-testid=stImage]", has_text="colour patches")
    expect(patches).to_be_visible()
    app.idle()
    pixels = picture(patches.locator("img")).reshape(-1, 3).astype(int)
    assert (np.abs(pixels[:, 0] - pixels[:, 1]) > 40).mean() > 0.1  # coloured, not grey
    app.shot("colour_run_filters")
