"""The step-by-step arithmetic against a plain numpy reference and against Keras's own layers."""

import numpy as np
import pytest

from cnnlab.learn import conv_explain, conv_steps, kernels
from cnnlab.views import grid_html

# (n, k, s, padding): every padding mode, odd "same" totals, strides that do not divide evenly
CONV_CASES = [
    (6, 3, 1, "valid"), (7, 2, 2, "valid"), (7, 3, 3, "valid"),
    (6, 3, 1, "same"), (6, 4, 1, "same"), (7, 3, 2, "same"), (6, 2, 3, "same"), (5, 1, 2, "same"),
    (6, 3, 1, 1), (5, 3, 2, 2), (4, 5, 1, 1),
]
POOL_CASES = [
    (6, 2, 2, "valid"), (7, 3, 2, "valid"), (5, 2, 1, "valid"),
    (7, 2, 2, "same"), (6, 3, 2, "same"), (5, 3, 1, "same"), (7, 3, 3, "same"),
]


def random_case(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(-5, 10, (n, n)).astype(float), rng.integers(-2, 3, (k, k)).astype(float)


def reference_conv(x: np.ndarray, kernel: np.ndarray, s: int, padding) -> np.ndarray:
    """Cross-correlation by plain loops, padding by Keras's rule written out again."""
    n, k = x.shape[0], kernel.shape[0]
    if padding == "same":
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        before, after = total // 2, total - total // 2
    else:
        before = after = 0 if padding == "valid" else padding
    xp = np.pad(x, ((before, after), (before, after)))
    size = (xp.shape[0] - k) // s + 1
    result = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            result[i, j] = sum(xp[i * s + a, j * s + b] * kernel[a, b]
                               for a in range(k) for b in range(k))
    return result


def keras_conv(x: np.ndarray, kernel: np.ndarray, s: int, padding) -> np.ndarray:
    import keras
    from keras import layers

    conv_padding = padding if isinstance(padding, str) else "valid"
    conv = layers.Conv2D(1, kernel.shape, strides=s, padding=conv_padding)
    stack = [layers.ZeroPadding2D(padding)] if not isinstance(padding, str) else []
    model = keras.Sequential([keras.Input((x.shape[0], x.shape[1], 1)), *stack, conv])
    conv.set_weights([kernel[:, :, None, None], np.zeros(1)])
    return np.asarray(model(x[None, :, :, None]))[0, :, :, 0]  # (out, out)


def steps_as_grid(steps: list[conv_steps.Step]) -> np.ndarray:
    return conv_steps.output_grid(steps, len(steps) - 1)


@pytest.mark.parametrize("n, k, s, padding", CONV_CASES)
def test_conv_steps_match_the_reference(n, k, s, padding):
    x, kernel = random_case(n, k, seed=n * 100 + k * 10 + s)
    steps = conv_steps.conv_steps(x, kernel, s, padding)
    assert len(steps) == conv_steps.output_length(n, k, s, padding) ** 2
    if not steps:  # the kernel does not fit: no output, not an error
        assert conv_steps.conv_output(x, kernel, s, padding).size == 0
        return
    expected = reference_conv(x, kernel, s, padding)
    np.testing.assert_allclose(steps_as_grid(steps), expected)
    np.testing.assert_allclose(conv_steps.conv_output(x, kernel, s, padding), expected)
    for step in steps:  # each step's own numbers add up, window sits where the stride says
        assert step.value == pytest.approx(step.products.sum())
        assert (step.top, step.left) == (step.out_row * s, step.out_col * s)


@pytest.mark.parametrize("n, k, s, padding", [c for c in CONV_CASES if c != (4, 5, 1, 1)])
def test_conv_steps_match_keras(n, k, s, padding):
    x, kernel = random_case(n, k, seed=7 * n + k + s)
    steps = conv_steps.conv_steps(x, kernel, s, padding)
    np.testing.assert_allclose(steps_as_grid(steps), keras_conv(x, kernel, s, padding),
                               rtol=1e-5, atol=1e-4)


def keras_pool(x: np.ndarray, k: int, s: int, padding: str, mode: str) -> np.ndarray:
    from keras import layers

    layer = (layers.MaxPooling2D if mode == "max" else layers.AveragePooling2D)(
        pool_size=k, strides=s, padding=padding)
    return np.asarray(layer(x[None, :, :, None].astype("float32")))[0, :, :, 0]


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("n, k, s, padding", POOL_CASES)
def test_pool_steps_match_keras(n, k, s, padding, mode):
    x, _ = random_case(n, k, seed=n + 10 * k + s)
    steps = conv_steps.pool_steps(x, k, s, padding, mode)
    expected = keras_pool(x, k, s, padding, mode)
    np.testing.assert_allclose(steps_as_grid(steps), expected, rtol=1e-5)
    np.testing.assert_allclose(conv_steps.pool_output(x, k, s, padding, mode), expected,
                               rtol=1e-5)
    for step in steps:
        if mode == "max":
            assert step.window[step.winner] == step.value
        else:  # padding is never counted
            assert step.value == pytest.approx(step.window[step.real].mean())


def test_same_padding_puts_the_odd_one_bottom_right():
    assert conv_steps.padding_amounts(6, 4, 1, "same") == (1, 2)
    assert conv_steps.padding_amounts(7, 2, 2, "same") == (0, 1)
    padded = conv_steps.pad_input(np.ones((6, 6)), 4, 1, "same")
    assert (padded.top, padded.bottom, padded.left, padded.right) == (1, 2, 1, 2)
    assert padded.grid.shape == (9, 9) and padded.real.sum() == 36


def test_bad_padding_and_mode_are_refused_with_what_was_received():
    with pytest.raises(ValueError, match="Received: padding='full'"):
        conv_steps.padding_amounts(5, 3, 1, "full")
    with pytest.raises(ValueError, match="Received: mode='min'"):
        conv_steps.pool_steps(np.ones((4, 4)), 2, 2, "valid", "min")


def test_formulas_write_out_the_numbers():
    x = np.array([[0.0, 3.0], [2.0, 1.0]])
    conv = conv_steps.conv_steps(x, np.array([[1.0, 0.0], [-1.0, 2.0]]))[0]
    assert conv_steps.step_formula(conv) == "0·1 + 3·0 + 2·(-1) + 1·2 = 0"
    max_step = conv_steps.pool_steps(x, 2, 2, "valid", "max")[0]
    assert conv_steps.step_formula(max_step) == "max(0, 3, 2, 1) = 3"
    assert max_step.winner == (0, 1)
    avg_step = conv_steps.pool_steps(np.arange(9.0).reshape(3, 3), 2, 2, "same", "avg")[-1]
    assert conv_steps.step_formula(avg_step) == "(8) / 1 = 8"


def test_output_grid_leaves_later_cells_blank():
    steps = conv_steps.conv_steps(np.ones((4, 4)), np.ones((2, 2)), 2)
    grid = conv_steps.output_grid(steps, 1)
    assert grid[0, 0] == grid[0, 1] == 4 and np.isnan(grid[1]).all()


def test_output_size_explanation_has_the_numbers():
    text = conv_explain.output_size_explanation(6, 3, 1, 1)
    assert "(6 − 3 + 2·1) / 1⌋ + 1 = 6" in text
    same = conv_explain.output_size_explanation(6, 4, 1, "same")
    assert "⌈6 / 1⌉ = 6" in same and "1 before" in same and "2 after" in same
    assert "no output" in conv_explain.output_size_explanation(4, 5, 1, "valid")


def test_fit_warnings_say_what_is_skipped():
    [skip] = conv_explain.fit_warnings(7, 2, 2, "valid")
    assert "stride 2 skips the last column" in skip and "(7 − 2) is not a multiple of 2" in skip
    assert "column 7" in skip
    assert "only padding" in conv_explain.fit_warnings(6, 3, 2, 1)[0]
    assert "gaps" in conv_explain.fit_warnings(8, 2, 3, "valid")[-1]
    assert "does not fit" in conv_explain.fit_warnings(4, 5, 1, "valid")[0]
    assert conv_explain.fit_warnings(6, 3, 1, "same") == []


def test_a_link_for_a_large_layer_is_clamped_with_a_note():
    link = {"op": "conv", "n": "28", "k": "3", "s": "1", "pad": "valid"}  # as the Build page
    request = conv_explain.parse_learn_params(link)
    assert (request.op, request.n, request.k, request.s, request.padding) == (
        "conv", 12, 3, 1, "valid")
    assert "28×28" in request.notes[0] and "12×12 patch" in request.notes[0]


def test_learn_params_tolerate_bad_values():
    request = conv_explain.parse_learn_params({"op": "avg", "n": "x", "k": "9", "pad": "full"})
    assert (request.op, request.n, request.k, request.padding) == ("avg", 6, 7, "valid")
    assert len(request.notes) == 3


@pytest.mark.parametrize("size", range(1, 8))
def test_presets_exist_for_every_size(size):
    for name in kernels.presets_for(size):
        assert kernels.kernel_preset(name, size).shape == (size, size)
    assert "identity" in kernels.presets_for(size)


def test_classic_kernels():
    assert kernels.kernel_preset("Sobel vertical").tolist() == [[1, 0, -1], [2, 0, -2],
                                                                [1, 0, -1]]
    assert kernels.kernel_preset("Gaussian blur", 5).sum() == pytest.approx(1)
    x = np.arange(16.0).reshape(4, 4)
    for size in (3, 4):  # the identity is exact with "same", even for even sizes
        kernel = kernels.kernel_preset("identity", size)
        np.testing.assert_array_equal(conv_steps.conv_output(x, kernel, 1, "same"), x)


@pytest.mark.parametrize("text, message", [
    ("", "empty"), ("1 2\n3", "same number of values"), ("1 x", "row 1: 'x' is not a number"),
    ("1/0", "not a number"), ("1 " * 8, "at most 7×7"),
])
def test_bad_kernel_text_says_why(text, message):
    with pytest.raises(ValueError, match=message):
        kernels.parse_kernel(text)


def test_kernel_text_round_trips():
    kernel = kernels.parse_kernel("1, 0, -1; 2 0 -2\n1/2 0 -0.5")
    assert kernel.tolist() == [[1, 0, -1], [2, 0, -2], [0.5, 0, -0.5]]
    np.testing.assert_allclose(kernels.parse_kernel(kernels.kernel_text(kernel)), kernel)


def test_feature_map_stages_shapes():
    image = kernels.sample_digit()
    stages = kernels.feature_map_stages(image, kernels.kernel_preset("vertical edge"))
    assert [stage.shape for stage in stages] == [(28, 28), (26, 26), (26, 26), (13, 13)]
    assert stages[1].values.min() < 0 <= stages[2].values.min()
    same = kernels.feature_map_stages(image, kernels.kernel_preset("sharpen", 5), "same")
    assert [stage.shape for stage in same] == [(28, 28), (28, 28), (28, 28), (14, 14)]


def test_grid_table_marks_padding_window_and_current_cell():
    padded = conv_steps.pad_input(np.ones((2, 2)), 3, 1, "same")
    table = grid_html.grid_table(padded.grid, real=padded.real, window=(0, 0, 3, 3),
                                 current=(1, 1))
    assert table.count("<td") == 16 + 9  # cells, plus the row and column numbers and a corner
    assert "#dcdcdc" in table and grid_html.OUTLINE in table and "\n" not in table


def test_heat_image_colours_each_value_as_matplotlib_does():
    from matplotlib import colormaps

    values = np.array([[-1.0, 0.0], [0.5, 1.0]])
    picture = grid_html.heat_image(values, width=20)
    assert picture.shape == (20, 20, 3) and picture.dtype == np.uint8
    for (r, c), value in np.ndenumerate(values):
        block = picture[10 * r:10 * r + 10, 10 * c:10 * c + 10].reshape(-1, 3)
        assert (block == block[0]).all()  # one crisp colour per value
        expected = np.array(colormaps["RdBu_r"](value / 2 + 0.5)[:3]) * 255
        np.testing.assert_allclose(block[0], expected, atol=3)
    gray = grid_html.heat_image(np.array([[0.0, 2.0, 4.0]]), vmax=4.0, diverging=False, width=3)
    np.testing.assert_allclose(gray[0], [[0] * 3, [128] * 3, [255] * 3], atol=1)
