"""Colour and any size (issue 16, item 4): a run records its input format (size, colour,
preparation), reloads it (old runs: 28×28 grey), and ``cnnlab predict`` and the Predictor
prepare an image by it, giving what a direct Keras call gives on the same prepared array."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli import main as cli
from cnnlab.data import datasets, kinds, refs
from cnnlab.inspect import for_run
from cnnlab.runs import run_files
from cnnlab.runs.records import Hyperparameters

COLOURS = ("red", "green", "blue")


def colour_images(labels: np.ndarray, side: int, seed: int) -> np.ndarray:
    """uint8 (n, side, side, 3): class c is noise with channel c bright."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 70, size=(len(labels), side, side, 3), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, :, :, label] = rng.integers(170, 256)
    return images


def colour_dataset(side: int = 16, train: int = 96, test: int = 24) -> datasets.Dataset:
    y_train, y_test = np.arange(train) % 3, np.arange(test) % 3
    return datasets.Dataset(ref=refs.recorded("colours"), class_names=COLOURS,
                            x_train=colour_images(y_train, side, 1), y_train=y_train,
                            x_test=colour_images(y_test, side, 2), y_test=y_test)


def train(preset: str, data: datasets.Dataset):
    from cnnlab.architecture import presets
    from cnnlab.training import routine

    return routine.train(presets.get(preset), data,
                         Hyperparameters(epochs=1, batch_size=32, validation_fraction=0))


@pytest.fixture(scope="module")
def colour_run():
    """The seed's dropout network, unchanged, on a 16×16 colour set."""
    return train("two-conv-dropout", colour_dataset())


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def direct(model, batch: np.ndarray) -> np.ndarray:
    import keras

    return keras.ops.convert_to_numpy(model(batch, training=False))[0]


def test_a_colour_set_defaults_to_a_plain_resize():
    assert colour_dataset().preparation == kinds.RESIZE
    assert colour_dataset().image_shape == (16, 16, 3)


def test_a_colour_run_records_its_input_and_keeps_it(colour_run, tmp_path):
    assert tuple(colour_run.architecture.input_shape) == (16, 16, 3)
    folder = run_files.save_run(colour_run, tmp_path / "run")
    record = json.loads((folder / run_files.METRICS).read_text())["input"]
    assert record == {"height": 16, "width": 16, "colour": "rgb", "preparation": "resize"}
    loaded = run_files.load_run(folder)
    assert kinds.input_format(loaded) == kinds.InputFormat(16, 16, kinds.RGB, kinds.RESIZE)


def test_cnnlab_predict_and_the_predictor_match_keras_on_a_colour_png(colour_run, tmp_path,
                                                                      capsys):
    from cnnlab.inspect import inference

    folder = run_files.save_run(colour_run, tmp_path / "run")
    photo = np.zeros((40, 30, 3), np.uint8)
    photo[..., 2] = 220  # blue, with a green corner
    photo[:10, :10, 1] = 255
    path = tmp_path / "blue.png"
    path.write_bytes(png_bytes(photo))
    assert cli.main(["predict", str(folder), str(path), "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    loaded = run_files.load_run(folder)
    prepared = for_run.prepare_upload(path.read_bytes(), kinds.input_format(loaded))
    batch = prepared.model_input()
    assert batch.shape == (1, 16, 16, 3)
    reference = np.asarray(Image.fromarray(photo).resize((16, 16), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(batch[0], reference.astype(np.float32))
    expected = direct(loaded.model, batch)
    np.testing.assert_allclose(result["probabilities"], expected, atol=1e-6)
    assert result["class_index"] == int(np.argmax(expected))
    assert result["label"] == COLOURS[result["class_index"]]
    probabilities = inference.Predictor(loaded.model).probabilities(prepared.as_uint8())
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)


def test_a_grey_32x32_run_takes_a_drawing_scaled_to_its_size(tiny_dataset, tmp_path):
    from cnnlab.inspect import inference

    big = np.kron(tiny_dataset.x_train[:64], np.ones((1, 8, 8, 1), np.uint8))[:, :32, :32]
    data = datasets.Dataset(ref=refs.recorded("bands32"), class_names=tiny_dataset.class_names,
                            x_train=big, y_train=tiny_dataset.y_train[:64],
                            x_test=big[:16], y_test=tiny_dataset.y_train[:16])
    run = run_files.load_run(run_files.save_run(train("tutorial-1conv", data), tmp_path / "r"))
    fmt = kinds.input_format(run)
    assert fmt == kinds.InputFormat(32, 32, kinds.GREY, kinds.MNIST_DIGITS)
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[40:240, 100:130, :3] = 255  # a tall bar, off-centre to the left
    prepared = for_run.prepare_canvas(canvas, fmt)
    image = prepared.as_uint8()
    assert image.shape == (32, 32)
    rows, cols = np.nonzero(image)
    assert rows.max() - rows.min() + 1 == round(20 * 32 / 28)  # the 20-px box, scaled: 23
    mass = image.astype(np.float64)
    centre = (mass.sum(1) @ np.arange(32) / mass.sum(), mass.sum(0) @ np.arange(32) / mass.sum())
    assert abs(centre[0] - 16) <= 0.5 and abs(centre[1] - 16) <= 0.5
    probabilities = inference.Predictor(run.model).probabilities(image)
    np.testing.assert_allclose(probabilities, direct(run.model, prepared.model_input()),
                               atol=1e-6)


def test_the_canvas_is_refused_for_a_colour_run_and_offers_the_upload():
    fmt = kinds.InputFormat(32, 32, kinds.RGB, kinds.RESIZE)
    canvas = np.zeros((280, 280, 4), np.uint8)
    with pytest.raises(for_run.CanvasRefused, match=r"takes 32×32 colour images.*Upload a "
                                                    r"colour image \(PNG or JPEG\) instead"):
        for_run.prepare_canvas(canvas, fmt)


def test_a_colour_upload_for_a_grey_run_is_converted_to_grey():
    photo = np.full((60, 60, 3), 255, np.uint8)
    photo[10:50, 25:35] = (200, 0, 0)  # a dark red bar on white paper
    prepared = for_run.prepare_upload(png_bytes(photo), kinds.InputFormat(20, 24))
    assert prepared.as_uint8().shape == (20, 24) and not prepared.blank


def test_an_old_run_without_the_input_record_is_28x28_grey(tiny_run, tmp_path):
    folder = run_files.save_run(tiny_run, tmp_path / "old")
    path = folder / run_files.METRICS
    metrics = json.loads(path.read_text())
    del metrics["input"]
    path.write_text(json.dumps(metrics))
    assert kinds.input_format(run_files.load_run(folder)) == kinds.InputFormat()
    path.write_text(json.dumps(dict(metrics, input={"width": 28})))  # a missing field: default
    assert kinds.input_format(run_files.load_run(folder)) == kinds.InputFormat()


@pytest.mark.parametrize("record, message", [
    ({"colour": "rgb"}, "input colour is 'rgb' but architecture.json says 'grey'"),
    ({"height": 32}, "input height is 32 but architecture.json says 28"),
    ({"colour": "sepia"}, "input colour must be one of grey, rgb; received 'sepia'"),
    ({"height": "28"}, "input height must be a whole number of pixels, at least 1; "
                       "received '28'"),
    ({"depth": 3}, "input has unknown fields depth"),
    ([28, 28], "input must be an object"),
])
def test_a_contradicting_or_malformed_record_is_refused(tiny_run, tmp_path, record, message):
    folder = run_files.save_run(tiny_run, tmp_path / "bad")
    path = folder / run_files.METRICS
    path.write_text(json.dumps(dict(json.loads(path.read_text()), input=record)))
    with pytest.raises(ValueError, match=f"metrics.json: {message}"):
        run_files.load_run(folder)


@pytest.mark.parametrize("mode, pixels, expected", [
    ("L", np.full((10, 12), 100, np.uint8), (100, 100, 100)),  # grey: three equal channels
    ("I;16", np.full((10, 12), 40000, np.uint16), (156, 156, 156)),  # 40000/65535 of 255
    ("RGBA", np.zeros((10, 12, 4), np.uint8), (255, 255, 255)),  # transparent: white
    ("RGB", np.full((10, 12, 3), (10, 200, 30), np.uint8), (10, 200, 30)),
])
def test_any_png_becomes_rgb_for_a_colour_run(mode, pixels, expected):
    fmt = kinds.InputFormat(8, 8, kinds.RGB, kinds.RESIZE)
    image = Image.fromarray(pixels)
    assert image.mode == mode
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    prepared = for_run.prepare_upload(buffer.getvalue(), fmt)
    assert prepared.as_uint8().shape == (8, 8, 3)
    assert (prepared.as_uint8() == expected).all()
