"""Draw: draw with the mouse, a pen or a finger, and watch the network think."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnlab.data import kinds, refs
from cnnlab.inspect import for_run, preprocess
from cnnlab.views import charts, render
from ui import (
    canvas,
    chart_specs,
    compare,
    explain,
    fool,
    images,
    layout,
    occlude,
    patches,
    state,
    text,
    widgets,
)

patches.use_app_navigation()  # opened first on a fresh server: see ui/patches.py

MAX_UPLOAD_MB = 5
CANVAS_COLUMN_PX = 290
STEP_PX = 110  # side of each preprocessing step's picture


def drawing_input(fmt: kinds.InputFormat, subject: str) -> preprocess.Preprocessed | None:
    """The canvas (grey runs of any size) or an uploaded image file, prepared as the model's
    training images were (``fmt``, the run's input record); None if nothing yet. A colour run
    gets no canvas: the page says why and offers the upload. ``subject``: what to draw."""
    rgba, label = None, "…or classify an image file (PNG or JPEG)"
    if fmt.drawable:
        stroke = st.slider("pen width", 8, 40, 22, 2, key="draw_stroke")
        try:
            rgba = canvas.drawing(stroke, key="draw_canvas")
        except ValueError as exc:  # a payload no canvas of this size sends
            st.error(text.md(exc))
        st.caption(f"Draw {text.md(subject)}, large, in the middle.")
    else:
        st.info(for_run.canvas_refusal(fmt), icon=":material/palette:")
        label = "Classify a colour image file (PNG or JPEG)"
    upload = st.file_uploader(label, type=["png", "jpg", "jpeg"], key="draw_upload",
                              max_upload_size=MAX_UPLOAD_MB)
    test = st.session_state.get("draw_test_upload")  # the seam for tests: a file's bytes
    data = test if test is not None else None if upload is None else upload.getvalue()
    try:
        if data is not None:
            return for_run.prepare_upload(data, fmt)
        if rgba is not None:
            return for_run.prepare_canvas(np.asarray(rgba), fmt)
    except ValueError as exc:
        st.error(text.md(exc))
    return None


def predicted(run, pred, prepared: preprocess.Preprocessed, fmt: kinds.InputFormat,
              answer) -> tuple[np.ndarray, np.ndarray]:
    """(image the model saw, probabilities), shown by ``answer(image, probabilities)`` first:
    grey runs then get the three "Inside the decision" tabs; a colour image is predicted as
    it is, with the two tabs that take colour."""
    image = prepared.as_uint8()  # (height, width) grey or (height, width, 3) colour
    if fmt.drawable:
        return explain.panel(run, pred, prepared, image, answer)
    probs = pred.probabilities(image)
    answer(image, probs)
    explain.decision_tabs(run, pred, image, probs, key="draw")
    st.caption("Transforms (shift, rotate, thicken) work on grey drawings only.")
    return image, probs


def compact_maps(pred, image: np.ndarray) -> None:
    maps = [m for m in pred.feature_maps(image) if m.spatial and m.type == "conv2d"]
    if not maps:
        return
    st.markdown("**What the conv layers see in your drawing**")
    for fmap in maps:
        rgb, _, _ = render.channel_grid(fmap.values, scale=2, cols=16)
        height, width, channels = fmap.output_shape
        images.picture(rgb, caption=f"{fmap.name} · {height}×{width}×{channels}",
                       alt=f"{fmap.name}: its {channels} feature maps of your drawing, "
                           f"{height}×{width} each")


def show_answer(run, prepared: preprocess.Preprocessed, image: np.ndarray,
                probs: np.ndarray) -> None:
    """The prediction, its chart and the preparation steps."""
    top = int(np.argmax(probs))
    st.subheader(f"Prediction: {text.md(run.class_names[top])} ({probs[top]:.0%})")
    chart_specs.show(st, charts.class_bar_chart, probs, run.class_names, "probability", top,
                     layout.presentation(), key="draw_probs",  # coming back: built already
                     description=text.bars_description("probability", probs, run.class_names))
    titles = [title for title, _ in prepared.steps]  # equal squares: the captions line up
    images.grid([render.thumbnail(step, size=STEP_PX) for _, step in prepared.steps],
                alts=[f"your drawing, step {i} of its preparation: {title}"
                      for i, title in enumerate(titles, 1)], captions=titles, width=STEP_PX)


def render_page() -> None:
    st.title("Draw")
    run = widgets.model_or_offer("draw")
    if run is None:
        return
    fmt = kinds.input_format(run)
    subject = for_run.drawing_subject(run.class_names)
    if fmt.drawable and run.dataset.kind == refs.DRAWN:
        st.info(f"The current model, {text.md(run.name)}, was trained on your drawings: it "
                f"knows {text.md(', '.join(run.class_names))}. Draw one of those (classes and "
                "examples are on the My classes page).")
    elif fmt.drawable and tuple(run.class_names) != kinds.DIGITS:
        st.info(f"The current model, {text.md(run.name)}, was trained on "
                f"{text.md(run.dataset.label)}: it knows only "
                f"{text.md(', '.join(run.class_names))}, so whatever you draw, it answers with "
                "one of those. Train on mnist-5k for digits.")
    # The canvas's column is as wide as the canvas (280 px and its border): a share of the
    # page's width was narrower than the canvas on a 1024 px projector.
    row = st.container(horizontal=True, gap="large")
    left, right = row.container(width=CANVAS_COLUMN_PX), row.container()
    with left:
        prepared = drawing_input(fmt, subject)
    with right:
        if prepared is None or prepared.blank:
            st.info(f"Draw {text.md(subject)} in the black box: the prediction appears when "
                    "you lift the pen." if fmt.drawable else f"Upload a colour image: it is "
                    f"resized to {fmt.height}×{fmt.width}, the size {text.md(run.name)} was "
                    "trained on.", icon=":material/arrow_back:")
            return
        pred = state.predictor(run)
        head = st.container()  # the prediction, drawn above the tabs that may transform it

        def answer(image: np.ndarray, probs: np.ndarray) -> None:
            with head:
                show_answer(run, prepared, image, probs)

        image, probs = predicted(run, pred, prepared, fmt, answer)
        st.session_state.last_drawing = image.reshape(fmt.shape)  # (height, width, channels)
        compact_maps(pred, image)
        st.page_link("pages/feature_maps.py", label="See every layer for this drawing",
                     icon=":material/layers:", query_params={"input": "drawing"})
        compare.section(prepared.steps[0][1])  # the drawing as drawn: each run prepares it
        fool.section(run, image, probs)
        occlude.section(run, image, probs, key="draw")


render_page()
