"""``cnnlab train --dataset FOLDER [--image-size H W] [--color]`` on class folders, and
``predict --json`` naming the class, for class folders and the built-in digits alike."""

import json

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli import main as cli
from cnnlab.data import datasets

COLOURS = {"blue": (30, 40, 220), "green": (30, 200, 40), "red": (220, 30, 30)}


@pytest.fixture(autouse=True)
def fresh_cache():
    datasets.clear_cache()
    yield
    datasets.clear_cache()


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def colour_folder(tmp_path):
    rng = np.random.default_rng(0)
    for name, colour in COLOURS.items():
        (tmp_path / "colours" / name).mkdir(parents=True)
        for i in range(12):
            noisy = np.array(colour) + rng.integers(-20, 21, (16, 16, 3))
            Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(
                tmp_path / "colours" / name / f"{i}.png")
    for name, colour in COLOURS.items():
        Image.fromarray(np.full((40, 30, 3), colour, np.uint8)).save(tmp_path / f"{name}.png")
    return tmp_path


def test_a_colour_class_folder_trains_and_predicts_by_name(colour_folder, capsys):
    out_dir = colour_folder / "run"
    code, out, err = run(capsys, "train", "tutorial-1conv", "--dataset",
                         colour_folder / "colours", "--out", out_dir, "--epochs", 3,
                         "--batch-size", 8, "--learning-rate", 0.01)
    assert code == 0, err
    assert "note: 36 images in 3 classes, split by an 80/20 split" in err
    assert "(30 training images)" in out and "on 6 test images" in out
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["input"]["height"] == 16 and metrics["input"]["colour"] == "rgb"
    images = [colour_folder / f"{name}.png" for name in COLOURS]
    code, out, err = run(capsys, "predict", out_dir, *images, "--json")
    assert code == 0, err
    results = json.loads(out)
    # the three pure colours are the easiest possible task: the classes are the folder names
    assert [r["class_name"] for r in results] == list(COLOURS)
    assert [r["class_index"] for r in results] == [0, 1, 2]
    assert all(r["label"] == r["class_name"] for r in results)


def test_mixed_sizes_exit_2_with_one_line_asking_for_image_size(tmp_path, capsys):
    for i, (h, w) in enumerate([(28, 28), (32, 32), (64, 48), (28, 28)]):
        folder = tmp_path / "mixed" / "ab"[i % 2]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((h, w), np.uint8)).save(folder / f"{i}.png")
    code, out, err = run(capsys, "train", "two-conv", "--dataset", tmp_path / "mixed", "--out",
                         tmp_path / "run")
    assert code == 2 and out == ""
    assert err == "error: images have 3 sizes (28×28, 32×32, 64×48): give --image-size H W\n"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("extra, words", [
    (["--color", "blue"], "argument --color: invalid choice: 'blue'"),
    (["--image-size", "0", "8"], "image size must be two whole numbers H W between 1 and 512"),
    (["--image-size", "8"], "argument --image-size: expected 2 arguments"),
])
def test_bad_options_exit_2_with_one_error_line(colour_folder, capsys, extra, words):
    code, _, err = run(capsys, "train", "two-conv", "--dataset", colour_folder / "colours",
                       "--out", colour_folder / "run", *extra)
    assert code == 2 and err.startswith("error: ") and words in err and err.count("\n") == 1


def test_image_size_and_color_are_refused_for_a_named_set(tmp_path, capsys):
    code, _, err = run(capsys, "train", "two-conv", "--dataset", "mnist-5k", "--out",
                       tmp_path / "run", "--color", "rgb")
    assert code == 2 and "are for class folders; mnist-5k has its own" in err


def test_predict_names_the_class_for_the_built_in_digits(tiny_run, tmp_path, capsys):
    from cnnlab.runs import run_files

    folder = run_files.save_run(tiny_run, tmp_path / "digits-run")
    canvas = np.zeros((28, 28), np.uint8)
    canvas[4:24, 12:16] = 255
    Image.fromarray(canvas).save(tmp_path / "one.png")
    code, out, err = run(capsys, "predict", folder, tmp_path / "one.png", "--json")
    assert code == 0, err
    (result,) = json.loads(out)
    assert result["class_name"] == tiny_run.class_names[result["class_index"]]
