"""Own images in Chromium (issue 16, item 1): a zip of class folders uploaded on the Train page,
its mixed sizes resized to the size the student picks, previewed in colour, and trained."""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
from PIL import Image

from .conftest import TRAINING_MS, import_expect

expect = import_expect()  # every step waits up to STEP_MS, however busy the machine


def pets_zip(path) -> None:
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as zf:
        for name, colour in (("reds", (220, 30, 30)), ("blues", (30, 40, 220))):
            for i in range(20):
                side = 20 if i % 2 else 24
                noisy = np.array(colour) + rng.integers(-25, 26, (side, side, 3))
                image = io.BytesIO()
                Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(image, "PNG")
                zf.writestr(f"colours/{name}/{i}.png", image.getvalue())


def test_a_zip_of_class_folders_uploads_previews_and_trains(app, tmp_path):
    pets_zip(tmp_path / "colours.zip")
    page = app.page
    app.nav("Train")
    app.idle()
    app.widget("train_dataset").get_by_role("combobox").click()
    page.get_by_role("option", name="my own images (a zip upload)").click()
    expect(page.get_by_text("No data set of your own yet")).to_be_visible()
    app.idle()
    app.widget("upload_zip").locator("input[type=file]").set_input_files(
        str(tmp_path / "colours.zip"))
    app.idle()
    app.click("upload_add")
    expect(page.get_by_text("The images have 2 sizes (20×20, 24×24)")).to_be_visible()
    app.idle()
    counts = re.compile(r"\(your upload, 16×(\d+)\): 32 training and 8 test images, 2 classes")
    app.set_number("upload_h", 16)  # wait for what the rerun shows, not for a quiet moment:
    expect(page.get_by_text(counts)).to_contain_text("(your upload, 16×20)")  # idle may come
    app.set_number("upload_w", 16)  # before it
    preview = page.get_by_text(counts)
    expect(preview).to_contain_text("(your upload, 16×16)")
    preview.click()
    app.idle()
    expect(page.get_by_role("img", name=re.compile(r"^training image \d+: (reds|blues)$"))
           ).to_have_count(4)
    app.shot("own_images_preview")
    app.set_number("train_epochs", 1)
    app.idle()
    app.click("train_start")
    results = app.main.get_by_role("heading", name=re.compile(r"^Results of "))
    expect(results).to_be_visible(timeout=TRAINING_MS)
    app.idle()
    app.shot("own_images_trained")
