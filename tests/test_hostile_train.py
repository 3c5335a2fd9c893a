"""``cnnlab train`` and ``predict`` with hostile inputs and faults: one ``error:`` line and exit
status 2 (1 for a run folder that cannot be written), nothing written; SIGTERM and a second
Ctrl-C still save the run; and the data and image readers behind them (corrupt gzip, npz bombs,
canvas payloads)."""

from __future__ import annotations

import base64
import gzip
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli import main as cli
from cnnlab.cli import run_commands
from cnnlab.data import idx
from cnnlab.inspect import pixels
from cnnlab.runs import run_files

ROOT = Path(__file__).resolve().parent.parent


def one_error(capsys, *argv, status: int = 2) -> str:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert (code, out) == (status, ""), err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err.strip()


@pytest.fixture(scope="module")
def run_folder(tiny_run, tmp_path_factory):
    return run_files.save_run(tiny_run, tmp_path_factory.mktemp("hostile-train") / "run")


@pytest.fixture()
def digit(tmp_path) -> Path:
    path = tmp_path / "one.png"
    canvas = np.zeros((28, 28), np.uint8)
    canvas[4:24, 13:15] = 255
    Image.fromarray(canvas).save(path)
    return path


def test_predict_refuses_a_fifo_and_dev_zero_as_images(capsys, run_folder, digit, tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert f"{fifo} is a FIFO (named pipe), not a regular file" in one_error(
        capsys, "predict", run_folder, digit, fifo)
    assert "/dev/zero is a character device, not a regular file; use an image file" in one_error(
        capsys, "predict", run_folder, "/dev/zero")


def test_predict_refuses_a_run_with_an_h5_bomb(capsys, run_folder, digit, tmp_path):
    import h5py

    bad = Path(shutil.copytree(run_folder, tmp_path / "bad"))
    with h5py.File(bad / "model.weights.h5", "a") as store:
        store.create_dataset("layers/bomb/vars/0", shape=(2**16, 2**14), dtype="f4",
                             chunks=(1024, 1024), compression="gzip")
    message = one_error(capsys, "predict", bad, digit)
    assert "model.weights.h5 does not fit architecture.json" in message


def test_train_refuses_an_output_folder_it_cannot_write_before_training(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    message = one_error(capsys, "train", "tutorial-1conv", "--out", tmp_path / "file" / "run",
                        status=1)  # the run could not be saved: exit 1, as for a full disk
    assert "file is a file, not a folder" in message
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert "holds 'notes.txt', which is not a run file" in one_error(
        capsys, "train", "tutorial-1conv", "--out", tmp_path / "mine", status=1)


def test_interrupts_stop_first_note_second_quit_third(capsys):
    interrupts = run_commands._Interrupts()
    with pytest.raises(KeyboardInterrupt):
        interrupts(signal.SIGTERM, None)
    interrupts(signal.SIGINT, None)  # only noted
    assert "still stopping: the run will be saved" in capsys.readouterr().err
    with pytest.raises(KeyboardInterrupt):
        interrupts(signal.SIGINT, None)


def test_sigterm_then_ctrl_c_still_saves_the_run(tiny_folder, tmp_path):
    out_dir = tmp_path / "terminated"
    process = subprocess.Popen(
        [sys.executable, "-m", "cnnlab", "train", "tutorial-1conv", "--dataset",
         str(tiny_folder), "--out", str(out_dir), "--epochs", "100", "--batch-size", "4"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = [process.stdout.readline() for _ in range(2)]  # the header, then epoch 1
    assert lines[1].startswith("epoch 1/100"), lines
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted: stopped after epoch " in err
    stopped = run_files.load_run(out_dir)
    assert stopped.stopped and not stopped.history[-1].complete


@pytest.fixture()
def tiny_folder(tmp_path, band_image_maker):
    from tests.test_cli_run import write_idx

    for prefix, n, seed in (("train", 200, 1), ("t10k", 40, 2)):
        labels = np.arange(n) % 4
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", band_image_maker(labels, seed)[..., 0])
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", labels)
    return tmp_path


def test_a_corrupt_gzip_idx_file_is_named(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    data = bytearray(gzip.compress(b"\0\0\x08\x01" + (1000).to_bytes(4, "big") + bytes(1000)))
    data[12:30] = b"\xff" * 18  # inside the deflate stream
    path.write_bytes(bytes(data))
    with pytest.raises(idx.IdxError, match=f"cannot read {path}: its compressed data is corrupt"):
        idx.read_idx(path, 1)


def test_an_mnist_npz_header_claiming_a_trillion_values_is_refused(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (10**6, 10**3, 10**3)})
    path = tmp_path / "mnist.npz"
    with zipfile.ZipFile(path, "w") as npz:
        npz.writestr("x_train.npy", header.getvalue())
    with pytest.raises(idx.IdxError, match=r"x_train.npy is 128 bytes, but its header "
                                           r"declares uint8 \(1000000, 1000, 1000\)"):
        idx.read_npz(path, ("x_train",))
    with zipfile.ZipFile(path, "w") as npz:  # a header that fits its size, over the caps
        npz.writestr("x_train.npy", header.getvalue().replace(b"1000, 1000", b"1000, 0   "))
    with pytest.raises(idx.IdxError, match="says its images are"):
        idx.read_npz(path, ("x_train",))


def canvas_url(pixels_rgba: np.ndarray, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels_rgba).save(buffer, format=fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_canvas_payload_is_checked_before_decoding():
    drawn = np.zeros((280, 280, 4), np.uint8)
    drawn[100:180, 130:150] = 255
    assert np.array_equal(pixels.canvas_pixels(canvas_url(drawn), 280, 280), drawn)
    png = base64.b64decode(canvas_url(drawn).partition(",")[2])
    assert np.array_equal(pixels.canvas_pixels(png, 280, 280), drawn)  # the bytes alone
    huge = "data:image/png;base64," + "A" * pixels.canvas_payload_limit(280, 280)
    with pytest.raises(pixels.ImageError, match="a 280×280 canvas sends at most"):
        pixels.canvas_pixels(huge, 280, 280)
    wide = np.zeros((10, 280 * pixels.CANVAS_SCALE + 1, 4), np.uint8)
    with pytest.raises(pixels.ImageError, match="makes at most 1120×1120"):
        pixels.canvas_pixels(canvas_url(wide), 280, 280)
    with pytest.raises(pixels.ImageError, match="expected a data:image/png;base64 URL"):
        pixels.canvas_pixels(canvas_url(drawn[..., :3], "JPEG"), 280, 280)


def test_the_canvas_strokes_kept_for_a_session_are_checked():
    """Strokes the browser sends (the Draw page keeps them to draw them again) are plain
    numbers within reach of the canvas, in bounded amounts; anything else is named."""
    assert pixels.canvas_strokes([[22, 0, 0], [8.5, 10, 10, 300, -20.5]], 280) == [
        [22.0, 0.0, 0.0], [8.5, 10.0, 10.0, 300.0, -20.5]]
    assert pixels.canvas_strokes([], 280) == []
    cases = [({"0": [22, 1, 1]}, "must be a list; received dict"),
             ([[22, 1]], "stroke 1 of the canvas is not"),
             ([[22, 1, 1], [22, 1, True]], "stroke 2 of the canvas is not"),
             ([[22, 1, float("nan")]], "is not"),
             ([[22, "1", 1]], "is not"),
             ([[0.5, 1, 1]], "has pen width 0.5; widths 1 to 100"),
             ([[22, 1, 561]], "more than 280 pixels beyond the 280×280 canvas"),
             ([[22, 1, 1]] * (pixels.MAX_STROKES + 1), "strokes; at most 400"),
             ([[22] + [1] * 30_000] * 2, "hold more than 50,000 numbers")]
    for value, words in cases:
        with pytest.raises(pixels.ImageError, match=re.escape(words)):
            pixels.canvas_strokes(value, 280)


def test_pillow_refuses_images_beyond_the_app_limit_process_wide():
    assert Image.MAX_IMAGE_PIXELS == pixels.MAX_INPUT_SIDE ** 2
