"""More drawings from a few: augmented copies with a changed stroke width, for drawn classes.

Each copy is :func:`cnnlab.training.augment.augmented_examples`'s random shift, rotation and
zoom (Keras's preprocessing layers, seeded), then its strokes thickened or thinned by one
3×3 grey dilation or erosion (:func:`cnnlab.inspect.transform.transform`'s ``thickness``),
chosen at random per copy: a pen of another width. Thinning is skipped for a copy it would
leave with less than half its ink (thin strokes would vanish).

TensorFlow is imported (by ``augment``) only when copies are made.

Example:
    >>> multiplied(np.zeros((2, 28, 28), np.uint8), 3).shape  # doctest: +SKIP
    (2, 3, 28, 28)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cnnlab.data.dataset import Dataset
from cnnlab.inspect import transform
from cnnlab.training import augment

WIDTH_CHANGES = (-1, 0, 1)  # erosions (< 0) or dilations (> 0) a copy may get
KEEP_INK = 0.5  # a thinned copy must keep this share of its ink, or it stays as it was


def multiplied(images: np.ndarray, copies: int, strength: str = "light",
               seed: int = 0) -> np.ndarray:
    """``copies`` changed copies of each grey image.

    Args:
        images: uint8 ``(n, height, width)``, ink bright on black.
        copies: copies per image, 1 to :data:`cnnlab.training.augment.MAX_EXAMPLES`.
        strength: ``light`` or ``strong`` (see :mod:`cnnlab.training.augment`); ``off`` changes
            the stroke width only.
        seed: the same seed and images give the same copies.
    Returns:
        uint8 ``(n, copies, height, width)``.
    Raises:
        ValueError: bad images, copies, strength or seed, named with the value received.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must be uint8 (n, height, width) grey; received "
                         f"{images.dtype} {images.shape}")
    moved = augment.augmented_examples(images, copies, strength, seed)  # (n, copies, h, w)
    rng = np.random.default_rng(seed)
    widths = rng.choice(WIDTH_CHANGES, size=moved.shape[:2])
    out = moved.copy()
    for (i, k), steps in np.ndenumerate(widths):
        if steps == 0:
            continue
        changed = transform.transform(moved[i, k], thickness=int(steps))
        if steps > 0 or changed.sum() >= KEEP_INK * moved[i, k].sum():
            out[i, k] = changed
    return out


def with_copies(data: Dataset, copies: int, strength: str = "light", seed: int = 0) -> Dataset:
    """``data`` with :func:`multiplied` copies of each training image added to its training
    split (shuffled in, seeded); the test split, ref and classes unchanged.

    Args:
        data: a grey data set (e.g. :meth:`cnnlab.data.drawn.DrawnSet.to_dataset`).
        copies: copies per training image; 0 returns ``data`` itself.
        strength, seed: as :func:`multiplied`.
    """
    if not copies:
        return data
    x_train = data.x_train[..., 0]  # (n, height, width): grey
    extra = multiplied(x_train, copies, strength, seed)  # (n, copies, height, width)
    images = np.concatenate([x_train, extra.reshape(-1, *x_train.shape[1:])])
    labels = np.concatenate([data.y_train, np.repeat(data.y_train, copies)])
    order = np.random.default_rng(seed).permutation(len(labels))
    return dataclasses.replace(
        data, x_train=images[order], y_train=labels[order],
        source=f"{data.source}; each training image with {copies} {strength} copies")
