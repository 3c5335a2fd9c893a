"""The Learn page in Streamlit's AppTest: it renders, steps, plays, reads links and bad input."""

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pictures
import pytest
from streamlit.testing.v1 import AppTest

from cnnlab.data import refs
from cnnlab.workspaces import data_roots

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "learn.py")


@pytest.fixture
def at() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60)


@pytest.fixture
def fake_digits(monkeypatch):
    """Three small digits in place of the web app's loader (``data_roots.load``, the seam the
    page loads the built-in digits through, without the held-back ones)."""
    x_test = np.zeros((3, 28, 28, 1), dtype=np.uint8)
    x_test[1, 10:18, 12:15] = 255  # digit no. 1: a vertical bar
    asked = []

    def load(ref):
        asked.append(ref)
        return SimpleNamespace(x_test=x_test, y_test=np.array([3, 1, 4]))

    monkeypatch.setattr(data_roots, "load", load)
    return asked


def position(at: AppTest) -> str:
    """The "Output row r, column c" line and the sum written out for the current step."""
    [line] = [m.value for m in at.markdown if m.value.startswith("**Output row")]
    return line.split("**")[1]


def input_table(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "<table" in m.value)


def table_numbers(table: str) -> np.ndarray:
    """The numbers of an HTML grid, row by row, without its row and column labels."""
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    cells = [[float(text) for style, text in re.findall(r'<td style="([^"]*)">(.*?)</td>', row)
              if "border:none" not in style] for row in rows]
    return np.array([row for row in cells if row])


def assert_sum_written_out_from_the_tables(at: AppTest, top: int, left: int) -> None:
    """The written-out sum pairs the window at (top, left) with the kernel, and adds up."""
    grids = [m.value for m in at.markdown if "<table" in m.value]
    image, kernel = table_numbers(grids[0]), table_numbers(grids[1])
    window = image[top:top + kernel.shape[0], left:left + kernel.shape[1]]
    terms, total = at.code[0].value.rsplit(" = ", 1)
    pairs = [term.replace("(", "").replace(")", "").split("·") for term in terms.split(" + ")]
    np.testing.assert_array_equal([float(a) for a, _ in pairs], window.ravel())
    np.testing.assert_array_equal([float(b) for _, b in pairs], kernel.ravel())
    assert float(total) == pytest.approx(float(np.sum(window * kernel)))


def test_page_renders_the_convolution_explorer(at):
    at.run()
    assert not at.exception
    assert position(at) == "Output row 1, column 1"
    assert_sum_written_out_from_the_tables(at, 0, 0)
    assert any("Output size" in m.value and "⌊(6 − 3) / 1⌋ + 1 = 4" in m.value
               for m in at.markdown)
    assert sum("<table" in m.value for m in at.markdown) == 4  # input, kernel, ·, out


def test_next_step_moves_the_window_and_changes_the_sum(at):
    at.run()
    before = (position(at), at.code[0].value, input_table(at))
    at.button(key="conv_next").click().run()
    assert not at.exception
    after = (position(at), at.code[0].value, input_table(at))
    assert after[0] == "Output row 1, column 2"
    assert after[1] != before[1] and after[2] != before[2]
    assert_sum_written_out_from_the_tables(at, 0, 1)
    at.button(key="conv_back").click().run()
    assert (position(at), at.code[0].value) == before[:2]
    at.button(key="conv_end").click().run()
    assert position(at) == "Output row 4, column 4"


def test_play_advances_and_stops_at_the_end(at):
    at.run()
    at.button(key="conv_play").click().run()
    assert at.session_state.conv_playing and at.session_state.conv_step == 0
    at.session_state.conv_tick = 0.0  # as if a second had passed
    at.run()
    assert at.session_state.conv_step == 1
    at.session_state.conv_step, at.session_state.conv_tick = 14, 0.0
    at.run()
    assert not at.exception
    assert at.session_state.conv_step == 15 and not at.session_state.conv_playing
    assert position(at) == "Output row 4, column 4"
    assert at.button(key="conv_play").label == "play"


def test_build_page_link_prefills_the_pooling_explorer(at):
    for key, value in {"op": "max", "n": "28", "k": "3", "s": "2", "pad": "same"}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert at.segmented_control(key="learn_section").value == "Pooling"
    assert at.number_input(key="pool_n").value == 12
    assert at.number_input(key="pool_k").value == 3
    assert at.selectbox(key="pool_pad").value == "same"
    assert any("28×28" in i.value and "12×12 patch" in i.value for i in at.info)
    assert at.code[0].value.startswith("max(")
    assert not at.query_params  # applied once, then dropped from the URL
    at.number_input(key="pool_n").set_value(8).run()
    assert not at.info  # the note was about the 12×12 patch
    at.query_params.update({"op": "conv", "n": "10", "k": "5", "s": "1", "pad": "valid"})
    at.run()  # a second link applies again
    assert at.segmented_control(key="learn_section").value == "Convolution"
    assert at.number_input(key="conv_k").value == 5 and not at.exception


def test_crafted_link_values_are_quoted_not_rendered(at):
    """A link's unreadable values are named in the notes, but as plain quoted text: a crafted
    link cannot put a markdown link or HTML on the page."""
    at.query_params.update({"op": "[click me](http://evil.example)", "n": "<b>9</b>",
                            "pad": "**same**"})
    at.run()
    assert not at.exception
    notes = [i.value for i in at.info]
    assert any("unknown op" in note for note in notes), notes
    assert any("could not read n=" in note for note in notes), notes
    assert any("unknown padding" in note for note in notes), notes
    for note in notes:
        assert not any(mark in note for mark in ("[", "](", "<b>", "**", "http://")), note


def test_link_to_average_pooling_writes_out_the_average(at):
    at.query_params.update({"op": "avg", "n": "5", "k": "2", "s": "2", "pad": "same"})
    at.run()
    assert not at.exception and not at.info
    assert at.radio(key="pool_mode").value == "avg"
    at.button(key="pool_end").click().run()
    assert at.code[0].value.startswith("(") and " / 1 = " in at.code[0].value  # corner: 1 cell


def test_bad_kernel_text_shows_a_clear_error(at):
    at.run()
    at.selectbox(key="conv_kernel").set_value("typed in").run()
    at.text_area(key="conv_text").input("1 0 -1\n2 x -2").run()
    assert not at.exception
    assert "Could not read the kernel: row 2: 'x' is not a number" in at.error[0].value
    at.text_area(key="conv_text").input("1 0\n0 -1").run()
    assert not at.exception and not at.error
    assert position(at) == "Output row 1, column 1" and at.code[0].value.count("·") == 4


def test_combinations_that_do_not_fit_are_explained(at):
    at.run()
    at.number_input(key="conv_n").set_value(4).run()
    at.number_input(key="conv_k").set_value(6).run()
    assert not at.exception
    assert "does not fit" in at.warning[0].value
    at.number_input(key="conv_n").set_value(7).run()
    at.number_input(key="conv_k").set_value(2).run()
    at.number_input(key="conv_s").set_value(2).run()
    assert "stride 2 skips the last column" in at.warning[0].value
    at.selectbox(key="conv_pad").set_value("explicit").run()
    at.number_input(key="conv_p").set_value(1).run()
    assert not at.exception and "padding 1" in at.markdown[0].value


def test_pooling_and_real_image_sections_render(at):
    at.run()
    at.segmented_control(key="learn_section").set_value("Pooling").run()
    assert not at.exception
    assert "#ff9e80" in input_table(at)  # the winning cell is highlighted
    at.segmented_control(key="learn_section").set_value("On a real image").run()
    assert not at.exception
    assert len(pictures.shown(at)) == 4
    assert any("26×26" in m.value and "13×13" in m.value for m in at.markdown)


def test_real_digits_feed_both_explorers(at, fake_digits):
    at.run()
    at.radio(key="conv_source").set_value("patch of a real digit").run()
    at.number_input(key="conv_digit").set_value(1).run()
    assert not at.exception and not at.info
    assert any("patch of digit no. 1 (a 1)" in c.value for c in at.caption)
    at.button(key="conv_end").click().run()
    assert "9·" in at.code[0].value  # the bar's pixels, scaled to 0–9
    at.segmented_control(key="learn_section").set_value("On a real image").run()
    at.number_input(key="img_digit").set_value(1).run()
    assert not at.exception and not at.info
    assert any("digit no. 1, a 1" in m.value for m in at.markdown)
    assert set(fake_digits) == {refs.named("mnist-5k")}  # through the web app's loader
