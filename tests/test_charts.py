"""The chart data behind the Train page's curves."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from cnnlab.runs.records import Curve, EpochRecord
from cnnlab.views import charts


def test_smooth_is_debiased_and_follows_the_values():
    assert charts.smooth([2.0, 2.0]).tolist() == [2.0, 2.0]
    values = charts.smooth([0.0, 10.0], weight=0.5)
    assert values[0] == 0.0 and math.isclose(values[1], 10 * 0.5 / 0.75)


def test_curve_frame_places_batches_and_epochs_on_one_axis():
    curve = Curve(steps=(5, 10, 15), loss=(2.0, 1.0, 0.5), accuracy=(0.2, 0.5, 0.8),
                  batches_per_point=5, batches_per_epoch=10)
    history = [EpochRecord(1, 1.5, 0.4, 1.2, 0.5, 1.0, 10),
               EpochRecord(2, 0.5, 0.8, None, None, 0.5, 5, complete=False)]
    frame = charts.curve_frame(curve, history, "loss")
    batches = frame[frame.series == "train, per batch (smoothed)"]
    assert batches.epoch.tolist() == [0.5, 1.0, 1.5]
    assert not batches.partial.any()
    epochs = frame[frame.series == "train, per epoch"]
    assert epochs.epoch.tolist() == [1.0, 1.5]  # the stopped second epoch ends half-way
    assert epochs.partial.tolist() == [False, True]  # and is marked, to be drawn apart
    assert epochs.note.tolist() == ["", "epoch 2: 5 of 10 batches (stopped)"]
    assert frame[frame.series == "validation"].value.tolist() == [1.2]


def test_nan_losses_are_dropped_from_the_chart_data():
    curve = Curve(steps=(1, 2), loss=(1.0, float("nan")), accuracy=(0.1, 0.1))
    frame = charts.curve_frame(curve, [], "loss")
    assert frame.value.notna().all() and len(frame) == 1


def test_confusion_chart_holds_every_cell():
    chart = charts.confusion_chart([[3, 1], [0, 4]], ["cat", "dog"])
    data = chart.data
    assert sorted(zip(data["true"], data["predicted"], data["count"], strict=True)) == [
        ("cat", "cat", 3), ("cat", "dog", 1), ("dog", "cat", 0), ("dog", "dog", 4)]


def test_training_spec_names_its_data_and_reads_the_columns_curve_frame_gives():
    curve = Curve(steps=(5, 10), loss=(2.0, 1.0), accuracy=(0.2, 0.5),
                  batches_per_point=5, batches_per_epoch=10)
    history = [EpochRecord(1, 1.5, 0.4, 1.2, 0.5, 1.0, 10)]
    frame = charts.curve_frame(curve, history, "loss")
    spec = charts.training_spec("loss", 5)
    assert json.loads(json.dumps(spec)) == spec  # plain JSON, as Streamlit sends it
    # a named data set, sent beside the spec: never data-less (Vega's "Infinite extent")
    assert spec["data"] == {"name": charts.CURVE_DATA} and "datasets" not in spec
    for layer in spec["layer"]:
        encoding = layer["encoding"]
        assert "data" not in layer
        fields = {encoding[channel]["field"] for channel in ("x", "y", "color")}
        fields |= {tip["field"] for tip in encoding["tooltip"]}
        filters = json.dumps(layer.get("transform", []))
        fields |= {"partial"} if "datum.partial" in filters else set()
        assert fields <= set(frame.columns)
        assert fields >= set(frame.columns) - {"partial"}
        assert set(frame.series) <= set(encoding["color"]["scale"]["domain"])
    assert spec["layer"][0]["encoding"]["x"]["scale"]["domain"] == [0, 5]
    assert charts.training_spec("accuracy")["layer"][0]["encoding"]["y"]["scale"] == {
        "domain": [0, 1]}
    chart = charts.training_chart(curve, history, "loss", 5)
    assert {key: value for key, value in chart.items() if key != "datasets"} == spec
    assert chart["datasets"][charts.CURVE_DATA].equals(frame)


def _history(epochs: int) -> list[EpochRecord]:
    return [EpochRecord(epoch=e, loss=1.0 / e, accuracy=0.5, val_loss=1.2 / e, val_accuracy=0.4,
                        seconds=1.0, batches=10) for e in range(1, epochs + 1)]


def _runs(**histories) -> list[SimpleNamespace]:
    """Run-like objects (a name, a history, a curve of 10 batches per epoch) for charts."""
    return [SimpleNamespace(name=name.replace("_", "-"), history=history,
                            curve=Curve(batches_per_epoch=10))
            for name, history in histories.items()]


def test_a_stopped_runs_partial_epoch_is_a_hollow_point_named_under_the_title():
    stopped = [*_history(2), EpochRecord(3, 0.3, 0.6, 0.4, 0.5, 1.0, 4, complete=False)]
    curve = Curve(steps=(10, 20, 24), loss=(1.0, 0.5, 0.3), accuracy=(0.5, 0.5, 0.6),
                  batches_per_epoch=10)
    training = charts.training_chart(curve, stopped, "loss", 5, run="b-1")
    compared = charts.compare_chart(_runs(a_1=_history(3), b_1=stopped), "loss").to_dict()
    assert training["title"] == {"text": "loss of b-1",
                                 "subtitle": "hollow point — epoch 3: 4 of 10 batches (stopped)"}
    assert compared["title"] == {"text": "loss by epoch of a-1, b-1", "subtitle":
                                 "hollow points — b-1, epoch 3: 4 of 10 batches (stopped)"}
    assert "loss of b-1" in training["description"]  # for screen readers too
    assert "epoch 3: 4 of 10 batches (stopped)" in training["description"]
    rows = compared["datasets"][compared["data"]["name"]]
    partial = [(r["run"], r["epoch"], r["split"]) for r in rows if r["partial"]]
    assert partial == [("b-1", 2.4, "training"), ("b-1", 2.4, "validation")]
    for spec in (training, compared):
        points = [layer for layer in spec["layer"] if layer["mark"]["type"] == "point"]
        by_filter = {layer["transform"][-1]["filter"]: layer["mark"] for layer in points}
        assert by_filter["datum.partial"]["filled"] is False  # hollow
        assert by_filter["!datum.partial"]["filled"] is True


def test_charts_of_whole_runs_have_no_subtitle_and_name_up_to_three_runs():
    assert charts.training_spec("accuracy", run="a-1")["title"] == {"text": "accuracy of a-1"}
    many = charts.compare_chart(_runs(a=_history(1), b=_history(1), c=_history(1),
                                      d=_history(1)), "loss").to_dict()
    assert many["title"] == {"text": "loss by epoch of 4 runs"}  # the legend names them
    # and no layer for points they do not have: Vega warns "Infinite extent" for an empty one
    whole = charts.training_chart(Curve(batches_per_epoch=10), _history(2), "loss", run="a")
    for spec in (whole, many):
        filters = [json.dumps(layer.get("transform", [])) for layer in spec["layer"]]
        assert not any('"datum.partial"' in f for f in filters), filters
    only_partial = [EpochRecord(1, 0.3, 0.6, None, None, 1.0, 4, complete=False)]
    stopped_at_once = charts.training_chart(Curve(batches_per_epoch=10), only_partial, "loss")
    filters = [json.dumps(layer.get("transform", [])) for layer in stopped_at_once["layer"]]
    assert not any('"!datum.partial"' in f for f in filters), filters


def _layers(chart) -> tuple[dict, list[dict]]:
    spec = chart.to_dict()
    return spec, spec["layer"]


def test_compare_chart_ticks_whole_epochs_only():
    """A one-epoch run once got ticks 0.0, 0.2, ... shown as "1.000000" by the rounding."""
    _, layers = _layers(charts.compare_chart(_runs(two_conv_1=_history(1)), "loss"))
    for layer in layers:
        axis = layer["encoding"]["x"]["axis"]
        assert axis["format"] == "d" and axis["tickMinStep"] == 1


def test_compare_chart_tells_training_from_validation_by_line_style_in_the_legend_too():
    spec, layers = _layers(charts.compare_chart(_runs(a_1=_history(2), b_1=_history(3)),
                                                "accuracy"))
    [lines] = [layer for layer in layers if "strokeDash" in layer["encoding"]]
    assert lines["mark"]["type"] == "line"
    dash = lines["encoding"]["strokeDash"]
    assert dash["field"] == "split"
    assert dash["scale"]["domain"] == ["training", "validation"]
    solid, dashed = dash["scale"]["range"]
    assert solid != dashed
    assert dash["legend"]["symbolType"] == "stroke"  # a line sample...
    # ...drawn as one: lines with points of their own would get filled dots in the legend
    assert "point" not in lines["mark"]
    assert all(layer["encoding"]["color"]["field"] == "run" for layer in layers)
    rows = spec["datasets"][spec["data"]["name"]]
    assert {(r["run"], r["split"]) for r in rows} == {
        (run, split) for run in ("a-1", "b-1") for split in ("training", "validation")}


def test_training_spec_is_made_once_and_each_caller_gets_its_own_copy():
    first = charts.training_spec("loss", 7, presentation=True)
    first["layer"][0]["encoding"]["x"]["title"] = "changed by a caller"
    second = charts.training_spec("loss", 7, presentation=True)
    assert second["layer"][0]["encoding"]["x"]["title"] == "epoch"
    assert second == charts.training_spec("loss", 7, presentation=True)
    assert charts.training_spec.cache_info().hits >= 2  # made once for these arguments
LONG = ["circle", "a very long class name three", "line"]


def test_label_lines_wrap_long_names_at_spaces_and_cut_long_words():
    assert charts.label_lines("7") == ["7"]
    assert charts.label_lines("a very long class name three") == [
        "a very long", "class name", "three"]
    assert charts.label_lines("x" * 30) == ["x" * 14, "x" * 14, "xx"]
    assert all(len(line) <= charts.LINE_CHARS
               for line in charts.label_lines("Ankle-boot with laces and a sole"))


def test_class_axis_gives_each_class_a_row_as_tall_as_its_label():
    digits = charts.ClassAxis.of([str(i) for i in range(10)], presentation=False)
    assert digits.labels == tuple(str(i) for i in range(10)) and digits.lines == 1
    assert digits.step >= digits.font + 6 and digits.height == 10 * digits.step
    long = charts.ClassAxis.of(LONG, presentation=False)
    assert long.labels[1] == "a very long\nclass name\nthree" and long.lines == 3
    assert long.step >= 3 * long.line_height
    assert charts.ClassAxis.of(LONG, presentation=True).step > long.step
    # two names alike once wrapped: both kept whole (one label per class, told apart)
    alike = charts.ClassAxis.of(["ab cd", "ab\ncd"], presentation=False)
    assert alike.labels == ("ab cd", "ab\ncd")


def _class_axes(spec: dict) -> list[dict]:
    encodings = [spec["encoding"]] if "encoding" in spec else [
        layer["encoding"] for layer in spec["layer"]]
    return [encoding[channel] for encoding in encodings for channel in ("x", "y")
            if encoding[channel]["type"] == "nominal"]


@pytest.mark.parametrize("names", [[str(i) for i in range(10)], LONG], ids=["digits", "long"])
@pytest.mark.parametrize("presentation", [False, True])
def test_class_charts_show_every_label_whole(names, presentation):
    """Vega-Lite hid every other digit (labelOverlap) and cuts labels at 180 px (labelLimit)."""
    n = len(names)
    bars = charts.class_bar_chart([1 / n] * n, names, "probability", 0, presentation).to_dict()
    matrix = charts.confusion_chart(np.eye(n, dtype=int) * 3, names, presentation).to_dict()
    axis = charts.ClassAxis.of(names, presentation)
    for spec in (bars, matrix):
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
        assert spec["height"] == axis.height  # a row per class, as tall as its label
        classes = _class_axes(spec)
        assert classes
        for encoding in classes:
            options = encoding["axis"]
            assert options["labelOverlap"] is False and options["labelLimit"] == 0
            assert options["labelFlush"] is False  # Streamlit's theme moves end labels off
            assert "split(datum.label" in options["labelExpr"]
            assert [label.replace("\n", " ") for label in encoding["sort"]] == names
        rows = spec["datasets"][spec["data"]["name"]]
        shown = {row.get("label", row.get("true")) for row in rows}
        assert {label.replace("\n", " ") for label in shown} == set(names)
    tips = {row["class"] for row in bars["datasets"][bars["data"]["name"]]}
    assert tips == set(names)  # the tooltip says the name on one line


def test_confusion_matrix_turns_column_labels_upright_only_when_they_cannot_fit_across():
    def angle(names, presentation=False):
        spec = charts.confusion_chart(np.eye(len(names), dtype=int), names, presentation)
        return spec.to_dict()["layer"][0]["encoding"]["x"]["axis"]["labelAngle"]

    assert angle([str(i) for i in range(10)], True) == 0
    assert angle(["circle", "cross", "line"]) == 0
    assert angle(LONG) == -90
