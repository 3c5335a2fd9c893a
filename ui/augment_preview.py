"""The Train page's augmentation: the strength picker and the grid of augmented examples.

Grids are kept in a cache of the server's memory budget, weighed by their bytes (a grid of
512×512 colour images is 22 MB), not in ``st.cache_data`` with a count of entries.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from cnnlab.data import datasets
from cnnlab.memory import budget
from cnnlab.runs import augmentation
from cnnlab.training import augment
from ui import images

PREVIEW_ROWS = 4  # training images shown, one per class while classes last
PREVIEW_COPIES = 6  # augmented copies of each
GRIDS = budget.ByteCache("augmentation previews")


def choice(box, running: bool) -> str:
    """The augmentation select box, placed in ``box`` (the settings row); returns its name."""
    return box.selectbox("augmentation", list(augmentation.NAMES), key="train_augment",
                         disabled=running, width=130,
                         help="random shifts, small rotations and zoom of the training images, "
                              "new every epoch, only while training: " + "; ".join(
                                  f"{name}: {augmentation.describe(name)}"
                                  for name in augmentation.NAMES if name != "off"))


def _grid(images: np.ndarray, strength: str, seed: int) -> np.ndarray:
    """The grid of ``images`` augmented, made once per (images, strength, seed)."""
    key = (hashlib.sha256(images.tobytes()).hexdigest(), images.shape, strength, seed)
    scale = 2 if max(images.shape[1:3]) <= 64 else 1  # 512-pixel tiles need no enlarging
    return GRIDS.get_or_build(key, lambda: augment.preview_grid(images, PREVIEW_COPIES,
                                                                strength, seed, scale=scale))


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
