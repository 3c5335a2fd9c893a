"""Runs: evaluation metrics, run folders and zips (round trips and what loading refuses)."""

import io
import json
import zipfile

import numpy as np
import pytest

from cnnlab.architecture import presets, spec, spec_json
from cnnlab.inspect import inference
from cnnlab.models import builder, optimizers
from cnnlab.runs import records, run_files
from cnnlab.runs.records import Curve, EpochRecord, Hyperparameters
from cnnlab.training import evaluation


@pytest.fixture(scope="module")
def run_folder(tiny_run, tmp_path_factory):
    return run_files.save_run(tiny_run, tmp_path_factory.mktemp("run"))


def probabilities(run, dataset):
    return inference.predict_batch(run.model, dataset.x_test)


def test_summarize_predictions_by_hand():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    metrics, wrong = evaluation.summarize_predictions(probs, np.array([0, 1, 1, 1]), 3)
    assert metrics["confusion_matrix"] == [[1, 0, 0], [1, 1, 1], [0, 0, 0]]
    assert metrics["per_class_accuracy"] == [1.0, pytest.approx(1 / 3), None]
    assert metrics["test_accuracy"] == 0.5 and metrics["misclassified_count"] == 2
    expected_loss = -np.log([0.7, 0.8, 0.3, 0.2]).mean()
    assert metrics["test_loss"] == pytest.approx(expected_loss)
    assert [(m.index, m.true_label, m.predicted_label) for m in wrong] == [(2, 1, 0), (3, 1, 2)]
    assert wrong[0].confidence == pytest.approx(0.6)


def test_misclassified_are_capped_and_most_confident_first():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(10), size=500).astype(np.float32)
    labels = (probs.argmax(1) + 1) % 10  # every prediction wrong
    metrics, wrong = evaluation.summarize_predictions(probs, labels, 10, max_misclassified=100)
    assert metrics["misclassified_count"] == 500 and len(wrong) == 100
    confidences = [m.confidence for m in wrong]
    assert confidences == sorted(confidences, reverse=True)


def test_evaluation_matches_keras(tiny_run, tiny_dataset):
    model = tiny_run.model
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(tiny_dataset.x_test, tiny_dataset.y_test, verbose=0)
    assert tiny_run.metrics.test_loss == pytest.approx(loss, rel=1e-4, abs=1e-6)
    assert tiny_run.metrics.test_accuracy == pytest.approx(accuracy)


def test_save_and_load_round_trip(tiny_run, tiny_dataset, run_folder):
    assert sorted(p.name for p in run_folder.iterdir()) == sorted(run_files.RUN_FILES)
    loaded = run_files.load_run(run_folder)
    np.testing.assert_array_equal(probabilities(loaded, tiny_dataset),
                                  probabilities(tiny_run, tiny_dataset))
    assert loaded.name == tiny_run.name and loaded.architecture == tiny_run.architecture
    assert loaded.hyperparameters == tiny_run.hyperparameters
    assert loaded.history == tiny_run.history and loaded.curve == tiny_run.curve
    assert loaded.metrics == tiny_run.metrics
    assert loaded.misclassified == tiny_run.misclassified
    assert loaded.dataset == tiny_run.dataset and loaded.class_names == tiny_run.class_names
    assert list(loaded.epoch_weights) == [0, 1, 2]
    for a, b in zip(loaded.epoch_weights[1], tiny_run.epoch_weights[1], strict=True):
        np.testing.assert_array_equal(a, b)


def copy_folder(source, target):
    target.mkdir()
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def test_loading_rejects_a_bad_architecture(run_folder, tmp_path):
    folder = copy_folder(run_folder, tmp_path / "bad")
    (folder / "architecture.json").write_text(json.dumps({
        "name": "x", "input_shape": [28, 28, 1], "num_classes": 4,
        "layers": [{"type": "conv2d", "filters": 4, "kernel_size": 40}]}))
    with pytest.raises(ValueError, match="layer 1 \\(conv2d\\): kernel_size must be at most 11"):
        run_files.load_run(folder)


def test_loading_rejects_weights_of_another_architecture(run_folder, tmp_path):
    folder = copy_folder(run_folder, tmp_path / "other")
    spec_json.save_architecture(presets.get("two-conv").with_data((28, 28, 1), 4),
                           folder / "architecture.json")
    with pytest.raises(ValueError, match="model.weights.h5 does not fit architecture.json"):
        run_files.load_run(folder)


def test_loading_rejects_weights_keras_would_load_without_complaint(run_folder, tmp_path):
    folder = copy_folder(run_folder, tmp_path / "extra")
    conv, pool, flatten = presets.get("tutorial-1conv").layers
    bigger = spec.Architecture("x", (conv, pool, spec.make_layer("batch_norm"), flatten),
                               (28, 28, 1), 4)
    builder.build_model(bigger).save_weights(str(folder / "model.weights.h5"))
    # Keras alone loads this: it ignores the file's batch norm arrays.
    with pytest.raises(ValueError, match="the file holds 8 weight arrays; the architecture has 4"):
        run_files.load_run(folder)


@pytest.mark.parametrize("missing", run_files.REQUIRED_FILES)
def test_loading_names_the_missing_file(run_folder, tmp_path, missing):
    folder = copy_folder(run_folder, tmp_path / "incomplete")
    (folder / missing).unlink()
    with pytest.raises(ValueError, match=f"is not a complete run folder: {missing} is missing"):
        run_files.load_run(folder)


def test_loading_a_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="is not a run folder"):
        run_files.load_run(tmp_path / "nowhere")


def test_loading_rejects_malformed_json(run_folder, tmp_path):
    folder = copy_folder(run_folder, tmp_path / "json")
    (folder / "history.json").write_text("{not json")
    with pytest.raises(ValueError, match="history.json: not valid JSON"):
        run_files.load_run(folder)


def test_zip_round_trip(tiny_run, tiny_dataset, run_folder):
    for source in (tiny_run, run_folder):
        data = run_files.run_to_zip_bytes(source)
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        assert sorted(names) == sorted(run_files.RUN_FILES)
        loaded = run_files.run_from_zip_bytes(data)
        np.testing.assert_array_equal(probabilities(loaded, tiny_dataset),
                                      probabilities(tiny_run, tiny_dataset))


def zip_of(folder, rename=None, extra=None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, (rename or (lambda n: n))(path.name))
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_with_the_files_in_one_folder_loads(run_folder):
    assert run_files.run_from_zip_bytes(zip_of(run_folder, lambda n: f"my-run/{n}")).name


@pytest.mark.parametrize(
    ("rename", "extra", "message"),
    [
        (lambda n: f"../{n}", None, "unsafe path in the zip: '../architecture.json'"),
        (None, {"/tmp/architecture.json": "{}"}, "unsafe path in the zip: '/tmp/architecture"),
        (None, {"a/../../evil.py": "x"}, "unsafe path in the zip"),
        (None, {"evil.py": "print(1)"}, "unexpected file in the zip: 'evil.py'"),
        (lambda n: "x.txt" if n == "metrics.json" else n, None, "unexpected file in the zip"),
    ],
)
def test_zip_rejects_unsafe_or_unknown_members(run_folder, rename, extra, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        run_files.run_from_zip_bytes(zip_of(run_folder, rename, extra))


def test_zip_rejects_incomplete_oversized_and_non_zips(run_folder):
    data = zip_of(run_folder, lambda n: "model.weights.h5" if n == "metrics.json" else n)
    with pytest.raises(ValueError, match="holds model.weights.h5 twice"):
        run_files.run_from_zip_bytes(data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(run_folder / "architecture.json", "architecture.json")
    with pytest.raises(ValueError, match="not a complete run: model.weights.h5 is missing"):
        run_files.run_from_zip_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="the limit is 100 bytes"):
        run_files.run_from_zip_bytes(zip_of(run_folder), max_bytes=100)
    with pytest.raises(ValueError, match="not a zip file"):
        run_files.run_from_zip_bytes(b"hello")


def test_records_round_trip_through_json():
    record = EpochRecord(3, 0.5, 0.9, None, None, 1.5, 10, complete=False)
    assert EpochRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    curve = Curve((2, 4), (1.0, 0.5), (0.5, 0.75), 2, 4)
    assert Curve.from_dict(json.loads(json.dumps(curve.to_dict()))) == curve
    settings = Hyperparameters(epochs=7, optimizer="sgd")
    assert Hyperparameters.from_dict(settings.to_dict()) == settings
    with pytest.raises(ValueError, match="unknown hyperparameter 'momentum'"):
        Hyperparameters.from_dict({"momentum": 0.9})
    with pytest.raises(ValueError, match="epoch record field loss is 'x'"):
        EpochRecord.from_dict(dict(record.to_dict(), loss="x"))


def test_a_partial_epoch_is_placed_and_told_by_its_share_of_batches():
    whole = [EpochRecord(e, 0.5, 0.9, None, None, 1.0, 57) for e in (1, 2, 3, 4)]
    part = EpochRecord(5, 0.4, 0.9, None, None, 1.0, 56, complete=False)
    assert [records.epoch_position(r, 57) for r in whole] == [1.0, 2.0, 3.0, 4.0]
    assert records.epoch_position(part, 57) == pytest.approx(4 + 56 / 57)
    assert records.partial_epoch(whole) is None and records.partial_epoch([*whole, part]) == part
    assert records.partial_note(part, 57) == "epoch 5: 56 of 57 batches (stopped)"
    assert records.epochs_trained([*whole, part], 10, 57) == (
        "4 of 10", "+ 56/57 batches of epoch 5")
    assert records.epochs_trained(whole, 4, 57) == ("4 of 4", None)
    # an epoch size not recorded (a curve's default of 1): no "56 of 1", still inside epoch 5
    assert records.partial_note(part, 1) == "epoch 5: 56 batches (stopped)"
    assert 4 < records.epoch_position(part, 1) < 5


@pytest.mark.parametrize("name", optimizers.NAMES)
def test_each_optimizer_name_makes_the_keras_optimizer_of_that_name(name):
    import keras

    made = optimizers.make(name, 0.01)
    assert type(made) is type(keras.optimizers.get(name))
    assert float(made.learning_rate.numpy()) == pytest.approx(0.01)
    assert Hyperparameters(optimizer=name).optimizer == name


def test_an_optimizer_outside_the_list_is_refused_naming_the_list():
    allowed = "optimizer must be one of adam, sgd, rmsprop; received 'adagrad'"
    with pytest.raises(ValueError, match=allowed):
        Hyperparameters(optimizer="adagrad")
    with pytest.raises(ValueError, match=allowed):
        optimizers.make("adagrad", 0.01)
