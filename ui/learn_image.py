"""The Learn page's "On a real image" source: a built-in digit, or the student's own PNG or
JPEG, grey or colour (one kernel on each colour channel, or on the image converted to grey).

The seam for tests: bytes put in ``st.session_state.learn_test_upload`` replace the uploader.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from cnnlab.learn import colour_image, kernels
from cnnlab.views import grid_html
from ui import images, numbers, text

SOURCES = ("a built-in digit", "my own image")
COLOUR_MODES = {"each colour channel": "channels", "converted to grey": "grey"}
KEEP = "session"
MAX_UPLOAD_MB = 5

Planes = list[tuple[str, np.ndarray]]


def _upload() -> bytes | None:
    test = st.session_state.get("learn_test_upload")
    if test is not None:
        return test
    upload = st.file_uploader("an image (PNG or JPEG, grey or colour)", ["png", "jpg", "jpeg"],
                              key="img_upload", max_upload_size=MAX_UPLOAD_MB)
    return None if upload is None else upload.getvalue()


def own_image() -> tuple[Planes, str] | None:
    """The uploaded image's planes and a description, or None (with a message) without one."""
    data = _upload()
    if data is None:
        st.info("Upload a photo or a drawing: it is made at most "
                f"{colour_image.MAX_SIDE} pixels a side, then convolved.")
        return None
    try:
        rgb = colour_image.learn_image(data)
    except ValueError as exc:
        st.error(text.md(exc))
        return None
    if not colour_image.is_colour(rgb):
        return colour_image.planes(rgb, "grey")[:1], f"your image, {rgb.shape[0]}×{rgb.shape[1]}"
    mode = st.radio("a colour image", tuple(COLOUR_MODES), key="img_colour_mode",
                    horizontal=True, persist_state=KEEP)
    images.picture(rgb, alt=f"your image, {rgb.shape[0]}×{rgb.shape[1]} pixels, in colour",
                   caption="your image", width=min(4 * rgb.shape[1], 256))
    if COLOUR_MODES[mode] == "grey":
        st.caption("Converted to grey (0.299·red + 0.587·green + 0.114·blue): one kernel, one "
                   "map, as on a grey network.")
    else:
        st.caption("A conv layer on a colour image has one 3-D kernel: a slice per colour "
                   "channel, and it adds the three results. Here the same slice is shown on each "
                   "channel on its own, so you can see which colour carries an edge.")
    return (colour_image.planes(rgb, COLOUR_MODES[mode]),
            f"your colour image, {rgb.shape[0]}×{rgb.shape[1]}")


def choose(digits: Callable[[str], tuple[np.ndarray, np.ndarray] | None]) -> (
        tuple[Planes, str] | None):
    """``([(title, uint8 2-D image)], what it is)`` from the chosen source; None without one.

    Args:
        digits: the page's loader of the built-in test digits (``(images, labels)`` or None
            after saying what is shown instead).
    """
    source = st.radio("image", SOURCES, key="img_source", horizontal=True, persist_state=KEEP)
    if source == SOURCES[1]:
        return own_image()
    loaded = digits("showing a hand-drawn 7 instead")
    images, labels = loaded if loaded else (kernels.sample_digit()[None], np.array([7]))
    index = numbers.whole_number(st, "digit no.", 0, len(images) - 1, key="img_digit",
                                 persist_state=KEEP)
    if index is None:
        return None
    return [("input", images[index])], f"digit no. {index}, a {labels[index]}"


def stages_row(image: np.ndarray, kernel: np.ndarray, padding: str, what: str) -> None:
    """One 2-D image's input, feature map, ReLU and pooling pictures in a row, the kernel
    first; ``what`` says which image it is."""
    stages = kernels.feature_map_stages(image, kernel, padding)
    vmax = float(np.abs(stages[1].values).max()) or 1.0
    st.markdown(" → ".join(f"{stage.name} **{stage.shape[0]}×{stage.shape[1]}**"
                           for stage in stages) + f" ({what})")
    # The kernel at its own width, the pictures share the rest: a column of a fixed share was
    # too narrow for a 5×5 kernel on a 1024 px screen and cut its last column (issue 22).
    row = st.container(horizontal=True, gap="medium")
    with row.container(width="content"):
        st.markdown(f"**Kernel {kernel.shape[0]}×{kernel.shape[1]}**")
        st.markdown(grid_html.grid_table(kernel, base="kernel", numbered=False),
                    unsafe_allow_html=True)
    cols = row.container().columns(len(stages))
    for col, stage in zip(cols, stages, strict=True):
        picture = grid_html.heat_image(stage.values, 1.0 if stage is stages[0] else vmax,
                                       diverging=stage is not stages[0])
        with col:
            images.picture(picture, caption=f"{stage.name}: {stage.shape[0]}×{stage.shape[1]}",
                           alt=f"{what}: its {stage.name}, {stage.shape[0]}×{stage.shape[1]}")
        col.caption(stage.note)
    st.caption(f"blue: negative, white: 0, red: positive (full colour at ±{vmax:.2f})")
