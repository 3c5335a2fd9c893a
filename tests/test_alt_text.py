"""Every picture on every page says what it shows (issue 22, item 14), and is sent inside the
page rather than as a media file a rerun can delete (item 11).

Each page is rendered by AppTest with a trained model, a drawing on Draw, augmentation on the
Train page, examples and their copies on My classes and the real-image section on Learn; the
page's element tree is walked (``tests/pictures.py``): every ``<img>`` of an ``st.html`` body
and every ``st.image`` needs non-empty alternative text, unless it is listed in
:data:`DECORATIVE` (none is today).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pictures
import pytest
from drawn_shapes import canvas
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest
from trained_digits import digits_run

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
DECORATIVE: set[str] = set()  # captions of pictures allowed an empty alt ("" = decorative)


def a_seven() -> np.ndarray:
    """A 280×280 RGBA canvas with a 7, as the drawing canvas sends it."""
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(img).line([(70, 60), (210, 60), (120, 240)], fill=(255, 255, 255, 255),
                             width=22)
    return np.asarray(img)


def with_model(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["draw_test_image"] = a_seven()
    at.run()
    at.session_state["cnnlab"].add_run(digits_run())
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def problems(at: AppTest) -> list[str]:
    found = []
    for where in ("main", "sidebar"):
        for picture in pictures.shown(at, where):
            if picture.alt is None or (not picture.alt.strip()
                                       and picture.caption not in DECORATIVE):
                found.append(f"{where}: a picture captioned {picture.caption!r} has "
                             f"{'no' if picture.alt is None else 'an empty'} alternative text")
    return found


@pytest.mark.parametrize("path, at_least", [
    ("pages/home.py", 0), ("pages/build.py", 0),
    ("pages/train.py", 10),  # the misclassified test images
    ("pages/feature_maps.py", 14),  # input, 6 layers × (grid, scale), filters, the zoom
    ("pages/draw.py", 8),  # 4 steps, 2 conv layers, Grad-CAM, saliency (the open tab only)
])
def test_every_picture_with_a_model_says_what_it_shows(path, at_least):
    at = with_model(path)
    shown = pictures.shown(at)
    assert len(shown) >= at_least, shown
    assert problems(at) == []
    assert all(picture.inline for picture in shown), [p for p in shown if not p.inline]


def test_pictures_say_which_image_and_what_the_model_answered():
    at = with_model("pages/feature_maps.py")
    first = pictures.shown(at)[0]
    assert first.caption.startswith("test image 0: ")
    assert first.alt.startswith(first.caption + ", predicted ")
    at = with_model("pages/train.py")
    wrong = [p.alt for p in pictures.shown(at) if p.alt.startswith("test image ")]
    assert wrong and all(" true " in alt and "predicted" in alt for alt in wrong), wrong


def test_augmentation_learn_and_my_classes_pictures_say_what_they_show():
    at = with_model("pages/train.py")
    at.selectbox(key="train_augment").set_value("strong").run()
    assert any(p.alt.endswith("as augmentation strong changes them")
               for p in pictures.shown(at)), pictures.shown(at)
    assert problems(at) == []

    at.switch_page("pages/learn.py").run()
    at.segmented_control(key="learn_section").set_value("On a real image").run()
    assert not at.exception, at.exception
    assert len(pictures.shown(at)) == 4 and problems(at) == []

    at.switch_page("pages/my_classes.py").run()
    at.text_area(key="mine_names").set_value("circle\ncross").run()
    at.button(key="mine_create").click().run()
    rng = np.random.default_rng(0)
    for index, kind in enumerate(("circle", "cross")):
        at.radio(key="mine_class").set_value(index).run()
        at.session_state["draw_test_image"] = canvas(kind, rng)
        at.run()
        at.button(key="mine_add").click().run()
    at.toggle(key="mine_preview").set_value(True).run()
    assert not at.exception, at.exception
    alts = [p.alt for p in pictures.shown(at)]
    assert "cross, example 1" in alts and "circle: drawn" in alts and "circle: copy 1" in alts
    assert problems(at) == []
