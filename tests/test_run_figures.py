"""AppTest of the Train page's figures about a run (issue 22, item 5): every chart, metric and
heading about a run describes the same run and names it; a partial epoch (a run stopped
part-way through one) is drawn apart from whole epochs and said in words; the runs table
shows every accuracy alike and an empty cell, explained, for "no validation split"."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from cnnlab.workspaces import store

TIMEOUT = 120
ROOT = Path(__file__).resolve().parent.parent


def open_train(token: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["w"] = token
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def charts_on(at: AppTest) -> list[tuple[dict, dict]]:
    """Every Vega-Lite chart of the page's main area: (spec, {data set name: rows})."""
    found = []
    for element in at.main.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        data = {d.name: pa.ipc.open_stream(d.data.data).read_all().to_pylist()
                for d in element.proto.datasets}
        found.append((spec, data))
    return found


def title_of(spec: dict) -> tuple[str, str]:
    """A chart's title and subtitle (one string each, lines joined)."""
    title = spec.get("title", "")
    if isinstance(title, str):
        return title, ""
    return _joined(title.get("text")), _joined(title.get("subtitle"))


def _joined(value) -> str:
    return " ".join(value) if isinstance(value, list) else (value or "")


def rows_of(data: dict) -> list[dict]:
    [rows] = data.values()
    return rows


def renamed(run, name: str, **changes):
    return dataclasses.replace(run, name=name, **changes)


@pytest.fixture
def older_and_newer(tiny_run):
    """A workspace of two runs whose losses differ (the newer twice the older): the newer is
    current, as after training it."""
    newer_history = tuple(dataclasses.replace(r, loss=r.loss * 2, val_loss=r.val_loss * 2)
                          for r in tiny_run.history)
    older, newer = renamed(tiny_run, "net-1"), renamed(tiny_run, "net-2", history=newer_history)
    workspace = store.create()
    workspace.save_run(older)
    workspace.save_run(newer)
    return workspace, older, newer


def test_an_older_run_chosen_as_current_model_has_its_own_curves_and_every_chart_names_it(
        older_and_newer):
    workspace, older, newer = older_and_newer
    at = open_train(workspace.token)
    at.selectbox(key="train_current").set_value(0).run()  # the older run
    assert not at.exception, at.exception
    assert at.subheader[0].value == "Results of net-1"
    found = charts_on(at)
    titles = [title_of(spec)[0] for spec, _ in found]
    for wanted in ("loss of net-1", "accuracy of net-1", "confusion matrix of net-1",
                   "accuracy per class of net-1"):
        assert wanted in titles, titles
    assert not any("net-2" in t for t in titles), titles  # nothing about the newer run
    [(_, loss)] = [(s, d) for s, d in found if title_of(s)[0] == "loss of net-1"]
    per_epoch = [r["value"] for r in rows_of(loss) if r["series"] == "train, per epoch"]
    assert per_epoch == pytest.approx([r.loss for r in older.history])
    assert per_epoch != pytest.approx([r.loss for r in newer.history])
    # with no row ticked, the comparison shows the current model too, and says so
    compare = [(s, d) for s, d in found if title_of(s)[0].startswith("loss by epoch")]
    [(spec, data)] = compare
    assert title_of(spec)[0] == "loss by epoch of net-1"
    assert {r["run"] for r in rows_of(data)} == {"net-1"}
    assert any(c.value.endswith("Shown: net-1.") for c in at.caption)


def test_the_newest_run_after_training_is_named_by_its_results_and_curves(older_and_newer):
    workspace, _, newer = older_and_newer
    at = open_train(workspace.token)
    assert at.subheader[0].value == "Results of net-2"
    titles = [title_of(spec)[0] for spec, _ in charts_on(at)]
    assert "loss of net-2" in titles and "accuracy of net-2" in titles
    assert not any("net-1" in t for t in titles), titles


@pytest.fixture
def stopped_run(tiny_run):
    """A run of 10 epochs planned, stopped in its second epoch after 6 of its batches."""
    per_epoch = tiny_run.curve.batches_per_epoch
    assert per_epoch > 6  # the tiny run's epochs are longer than the part kept
    first, second = tiny_run.history
    history = (first, dataclasses.replace(second, batches=6, complete=False))
    return renamed(tiny_run, "long-1", history=history,
                   hyperparameters=dataclasses.replace(tiny_run.hyperparameters, epochs=10),
                   metrics=dataclasses.replace(tiny_run.metrics, epochs_completed=1,
                                               stopped=True,
                                               stopped_at={"epoch": 2, "batch": 6}))


def test_a_stopped_run_draws_its_partial_epoch_apart_and_says_it(stopped_run):
    per_epoch = stopped_run.curve.batches_per_epoch
    workspace = store.create()
    workspace.save_run(stopped_run)
    at = open_train(workspace.token)
    assert at.subheader[0].value == "Results of long-1 (stopped early)"
    [trained] = [m for m in at.metric if m.label == "epochs trained"]
    assert (trained.value, trained.delta) == ("1 of 10", f"+ 6/{per_epoch} batches of epoch 2")
    note = f"epoch 2: 6 of {per_epoch} batches (stopped)"
    found = charts_on(at)
    for name in ("loss of long-1", "accuracy of long-1", "loss by epoch of long-1",
                 "accuracy by epoch of long-1"):
        [(spec, data)] = [(s, d) for s, d in found if title_of(s)[0] == name]
        assert note in title_of(spec)[1], (name, title_of(spec))  # the chart says it
        rows = [r for r in rows_of(data) if r.get("series", r.get("split")) in (
            "train, per epoch", "training")]
        assert [r["epoch"] for r in rows] == pytest.approx([1.0, 1 + 6 / per_epoch])
        assert [r["partial"] for r in rows] == [False, True]
        # the partial point has a layer of its own, hollow; the whole epochs' are filled
        marks = {json.dumps(layer.get("transform")): layer["mark"] for layer in spec["layer"]
                 if layer["mark"]["type"] == "point"}
        hollow = [m for t, m in marks.items() if '"datum.partial"' in t]
        filled = [m for t, m in marks.items() if '"!datum.partial"' in t]
        assert hollow and not hollow[0]["filled"], marks
        assert filled and filled[0]["filled"], marks
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert f"1 of 10 epochs (+ 6/{per_epoch} batches of epoch 2)" in sidebar


def test_the_runs_table_shows_every_accuracy_alike_and_no_validation_as_an_empty_cell(
        tiny_run):
    no_validation = tuple(dataclasses.replace(r, val_loss=None, val_accuracy=None)
                          for r in tiny_run.history)
    drawn = renamed(tiny_run, "drawn-1", history=no_validation,
                    metrics=dataclasses.replace(tiny_run.metrics, test_accuracy=1.0))
    workspace = store.create()
    workspace.save_run(tiny_run)
    workspace.save_run(drawn)
    at = open_train(workspace.token)
    table = at.dataframe(key="train_runs")
    frame = table.value
    accuracies = ["train acc", "val acc", "test acc"]
    for column in accuracies:
        assert frame[column].dtype.kind == "f", (column, frame[column].dtype)  # never "None"
    assert frame["val acc"].isna().tolist() == [False, True]
    # in percent (so a format can give them all two decimals), the same numbers as the run's
    assert frame["test acc"].tolist() == pytest.approx([100 * tiny_run.test_accuracy, 100.0])
    assert frame["train acc"].tolist() == pytest.approx([100 * tiny_run.history[-1].accuracy] * 2)
    config = json.loads(table.proto.columns)
    formats = {column: config[column]["type_config"]["format"] for column in accuracies}
    assert set(formats.values()) == {"%.2f%%"}, formats  # one format, one precision
    assert table.proto.placeholder == ""  # a missing value: an empty cell, not "None"
    assert "no validation split" in config["val acc"]["help"]
    assert any("an empty val acc: the run had no validation split" in c.value for c in at.caption)
