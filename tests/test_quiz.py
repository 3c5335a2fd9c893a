"""The Build page's quiz: reading guesses, checking them, and random challenges against Keras."""

import keras
import pytest

from cnnlab.architecture import presets, shapes
from cnnlab.learn import quiz
from cnnlab.models import builder

TWO_CONV = shapes.summarize(presets.get("two-conv"))
CONV_2 = next(row for row in TWO_CONV.rows if row.name == "conv_2")  # 13x13x32 -> 11x11x64


@pytest.mark.parametrize("text", ["11x11x64", "11×11×64", "11,11,64", "(11, 11, 64)",
                                  " 11 x 11 x 64 ", "[11,11,64]", "11 11 64", "11X11X64"])
def test_right_shape_in_any_spelling(text):
    verdict = quiz.check(CONV_2, text, "18496")
    assert verdict.shape_right and verdict.params_right and verdict.points == 2
    assert verdict.guessed_shape == (11, 11, 64)


@pytest.mark.parametrize("text", ["18496", "18,496", "18 496", " 18_496 "])
def test_right_params_in_any_spelling(text):
    assert quiz.check(CONV_2, "11x11x64", text).params_right


def test_wrong_guesses_are_marked_and_the_answer_shown():
    verdict = quiz.check(CONV_2, "13x13x64", "18432")  # forgot the shrink, forgot the biases
    assert not verdict.shape_right and not verdict.params_right and verdict.points == 0
    assert verdict.shape == (11, 11, 64) and verdict.params == 18496
    assert "(13 − 3 + 2·0) / 1 + 1 = 11" in verdict.shape_formula
    assert verdict.params_formula.startswith("(3 × 3 × 32 + 1) × 64 = 18,496")


def test_half_right():
    verdict = quiz.check(CONV_2, "11x11x64", "320")
    assert verdict.shape_right and not verdict.params_right and verdict.points == 1


@pytest.mark.parametrize("shape, params", [("13x13x", "1"), ("13x13x32x2", "1"), ("abc", "1"),
                                           ("", "1"), ("13x0x32", "1"), ("13.5x13x32", "1"),
                                           ("11x11x64", ""), ("11x11x64", "18,49"),
                                           ("11x11x64", "-5"), ("11x11x64", "1e4"),
                                           ("11x11x64", "18496.0")])
def test_malformed_guesses_are_refused_with_a_message(shape, params):
    with pytest.raises(ValueError) as info:
        quiz.check(CONV_2, shape, params)
    message = str(info.value)
    assert "received" in message and ("like" in message or "at least" in message)


def test_every_row_of_a_preset_has_formulas_that_end_in_the_answer():
    for name in presets.PRESET_NAMES:
        for row in shapes.summarize(presets.get(name)).rows:
            assert quiz.shape_formula(row).endswith("×".join(map(str, row.output_shape))) or \
                row.type == "flatten"
            assert f"{row.params:,}" in quiz.params_formula(row)
            assert quiz.describe(row)


def keras_rows(model):
    return [(tuple(layer.output.shape[1:]), layer.count_params()) for layer in model.layers
            if not isinstance(layer, (keras.layers.InputLayer, keras.layers.Rescaling))]


@pytest.mark.parametrize("seed", range(12))
def test_challenges_are_valid_small_and_match_keras(seed):
    arch = quiz.challenge(seed)
    summary = shapes.summarize(arch)
    assert summary.ok and summary.total_params <= quiz.MAX_CHALLENGE_PARAMS
    assert 1 <= sum(row.type == "conv2d" for row in summary.rows) <= 3
    model = builder.build_model(arch)
    assert [(row.output_shape, row.params) for row in summary.rows] == keras_rows(model)
    for row in summary.rows:  # the right guess, typed as a learner would, scores both points
        assert quiz.check(row, ", ".join(map(str, row.output_shape)), f"{row.params:,}").points == 2


def test_challenges_repeat_for_a_seed_and_differ_between_seeds():
    assert quiz.challenge(3) == quiz.challenge(3)
    assert len({quiz.challenge(seed) for seed in range(10)}) > 5
