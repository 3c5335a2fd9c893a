"""What ``fit`` is fed: the validation split and shuffled uint8 batches, cast per batch.

A data set's images stay uint8 (70,000 MNIST images are 55 MB so, 220 MB as float32):
batches are gathered from the uint8 arrays, the way Keras's own array adapter does, and
the model casts each batch to float32 (its ``Rescaling(1/255)`` does the scaling).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from cnnlab.training import augment as augmentation


def split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split training indices into train and validation, stratified by class and seeded.

    Args:
        y: the training labels, ``(n,)``.
        fraction: the share of each class held out for validation, 0 to 0.9 (0: none).
        seed: the random seed; the same inputs always give the same split.
    Returns:
        ``(train_indices, validation_indices)``: sorted int64 arrays partitioning ``range(n)``.
    Raises:
        ValueError: ``fraction`` is outside [0, 0.9], ``y`` is not 1-D, or the split leaves
            no training images.
    """
    if not isinstance(fraction, (int, float)) or not math.isfinite(fraction) \
            or not 0 <= fraction <= 0.9:
        raise ValueError(f"validation fraction must be a number from 0 to 0.9, got {fraction!r}"
                         "; 0.1 holds out a tenth of the training images, 0 none")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {y.shape}")
    if fraction == 0 or len(y) == 0:
        return np.arange(len(y), dtype=np.int64), np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    held = [rng.permutation(members)[:round(fraction * len(members))]
            for members in (np.flatnonzero(y == c) for c in np.unique(y))]
    train = np.ones(len(y), dtype=bool)
    train[np.concatenate(held)] = False
    if not train.any():
        raise ValueError(f"validation fraction {fraction} leaves no training images")
    return np.flatnonzero(train).astype(np.int64), np.flatnonzero(~train).astype(np.int64)


def training_batches(images: np.ndarray, labels: np.ndarray, indices: np.ndarray,
                     batch_size: int, epochs: int, seed: int,
                     augment: str = "off") -> tf.data.Dataset:
    """Batches for ``epochs`` epochs over ``images[indices]``, reshuffled every epoch.

    Args:
        images: uint8 ``(n, height, width, channels)``.
        labels: ``(n,)`` class indices.
        indices: which images to train on (e.g. the training part of a validation split).
        batch_size: images per batch; each epoch ends with one smaller batch if needed.
        epochs: how many epochs of batches to yield (pass ``steps_per_epoch`` to ``fit``).
        seed: the shuffle's seed; epoch ``e`` uses ``stateless_shuffle`` with ``(seed, e)``,
            so no global random state is read or changed.
        augment: a strength of :mod:`cnnlab.training.augment` (``off``: none); each batch is
            shifted, rotated and zoomed by Keras's layers seeded from ``seed``, still uint8.
    Returns:
        A ``tf.data.Dataset`` of ``(uint8 images, labels)`` batches.
    """
    full, rest = divmod(len(indices), batch_size)
    data = (tf.convert_to_tensor(images), tf.convert_to_tensor(labels))
    index_tensor = tf.constant(indices, dtype=tf.int64)
    seed_tensor = tf.constant(seed, dtype=tf.int64)

    def epoch_batches(epoch: tf.Tensor) -> tf.data.Dataset:
        order = tf.random.experimental.stateless_shuffle(
            index_tensor, seed=tf.stack([seed_tensor, epoch]))
        # Reshaping into full batches beats Dataset.batch (Keras's array adapter does this).
        batches = tf.data.Dataset.from_tensor_slices(
            tf.reshape(order[:full * batch_size], [full, batch_size]))
        if rest:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(order[full * batch_size:]))
        return batches

    def gather(batch: tf.Tensor, arrays: tuple[tf.Tensor, tf.Tensor]):
        return tf.gather(arrays[0], batch), tf.gather(arrays[1], batch)  # (batch, h, w, c)

    batches = tf.data.Dataset.range(epochs).flat_map(epoch_batches)
    dataset = tf.data.Dataset.zip((batches, tf.data.Dataset.from_tensors(data).repeat()))
    dataset = dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    augmenter = augmentation.pipeline_map(augment, seed)
    if augmenter is not None:  # sequential: the layers' seed generators advance in batch order
        dataset = dataset.map(augmenter)
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
