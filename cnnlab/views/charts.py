"""Charts for the Train, Draw and Feature maps pages, as Altair specs (no Streamlit here)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence

import altair as alt
import numpy as np
import pandas as pd

from cnnlab.runs.records import Curve, EpochRecord

SERIES_CAPTION = ("light blue: training, each batch (smoothed) · dark blue: training, each epoch "
                  "· orange: validation, each epoch")
SERIES_COLOURS = {
    "train, per batch (smoothed)": "#90caf9",
    "train, per epoch": "#1565c0",
    "validation": "#ef6c00",
}


def text_config(presentation: bool = False) -> dict:
    """A Vega-Lite ``config`` for the size of a chart's text, in CSS pixels.

    Normal: axis labels of 13 px, readable on a 1024×768 projector (Vega's own 10-11 px are
    not); presentation: 18 px labels and 20 px titles, to read from the back of a room.
    """
    label, title = (18, 20) if presentation else (13, 14)
    return {"axis": {"labelFontSize": label, "titleFontSize": title},
            "legend": {"labelFontSize": label, "titleFontSize": title},
            "title": {"fontSize": title + 2}}


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
    """Long-form rows (epoch, value, series) for one metric: ``loss`` or ``accuracy``.

    The x axis is in epochs: a batch point at step ``s`` sits at ``s / batches_per_epoch``
    and an epoch's value at its end (epoch ``k`` at ``k``, a partial last epoch earlier).
    """
    frames = []
    values = curve.loss if metric == "loss" else curve.accuracy
    if values:
        frames.append(pd.DataFrame({
            "epoch": np.asarray(curve.steps, dtype=float) / max(curve.batches_per_epoch, 1),
            "value": smooth(values), "series": "train, per batch (smoothed)"}))
    per_batch = max(curve.batches_per_epoch, 1)
    x = [r.epoch - 1 + (r.batches / per_batch if not r.complete else 1.0) for r in history]
    frames.append(pd.DataFrame({"epoch": x, "value": [getattr(r, metric) for r in history],
                                "series": "train, per epoch"}))
    val = [(xi, getattr(r, f"val_{metric}")) for xi, r in zip(x, history, strict=True)
           if getattr(r, f"val_{metric}") is not None]
    if val:
        frames.append(pd.DataFrame({"epoch": [v[0] for v in val], "value": [v[1] for v in val],
                                    "series": "validation"}))
    frame = pd.concat(frames, ignore_index=True)
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
def training_spec(metric: str, epochs: int | None = None, presentation: bool = False) -> dict:
    """The Vega-Lite spec of the loss or accuracy chart, without its data.

    The data are :func:`curve_frame`'s rows, passed alongside: while a job trains, the spec
    stays the same from one refresh to the next and only the data change, so the browser
    updates the chart in place instead of building it anew (cheap for a class of them).

    Args:
        metric: ``loss`` or ``accuracy``.
        epochs: the planned number of epochs, to fix the x axis while training.
        presentation: larger text (:func:`text_config`).
    Returns:
        A Vega-Lite spec (a dict) of a layered chart: lines, and points for the epochs.
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
                 alt.Tooltip("value:Q", format=".4f")])
    lines = base.mark_line(strokeWidth=1.5)
    points = base.transform_filter(alt.datum.series != "train, per batch (smoothed)"
                                   ).mark_point(filled=True, size=40)
    spec = alt.layer(lines, points).properties(height=260, title=metric).to_dict()
    spec.pop("datasets", None)  # Altair's placeholder for "no data": the page passes the data
    spec.pop("data", None)
    for layer in spec["layer"]:
        layer.pop("data", None)
    spec["config"] = {**spec.get("config", {}), **text_config(presentation)}
    return spec


def compare_chart(histories: dict[str, Sequence[EpochRecord]],
                  metric: str, presentation: bool = False) -> alt.LayerChart:
    """Overlaid per-epoch curves of several runs: training solid, validation dashed."""
    rows = []
    for name, history in histories.items():
        for record in history:
            rows.append({"run": name, "epoch": record.epoch, "value": getattr(record, metric),
                         "split": "training"})
            if getattr(record, f"val_{metric}") is not None:
                rows.append({"run": name, "epoch": record.epoch,
                             "value": getattr(record, f"val_{metric}"), "split": "validation"})
    frame = pd.DataFrame(rows or [{"run": "", "epoch": 0, "value": 0.0, "split": "training"}])
    # Whole epochs only on the axis (a one-epoch run would otherwise get 0.2-apart ticks), and
    # the split's legend drawn as line samples, solid and dashed: the points are a layer of
    # their own, because lines with points get filled dots, all alike, in the legend.
    dash = alt.StrokeDash("split:N", title=None, scale=alt.Scale(
        domain=["training", "validation"], range=[[1, 0], [6, 3]]), legend=alt.Legend(
        symbolType="stroke", symbolStrokeColor="#455a64", symbolStrokeWidth=2, symbolSize=400))
    base = alt.Chart(frame).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("value:Q", title=metric), color=alt.Color("run:N"),
        tooltip=["run", "split", "epoch", "value"])
    lines = base.mark_line().encode(strokeDash=dash)
    points = base.mark_point(filled=True, size=30)
    chart = alt.layer(lines, points).properties(height=260, title=f"{metric} by epoch")
    return _sized(chart, presentation)


def confusion_chart(matrix: Sequence[Sequence[int]], class_names: Sequence[str],
                    presentation: bool = False) -> alt.LayerChart:
    """The confusion matrix as a heat map with counts: rows true class, columns predicted;
    counts in 13 px (20 px in presentation mode)."""
    names = list(class_names)
    rows = [{"true": names[i], "predicted": names[j], "count": int(count)}
            for i, row in enumerate(matrix) for j, count in enumerate(row)]
    frame = pd.DataFrame(rows)
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=names, title="predicted"),
        y=alt.Y("true:N", sort=names, title="true class"))
    heat = base.mark_rect().encode(color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"),
                                                   legend=None),
                                   tooltip=["true", "predicted", "count"])
    text = base.mark_text(fontSize=20 if presentation else 13).encode(
        text="count:Q",
        color=alt.condition(alt.datum.count > frame["count"].max() / 2, alt.value("white"),
                            alt.value("#263238")))
    chart = (heat + text).properties(height=420 if presentation else 320,
                                     title="confusion matrix")
    return _sized(chart, presentation)


def class_bar_chart(values: Sequence[float], class_names: Sequence[str], title: str,
                    highlight: int | None = None, presentation: bool = False) -> alt.Chart:
    """A bar per class (per-class accuracy, or the probabilities of one prediction)."""
    names = list(class_names)
    frame = pd.DataFrame({"class": names, "value": [float(v) for v in values],
                          "top": [i == highlight for i in range(len(names))]})
    chart = alt.Chart(frame).mark_bar().encode(
        x=alt.X("class:N", sort=names, title=None),
        y=alt.Y("value:Q", scale=alt.Scale(domain=[0, 1]), title=title),
        color=alt.condition(alt.datum.top, alt.value("#ef6c00"), alt.value("#1e88e5")),
        tooltip=["class", alt.Tooltip("value:Q", format=".1%")],
    ).properties(height=220)
    return _sized(chart, presentation)
