"""``cnnlab explain`` and ``cnnlab attack`` (cli.explain_commands): the PNG and JSON a teacher
gets, the attacked image read back by ``cnnlab predict --prepared``, grey and colour runs, and
one ``error:`` line with exit status 2 for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from trained_digits import digit_images, digits_run

from cnnlab.cli import main as cli
from cnnlab.data import datasets, kinds, refs
from cnnlab.inspect import for_run
from cnnlab.inspect.pixels import ImageError
from cnnlab.runs import run_files
from cnnlab.runs.records import Hyperparameters


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """(run folder, a test digit's PNG, the run)."""
    folder = tmp_path_factory.mktemp("explain")
    run = digits_run()
    run_files.save_run(run, folder / "run")
    Image.fromarray(digit_images()[0][0]).save(folder / "digit.png")  # a 2, already prepared
    return str(folder / "run"), str(folder / "digit.png"), run


@pytest.fixture(scope="module")
def colour(tmp_path_factory):
    """(run folder, a colour PNG): a 16×16 rgb run where class c has channel c bright."""
    from cnnlab.architecture import presets
    from cnnlab.training import routine

    rng = np.random.default_rng(0)
    labels = np.arange(150) % 3
    images = rng.integers(0, 70, (150, 16, 16, 3), dtype=np.uint8)
    images[np.arange(150), :, :, labels] = 220
    data = datasets.Dataset(ref=refs.recorded("colours"), class_names=("red", "green", "blue"),
                            x_train=images[:120], y_train=labels[:120], x_test=images[120:],
                            y_test=labels[120:])
    run = routine.train(presets.get("tutorial-1conv"), data,
                        Hyperparameters(epochs=3, batch_size=16, seed=1))
    folder = tmp_path_factory.mktemp("colour")
    run_files.save_run(run, folder / "run")
    Image.fromarray(images[121]).save(folder / "green.png")  # class 1
    return str(folder / "run"), str(folder / "green.png")


def run_json(capsys, *argv: str) -> dict | list:
    assert cli.main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def refused(capsys, *argv: str) -> str:
    assert cli.main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_targeted_attack_reaches_its_target_and_predict_reads_it_back(digits, capsys,
                                                                      tmp_path):
    folder, digit, run = digits
    out = tmp_path / "changed.png"
    result = run_json(capsys, "attack", folder, digit, "--target", "3", "--eps", "0.3",
                      "--out", str(out), "--prepared")  # a test digit: already the input
    assert result["before"]["class_index"] == 2 and result["after"]["class_index"] == 3
    assert result["succeeded"] and result["target"] == 3 and result["eps"] == 0.3
    assert 0 < result["largest_change"] <= 0.3 and result["total_change"] > 0
    changed = np.asarray(Image.open(out))
    original = digit_images()[0][0]
    assert changed.shape == (28, 28) and changed.dtype == np.uint8
    moved = np.abs(changed.astype(int) - original.astype(int))
    assert moved.max() <= 0.3 * 255 and moved.max() / 255 == pytest.approx(
        result["largest_change"])
    assert moved.sum() / 255 == pytest.approx(result["total_change"], rel=1e-5)
    [read_back] = run_json(capsys, "predict", folder, str(out), "--prepared")
    assert read_back["class_index"] == 3
    assert read_back["probabilities"][3] == pytest.approx(result["after"]["confidence"],
                                                          rel=1e-4)


def test_untargeted_attack_too_small_says_the_smallest_eps(digits, capsys, tmp_path):
    folder, digit, _ = digits
    assert cli.main(["attack", folder, digit, "--eps", "0.02", "--out",
                     str(tmp_path / "a.png")]) == 0
    out = capsys.readouterr().out
    assert "No change within ε = 0.02 made it say anything else" in out
    assert "The smallest ε that works is" in out and "--prepared" in out


@pytest.mark.parametrize("argv, layer, resolution", [
    (("--method", "gradcam"), "conv_2", [11, 11]),
    (("--method", "gradcam", "--layer", "conv_1"), "conv_1", [26, 26]),
    (("--method", "saliency", "--class", "7"), None, [28, 28]),
    (("--method", "occlusion", "--size", "4", "--stride", "2"), None, [13, 13]),
])
def test_explain_writes_the_map_and_says_its_resolution(digits, capsys, tmp_path, argv, layer,
                                                        resolution):
    folder, digit, _ = digits
    out = tmp_path / "map.png"
    result = run_json(capsys, "explain", folder, digit, *argv, "--out", str(out))
    assert result["layer"] == layer and result["map_resolution"] == resolution
    assert result["prediction"]["class_index"] == 2
    assert result["class_index"] == (7 if "--class" in argv else 2)
    assert result["input_size"] == [28, 28] and all(0 <= v < 28 for v in result["peak"])
    picture = np.asarray(Image.open(out))
    assert picture.shape == (224, 224, 3)
    if "occlusion" in argv:
        assert (result["square"], result["stride"]) == (4, 2)


def test_explain_text_names_layer_and_resolution(digits, capsys, tmp_path):
    folder, digit, _ = digits
    assert cli.main(["explain", folder, digit, "--method", "gradcam", "--out",
                     str(tmp_path / "m.png")]) == 0
    out = capsys.readouterr().out
    assert "gradcam at conv_2 for class 2 (2): a 11×11 map placed on the 28×28 input" in out


def test_colour_run_is_explained_and_attacked_in_colour(colour, capsys, tmp_path):
    folder, green = colour
    for method in ("gradcam", "saliency", "occlusion"):
        result = run_json(capsys, "explain", folder, green, "--method", method, "--out",
                          str(tmp_path / f"{method}.png"))
        assert result["prediction"]["class_name"] == "green" and result["input_size"] == [16, 16]
    attacked = run_json(capsys, "attack", folder, green, "--eps", "0.5", "--out",
                        str(tmp_path / "changed.png"))
    assert attacked["succeeded"] and attacked["after"]["class_name"] != "green"
    changed = np.asarray(Image.open(tmp_path / "changed.png"))
    assert changed.shape == (16, 16, 3)
    [read_back] = run_json(capsys, "predict", folder, str(tmp_path / "changed.png"),
                           "--prepared")
    assert read_back["class_index"] == attacked["after"]["class_index"]
    grey = tmp_path / "grey.png"
    Image.fromarray(np.full((20, 20), 120, np.uint8)).save(grey)  # three equal channels
    assert run_json(capsys, "explain", folder, str(grey), "--method", "saliency", "--out",
                    str(tmp_path / "g.png"))["input_size"] == [16, 16]


def test_bad_input_is_one_error_line(digits, colour, capsys, tmp_path):
    folder, digit, _ = digits
    out = str(tmp_path / "x.png")
    red = tmp_path / "red.png"
    pixels = np.zeros((40, 40, 3), np.uint8)
    pixels[5:35, 15:25] = (255, 0, 0)
    Image.fromarray(pixels).save(red)
    blank = tmp_path / "blank.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(blank)
    cases = [
        (("explain", folder, str(red), "--method", "gradcam"), "in colour; its colours would"),
        (("explain", folder, str(blank), "--method", "gradcam"), "nothing to explain"),
        (("attack", folder, str(red), "--eps", "0.1", "--prepared"),
         "must be exactly the run's input, 28×28; received 40×40"),
        (("explain", folder, digit, "--method", "gradcam", "--layer", "dense_1"),
         "no conv layer named 'dense_1' in this network; use one of conv_1, conv_2"),
        (("explain", folder, digit, "--method", "saliency", "--class", "10"),
         "--class must be a class of this run, 0..9; received 10"),
        (("attack", folder, digit, "--target", "-1", "--eps", "0.1"),
         "--target must be a class of this run, 0..9; received -1"),
        (("attack", folder, digit, "--eps", "1.5"), "must be in [0, 1] pixel units"),
        (("attack", folder, digit, "--eps", "-0.1"), "received -0.1"),
        (("explain", folder, digit, "--method", "saliency", "--layer", "conv_1"),
         "--layer chooses Grad-CAM's conv layer"),
        (("explain", folder, digit, "--method", "gradcam", "--size", "4"),
         "--size and --stride set the occlusion square"),
        (("explain", folder, digit, "--method", "occlusion", "--size", "40"),
         "size must be in 1..28; received 40"),
        (("explain", folder, digit, "--method", "lime"), "invalid choice: 'lime'"),
        (("explain", folder, str(tmp_path / "none.png"), "--method", "gradcam"), "none.png"),
    ]
    for argv, message in cases:
        assert message in refused(capsys, *argv, "--out", out), argv


def test_preparation_refuses_what_it_cannot_make_into_the_input():
    def png(pixels: np.ndarray) -> bytes:
        import io

        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        return buffer.getvalue()

    resized = kinds.InputFormat(32, 32, kinds.RGB, kinds.RESIZE)
    small = np.random.default_rng(0).integers(0, 256, (16, 40, 3), dtype=np.uint8)
    with pytest.raises(ImageError, match=r"16×40, smaller than this run's 32×32 input"):
        for_run.prepare_to_explain(png(small), resized)
    large = np.random.default_rng(0).integers(0, 256, (48, 40, 3), dtype=np.uint8)
    assert for_run.prepare_to_explain(png(large), resized).as_uint8().shape == (32, 32, 3)
    digits_format = kinds.InputFormat()  # the MNIST recipe scales the ink whatever the size
    ink = np.zeros((12, 12), np.uint8)
    ink[2:10, 5:7] = 255
    assert for_run.prepare_to_explain(png(ink), digits_format).as_uint8().shape == (28, 28)
    given = for_run.as_given(png(digit_images()[0][5]), digits_format)
    assert np.array_equal(given.as_uint8(), digit_images()[0][5])
    jpeg_grey = np.full((8, 8, 3), 100, np.uint8)
    jpeg_grey[..., 2] += 10  # a tint JPEG might leave on a grey picture: still grey
    assert not for_run.in_colour(jpeg_grey)
