"""The Draw page's "Inside the decision" tabs: why this answer, what a unit sees, transform
(the first two for colour images too; transforms move grey drawings only).

:func:`panel` draws the three tabs and returns the (possibly transformed) image the page then
predicts. Computation lives in :mod:`cnnlab.inspect` (attribution, receptive, transform) and
pictures in :mod:`cnnlab.views.overlay`; the explainer is kept with its run
(:func:`cnnlab.workspaces.models.tool`), not in the session, so it goes when the run does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from cnnlab.architecture import layer_types, shapes
from cnnlab.inspect import attribution, inference, receptive, transform
from cnnlab.inspect.preprocess import Preprocessed
from cnnlab.views import overlay
from cnnlab.workspaces import models
from ui import images, numbers, text

TABS = ("Why this answer?", "What does a unit see?", "Transform")
SLIDERS = {"dx": "draw_tf_dx", "dy": "draw_tf_dy", "angle": "draw_tf_angle",
           "scale": "draw_tf_scale", "thickness": "draw_tf_thick"}  # transform's argument: key
SCALE = 8  # screen pixels per input pixel in the pictures
PICTURE_PX = 28 * SCALE  # the width the maps are shown at (sent at the input's size)
DRAWING_PX = 224  # width of the outlined drawing
UNIT_BOX_PX = 136  # a unit's channel, row and column boxes: wide enough for Streamlit's +/-
STEP = {"dx": transform.SWEEP_SHIFTS[1] - transform.SWEEP_SHIFTS[0],
        "dy": transform.SWEEP_SHIFTS[1] - transform.SWEEP_SHIFTS[0],
        "angle": transform.SWEEP_ANGLES[1] - transform.SWEEP_ANGLES[0]}


def explainer_of(run: Any, summary: shapes.Summary) -> attribution.Explainer | str:
    """The explainer of ``run`` (built once per run, shared), or why there is none."""
    def build() -> attribution.Explainer | str:
        try:
            return attribution.Explainer(run.model, summary)
        except ValueError as exc:
            return str(exc)

    return models.tool(run, "explainer", build)


def window_rows(summary: shapes.Summary) -> list:
    """The conv and pooling rows (layer types with a kernel or a pool window)."""
    return [row for row in receptive.unit_rows(summary)
            if {"kernel_size", "pool_size"} & set(layer_types.REGISTRY[row.type].field_names)]


def transformed(image: np.ndarray) -> np.ndarray:
    """The drawing as the Transform tab's sliders move it, read before the sliders are drawn
    (the prediction is shown first): their values from the last run, the defaults at first."""
    values = {name: st.session_state[key] for name, key in SLIDERS.items()
              if key in st.session_state}
    return transform.transform(image, **values) if values else image


def transform_tab(image: np.ndarray, moved: np.ndarray) -> None:
    """Sliders that change the drawing before the prediction (:func:`transformed` read them
    for this run), and what the model sees."""
    st.caption("While this tab is open, the prediction above is for your drawing as these "
               "sliders change it.")
    cols = st.columns(5)
    cols[0].slider("shift right (px)", -10, 10, 0, key=SLIDERS["dx"])
    cols[1].slider("shift down (px)", -10, 10, 0, key=SLIDERS["dy"])
    cols[2].slider("rotate (°)", -45, 45, 0, 5, key=SLIDERS["angle"])
    cols[3].slider("scale", 0.5, 1.5, 1.0, 0.1, key=SLIDERS["scale"])
    cols[4].slider("thinner or thicker", -2, 2, 0, key=SLIDERS["thickness"])
    if not np.array_equal(moved, image):
        images.picture(overlay.grey_rgb(moved), caption="what the model sees now", width=28 * 4,
                       alt="your drawing as the sliders change it: what the model sees now")


def stability_strip(run: Any, image: np.ndarray) -> None:
    """The answer for the drawing shifted and rotated a little: one batched prediction."""
    result = transform.sweep(image, lambda batch: inference.predict_batch(run.model, batch))
    top = result.predicted()
    names = {"dx": f"right, {STEP['dx']} px a step", "dy": f"down, {STEP['dy']} px a step",
             "angle": f"rotated, {STEP['angle']}° a step"}
    table: dict[str, list[str]] = {}
    for kind, index, probs in zip(result.kinds, top, result.probabilities, strict=True):
        table.setdefault(names[kind], []).append(  # st.table's cells are Markdown
            f"{text.md(run.class_names[index])} · {probs[index]:.0%}")
    st.markdown("**Stability** — the answer (and its confidence) for your drawing moved a "
                "little more: column 0 is the drawing as the sliders above leave it")
    steps = len(transform.SWEEP_SHIFTS) // 2
    frame = pd.DataFrame(list(table.values()), index=list(table),
                         columns=[f"{i:+d}" if i else "0" for i in range(-steps, steps + 1)])
    st.table(frame)  # a plain table: 3×7 cells, readable on a projector and as page text


def why_tab(run: Any, summary: shapes.Summary, image: np.ndarray, probs: np.ndarray,
            key: str = "draw") -> None:
    """Grad-CAM (at a conv layer the learner picks) and the signed saliency map over the input,
    for the predicted or a picked class."""
    explainer = explainer_of(run, summary)
    if isinstance(explainer, str):
        st.info(text.md(explainer))
        return
    picked = class_box(run.class_names, probs, f"{key}_why_class")
    layer = layer_box(explainer, f"{key}_why_layer")
    result = explainer.explain(image, picked, layer)
    name = run.class_names[picked]
    pictures, alts, captions = [], [], []  # short, to keep a row; the details below
    if result.gradcam is not None:
        rows, cols = result.gradcam_resolution
        pictures.append(overlay.heat_overlay(image, result.gradcam, 1))
        alts.append(f"Grad-CAM heat map of {result.gradcam_layer} over the input "
                    f"({resolution(result, image)}): bright where the evidence for {name} "
                    "came from")
        captions.append(f"Grad-CAM · {result.gradcam_layer} · {rows}×{cols} on "
                        f"{image.shape[0]}×{image.shape[1]}")
    pictures.append(overlay.signed_overlay(image, result.gradient, 1))
    alts.append(f"saliency map over the input: red where more brightness would raise {name}'s "
                "score, blue where less would")
    captions.append("saliency: red raises, blue lowers")
    images.grid(pictures, alts, captions, width=PICTURE_PX)
    if result.message:
        st.info(text.md(result.message))
    flat = gradcam_note(result, name)
    if flat:
        st.caption(flat)
    said = [] if result.gradcam is None else [
        f"Grad-CAM: where the evidence for {name} came from, {result.gradcam_layer}'s "
        f"{resolution(result, image)}."]
    said.append(f"Saliency: red where more brightness would raise {name}'s score, blue where "
                "less would.")
    st.caption(f"{text.md(' '.join(said))} {SIGNED_NOTE}")


SIGNED_NOTE = ("The saliency map keeps the gradient's sign. Its size alone, the classic saliency "
               "map, hardly changes when the network's weights are made random: on a dark "
               "background it mostly shows where the ink is, not what the network learned "
               "(see the sanity check under “Cover it up”).")


def class_box(class_names: Sequence[str], probs: np.ndarray, key: str) -> int:
    """A box to pick the class to explain, the predicted one at first."""
    top = int(np.argmax(probs))
    return st.selectbox("class", list(range(len(class_names))), index=top, key=key,
                        format_func=lambda i: f"{class_names[i]} ({probs[i]:.0%})"
                        + (" · predicted" if i == top else ""))


def layer_box(explainer: attribution.Explainer, key: str) -> str | None:
    """A box to pick Grad-CAM's conv layer, the last one at first (None without a conv
    layer)."""
    if not explainer.layers:
        return None
    return st.selectbox("Grad-CAM's layer", explainer.layers, index=len(explainer.layers) - 1,
                        key=key, help="A layer nearer the input has a finer map of smaller "
                                      "regions; the last one's cells have each seen more.")


def resolution(result: attribution.Explanation, image: np.ndarray) -> str:
    """Grad-CAM's own resolution against the input's: "11×11 map placed over 28×28"."""
    rows, cols = result.gradcam_resolution
    return f"{rows}×{cols} map placed over {image.shape[0]}×{image.shape[1]}"


def gradcam_note(result: attribution.Explanation, class_name: str) -> str:
    """Why a Grad-CAM picture is plain grey-and-black: a map that is zero everywhere (as
    Markdown, ``class_name`` escaped)."""
    if result.gradcam is None or float(result.gradcam.max()) > 0:
        return ""
    return (f"Grad-CAM is zero everywhere here: weighted by their gradients, "
            f"{result.gradcam_layer}'s maps add up to evidence against {text.md(class_name)} "
            f"at every place (Grad-CAM keeps only the positive part), so it shows nothing.")


def unit_tab(summary: shapes.Summary, image: np.ndarray, prepared: Preprocessed | None,
             maps: dict[str, np.ndarray], key: str = "draw") -> None:
    """Pick a unit of a conv or pooling layer; outline the input region it can see, on the input
    and (with ``prepared``) on the drawing, and mark the unit on its feature map."""
    rows = window_rows(summary)
    if not rows:
        st.info("This network has no conv or pooling layer: every unit of a dense layer sees "
                "the whole image.")
        return
    by_name = {row.name: row for row in rows}
    # Boxes at their own widths, in a row that wraps: four equal columns put the last box's
    # "+" at the column's right edge, under the pictures' fullscreen button (issue 22).
    line = st.container(horizontal=True, wrap=True, vertical_alignment="bottom")
    name = line.selectbox("layer", list(by_name), key=f"{key}_unit_layer", width=160)
    row = by_name[name]
    h, w, c = row.output_shape
    boxes = {"channel": ("ch", c, 0), "row": ("row", h, h // 2), "column": ("col", w, w // 2)}
    picked = [numbers.whole_number(line, label, 0, size - 1, key=f"{key}_unit_{part}_{name}",
                                   value=first, answer=st, note=f"{name}'s maps are {h}×{w}×{c}",
                                   width=UNIT_BOX_PX)
              for label, (part, size, first) in boxes.items()]
    if None in picked:
        return  # the reason is shown under the boxes
    channel, y, x = picked
    box = receptive.input_region(summary, name, int(y), int(x))
    side = "×".join(map(str, summary.input_shape[:2]))  # 28×28 for a digits run
    size = f"{box[2] - box[0]}×{box[3] - box[1]}"
    value = maps[name][int(y), int(x), int(channel)] if name in maps else None
    shown = f"; its value now: {value:.3g}" if value is not None else ""
    pictures = [overlay.outlined(image, box, SCALE)]
    alts = [f"the {side} input with the region {name} ({y}, {x}) sees outlined"]
    captions = [f"{name} ({y}, {x}) sees rows {box[0]}–{box[2] - 1}, columns {box[1]}–"
                f"{box[3] - 1} of the {side} input ({size}; every channel of a layer sees the "
                f"same region){shown}"]
    if name in maps:
        pictures.append(unit_on_map(maps[name][..., int(channel)], int(y), int(x)))
        captions.append(f"the unit on {name}'s map, channel {channel}")
        alts.append(f"{name}'s feature map, channel {channel}, with unit ({y}, {x}) outlined")
    drawing = None if prepared is None else prepared.steps[0][1]
    back = None if drawing is None else receptive.to_drawing(box, prepared.placement,
                                                             drawing.shape)
    if back is not None:
        factor = max(1, DRAWING_PX // max(drawing.shape))
        pictures.append(overlay.outlined(drawing, back, factor, width=3))
        captions.append("the same region of your drawing")
        alts.append(f"your drawing with the region {name} ({y}, {x}) sees outlined")
    images.grid(pictures, alts, captions, width=28 * SCALE)
    if back is None and drawing is not None:
        st.caption("This region holds none of your drawing (it is in the margin added around "
                   f"it), so it is outlined on the {side} input only.")


def unit_on_map(values: np.ndarray, y: int, x: int) -> np.ndarray:
    """One channel of a feature map (scaled to 0..1, as large as the input picture) with the
    unit at ``(y, x)`` outlined."""
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    factor = max(1, 28 * SCALE // max(values.shape))
    return overlay.outlined(scaled, (y, x, y + 1, x + 1), factor)


def _keep_tab(key: str) -> None:
    st.session_state[f"{key}_kept"] = st.session_state[key]


def open_tabs(labels: tuple[str, ...], key: str) -> list:
    """Tabs that know which one is open (``.open``), the last one chosen open at first."""
    kept = st.session_state.get(f"{key}_kept")
    return st.tabs(labels, key=key, default=kept if kept in labels else None,
                   on_change=_keep_tab, args=(key,))


def decision_tabs(run: Any, predictor: Any, image: np.ndarray, probs: np.ndarray,
                  key: str) -> None:
    """"Why this answer?" and "What does a unit see?" for any image, grey or colour (Feature
    maps' test image or drawing, Draw's colour upload), the open one only; the outline is on
    the input only (there is no drawing to map back to)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]  # (height, width); a colour image stays (height, width, 3)
    summary = shapes.summarize(run.architecture, num_classes=len(run.class_names))
    why, unit = open_tabs(TABS[:2], f"{key}_tabs")
    if why.open:
        with why:
            why_tab(run, summary, image, probs, key)
    if unit.open:
        with unit:
            maps = {m.name: m.values for m in predictor.feature_maps(image) if m.spatial}
            unit_tab(summary, image, None, maps, key)


def panel(run: Any, predictor: Any, prepared: Preprocessed, image: np.ndarray,
          answer: Callable[[np.ndarray, np.ndarray], None]) -> tuple[np.ndarray, np.ndarray]:
    """The three tabs, of which only the open one is computed, after ``answer(image,
    probabilities)`` has shown the prediction; returns the image predicted (moved by the
    Transform tab while it is open) and its probabilities."""
    why, unit, change = open_tabs(TABS, "draw_tabs")
    moved = transformed(image) if change.open else image
    probs = predictor.probabilities(moved)
    answer(moved, probs)  # on screen before any explanation is computed
    if change.open:
        with change:
            transform_tab(image, moved)
            stability_strip(run, moved)  # around the drawing as the sliders leave it
        return moved, probs
    summary = shapes.summarize(run.architecture, num_classes=len(run.class_names))
    if why.open:
        with why:
            why_tab(run, summary, image, probs)
    if unit.open:
        with unit:
            maps = {m.name: m.values for m in predictor.feature_maps(image) if m.spatial}
            unit_tab(summary, image, prepared, maps)
    return moved, probs
