"""Build's quiz mode through AppTest: answers hidden, guesses checked, the score kept."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def quiz_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/build.py").run()
    at.toggle(key="build_quiz").set_value(True).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                     + [e.value for e in at.error] + [s.value for s in at.success])


def answer(at: AppTest, shape: str, params: str) -> AppTest:
    form = [t.key for t in at.text_input if t.key.endswith("_shape")][0][:-len("_shape")]
    at.text_input(key=f"{form}_shape").set_value(shape)
    at.text_input(key=f"{form}_params").set_value(params)
    [b for b in at.button if b.label == "Check"][0].click().run()
    assert not at.exception, at.exception
    return at


def test_the_quiz_hides_the_answers_and_checks_guesses_on_the_default_network():
    at = quiz_page()
    assert "→ **26×26×32**" not in texts(at)  # conv_1's result under its fields is hidden
    assert not at.table  # the shape table is hidden while quizzing
    assert "Score: 0 / 0" in texts(at)
    answer(at, "26, 26, 32", "320")
    shown = texts(at)
    assert ":green[:material/check_circle:] **conv_1**" in shown
    assert "(3 × 3 × 1 + 1) × 32 = 320" in shown
    assert "Score: 2 / 2" in shown and "**pool_1**" in shown  # the next layer is asked
    answer(at, "(14, 14, 32)", "0")  # pool_1 gives 13x13x32
    shown = texts(at)
    assert ":orange[:material/adjust:] **pool_1**" in shown  # one of two right
    assert ":material/close: you said 14×14×32" in shown and "Score: 3 / 4" in shown


def test_a_malformed_guess_says_how_to_type_it_and_scores_nothing():
    at = answer(quiz_page(), "26 by 26", "320")
    shown = texts(at)
    assert "output shape: received '26 by 26'" in shown and "Score: 0 / 0" in shown


def test_a_new_challenge_is_a_valid_network_to_work_through():
    at = quiz_page()
    at.button(key="quiz_new").click().run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "**challenge " in shown and "receives" in shown
    at.button(key="quiz_own").click().run()
    assert "**your network**" in texts(at)
