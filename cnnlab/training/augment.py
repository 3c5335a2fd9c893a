"""Augmentation: random shifts, small rotations and zoom of training images, by name.

The strengths (``off``, ``light``, ``strong``) are :mod:`cnnlab.runs.augmentation`.

The work is done by Keras's preprocessing layers (``RandomTranslation``,
``RandomRotation``, ``RandomZoom``), applied in the ``tf.data`` input pipeline
(:func:`cnnlab.training.feeding.training_batches`), never inside the model: the saved
model, its per-epoch weights, Feature maps, code export and the layer table are the same
with or without augmentation, and inference never sees it. Validation and test images are
never augmented. Pixels outside the image are filled with the nearest edge pixel (black
around a digit, the border colour around a photo).

Seeded: the layers draw from Keras seed generators started from the run's seed, so the same
seed gives the same augmented batches. Images stay uint8 (augmented values are rounded).

TensorFlow and Keras are imported inside the functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnlab.runs.augmentation import STRENGTHS, check

MAX_EXAMPLES = 64  # augmented copies per image that augmented_examples makes at most
MAX_PIXELS = 64 * 2**20  # uint8 values augmented_examples returns at most (64 MB)


def keras_layers(name: str, seed: int) -> list:
    """The Keras preprocessing layers for strength ``name``, seeded (empty for ``off``).

    Args:
        name: one of :data:`cnnlab.runs.augmentation.NAMES`.
        seed: the run's seed; each layer starts its own seed generator from it.
    Returns:
        ``[RandomTranslation, RandomRotation, RandomZoom]`` (those that are active), to be
        called with ``training=True`` on float ``(batch, height, width, channels)`` images.
    """
    from keras import layers

    s = STRENGTHS[check(name)]
    seeds = [(seed + k) % 2**31 for k in range(3)]  # one generator per layer, all from seed
    made = []
    fill = {"fill_mode": "nearest", "interpolation": "bilinear"}
    if s.shift:
        made.append(layers.RandomTranslation(s.shift, s.shift, seed=seeds[0], **fill))
    if s.rotation_degrees:
        made.append(layers.RandomRotation(s.rotation_degrees / 360, seed=seeds[1], **fill))
    if s.zoom:
        made.append(layers.RandomZoom(s.zoom, s.zoom, seed=seeds[2], **fill))
    return made


def augment_batch(images: Any, made: list) -> Any:
    """``images`` (uint8 ``(batch, h, w, c)`` tensor) through ``made`` layers, back to uint8.

    Works eagerly and inside ``tf.data`` ``map``; with no layers the batch is returned as is.
    """
    if not made:
        return images
    import tensorflow as tf

    x = tf.cast(images, tf.float32)  # (batch, height, width, channels)
    for layer in made:
        x = layer(x, training=True)
    return tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)


def pipeline_map(name: str, seed: int):
    """A ``tf.data`` map function ``(images, labels) -> (augmented images, labels)``.

    Returns None for ``off`` (the pipeline then skips the map). Map it without parallel
    calls: the layers' seed generators then advance in batch order, so a seed repeats its run.
    """
    made = keras_layers(name, seed)
    if not made:
        return None
    import tensorflow as tf

    # Keras's layers trace without AutoGraph (they are written for graphs); converting their
    # code took 0.3-0.7 s of every job's start here, twice what tracing them plainly takes.
    @tf.autograph.experimental.do_not_convert
    def apply(images, labels):
        return augment_batch(images, made), labels

    return apply


def augmented_examples(images: np.ndarray, count: int, strength: str = "light",
                       seed: int = 0) -> np.ndarray:
    """``count`` randomly augmented copies of each image, for previews and small data sets.

    Args:
        images: uint8 ``(n, height, width, channels)`` or ``(n, height, width)``.
        count: copies per image, 1 to :data:`MAX_EXAMPLES`.
        strength: one of :data:`cnnlab.runs.augmentation.NAMES` (``off`` gives plain copies).
        seed: the same seed and inputs always give the same copies.
    Returns:
        uint8 ``(n, count, height, width[, channels])``, the input's layout with a copy axis.
        To multiply a labelled set: ``out.reshape(-1, *images.shape[1:])`` pairs with
        ``np.repeat(labels, count)``.
    Raises:
        ValueError: bad ``images``, ``count``, ``strength`` or ``seed``, named with the value.

    Example:
        >>> augmented_examples(np.zeros((2, 28, 28, 1), np.uint8), 3).shape  # doctest: +SKIP
        (2, 3, 28, 28, 1)
    """
    check(strength)
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or 0 in images.shape[1:]:
        raise ValueError(f"images must be uint8 (n, height, width[, channels]); received "
                         f"{images.dtype} {images.shape}")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) \
            or not 1 <= count <= MAX_EXAMPLES:
        raise ValueError(f"count must be an integer from 1 to {MAX_EXAMPLES}; received {count!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed < 2**31:
        raise ValueError(f"seed must be an integer from 0 to {2**31 - 1}; received {seed!r}")
    if images.size * count > MAX_PIXELS:
        raise ValueError(f"{len(images)} images x {count} copies of {images.shape[1:]} are "
                         f"{images.size * count:,} values, more than {MAX_PIXELS:,}; "
                         "pass fewer images or copies")
    grey = images.ndim == 3
    batch = np.repeat(images[..., None] if grey else images, count, axis=0)
    out = batch if len(batch) == 0 else np.asarray(
        augment_batch(batch, keras_layers(strength, int(seed))))
    out = out.reshape(len(images), count, *out.shape[1:])
    return out[..., 0] if grey else out


def preview_grid(images: np.ndarray, count: int, strength: str, seed: int = 0,
                 scale: int = 2, gap: int = 2) -> np.ndarray:
    """One picture: a row per image, the original first, then ``count`` augmented copies.

    Args:
        images: uint8 ``(n, height, width[, channels])``, channels 1 or 3.
        count: augmented copies per row (see :func:`augmented_examples`).
        strength: one of :data:`cnnlab.runs.augmentation.NAMES`.
        seed: the copies' seed.
        scale: each pixel becomes ``scale`` x ``scale`` (nearest neighbour), to be seen.
        gap: grey pixels between the tiles, before scaling.
    Returns:
        uint8 ``(rows, columns)`` for grey images, ``(rows, columns, 3)`` for colour.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    copies = augmented_examples(images, count, strength, seed)  # (n, count, h, w, c)
    n, _, height, width, channels = copies.shape
    tiles = np.concatenate([images[:, None], copies], axis=1)  # (n, 1 + count, h, w, c)
    grid = np.full((n * (height + gap) + gap, (count + 1) * (width + gap) + gap, channels),
                   128, np.uint8)
    for row in range(n):
        for column in range(count + 1):
            top, left = gap + row * (height + gap), gap + column * (width + gap)
            grid[top:top + height, left:left + width] = tiles[row, column]
    grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    return grid[..., 0] if channels == 1 else grid


__all__ = ["MAX_EXAMPLES", "augment_batch", "augmented_examples", "keras_layers",
           "pipeline_map", "preview_grid"]
