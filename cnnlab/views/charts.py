"""Charts for the Train, Draw and Feature maps pages, as Altair specs (no Streamlit here)."""

from __future__ import annotations

import copy
import functools
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import altair as alt
import numpy as np
import pandas as pd

from cnnlab.runs import records
from cnnlab.runs.records import Curve, EpochRecord

SERIES_CAPTION = ("light blue: training, each batch (smoothed) · dark blue: training, each epoch "
                  "· orange: validation, each epoch")
LINE_CHARS = 14  # a class label's lines, at most: ~110 px at 13 px, ~150 px at 18 px
UPRIGHT_LINE_CHARS = 24  # the lines of an upright (turned) label may be longer
CHAR_WIDTH = 0.62  # an average character of the labels' font, in font sizes
MIN_PLOT_WIDTH = 200  # px: the narrowest a confusion matrix's cells get (1024 px, two columns)
CURVE_DATA = "curve"  # the name of the loss and accuracy charts' data set
COLUMNS = ("epoch", "value", "series", "partial", "note")  # curve_frame's rows
SERIES_COLOURS = {
    "train, per batch (smoothed)": "#90caf9",
    "train, per epoch": "#1565c0",
    "validation": "#ef6c00",
}
HOLLOW = "hollow point"  # how a partial epoch is drawn, and named under its chart


class RunCurves(Protocol):
    """What a chart of a run's epochs reads: a :class:`cnnlab.runs.records.Run` or a listed
    :class:`cnnlab.workspaces.run_info.RunInfo`."""

    name: str
    history: Sequence[EpochRecord]
    curve: Curve


def partial_caption(history: Sequence[EpochRecord], batches_per_epoch: int) -> str | None:
    """What the hollow point of a run's charts stands for, or None when every epoch is whole.

    Example:
        >>> partial_caption([EpochRecord(1, 0.2, 0.9, None, None, 1.0, 3, False)], 57)
        'hollow point — epoch 1: 3 of 57 batches (stopped)'
    """
    part = records.partial_epoch(history)
    return None if part is None else f"{HOLLOW} — {records.partial_note(part, batches_per_epoch)}"


def _title(text: str, subtitle: str | None) -> dict:
    return {"text": text, **({"subtitle": subtitle} if subtitle else {})}


def _point_layers(base: alt.Chart, presentation: bool, whole: bool = True,
                  partial: bool = True) -> list[alt.Chart]:
    """Whole epochs as filled points, a partial one (``partial`` rows) as a hollow point;
    each layer only if it has points (Vega warns "Infinite extent" for an empty one)."""
    size = 70 if presentation else 40
    layers = []
    if whole:
        layers.append(base.transform_filter("!datum.partial").mark_point(filled=True, size=size))
    if partial:
        layers.append(base.transform_filter("datum.partial").mark_point(
            filled=False, fill="white", size=size * 2, strokeWidth=2, opacity=1))
    return layers


def text_config(presentation: bool = False) -> dict:
    """A Vega-Lite ``config`` for the size of a chart's text, in CSS pixels.

    Normal: axis labels of 13 px, readable on a 1024×768 projector (Vega's own 10-11 px are
    not); presentation: 18 px labels and 20 px titles, to read from the back of a room.
    """
    label, title = (18, 20) if presentation else (13, 14)
    return {"axis": {"labelFontSize": label, "titleFontSize": title},
            "legend": {"labelFontSize": label, "titleFontSize": title},
            "title": {"fontSize": title + 2, "subtitleFontSize": label}}


# Streamlit fits a chart into its column, width and height ("fit"): a chart whose rows must
# each keep room for their labels fits its width only, and is as tall as its rows need.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


def _sized(chart: alt.TopLevelMixin, presentation: bool) -> alt.TopLevelMixin:
    config = text_config(presentation)
    return chart.configure_axis(**config["axis"]).configure_legend(
        **config["legend"]).configure_title(**config["title"])


def smooth(values: Sequence[float], weight: float = 0.6) -> np.ndarray:
    """TensorBoard-style exponential moving average, debiased so the start is not pulled to 0.

    Example:
        >>> smooth([1.0, 1.0, 1.0]).tolist()
        [1.0, 1.0, 1.0]
    """
    out, last, norm = [], 0.0, 0.0
    for value in values:
        last = last * weight + (1 - weight) * value
        norm = norm * weight + (1 - weight)
        out.append(last / norm)
    return np.asarray(out, dtype=float)


def curve_frame(curve: Curve, history: Sequence[EpochRecord], metric: str) -> pd.DataFrame:
    """Long-form rows (epoch, value, series, partial, note) for one metric: ``loss`` or
    ``accuracy``.

    The x axis is in epochs: a batch point at step ``s`` sits at ``s / batches_per_epoch``
    and an epoch's value at its end (epoch ``k`` at ``k``, a partial last epoch earlier:
    :func:`cnnlab.runs.records.epoch_position`). ``partial`` marks a partial epoch's points,
    ``note`` says what it was (shown in the tooltip).
    """
    frames = []
    values = curve.loss if metric == "loss" else curve.accuracy
    per_batch = max(curve.batches_per_epoch, 1)
    if values:
        frames.append(pd.DataFrame({
            "epoch": np.asarray(curve.steps, dtype=float) / per_batch,
            "value": smooth(values), "series": "train, per batch (smoothed)", "partial": False,
            "note": ""}))
    x = [records.epoch_position(r, per_batch) for r in history]
    partial = [not r.complete for r in history]
    notes = ["" if r.complete else records.partial_note(r, per_batch) for r in history]
    frames.append(pd.DataFrame({"epoch": x, "value": [getattr(r, metric) for r in history],
                                "series": "train, per epoch", "partial": partial,
                                "note": notes}, columns=list(COLUMNS)))
    val = [i for i, r in enumerate(history) if getattr(r, f"val_{metric}") is not None]
    if val:
        frames.append(pd.DataFrame({
            "epoch": [x[i] for i in val], "value": [getattr(history[i], f"val_{metric}")
                                                    for i in val],
            "series": "validation", "partial": [partial[i] for i in val],
            "note": [notes[i] for i in val]}))
    frame = pd.concat(frames, ignore_index=True).astype({"partial": bool})
    return frame[np.isfinite(frame["value"].astype(float))]


def _made_once(build: Callable[..., dict]) -> Callable[..., dict]:
    """``build`` (a spec from a few plain arguments, no data) run once per arguments: Altair
    takes tens of milliseconds to make a spec, every time the Train page is shown. Each call
    gets its own copy, which the caller may change."""
    made = functools.lru_cache(maxsize=64)(build)

    @functools.wraps(build)
    def copied(*args, **kwargs) -> dict:
        return copy.deepcopy(made(*args, **kwargs))

    copied.cache_info = made.cache_info  # type: ignore[attr-defined]
    return copied


@_made_once
def training_spec(metric: str, epochs: int | None = None, presentation: bool = False,
                  run: str | None = None, partial: str | None = None,
                  whole_epochs: bool = True) -> dict:
    """The Vega-Lite spec of the loss or accuracy chart, without its data.

    The data are :func:`curve_frame`'s rows, named :data:`CURVE_DATA` in the spec and passed
    with it by :func:`training_chart`: while a job trains, the spec stays the same from one
    refresh to the next and only the data change, so the browser updates the chart in place
    instead of building it anew (cheap for a class of them).

    Args:
        metric: ``loss`` or ``accuracy``.
        epochs: the planned number of epochs, to fix the x axis while training.
        presentation: larger text (:func:`text_config`).
        run: the run's name, for the title ("loss of two-conv-2").
        partial: what a partial epoch's hollow point stands for (:func:`partial_caption`),
            shown under the title; None: no partial epoch, no layer for it.
        whole_epochs: whether there are whole epochs' points to draw (a layer for them).
    Returns:
        A Vega-Lite spec (a dict) of a layered chart: lines, and points for the epochs
        (filled, a partial epoch's hollow).
    """
    x_scale = alt.Scale(domain=[0, epochs]) if epochs else alt.Scale(zero=True)
    y_scale = alt.Scale(domain=[0, 1]) if metric == "accuracy" else alt.Scale(zero=True)
    colour = alt.Color("series:N", title=None, legend=None,  # the page's caption says it
                       scale=alt.Scale(domain=list(SERIES_COLOURS),
                                       range=list(SERIES_COLOURS.values())))
    base = alt.Chart().encode(
        x=alt.X("epoch:Q", scale=x_scale, title="epoch"),
        y=alt.Y("value:Q", scale=y_scale, title=metric), color=colour,
        tooltip=["series:N", alt.Tooltip("epoch:Q", format=".2f"),
                 alt.Tooltip("value:Q", format=".4f"), alt.Tooltip("note:N", title="note")])
    lines = base.mark_line(strokeWidth=1.5)
    points = _point_layers(base.transform_filter(
        alt.datum.series != "train, per batch (smoothed)"), presentation, whole_epochs,
        partial is not None)
    title = _title(f"{metric} of {run}" if run else metric, partial)
    description = (f"line chart, {title['text']} by epoch: training per batch and per epoch, "
                   f"validation per epoch{f'; {partial}' if partial else ''}")  # screen readers
    spec = alt.layer(lines, *points).properties(height=260, title=title,
                                                description=description).to_dict()
    spec.pop("datasets", None)  # Altair's placeholder for "no data": the page passes the data
    # A named data set, not data passed beside the spec: Streamlit draws a chart with such
    # unnamed data once before it has any, and Vega warns "Infinite extent for field value"
    # at each drawing (30 warnings while a job trained).
    spec["data"] = {"name": CURVE_DATA}
    for layer in spec["layer"]:
        layer.pop("data", None)
    spec["config"] = {**spec.get("config", {}), **text_config(presentation)}
    return spec


def training_chart(curve: Curve, history: Sequence[EpochRecord], metric: str,
                   epochs: int | None = None, presentation: bool = False,
                   run: str | None = None) -> dict:
    """:func:`training_spec` with its data (:func:`curve_frame`), for ``st.vega_lite_chart``,
    which sends the named data set beside the spec (unchanged from one refresh to the next).
    ``run`` names the run in the title; a partial epoch is named under it."""
    partial = partial_caption(history, curve.batches_per_epoch)
    frame = curve_frame(curve, history, metric)
    whole = bool((frame.series != "train, per batch (smoothed)")[~frame.partial].any())
    return {**training_spec(metric, epochs, presentation, run, partial, whole),
            "datasets": {CURVE_DATA: frame}}


MAX_NAMED_RUNS = 3  # a comparison of more runs is titled by their number (the legend names them)


def compare_chart(runs: Sequence[RunCurves], metric: str,
                  presentation: bool = False) -> alt.LayerChart:
    """Overlaid per-epoch curves of several runs: training solid, validation dashed; a partial
    epoch as a hollow point, at the share of its batches that ran, and named under the title.
    The title names the runs (up to :data:`MAX_NAMED_RUNS`)."""
    rows, partial = [], []
    for run in runs:
        per_epoch = max(run.curve.batches_per_epoch, 1)
        for record in run.history:
            where = {"run": run.name, "epoch": records.epoch_position(record, per_epoch),
                     "partial": not record.complete,
                     "note": "" if record.complete else records.partial_note(record, per_epoch)}
            rows.append({**where, "value": getattr(record, metric), "split": "training"})
            if getattr(record, f"val_{metric}") is not None:
                rows.append({**where, "value": getattr(record, f"val_{metric}"),
                             "split": "validation"})
        if records.partial_epoch(run.history) is not None:
            partial.append(f"{run.name}, {records.partial_note(run.history[-1], per_epoch)}")
    frame = pd.DataFrame(rows or [{"run": "", "epoch": 0, "partial": False, "note": "",
                                   "value": 0.0, "split": "training"}])
    # Whole epochs only on the axis (a one-epoch run would otherwise get 0.2-apart ticks), and
    # the split's legend drawn as line samples, solid and dashed: the points are a layer of
    # their own, because lines with points get filled dots, all alike, in the legend.
    dash = alt.StrokeDash("split:N", title=None, scale=alt.Scale(
        domain=["training", "validation"], range=[[1, 0], [6, 3]]), legend=alt.Legend(
        symbolType="stroke", symbolStrokeColor="#455a64", symbolStrokeWidth=2, symbolSize=400))
    base = alt.Chart(frame).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("value:Q", title=metric), color=alt.Color("run:N"),
        tooltip=["run", "split", alt.Tooltip("epoch:Q", format=".2f"), "value",
                 alt.Tooltip("note:N", title="note")])
    lines = base.mark_line().encode(strokeDash=dash)
    names = [run.name for run in runs]
    shown = (", ".join(names) if len(names) <= MAX_NAMED_RUNS else f"{len(names)} runs")
    title = _title(f"{metric} by epoch of {shown}" if names else f"{metric} by epoch",
                   f"{HOLLOW}s — " + "; ".join(partial) if partial else None)
    points = _point_layers(base, presentation, not frame.partial.all(), bool(partial))
    chart = alt.layer(lines, *points).properties(height=260, title=title)
    return _sized(chart, presentation)


def label_lines(name: str, width: int = LINE_CHARS) -> list[str]:
    """A class name as the lines of its axis label: broken at spaces (and inside a word
    longer than ``width``), at most ``width`` characters each.

    Example:
        >>> label_lines("a very long class name three")
        ['a very long', 'class name', 'three']
    """
    return textwrap.wrap(name, width, break_on_hyphens=False) or [name]


@dataclass(frozen=True)
class ClassAxis:
    """How class names are drawn on a chart's axis: one label per class, always all of them.

    Vega-Lite hides axis labels it thinks overlap (``labelOverlap``) and cuts long ones at
    180 px (``labelLimit``): a 1024 px projector lost every other digit. Here nothing is hidden
    or cut; instead each class gets room for its label: long names are wrapped onto lines
    (the data carry the lines joined by a newline, which ``labelExpr`` splits) and each row
    of a chart is as tall as its longest label.

    Attributes:
        names: the class names, in order (for tooltips).
        labels: the axis values, unique, in order: the names wrapped with newlines.
        lines: the largest number of lines of a label.
        font: the labels' font size, px.
    """

    names: tuple[str, ...]
    labels: tuple[str, ...]
    lines: int
    font: int

    @classmethod
    def of(cls, class_names: Sequence[str], presentation: bool,
           width: int = LINE_CHARS) -> ClassAxis:
        names = tuple(str(name) for name in class_names)
        wrapped = tuple("\n".join(label_lines(name, width)) for name in names)
        if len(set(wrapped)) < len(names):  # wrapping made two names alike: keep them whole
            wrapped = names
        return cls(names, wrapped, max(label.count("\n") + 1 for label in wrapped),
                   text_config(presentation)["axis"]["labelFontSize"])

    @property
    def line_height(self) -> int:
        return self.font + 3

    @property
    def step(self) -> int:
        """The height of one class's row, px: its label's lines and a margin."""
        return self.lines * self.line_height + 6

    @property
    def height(self) -> int:
        """The plot's height, px: a row per class. A number, not ``alt.Step``: Streamlit fits
        a chart to its column, and Vega-Lite warns when that meets a height in steps; this
        is the plot's own height (:data:`FIT_WIDTH`), the axes come on top."""
        return self.step * len(self.labels)

    def longest_line(self) -> int:
        return max(len(line) for label in self.labels for line in label.split("\n"))

    def axis(self, angle: int = 0, **options) -> alt.Axis:
        """The axis: every label shown, whole, on its lines."""
        # Vega puts a label's first line at its tick and the others after it: move each label
        # back by half its extra lines, so that its middle line sits at the tick.
        centre = f"-(length(split(datum.value, '\\n')) - 1) * {self.line_height / 2:g}"
        # labelFlush off: Streamlit's theme turns it on, which moves the first and last labels
        # of a heat map's rows inside the plot, off their rows.
        return alt.Axis(labelOverlap=False, labelLimit=0, labelAngle=angle, labelFlush=False,
                        labelExpr="split(datum.label, '\\n')", labelOffset=alt.ExprRef(centre),
                        labelLineHeight=self.line_height, labelPadding=4, **options)


def confusion_chart(matrix: Sequence[Sequence[int]], class_names: Sequence[str],
                    presentation: bool = False, run: str | None = None) -> alt.LayerChart:
    """The confusion matrix as a heat map with counts: rows true class, columns predicted;
    counts in 13 px (20 px in presentation mode). Every class is labelled on both axes
    (:class:`ClassAxis`); a column's labels turn upright when they would not fit across it.
    ``run`` names the run in the title ("confusion matrix of two-conv-2")."""
    rows_axis = ClassAxis.of(class_names, presentation)
    across = rows_axis.longest_line() * CHAR_WIDTH * rows_axis.font <= (
        MIN_PLOT_WIDTH / len(rows_axis.labels) - 6)
    columns_axis = rows_axis if across else ClassAxis.of(class_names, presentation,
                                                         UPRIGHT_LINE_CHARS)
    rows = [{"true": rows_axis.labels[i], "predicted": columns_axis.labels[j],
             "true class": rows_axis.names[i], "predicted class": rows_axis.names[j],
             "count": int(count)}
            for i, row in enumerate(matrix) for j, count in enumerate(row)]
    frame = pd.DataFrame(rows)
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=list(columns_axis.labels), title="predicted",
                axis=columns_axis.axis(0 if across else -90)),
        y=alt.Y("true:N", sort=list(rows_axis.labels), title="true class",
                axis=rows_axis.axis()))
    heat = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"),
                                                   legend=None),
                                   tooltip=["true class", "predicted class", "count"])
    text = base.mark_text(fontSize=20 if presentation else 13).encode(
        text="count:Q",
        color=alt.condition(alt.datum.count > frame["count"].max() / 2, alt.value("white"),
                            alt.value("#263238")))
    title = f"confusion matrix of {run}" if run else "confusion matrix"
    chart = (heat + text).properties(height=rows_axis.height, title=title,
                                     autosize=FIT_WIDTH)
    return _sized(chart, presentation)


def class_bar_chart(values: Sequence[float], class_names: Sequence[str], title: str,
                    highlight: int | None = None, presentation: bool = False,
                    run: str | None = None) -> alt.Chart:
    """A bar per class (per-class accuracy, or the probabilities of one prediction): one row
    per class, its name on the left, however long (:class:`ClassAxis`), the bar to the right.
    ``title`` is the values' axis title; with ``run``, the chart is titled "<title> of <run>"."""
    axis = ClassAxis.of(class_names, presentation)
    frame = pd.DataFrame({"label": axis.labels, "class": axis.names,
                          "value": [float(v) for v in values],
                          "top": [i == highlight for i in range(len(axis.names))]})
    chart = alt.Chart(frame).mark_bar().encode(
        y=alt.Y("label:N", sort=list(axis.labels), title=None, axis=axis.axis()),
        x=alt.X("value:Q", scale=alt.Scale(domain=[0, 1]), title=title,
                axis=alt.Axis(format="%", values=[0, 0.5, 1], labelFlush=True,
                              titleAnchor="end")),  # in a narrow column, not cut at its right
        color=alt.condition(alt.datum.top, alt.value("#ef6c00"), alt.value("#1e88e5")),
        tooltip=["class", alt.Tooltip("value:Q", format=".1%")],
    ).properties(height=axis.height, autosize=FIT_WIDTH)
    if run:
        chart = chart.properties(title=f"{title} of {run}")
    return _sized(chart, presentation)
