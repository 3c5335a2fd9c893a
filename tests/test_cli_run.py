"""``cnnlab train``, ``predict`` and ``datasets``: output, run folders, exit codes, Ctrl-C."""

import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli import main as cli
from cnnlab.runs import run_files

ROOT = Path(__file__).resolve().parent.parent


def write_idx(path: Path, array: np.ndarray) -> None:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, band_image_maker):
    """The tiny band data set as an MNIST-format folder (what ``--dataset`` accepts)."""
    folder = tmp_path_factory.mktemp("tiny-idx")
    for prefix, n, seed in (("train", 400, 1), ("t10k", 100, 2)):
        labels = np.arange(n) % 4
        write_idx(folder / f"{prefix}-images-idx3-ubyte", band_image_maker(labels, seed)[..., 0])
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return folder


@pytest.fixture(scope="module")
def run_folder(tiny_run, tmp_path_factory):
    return run_files.save_run(tiny_run, tmp_path_factory.mktemp("cli-run"))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A large off-centre stroke (light on dark), its dark-on-light twin, and a blank image."""
    folder = tmp_path_factory.mktemp("images")
    canvas = np.zeros((300, 400), np.uint8)
    canvas[60:240, 250:275] = 255  # a "1", far right of centre
    paths = []
    for name, pixels in (("light.png", canvas), ("dark.png", 255 - canvas),
                         ("blank.png", np.zeros_like(canvas))):
        Image.fromarray(pixels).save(folder / name)
        paths.append(str(folder / name))
    return paths


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_prints_each_epoch_and_writes_the_run(capsys, tiny_folder, tmp_path):
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "train", "tutorial-1conv", "--dataset", tiny_folder, "--out",
                         out_dir, "--epochs", 2, "--batch-size", 32, "--validation-split", 0.2)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("training tutorial-1conv on ")
    assert lines[1].startswith("epoch 1/2  loss ") and "val_accuracy" in lines[1]
    assert lines[2].startswith("epoch 2/2  loss ")
    assert lines[3].startswith("test accuracy ") and "on 100 test images" in lines[3]
    run_ = run_files.load_run(out_dir)
    assert run_.hyperparameters.epochs == 2 and run_.hyperparameters.validation_fraction == 0.2
    assert run_.metrics.test_accuracy > 0.9 and len(run_.history) == 2


def test_predict_text_and_json(capsys, run_folder, images, tiny_dataset):
    code, out, err = run(capsys, "predict", run_folder, *images)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3 and lines[0].startswith(images[0] + ": ")
    assert lines[2] == f"{images[2]}: no prediction (nothing drawn: the image is blank)"
    code, out, _ = run(capsys, "predict", run_folder, *images, "--json")
    results = json.loads(out)
    assert [r["file"] for r in results] == images
    for result in results[:2]:
        assert set(result) == {"file", "class_index", "class_name", "label", "probabilities",
                               "note"}
        label = tiny_dataset.class_names[result["class_index"]]
        assert result["label"] == result["class_name"] == label and result["note"] is None
        assert sum(result["probabilities"]) == pytest.approx(1, abs=1e-5)
    assert results[0]["class_index"] == results[1]["class_index"]  # polarity does not matter
    assert results[2]["class_index"] is None and results[2]["probabilities"] is None
    assert results[2]["note"].startswith("nothing drawn")


def test_datasets_lists_what_works_offline(capsys):
    code, out, _ = run(capsys, "datasets")
    assert code == 0
    assert out.startswith("mnist-5k") and "available offline" in out.splitlines()[0]
    assert "\nmnist " in out and "\nfashion-mnist " in out


def fitting_problem(tmp_path):
    path = tmp_path / "rgb.json"
    path.write_text(json.dumps({"input_shape": [32, 32, 3], "layers": [
        {"type": "conv2d", "filters": 4, "kernel_size": 3}]}))
    return path


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--dataset", "nope"], "error: unknown data set 'nope'"),
        (["--epochs", "0"], "error: epochs must be an integer from 1 to 100; received 0"),
        (["--batch-size", "0"], "error: batch size must be an integer from 1 to 4096; received 0"),
        (["--epochs", "x"], "error: argument --epochs: invalid int value: 'x'"),
        (["--optimizer", "adagrad"], "error: optimizer must be one of adam, sgd, rmsprop"),
        (["--learning-rate", "5"], "error: learning rate must be a number > 0 and <= 1"),
        (["--validation-split", "0.95"], "error: validation fraction must be a number from 0"),
        (["--dataset", "no/such/folder"], "error: no folder no/such/folder"),
    ],
)
def test_train_bad_input_is_one_error_line(capsys, tmp_path, argv, expected):
    code, out, err = run(capsys, "train", "two-conv", "--out", tmp_path / "out", *argv)
    assert (code, out) == (2, "")
    assert err.startswith(expected) and err.count("\n") == 1, err


def test_train_architecture_that_does_not_fit(capsys, tmp_path):
    code, out, err = run(capsys, "train", fitting_problem(tmp_path), "--out", tmp_path / "o")
    assert (code, out) == (2, "")
    assert err == ("error: the architecture's input_shape (32, 32, 3) does not fit the data set "
                   "mnist-5k, whose images are (28, 28, 1)\n")


def test_predict_bad_input_is_one_error_line(capsys, run_folder, images, tmp_path):
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    for path in run_folder.iterdir():
        if path.name != "model.weights.h5":
            (incomplete / path.name).write_bytes(path.read_bytes())
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    cases = [
        ([tmp_path / "nowhere", images[0]], "is not a run folder"),
        ([incomplete, images[0]], "is not a complete run folder: model.weights.h5 is missing"),
        ([run_folder, tmp_path / "missing.png"], f"cannot read {tmp_path / 'missing.png'}"),
        ([run_folder, not_an_image], f"{not_an_image}: "),
    ]
    for argv, expected in cases:
        code, out, err = run(capsys, "predict", *argv)
        assert (code, out) == (2, "") and err.count("\n") == 1, err
        assert err.startswith("error: ") and expected in err, err


def test_python_m_train_end_to_end_and_ctrl_c(tiny_folder, tmp_path):
    """Ctrl-C stops after the current batch, still writes the run, and exits 130."""
    out_dir = tmp_path / "interrupted"
    process = subprocess.Popen(
        [sys.executable, "-m", "cnnlab", "train", "tutorial-1conv", "--dataset", str(tiny_folder),
         "--out", str(out_dir), "--epochs", "100", "--batch-size", "4"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = [process.stdout.readline() for _ in range(2)]  # the header, then epoch 1
    assert lines[1].startswith("epoch 1/100"), lines
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted: stopped after epoch " in err
    assert "test accuracy" in out
    stopped = run_files.load_run(out_dir)
    assert stopped.stopped and stopped.metrics.stopped_at["epoch"] >= 2
    assert stopped.history[-1].complete is False
