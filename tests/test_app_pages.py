"""AppTest of the app frame, Home, Build and Train pages (issue: the app, part 1)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnlab.runs import recipes
from ui import text

TIMEOUT = 120
ROOT = Path(__file__).resolve().parent.parent


def app_at(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def table(at: AppTest):
    return at.table[0].value  # the Build page has one table


def formulas(at: AppTest) -> str:
    """The lines under the Build page's table: one formula per layer."""
    return next(m.value for m in at.markdown if m.value.startswith("**conv_1**: "))


def by_suffix(elements, suffix: str):
    return [e for e in elements if e.key and e.key.endswith(suffix)]


@pytest.mark.parametrize("page", ["pages/home.py", "pages/build.py", "pages/train.py"])
def test_pages_render_without_exception(page):
    at = app_at(page)
    assert at.title[0].value


def test_home_explains_and_offers_quick_start():
    at = app_at()
    assert "CNN Lab" in at.title[0].value
    assert at.button(key="home_quick").label.startswith("Quick start")


def test_changing_a_kernel_size_updates_the_shape_table():
    at = app_at("pages/build.py")
    assert table(at).iloc[0]["output"] == "26×26×32"
    by_suffix(at.number_input, "_kernel_h")[0].set_value(5).run()
    by_suffix(at.number_input, "_kernel_w")[0].set_value(5).run()
    first = table(at).iloc[0]
    assert first["output"] == "24×24×32"
    assert formulas(at).startswith("**conv_1**: (28 − 5 + 2·0) / 1 + 1 = 24  \n")
    assert first["params"] == f"{(5 * 5 * 1 + 1) * 32:,}"


def test_impossible_setting_shows_the_message_and_disables_training():
    at = app_at("pages/build.py")
    by_suffix(at.number_input, "_kernel_h")[0].set_value(11).run()  # conv_1 -> 18x26
    by_suffix(at.number_input, "_kernel_h")[1].set_value(11).run()  # pool_1 gives it 9x13
    messages = [e.value for e in at.error]
    assert any(m.startswith(text.md("layer 3 (conv2d): kernel_size [11, 3] does not fit its "
                                    "9x13 input")) for m in messages), messages  # as text
    assert at.button(key="build_train_disabled").disabled
    assert not at.exception


def test_add_move_and_remove_layers():
    at = app_at("pages/build.py")
    rows = len(table(at))
    at.selectbox(key="build_add_type").set_value("batch_norm").run()
    at.button(key="build_add").click().run()
    assert len(table(at)) == rows + 1 and table(at).iloc[-2]["layer"] == "bn_1"
    by_suffix(at.button, "_remove")[0].click().run()
    assert table(at).iloc[0]["layer"] == "pool_1"
    by_suffix(at.button, "_down")[0].click().run()
    assert list(table(at)["layer"][:2]) == ["conv_1", "pool_1"]


def test_preset_loads():
    at = app_at("pages/build.py")
    at.selectbox(key="build_preset").set_value("lenet-5").run()
    at.button(key="build_load").click().run()
    assert table(at).iloc[0]["output"] == "28×28×6"
    assert not at.code  # the code expander is closed: the code is not even made
    at.session_state["build_code"] = True  # opened
    at.run()
    assert "layers.Conv2D(6, 5" in at.code[0].value


def train_one_epoch(at: AppTest) -> None:
    at.number_input(key="train_epochs").set_value(1).run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    job = session(at).job
    assert job.wait(TIMEOUT)  # the job's one event: its state is final, its run saved
    at.run()



def session(at: AppTest):
    """The session's :class:`ui.state.SessionState`."""
    return at.session_state["cnnlab"]


def test_tiny_training_run_finishes_and_shows_metrics():
    at = app_at("pages/train.py")
    train_one_epoch(at)
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["test accuracy"].rstrip("%")) > 50
    assert metrics["epochs trained"] == "1 of 1"
    assert session(at).job.state == "saved" and session(at).job.message is None
    assert len(session(at).runs) == 1 and session(at).current == 0


def test_two_sessions_do_not_see_each_others_runs():
    first, second = app_at("pages/train.py"), app_at("pages/train.py")
    train_one_epoch(first)
    second.run()
    assert len(session(first).runs) == 1
    assert session(second).runs == [] and session(second).job is None
    assert not [m for m in second.metric if m.label == "test accuracy"]


def test_quick_start_trains_the_default_network_and_points_to_draw():
    at = app_at()
    at.button(key="home_quick").click().run()
    assert not at.exception, at.exception
    job = session(at).job
    assert job.architecture.name == "two-conv"
    assert dataclasses.replace(job.hyperparameters, precision="auto") == recipes.QUICK_START
    assert job.wait(TIMEOUT) and job.state == "saved", job.message
    at.run()
    assert any(s.value.startswith("Model ready: **two-conv") for s in at.success)
    assert session(at).current == 0


def test_training_again_makes_the_newest_run_current_and_it_stays():
    at = app_at("pages/train.py")
    train_one_epoch(at)
    train_one_epoch(at)
    first, second = session(at).runs
    assert session(at).current == 1 and at.selectbox(key="train_current").value == 1
    assert at.subheader[0].value.startswith(f"Results of {second.name}")
    at.run()  # the next rerun keeps it: the widget follows the session, not the other way
    assert session(at).current == 1
    assert any(f"**{second.name}**" in m.value for m in at.sidebar.markdown)
    at.selectbox(key="train_current").set_value(0).run()  # until the user picks another
    assert session(at).current == 0
    assert at.subheader[0].value.startswith(f"Results of {first.name}")
