"""Scoring a class's runs on the held-back split, by the server: against Keras's own
prediction, whatever a run says about itself, over-limit runs listed with their reasons, and
the board, its CSV and spotlight made from the same results."""

import csv
import dataclasses
import io
import json

import numpy as np
import pytest

from cnnlab.architecture import presets
from cnnlab.classes import board, challenge, members, scoring, store
from cnnlab.data import datasets
from cnnlab.runs import run_files
from cnnlab.runs.records import Hyperparameters
from cnnlab.training import routine
from cnnlab.workspaces import held_back
from cnnlab.workspaces import store as workspaces

START = presets.get("tutorial-1conv")  # 32 filters: 54,410 parameters on 28x28x1
SMALL = dataclasses.replace(START, name="small", layers=(
    START.layers[0].replace(filters=8), *START.layers[1:]))  # 13,610 parameters


@pytest.fixture(scope="module")
def student_data():
    """What students see of mnist-5k (its held-back test images cut), 1,200 training images."""
    seen = held_back.visible(datasets.load_dataset("mnist-5k"))
    return dataclasses.replace(seen, x_train=seen.x_train[:1200], y_train=seen.y_train[:1200])


def train(arch, data, epochs):
    return routine.train(arch, data, Hyperparameters(
        epochs=epochs, batch_size=64, validation_fraction=0.2, seed=1))


@pytest.fixture(scope="module")
def runs(student_data):
    return {"small": train(SMALL, student_data, 1), "small-2-epochs": train(SMALL, student_data, 2),
            "big": train(START, student_data, 1)}


@pytest.fixture
def made():
    """A class whose challenge is mnist-5k, 20,000 parameters, 1 epoch, from SMALL with only
    filters, kernel_size and pool_size editable; and its key."""
    info, key = store.create_class("challenge class")
    rules = challenge.Challenge("mnist-5k", 20_000, 1, SMALL,
                                ("filters", "kernel_size", "pool_size"))
    return store.set_challenge(info, rules), key


def save(run, code, name):
    """Join ``name`` to class ``code`` with a new workspace holding ``run``; (membership,
    the run folder's path, the hook's result)."""
    joined = members.join(code, name)
    workspace = workspaces.open_workspace(joined.token)
    path = workspace.run_path(workspace.save_run(run))
    return joined, path, scoring.run_saved(joined.token, path)


def keras_reference(run) -> tuple[float, np.ndarray]:
    """The reference: Keras's own ``predict`` on the held-back images, picked out of the full
    test split by their indices; (accuracy, confusion matrix)."""
    full = datasets.load_dataset("mnist-5k")
    indices = held_back.split("mnist-5k").held_back
    probabilities = run.model.predict(full.x_test[indices].astype("float32"), batch_size=100,
                                      verbose=0)
    predicted, labels = probabilities.argmax(axis=1), full.y_test[indices]
    confusion = np.zeros((10, 10), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    return float(np.mean(predicted == labels)), confusion


def test_the_run_files_copied_are_a_run_folders_required_files():
    assert scoring.RUN_FILES == run_files.REQUIRED_FILES


def test_a_score_is_the_held_back_accuracy_as_keras_predicts_it(made, runs):
    info, key = made
    _, _, result = save(runs["small"], info.code, "Ada")
    expected, confusion = keras_reference(runs["small"])
    assert result["reason"] is None and result["images"] == confusion.sum() == 500
    assert abs(result["score"] - expected) <= 1 / 500  # at most one near-tie may differ
    assert np.abs(np.asarray(result["confusion"]) - confusion).sum() <= 2  # the same images
    assert 0.5 < result["score"] < 1.0
    assert result["params"] == 13_610 and result["epochs"] == 1
    [row] = board.board(info.code, key).rows
    assert (row.name, row.score, row.rank, row.architecture) == ("Ada", result["score"], 1,
                                                                "small")


def test_a_runs_own_metrics_never_change_its_score(made, runs, tmp_path):
    info, key = made
    joined, path, first = save(runs["small"], info.code, "Ada")
    metrics = json.loads((path / "metrics.json").read_text())
    metrics["test_accuracy"], metrics["test_loss"] = 1.0, 0.0
    (path / "metrics.json").write_text(json.dumps(metrics))
    again = scoring.run_saved(joined.token, path)
    assert again["stamp"] != first["stamp"]  # scored again, from the files as they are now
    assert again["score"] == first["score"] != 1.0
    uploaded = run_files.run_from_zip_bytes(run_files.run_to_zip_bytes(path))
    assert uploaded.metrics.test_accuracy == 1.0  # what the zip claims
    _, _, from_zip = save(uploaded, info.code, "Grace")
    assert from_zip["score"] == first["score"]
    assert [r.score for r in board.board(info.code, key).rows] == [first["score"]] * 2


def test_a_run_over_the_limits_is_listed_with_its_reasons_not_scored(made, runs):
    info, key = made
    _, _, big = save(runs["big"], info.code, "Big")
    _, _, long = save(runs["small-2-epochs"], info.code, "Long")
    save(runs["small"], info.code, "Fits")
    assert big["score"] is None and big["reason"] == (
        "54,410 parameters, over the challenge's 20,000")
    assert long["score"] is None and long["reason"] == "trained 2 epochs, over the challenge's 1"
    rows = board.board(info.code, key).rows
    assert [(r.name, r.rank) for r in rows] == [("Fits", 1), ("Big", None), ("Long", None)]
    assert rows[1].reason == big["reason"] and rows[1].params == 54_410
    assert [r.name for r in board.board(info.code, key).leaderboard] == ["Fits"]


def test_a_changed_locked_field_is_a_reason(made, runs):
    info, _ = made
    _, path, _ = save(runs["big"], info.code, "Locked")
    only_kernels = dataclasses.replace(info.challenge, max_params=100_000,
                                       editable=("kernel_size",))
    facts, reasons = challenge.check_run(path, only_kernels, challenge.data_shape("mnist-5k"))
    assert facts.params == 54_410 and reasons == [
        "layer 1 (conv2d): the challenge locks filters at 8; only kernel_size can change"]


def test_the_best_run_is_kept_and_a_worse_one_does_not_replace_it(made, runs):
    info, key = made
    joined, _, first = save(runs["small"], info.code, "Ada")
    workspace = workspaces.open_workspace(joined.token)
    scoring.run_saved(joined.token, workspace.run_path(workspace.save_run(runs["big"])))
    [row] = board.board(info.code, key).rows
    assert row.score == first["score"] and row.reason is None and row.params == 13_610
    folder = board.spotlight_folder(info.code, key, row.student_id)
    assert sorted(p.name for p in folder.iterdir()) == sorted(scoring.RUN_FILES)
    shown = run_files.load_run(folder)
    assert shown.architecture == runs["small"].architecture
    assert all(np.array_equal(a, b) for a, b in zip(
        shown.model.get_weights(), runs["small"].model.get_weights(), strict=True))


def test_the_spotlight_needs_the_key_and_a_student_of_the_class(made, runs):
    info, key = made
    waiting = members.join(info.code, "No run yet")
    assert board.spotlight_folder(info.code, key, waiting.student_id) is None
    for code, given, student in ((info.code, key, "Zz" * 6), (info.code, key, "../" * 4),
                                 (info.code, "x" * 32, waiting.student_id)):
        with pytest.raises(store.NoSuchClass):
            board.spotlight_folder(code, given, student)


def test_a_result_is_looked_up_not_scored_again(made, runs, monkeypatch):
    info, key = made
    joined, path, first = save(runs["small"], info.code, "Ada")
    version = board.board_version(info.code, key)
    assert board.board_version(info.code, key) == version  # nothing changed

    def refuse(*args):
        raise AssertionError("scored again")

    monkeypatch.setattr(scoring, "score_folder", refuse)
    assert scoring.run_saved(joined.token, path) == first
    assert board.board_version(info.code, key) == version
    members.record_activity(joined.token, "building")
    assert board.board_version(info.code, key) != version


def test_a_new_challenge_unranks_old_scores_until_they_are_scored_again(made, runs):
    info, key = made
    joined, _, first = save(runs["small"], info.code, "Ada")
    renewed = store.set_challenge(info, dataclasses.replace(info.challenge, max_epochs=2))
    [row] = board.board(renewed.code, key).rows
    assert row.score is None and row.reason == "scored under an earlier challenge; not ranked"
    [again] = scoring.rescore_workspace(joined.token)
    assert again["challenge"] == renewed.challenge.id and again["score"] == first["score"]
    assert board.board(renewed.code, key).rows[0].rank == 1


def test_without_a_challenge_runs_are_listed_not_scored(runs):
    info, key = store.create_class("no challenge yet")
    _, _, result = save(runs["small"], info.code, "Ada")
    assert result["score"] is None and result["reason"] == "the teacher has not set a challenge yet"
    [row] = board.board(info.code, key).rows
    assert row.run_name == runs["small"].name and row.reason == result["reason"]


def test_the_csv_matches_the_board(made, runs):
    info, key = made
    save(runs["small"], info.code, "=cmd|' /C calc'!A0")
    save(runs["big"], info.code, "Big, \"quoted\"")
    members.join(info.code, "@nothing yet")
    shown = board.board(info.code, key)
    parsed = list(csv.reader(io.StringIO(board.results_csv(info.code, key))))
    assert parsed[0] == list(board.CSV_COLUMNS) and len(parsed) == 1 + len(shown.rows) == 4
    for row, line in zip(shown.rows, parsed[1:], strict=True):
        name = "'" + row.name if row.name[0] in "=+-@" else row.name
        assert line[:5] == [name, row.run_name or "", row.architecture or "",
                            "" if row.params is None else str(row.params),
                            "" if row.epochs is None else str(row.epochs)]
        assert line[5] == ("" if row.score is None else f"{row.score:.4f}")
        assert (line[6] != "") == (row.finished_at is not None)
        assert line[7] == (row.reason or "")
    assert [line[0] for line in parsed[1:]] == [  # the scored first, then the others by name
        "'=cmd|' /C calc'!A0", "'@nothing yet", "Big, \"quoted\""]


def test_a_student_sees_names_and_scores_only(made, runs):
    info, _ = made
    ada, _, result = save(runs["small"], info.code, "Ada")
    big, _, _ = save(runs["big"], info.code, "Big")
    assert board.student_leaderboard(big.token) == [
        board.Standing("Ada", result["score"], 1, False)]
    assert board.student_leaderboard(ada.token)[0].you
    assert board.student_leaderboard(workspaces.create().token) == []  # in no class


def test_a_huge_run_name_is_cut_and_a_broken_run_is_a_reason(made, runs):
    info, key = made
    joined, path, _ = save(runs["small"], info.code, "Ada")
    history = json.loads((path / "history.json").read_text())
    history["name"] = "<b>x</b>" * 20_000  # 160,000 characters of markup
    (path / "history.json").write_text(json.dumps(history))
    result = scoring.run_saved(joined.token, path)
    assert len(result["run_name"]) == 100 and result["run_name"].startswith("<b>x</b>")
    assert result["score"] is not None
    [student] = members.students(info.code)  # results.json stayed small enough to read
    assert student.results["runs"][path.name]["run_name"] == result["run_name"]
    [row] = board.board(info.code, key).rows
    assert row.run_name == runs["small"].name  # the same score: the earlier copy stays shown
    (path / "model.weights.h5").unlink()
    broken = scoring.run_saved(joined.token, path)
    assert broken["score"] is None and broken["reason"] == "not a complete run folder"
    assert board.board(info.code, key).rows[0].score == result["score"]  # the best stays
