"""Number boxes take what is typed and answer a value out of range in words (issue 22): typed
out of range, a value was refused in the browser with a hover-only "!" while the page went on
with the old one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import numbers

ROOT = Path(__file__).resolve().parent.parent


def test_out_of_range_says_what_works_and_what_was_received():
    assert numbers.out_of_range("stride", 3, 1, 5) is None
    assert numbers.out_of_range("stride", 1, 1, 5) is None and numbers.out_of_range(
        "stride", 5, 1, 5) is None
    assert numbers.out_of_range("stride", 0, 1, 5) == (
        "stride must be an integer from 1 to 5; received 0")
    assert numbers.out_of_range("kernel size", 9, 1, 7, "the explorer's windows") == (
        "kernel size must be an integer from 1 to 7 (the explorer's windows); received 9")
    assert numbers.out_of_range("seed", 2.5, 0, 9) == (
        "seed must be an integer from 0 to 9; received 2.5")


def app_page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def errors(at: AppTest) -> list[str]:
    """The error messages as a reader sees them (messages quoting a value are escaped text)."""
    from ui import text

    return [re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", e.value).replace(text.JOINER, "")
            for e in at.error]


@pytest.mark.parametrize(("key", "typed", "expected"), [
    ("conv_k", 9, "kernel size must be an integer from 1 to 7 (the explorer's windows); "
                  "received 9"),
    ("conv_n", 30, "input size must be an integer from 4 to 12 (the explorer's grids); "
                   "received 30"),
    ("conv_s", 0, "stride must be an integer from 1 to 5 (the explorer's steps); received 0"),
])
def test_learn_answers_a_size_out_of_range_and_draws_nothing_of_the_old_one(key, typed,
                                                                            expected):
    at = app_page("pages/learn.py")
    assert any(m.value.startswith("**Output size**") for m in at.markdown)
    box = next(b for b in at.number_input if b.key == key)
    assert (box.min, box.max) == (None, None)  # nothing refused in the browser
    box.set_value(typed).run()
    assert not at.exception, at.exception
    assert errors(at) == [expected]
    assert next(b for b in at.number_input if b.key == key).value == typed
    assert not any(m.value.startswith("**Output size**") for m in at.markdown)


def test_train_answers_epochs_and_seed_out_of_range_and_cannot_start():
    at = app_page("pages/train.py")
    assert not at.button(key="train_start").disabled
    at.number_input(key="train_epochs").set_value(0).run()
    assert "epochs must be an integer from 1 to 100; received 0" in errors(at)
    assert at.button(key="train_start").disabled
    at.number_input(key="train_epochs").set_value(2).run()
    at.number_input(key="train_seed").set_value(-1).run()
    assert any(e.startswith("seed must be an integer from 0 to ") and e.endswith("received -1")
               for e in errors(at))
    assert at.button(key="train_start").disabled
    at.number_input(key="train_seed").set_value(3).run()
    assert not errors(at) and not at.button(key="train_start").disabled
