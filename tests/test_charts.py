"""The chart data behind the Train page's curves."""

import json
import math

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
    epochs = frame[frame.series == "train, per epoch"]
    assert epochs.epoch.tolist() == [1.0, 1.5]  # the stopped second epoch ends half-way
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


def test_training_spec_holds_no_data_and_reads_the_columns_curve_frame_gives():
    curve = Curve(steps=(5, 10), loss=(2.0, 1.0), accuracy=(0.2, 0.5),
                  batches_per_point=5, batches_per_epoch=10)
    history = [EpochRecord(1, 1.5, 0.4, 1.2, 0.5, 1.0, 10)]
    frame = charts.curve_frame(curve, history, "loss")
    spec = charts.training_spec("loss", 5)
    assert json.loads(json.dumps(spec)) == spec  # plain JSON, as Streamlit sends it
    assert "data" not in spec and "datasets" not in spec  # the page passes the frame
    for layer in spec["layer"]:
        encoding = layer["encoding"]
        assert "data" not in layer
        fields = {encoding[channel]["field"] for channel in ("x", "y", "color")}
        fields |= {tip["field"] for tip in encoding["tooltip"]}
        assert fields == set(frame.columns)
        assert set(frame.series) <= set(encoding["color"]["scale"]["domain"])
    assert spec["layer"][0]["encoding"]["x"]["scale"]["domain"] == [0, 5]
    assert charts.training_spec("accuracy")["layer"][0]["encoding"]["y"]["scale"] == {
        "domain": [0, 1]}


def _history(epochs: int) -> list[EpochRecord]:
    return [EpochRecord(epoch=e, loss=1.0 / e, accuracy=0.5, val_loss=1.2 / e, val_accuracy=0.4,
                        seconds=1.0, batches=10) for e in range(1, epochs + 1)]


def _layers(chart) -> tuple[dict, list[dict]]:
    spec = chart.to_dict()
    return spec, spec["layer"]


def test_compare_chart_ticks_whole_epochs_only():
    """A one-epoch run once got ticks 0.0, 0.2, ... shown as "1.000000" by the rounding."""
    _, layers = _layers(charts.compare_chart({"two-conv-1": _history(1)}, "loss"))
    for layer in layers:
        axis = layer["encoding"]["x"]["axis"]
        assert axis["format"] == "d" and axis["tickMinStep"] == 1


def test_compare_chart_tells_training_from_validation_by_line_style_in_the_legend_too():
    spec, layers = _layers(charts.compare_chart({"a-1": _history(2), "b-1": _history(3)},
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
