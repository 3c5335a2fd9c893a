"""Draw: draw a digit with the mouse and watch the network think."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnlab.data import kinds
from cnnlab.inspect import preprocess
from cnnlab.views import charts, render
from ui import compare, explain, layout, patches, state, widgets

patches.use_app_navigation()  # opened first on a fresh server: see ui/patches.py

MAX_UPLOAD_MB = 5
CANVAS_COLUMN_PX = 290
DRAWN_SHAPE = (28, 28, 1)  # what preprocess makes of a drawing
STEP_PX = 110  # side of each preprocessing step's picture


def drawing_input(preparation: str) -> preprocess.Preprocessed | None:
    """The canvas (or an uploaded image file) prepared as the model's training images were
    (``preparation``, the run's record); None if nothing yet."""
    stroke = st.slider("pen width", 8, 40, 22, 2, key="draw_stroke")
    try:
        rgba = widgets.canvas_rgba(stroke, key="draw_canvas")
    except ValueError as exc:  # a payload no canvas of this size sends
        st.error(str(exc))
        rgba = None
    st.caption("Draw one digit, large, in the middle. Undo and clear are in the canvas toolbar.")
    upload = st.file_uploader("…or classify an image file (PNG or JPEG)", type=["png", "jpg",
                              "jpeg"], key="draw_upload", max_upload_size=MAX_UPLOAD_MB)
    try:
        if upload is not None:
            return preprocess.preprocess_image_bytes(upload.getvalue(), preparation=preparation)
        if rgba is not None:
            return preprocess.preprocess_canvas(np.asarray(rgba), preparation)
    except ValueError as exc:
        st.error(str(exc))
    return None


def compact_maps(pred, image: np.ndarray) -> None:
    maps = [m for m in pred.feature_maps(image) if m.spatial and m.type == "conv2d"]
    if not maps:
        return
    st.markdown("**What the conv layers see in your drawing**")
    for fmap in maps:
        rgb, _, _ = render.channel_grid(fmap.values, scale=2, cols=16)
        st.image(rgb, caption=f"{fmap.name} · {'×'.join(map(str, fmap.output_shape))}")


def render_page() -> None:
    st.title("Draw")
    run = widgets.model_or_offer("draw")
    if run is None:
        return
    shape = tuple(run.architecture.input_shape or ())
    if shape != DRAWN_SHAPE:
        st.warning(f"The current model, {run.name}, takes {'×'.join(map(str, shape))} images; "
                   "drawings are prepared as 28×28 grey images, so this page cannot feed it. "
                   "Pick or train a model on a 28×28 grey data set (e.g. mnist-5k) on the Train "
                   "page.")
        st.page_link("pages/train.py", label="Train page →", icon=":material/model_training:")
        return
    if tuple(run.class_names) != kinds.DIGITS:
        st.info(f"The current model, {run.name}, was trained on {run.dataset}: it only knows "
                f"the classes {', '.join(run.class_names)}, so it will still answer, but your "
                "digits will look like those to it. Train on mnist-5k for digits.")
    # The canvas's column is as wide as the canvas (280 px and its border): a share of the
    # page's width was narrower than the canvas on a 1024 px projector.
    row = st.container(horizontal=True, gap="large")
    left, right = row.container(width=CANVAS_COLUMN_PX), row.container()
    with left:
        prepared = drawing_input(run.input_preparation)
    with right:
        if prepared is None or prepared.blank:
            st.info("👈 Draw a digit in the black box: the prediction appears when you lift "
                    "the pen.")
            return
        pred = state.predictor(run)
        head = st.container()  # the prediction, drawn above the tabs that may transform it
        image, probs = explain.panel(run, pred, prepared, prepared.as_uint8())  # (28, 28) uint8
        st.session_state.last_drawing = image[..., None]
        with head:
            top = int(np.argmax(probs))
            st.subheader(f"Prediction: {run.class_names[top]} ({probs[top]:.0%})")
            st.altair_chart(charts.class_bar_chart(probs, run.class_names, "probability", top,
                                                layout.presentation()),
                            key="draw_probs")
            titles = [title for title, _ in prepared.steps]
            st.image([render.thumbnail(step, size=STEP_PX) for _, step in prepared.steps],
                     caption=titles, width=STEP_PX)  # equal squares: the captions line up
        compact_maps(pred, image)
        st.page_link("pages/feature_maps.py", label="See every layer for this drawing",
                     icon=":material/layers:", query_params={"input": "drawing"})
        compare.section(prepared.steps[0][1])  # the drawing as drawn: each run prepares it


render_page()
