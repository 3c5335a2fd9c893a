"""A run records how its data set's images were made (``input_preparation``) and its typed
test metrics; Draw prepares a drawing by that record (issue 12, item 5, bug 4)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from cnnlab.data import datasets, kinds, refs
from cnnlab.inspect import preprocess
from cnnlab.runs import run_files
from cnnlab.runs.metrics import Metrics

OLD_METRICS_KEYS = {"test_loss", "test_accuracy", "test_samples", "confusion_matrix",
                    "per_class_accuracy", "misclassified_count", "train_samples",
                    "validation_samples", "epochs_completed", "stopped", "stopped_at", "seconds",
                    "dataset", "class_names", "misclassified"}  # metrics.json before the record


@pytest.fixture(scope="module")
def resized_run(tiny_dataset):
    from cnnlab.architecture import presets
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import routine

    data = dataclasses.replace(tiny_dataset, ref=refs.recorded("clothes"),
                               preparation=kinds.RESIZE)
    return routine.train(presets.get("tutorial-1conv"), data,
                         Hyperparameters(epochs=1, batch_size=64, validation_fraction=0))


def test_data_sets_say_how_their_images_were_made():
    assert datasets.load_dataset("mnist-5k").preparation == kinds.MNIST_DIGITS
    assert kinds.default_preparation(kinds.FASHION_CLASSES) == kinds.RESIZE
    with pytest.raises(ValueError, match="input_preparation must be one of mnist-digits, "
                                         "resize; received 'blur'"):
        dataclasses.replace(datasets.load_dataset("mnist-5k"), preparation="blur")


def test_a_run_records_its_preparation_and_keeps_it_through_its_folder(resized_run, tmp_path):
    assert resized_run.input_preparation == kinds.RESIZE
    folder = run_files.save_run(resized_run, tmp_path / "run")
    saved = json.loads((folder / run_files.METRICS).read_text())
    assert saved["input_preparation"] == "resize" and saved["dataset"] == "clothes"
    assert OLD_METRICS_KEYS <= set(saved)  # the file keeps every key it had
    loaded = run_files.load_run(folder)
    assert loaded.input_preparation == kinds.RESIZE
    assert loaded.metrics == resized_run.metrics and isinstance(loaded.metrics, Metrics)


def test_an_old_run_folder_without_the_record_loads_with_the_default(resized_run, tmp_path):
    folder = run_files.save_run(resized_run, tmp_path / "old")
    path = folder / run_files.METRICS
    old = json.loads(path.read_text())
    del old["input_preparation"], old["input"]  # neither was written before issue 12
    path.write_text(json.dumps(old))
    assert run_files.load_run(folder).input_preparation == kinds.MNIST_DIGITS  # digit names
    path.write_text(json.dumps(dict(old, input_preparation="blur")))
    with pytest.raises(ValueError, match="input_preparation must be one of mnist-digits, "
                                         "resize; received 'blur'"):
        run_files.load_run(folder)


def test_metrics_json_without_a_required_number_is_refused():
    with pytest.raises(ValueError, match="metrics has no test_loss"):
        Metrics.from_dict({"test_accuracy": 0.5})


def test_resize_preparation_scales_the_whole_canvas():
    """An 80×80 white square at rows 100..179, columns 40..119 of a 280×280 canvas covers
    output rows 10..17, columns 4..11 exactly (each output pixel averages a 10×10 block)."""
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[100:180, 40:120, :3] = 255
    prepared = preprocess.preprocess_canvas(canvas, kinds.RESIZE)
    assert [title for title, _ in prepared.steps] == list(preprocess.RESIZE_TITLES)
    expected = np.zeros((28, 28), np.float32)
    expected[10:18, 4:12] = 1
    np.testing.assert_allclose(prepared.image, expected, atol=1e-6)
    digits = preprocess.preprocess_canvas(canvas)  # the MNIST recipe moves it to the centre
    assert [title for title, _ in digits.steps] == list(preprocess.STEP_TITLES)
    assert not np.allclose(digits.image, expected)
