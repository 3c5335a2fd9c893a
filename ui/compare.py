"""Draw's "Compare two runs" section: pick two runs of the workspace, see both next to each
other on the same drawing (the logic is :mod:`cnnlab.inspect.compare`).

The section is an expander computed only while it is open, so the pen-up → answer time of the
Draw page does not pay for two more models. The two runs come from the process-wide cache of
the memory budget and their predictors and explainers live with them
(:func:`cnnlab.workspaces.models.tool`); the session keeps none of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from cnnlab.architecture import shapes
from cnnlab.data import kinds
from cnnlab.inspect import attribution, compare, inference
from cnnlab.views import charts, overlay, render
from cnnlab.workspaces import models
from ui import explain, images, layout, state, text

SCALE = 6  # screen pixels per input pixel in the pictures
TITLE = "Compare two runs on this drawing"


def _tools(folder: str) -> tuple[Any, inference.Predictor, attribution.Explainer | str]:
    """The run in ``folder``, its predictor and explainer, each built once per run."""
    run = models.get(state.session().workspace, folder)
    summary = shapes.summarize(run.architecture, num_classes=len(run.class_names))
    return run, state.predictor(run), explain.explainer_of(run, summary)


def _pick(kept: list) -> tuple[int, int]:
    """Two selectboxes: the current run and the newest other run at first."""
    names = [info.name for info in kept]
    current = state.session().current or 0
    other = next(i for i in reversed(range(len(kept))) if i != current)
    cols = st.columns(2)
    a = cols[0].selectbox("left run", range(len(kept)), current, format_func=names.__getitem__,
                          key="draw_cmp_a")
    b = cols[1].selectbox("right run", range(len(kept)), other, format_func=names.__getitem__,
                          key="draw_cmp_b")
    return a, b


def _column(side: compare.Side, dataset: str, key: str) -> None:
    st.markdown(f"**{text.md(side.name)}** · trained on {text.md(dataset)}")
    if side.top is None:
        st.warning(text.md(side.message))
        return
    top = side.top
    st.markdown(f"Prediction: **{text.md(side.class_names[top])}** "
                f"({side.probabilities[top]:.0%})")
    st.altair_chart(charts.class_bar_chart(side.probabilities, side.class_names, "probability",
                                           top, layout.presentation()).properties(
        description=text.bars_description(f"{side.name}'s probability", side.probabilities,
                                          side.class_names)), key=f"{key}_probs")
    pictures = [overlay.grey_rgb(render.upscale(side.image, SCALE))]
    captions = ["what this run sees"]  # plain text: ui.images escapes it
    alts = [f"your drawing as {side.name} prepares it"]
    if side.explanation is not None and side.explanation.gradcam is not None:
        layer, name = side.explanation.gradcam_layer, side.class_names[top]
        pictures.append(overlay.heat_overlay(side.image, side.explanation.gradcam, SCALE))
        captions.append(f"Grad-CAM · {layer} for {name}")
        alts.append(f"Grad-CAM heat map of {side.name}'s {layer}: where its evidence for {name} "
                    "came from")
    images.grid(pictures, alts, captions, width=28 * SCALE)
    note = explain.gradcam_note(side.explanation, side.class_names[top]) \
        if side.explanation is not None else ""
    if side.message:
        st.caption(text.md(side.message))
    if note:
        st.caption(note)  # Markdown already, the class name escaped
    if side.first_conv is not None:
        rgb, _, _ = render.channel_grid(side.first_conv.values, scale=2, cols=8)
        height, width, channels = side.first_conv.output_shape
        images.picture(rgb, caption=f"first conv layer, {side.first_conv.name} · "
                                    f"{height}×{width}×{channels}",
                       alt=f"{side.name}'s first conv layer, {side.first_conv.name}: its "
                           f"{channels} feature maps of your drawing, {height}×{width} each")
    else:
        st.caption("no conv layer: no feature maps to show")


def section(drawn: np.ndarray) -> None:
    """The expander; ``drawn`` is the drawing as drawn (the preprocessing's first step)."""
    box = st.expander(TITLE, key="draw_compare", on_change="rerun", icon=":material/compare:")
    if not box.open:
        return
    with box:
        kept = state.runs()
        if len(kept) < 2:
            st.info("This workspace has one run. Train a second one (another network, fewer "
                    "epochs, or another data set) to see both answer the same drawing.")
            st.page_link("pages/train.py", label="Train page →",
                         icon=":material/model_training:")
            return
        a, b = _pick(kept)
        if a == b:
            st.info("Pick two different runs.")
            return
        sides = []
        with st.spinner("loading the two runs…"):
            for index in (a, b):
                try:
                    run, predictor, explainer = _tools(kept[index].folder)
                except ValueError as exc:
                    st.error(text.md(f"run {kept[index].name} cannot be read: {exc}"))
                    return
                sides.append((compare.side(run.name, run.class_names, kinds.input_format(run),
                                           predictor, explainer, drawn), run.dataset.label))
        st.markdown(text.md(compare.verdict(sides[0][0], sides[1][0])))
        for column, (side, dataset), key in zip(st.columns(2), sides, ("cmp_a", "cmp_b"),
                                                strict=True):
            with column:
                _column(side, dataset, f"draw_{key}")
