"""The Train page's augmentation: the strength picker and the grid of augmented examples."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnlab.data import datasets
from cnnlab.runs import augmentation
from cnnlab.training import augment
from ui import images

PREVIEW_ROWS = 4  # training images shown, one per class while classes last
PREVIEW_COPIES = 6  # augmented copies of each


def choice(box, running: bool) -> str:
    """The augmentation select box, placed in ``box`` (the settings row); returns its name."""
    return box.selectbox("augmentation", list(augmentation.NAMES), key="train_augment",
                         disabled=running, width=130,
                         help="random shifts, small rotations and zoom of the training images, "
                              "new every epoch, only while training: " + "; ".join(
                                  f"{name}: {augmentation.describe(name)}"
                                  for name in augmentation.NAMES if name != "off"))


@st.cache_data(max_entries=16, show_spinner=False)
def _grid(images: np.ndarray, strength: str, seed: int) -> np.ndarray:
    return augment.preview_grid(images, PREVIEW_COPIES, strength, seed)


def preview(data: datasets.Dataset | None, strength: str, seed: int) -> None:
    """Under the settings: a few training images, each with augmented copies as training
    sees them (the first column is the original), or one line when augmentation is off."""
    if data is None:
        return
    if strength == "off":
        st.caption("Augmentation off: every epoch sees the training images as they are. "
                   "Choose light or strong to see what it does.")
        return
    per_class = datasets.sample_images(data, per_class=1, seed=seed)
    picks = np.concatenate(per_class)[:PREVIEW_ROWS]
    with st.spinner("augmenting a few examples…"):
        grid = _grid(np.ascontiguousarray(data.x_train[picks]), strength, seed)
    images.picture(grid, alt=f"{len(picks)} training images, each followed by "
                             f"{PREVIEW_COPIES} copies as augmentation {strength} changes them",
                   caption=f"augmentation {strength}: {augmentation.describe(strength)}. Left: a "
                   "training image; right: what training may see instead, a new draw every "
                   "epoch (test and validation images are never changed)")
