"""Augmentation: seeded, only in the training pipeline, recorded with the run, refused when bad."""
# ruff: noqa: F811 (tiny_folder is a fixture of test_cli_run, taken as an argument)

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from test_cli_run import tiny_folder  # noqa: F401 (fixture)

from cnnlab.architecture import presets
from cnnlab.cli import main as cli
from cnnlab.models import builder
from cnnlab.runs import augmentation, run_files
from cnnlab.runs.records import Hyperparameters
from cnnlab.training import augment, feeding, routine


def blobs(n: int = 6, size: int = 28, channels: int = 1) -> np.ndarray:
    """uint8 images, each one bright square on black at a different place."""
    images = np.zeros((n, size, size, channels), np.uint8)
    for i in range(n):
        top = 6 + 2 * (i % 5)
        images[i, top:top + 8, 8 + i % 7:16 + i % 7] = 200 + i
    return images


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(image.shape[:2])
    weight = image[..., 0].astype(float)
    return np.array([(rows * weight).sum(), (cols * weight).sum()]) / weight.sum()


def test_augmented_examples_are_seeded_varied_and_keep_layout():
    images = blobs()
    out = augment.augmented_examples(images, 4, "light", seed=5)
    assert out.shape == (6, 4, 28, 28, 1) and out.dtype == np.uint8
    assert np.array_equal(out, augment.augmented_examples(images, 4, "light", seed=5))
    assert not np.array_equal(out, augment.augmented_examples(images, 4, "light", seed=6))
    assert not np.array_equal(out[:, 0], out[:, 1])  # copies differ from each other
    grey = augment.augmented_examples(images[..., 0], 2, "strong", seed=0)
    assert grey.shape == (6, 2, 28, 28)
    colour = augment.augmented_examples(blobs(2, 32, 3), 3, "light", seed=0)
    assert colour.shape == (2, 3, 32, 32, 3)
    plain = augment.augmented_examples(images, 3, "off", seed=0)
    assert all(np.array_equal(plain[:, k], images) for k in range(3))


@pytest.mark.parametrize("strength", ["light", "strong"])
def test_changes_stay_within_the_documented_strength(strength):
    """A blob's centre moves no further than the largest shift, rotation and zoom allow, and a
    flat image stays flat (edges are filled with the nearest pixel)."""
    s = augmentation.STRENGTHS[strength]
    images = blobs(5)
    out = augment.augmented_examples(images, 8, strength, seed=1)
    # Rotation about the centre and zoom about it move a point at most r * (angle + zoom).
    for i, image in enumerate(images):
        before = centre_of_mass(image)
        radius = np.hypot(*(before - 13.5))
        limit = s.shift * 28 * np.sqrt(2) + radius * (np.radians(s.rotation_degrees) + s.zoom)
        for copy in out[i]:
            assert np.hypot(*(centre_of_mass(copy) - before)) <= limit + 1.5
    flat = np.full((2, 20, 20, 1), 77, np.uint8)
    assert (augment.augmented_examples(flat, 3, strength, seed=2) == 77).all()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"strength": "heavy"}, "augment must be one of off, light, strong; received 'heavy'"),
    ({"count": 0}, "count must be an integer from 1 to 64; received 0"),
    ({"count": 2.5}, "count must be an integer from 1 to 64; received 2.5"),
    ({"seed": -1}, "seed must be an integer from 0 to 2147483647; received -1"),
    ({"images": np.zeros((2, 28, 28, 1), np.float32)}, "images must be uint8"),
    ({"images": np.zeros((1, 1, 28, 28, 1), np.uint8)}, "images must be uint8 (n, height"),
])
def test_augmented_examples_refuses_bad_input(kwargs, message):
    args = {"images": blobs(2), "count": 2, "strength": "light", "seed": 0, **kwargs}
    with pytest.raises(ValueError) as info:
        augment.augmented_examples(**args)
    assert str(info.value).startswith(message)


def batches(images, labels, augment_name, seed, epochs=2):
    dataset = feeding.training_batches(images, labels, np.arange(len(labels)), 4, epochs, seed,
                                       augment_name)
    return [(x.numpy(), y.numpy()) for x, y in dataset]


def test_training_batches_are_augmented_keep_shape_dtype_labels_and_repeat_by_seed():
    images, labels = blobs(10), np.arange(10, dtype=np.uint8) % 3
    plain = batches(images, labels, "off", seed=3)
    light = batches(images, labels, "light", seed=3)
    assert len(plain) == len(light) == 6  # 2 epochs of 4 + 4 + 2
    for (x0, y0), (x1, y1) in zip(plain, light, strict=True):
        assert x1.shape == x0.shape and x1.dtype == np.uint8 and np.array_equal(y1, y0)
        assert not np.array_equal(x1, x0)
    again = batches(images, labels, "light", seed=3)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(light, again, strict=True))
    other = batches(images, labels, "light", seed=4)
    assert not np.array_equal(other[0][0], light[0][0])
    assert not np.array_equal(light[0][0], light[3][0])  # epoch 2 is augmented anew


@pytest.fixture(scope="module")
def augmented_run(tiny_dataset):
    return routine.train(presets.get("tutorial-1conv"), tiny_dataset,
                         Hyperparameters(epochs=2, batch_size=32, seed=3, augment="strong"))


def test_augmentation_never_enters_the_model(augmented_run, tiny_run, tiny_dataset):
    """The augmented run's model has the same layers as a run without augmentation; a model
    built without it, given the trained weights, predicts exactly the same."""
    model = augmented_run.model
    assert [type(layer) for layer in model.layers] == [type(layer) for layer in
                                                       tiny_run.model.layers]
    assert not any(isinstance(layer, (keras.layers.RandomTranslation,
                                      keras.layers.RandomRotation, keras.layers.RandomZoom))
                   for layer in model.layers)
    plain = builder.build_model(augmented_run.architecture, seed=0)
    plain.set_weights(model.get_weights())
    x = tiny_dataset.x_test[:16]
    np.testing.assert_array_equal(model.predict(x, verbose=0), plain.predict(x, verbose=0))
    np.testing.assert_array_equal(model(x, training=False), model(x, training=False))
    assert sorted(augmented_run.epoch_weights) == [0, 1, 2]
    assert augmented_run.metrics.test_accuracy > 0.5


def test_the_same_seed_repeats_an_augmented_run(augmented_run, tiny_dataset):
    again = routine.train(presets.get("tutorial-1conv"), tiny_dataset,
                          Hyperparameters(epochs=2, batch_size=32, seed=3, augment="strong"))
    assert [(r.loss, r.accuracy, r.val_loss) for r in again.history] == [
        (r.loss, r.accuracy, r.val_loss) for r in augmented_run.history]
    for mine, theirs in zip(again.model.get_weights(), augmented_run.model.get_weights(),
                            strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_the_run_records_its_augmentation(augmented_run, tmp_path):
    folder = run_files.save_run(augmented_run, tmp_path / "run")
    saved = json.loads((folder / "hyperparameters.json").read_text())
    assert saved["augment"] == "strong"
    assert run_files.load_run(folder).hyperparameters.augment == "strong"


def test_hyperparameters_round_trip_and_old_runs_load_as_off():
    settings = Hyperparameters(epochs=2, augment="light")
    assert Hyperparameters.from_dict(settings.to_dict()) == settings
    old = settings.to_dict()
    del old["augment"]
    assert Hyperparameters.from_dict(old).augment == "off"


@pytest.mark.parametrize("value", ["heavy", "", None, 1, True, "Light"])
def test_hyperparameters_refuse_a_bad_augment(value):
    with pytest.raises(ValueError) as info:
        Hyperparameters.from_dict({"augment": value})
    assert str(info.value) == f"augment must be one of off, light, strong; received {value!r}"


def test_cli_trains_with_augment_and_records_it(capsys, tiny_folder, tmp_path):
    out_dir = tmp_path / "out"
    code = cli.main(["train", "tutorial-1conv", "--dataset", str(tiny_folder), "--out",
                     str(out_dir), "--epochs", "1", "--batch-size", "32", "--augment", "light"])
    assert code == 0, capsys.readouterr().err
    assert run_files.load_run(out_dir).hyperparameters.augment == "light"


def test_cli_augment_bad_value_is_one_error_line(capsys, tmp_path):
    code = cli.main(["train", "two-conv", "--out", str(tmp_path / "out"), "--augment", "max"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == "error: augment must be one of off, light, strong; received 'max'\n"


def test_describe_names_the_strengths():
    assert augmentation.describe("light") == "shifts up to 10%, rotations up to 10°, zoom up to 10%"
    assert augmentation.describe("off").startswith("no augmentation")
