"""What a new user ran into (issue 12, item 5), each checked in a real browser:

1. training twice makes the newest run the current model everywhere;
2. a page's own URL opened first on a freshly started server shows the app's navigation;
3. a run can be uploaded on the Train page before any run exists, and becomes current;
4. Draw prepares a drawing the way the run says its data was prepared, not by its name.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
import pytest

from .conftest import SERVER_START_SECONDS, SHOTS, AppPage, harness, import_expect

expect = import_expect()

pytestmark = pytest.mark.e2e

PAGES = {"Home": "", "Build": "build", "Train": "train", "Feature maps": "feature_maps",
         "Draw": "draw", "My classes": "my_classes", "Learn": "learn", "Class": "class"}
HEADINGS = {"Home": "CNN Lab", "Learn": "Learn: convolution, stride, padding and pooling"}
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot")


def _current_choice(app):
    """The Train page's "current model" box (its input holds the chosen run's name)."""
    return app.widget("train_current").get_by_role("combobox")


def test_training_again_makes_the_newest_run_current(app):
    first = app.train_small_model()
    second = app.train_small_model()
    assert first != second
    expect(app.sidebar).to_contain_text(second)
    expect(_current_choice(app)).to_have_value(second)
    for page in ("Draw", "Feature maps", "Train"):  # every page, and on later reruns
        app.nav(page)
        expect(app.sidebar).to_contain_text(second)
        expect(app.sidebar).not_to_contain_text(first)
    expect(_current_choice(app)).to_have_value(second)
    expect(app.widget("train_zip")).to_be_visible()
    app.shot("7-second-run-current")


@pytest.mark.parametrize("title", list(PAGES))
def test_a_page_opened_first_on_a_fresh_server_shows_the_app_navigation(browser, title):
    log = SHOTS / f"streamlit-server-first-{PAGES[title] or 'home'}.log"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with harness.streamlit_server(timeout=SERVER_START_SECONDS, log=log) as server:
        opened = AppPage(browser, server.url)
        try:
            opened.page.goto(f"{server.url}/{PAGES[title]}")
            heading = HEADINGS.get(title, title)
            expect(opened.main.get_by_role("heading", name=heading, exact=True)).to_be_visible()
            nav = opened.page.get_by_test_id("stSidebarNav").get_by_role("link")
            expect(nav).to_have_count(len(PAGES))
            for link, name in zip(nav.all(), PAGES, strict=True):
                expect(link).to_have_accessible_name(name)
            expect(opened.page).to_have_title(re.compile("CNN Lab"))
            expect(opened.sidebar).to_contain_text("Current model")
            # Streamlit's frontend first asks whether /<page>/ is the app's base path: those
            # two 404s are its probe, not the app's; any other console error still fails.
            probe = f"/{PAGES[title]}/_stcore/"
            opened.errors[:] = [e for e in opened.errors if not (PAGES[title] and "404" in e
                                                                  and probe in e)]
            opened.shot(f"8-first-{PAGES[title] or 'home'}")
        finally:
            opened.close()


def test_a_class_opening_one_link_at_once_on_a_fresh_server_all_get_the_app(browser):
    """Four first sessions open /train together: each page script starts the old multipage
    way before any reaches st.navigation (seen through nginx on a fresh replica)."""
    log = SHOTS / "streamlit-server-first-train-together.log"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with harness.streamlit_server(timeout=SERVER_START_SECONDS, log=log) as server:
        students = [AppPage(browser, server.url) for _ in range(4)]
        try:
            for student in students:
                student.page.goto(f"{server.url}/train", wait_until="commit")
            for student in students:
                heading = student.main.get_by_role("heading", name="Train", exact=True)
                expect(heading).to_be_visible()
                expect(student.sidebar).to_contain_text("Current model")
                student.idle()
                student.errors[:] = [e for e in student.errors
                                     if not ("404" in e and "/train/_stcore/" in e)]
                student.check()
        finally:
            for student in students:
                student.close()


@pytest.fixture(scope="module")
def clothes_zip(tmp_path_factory):
    """A one-epoch run on a small clothing-style set called "clothes" (no "fashion" in its
    name), whose images are prepared by plain resizing; as the .zip the Train page takes."""
    from cnnlab.architecture import presets
    from cnnlab.data import datasets, refs
    from cnnlab.runs import run_files
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import routine

    digits = datasets.load_dataset("mnist-5k")
    data = datasets.Dataset(ref=refs.recorded("clothes"), class_names=FASHION,
                            x_train=digits.x_train[:256], y_train=digits.y_train[:256],
                            x_test=digits.x_test[:64], y_test=digits.y_test[:64])
    run = routine.train(presets.get("tutorial-1conv"), data,
                        Hyperparameters(epochs=1, batch_size=64, validation_fraction=0),
                        name="tutorial-1conv-1")
    folder = run_files.save_run(run, tmp_path_factory.mktemp("clothes-run"))
    metrics = json.loads((folder / run_files.METRICS).read_text())
    metrics["input_preparation"] = "resize"  # what the data set says about its images
    (folder / run_files.METRICS).write_text(json.dumps(metrics))
    path = folder.parent / "clothes-run.zip"
    path.write_bytes(run_files.run_to_zip_bytes(folder))
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        assert json.loads(archive.read(run_files.METRICS))["dataset"] == "clothes"
    return path


def _upload_run(app, path) -> None:
    app.nav("Train")
    expect(app.main.get_by_role("heading", name=re.compile(r"^Results of "))).to_have_count(0)
    app.widget("train_upload").locator("input[type=file]").set_input_files(str(path))
    expect(app.sidebar).to_contain_text("tutorial-1conv")
    app.idle()
    app.check()


def test_a_run_can_be_uploaded_before_any_run_exists(app, clothes_zip):
    expect(app.sidebar).to_contain_text("none trained yet")
    _upload_run(app, clothes_zip)
    expect(app.sidebar).to_contain_text("clothes")
    expect(_current_choice(app)).to_have_value("tutorial-1conv-1")
    app.nav("Draw")
    expect(app.main.get_by_text("This page needs a trained model")).to_have_count(0)
    app.shot("9-uploaded-run")


def test_draw_prepares_a_drawing_as_the_run_records(app, clothes_zip):
    _upload_run(app, clothes_zip)
    app.nav("Draw")
    canvas = app.page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    app.page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
    app.page.mouse.down()
    for t in np.linspace(0.3, 0.7, 8):
        app.page.mouse.move(box["x"] + t * box["width"], box["y"] + t * box["height"])
    app.page.mouse.up()
    prediction = app.main.get_by_role("heading", name=re.compile(r"^Prediction: "))
    expect(prediction).to_be_visible()
    steps = app.main.locator("div:has(> figure)").filter(has_text="as drawn")  # ui/images.py
    expect(steps).to_contain_text("scaled to 28×28")
    expect(steps).not_to_contain_text("centred 28×28")
    expect(app.main.get_by_text("whatever you draw, it answers with one of those")
           ).to_be_visible()
    app.shot("10-draw-resized")
