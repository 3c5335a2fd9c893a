"""AppTest of the My classes page: from naming classes to a trained run with the student's
class names, through the canvas seam (``draw_test_image``), then a prediction by drawing."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pictures
from drawn_shapes import canvas
from streamlit.testing.v1 import AppTest

from cnnlab.data import refs
from cnnlab.jobs import ownership

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
PAGE = "pages/my_classes.py"


def open_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def counters(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("examples: "))


def draw_and_add(at: AppTest, kind: str, rng: np.random.Generator) -> None:
    at.session_state["draw_test_image"] = canvas(kind, rng)
    at.run()
    add = at.button(key="mine_add")
    assert not add.disabled, "a drawing on the canvas enables Add"
    add.click().run()
    assert not at.exception, at.exception


def test_bad_names_are_refused_with_a_message_and_nothing_saved():
    at = open_page()
    at.text_area(key="mine_names").set_value("cat\nCat").run()
    at.button(key="mine_create").click().run()
    assert any("already a class named 'cat'" in e for e in errors(at)), errors(at)
    assert at.text_area(key="mine_names").value == "cat\nCat"  # nothing lost
    at.text_area(key="mine_names").set_value("only one").run()
    at.button(key="mine_create").click().run()
    assert any("at least 2 classes" in e for e in errors(at)), errors(at)
    at.text_area(key="mine_names").set_value("ok\n../etc").run()
    at.button(key="mine_create").click().run()
    assert any("'../etc' may hold letters" in e for e in errors(at)), errors(at)
    assert at.button(key="mine_create")  # still on the naming step


def test_from_naming_classes_to_a_trained_run_and_a_prediction():
    at = open_page()
    at.text_area(key="mine_names").set_value("circle\ncross\nline").run()
    at.button(key="mine_create").click().run()
    assert not errors(at), errors(at)
    assert list(at.radio(key="mine_class").options) == ["circle", "cross", "line"]
    assert counters(at) == "examples: **circle** 0/10 · **cross** 0/10 · **line** 0/10"
    assert at.button(key="mine_train").disabled  # no drawings yet
    rng = np.random.default_rng(0)
    for index, kind in enumerate(("circle", "cross", "line")):
        at.radio(key="mine_class").set_value(index).run()
        for _ in range(10):
            draw_and_add(at, kind, rng)
    done = "10/10 :material/check:"
    assert counters(at) == f"examples: **circle** {done} · **cross** {done} · **line** {done}"
    # one more line, then undo it; delete one line and draw it again
    draw_and_add(at, "line", rng)
    assert "line**: 11 example(s)" in "".join(m.value for m in at.markdown)
    at.button(key="mine_undo").click().run()
    assert "line**: 10 example(s)" in "".join(m.value for m in at.markdown)
    at.multiselect(key="mine_doomed_2").set_value([3]).run()
    at.button(key="mine_delete_2").click().run()
    assert "line**: 9 example(s)" in "".join(m.value for m in at.markdown)
    assert at.button(key="mine_train").disabled
    assert any("still short: line: 9 of 10" in w.value for w in at.warning)
    draw_and_add(at, "line", rng)

    at.slider(key="mine_copies").set_value(2).run()
    at.toggle(key="mine_preview").set_value(True).run()
    assert not at.exception, at.exception
    captions = pictures.captions(at)
    assert "circle: drawn" in captions and captions.count("copy") >= 6
    at.number_input(key="mine_epochs").set_value(8).run()
    at.button(key="mine_train").click().run()
    assert not errors(at), errors(at)
    token = at.session_state["cnnlab"].workspace.token
    job = ownership.last(token)
    assert job is not None and job.wait(TIMEOUT)  # the job's one event: its run is saved
    assert job.state == "saved", job.message
    at.run()
    assert not at.exception, at.exception
    run = at.session_state["cnnlab"].current_run()
    assert run.class_names == ("circle", "cross", "line")
    assert run.dataset == refs.drawn() and run.dataset.label == "my drawings"
    assert any("of the held-out drawings right" in s.value for s in at.subheader)
    assert np.asarray(run.metrics.confusion_matrix).sum() == 6  # 2 held out per class

    at.switch_page("pages/feature_maps.py").run()  # the run's held-out drawings, by class
    assert not at.exception and not errors(at), errors(at) or at.exception
    captions = pictures.captions(at)
    assert any(re.fullmatch(r"test image 0: (circle|cross|line)", c) for c in captions), captions

    at.session_state["draw_test_image"] = canvas("cross", np.random.default_rng(99))
    at.switch_page("pages/draw.py").run()
    assert not at.exception, at.exception
    assert any("trained on your drawings: it knows circle, cross, line" in i.value
               for i in at.info), [i.value for i in at.info]
    prediction = [h.value for h in at.subheader if h.value.startswith("Prediction:")]
    assert prediction and prediction[0].split(" (")[0] in (
        "Prediction: circle", "Prediction: cross", "Prediction: line"), prediction

    # classes renamed after training: Feature maps says so instead of mislabelling drawings
    at.switch_page(PAGE).run()
    at.text_input(key="mine_new_name").set_value("ring").run()
    at.button(key="mine_rename").click().run()
    at.switch_page("pages/feature_maps.py").run()
    assert any("which are now ring, cross, line" in e for e in errors(at)), errors(at)


def test_the_drawn_set_survives_a_new_session_of_the_workspace():
    at = open_page()
    at.text_area(key="mine_names").set_value("sun\nmoon").run()
    at.button(key="mine_create").click().run()
    draw_and_add(at, "circle", np.random.default_rng(1))
    token = at.session_state["cnnlab"].workspace.token
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    again.query_params["w"] = token
    again.run()
    again.switch_page(PAGE).run()
    assert not again.exception, again.exception
    assert counters(again) == "examples: **sun** 1/10 · **moon** 0/10"
