"""What ``fit`` is fed: the validation split and shuffled uint8 batches, cast per batch.

A data set's images stay uint8 (70,000 MNIST images are 55 MB so, 220 MB as float32):
batches are gathered from the uint8 arrays, the way Keras's own array adapter does, and
the model casts each batch to float32 (its ``Rescaling(1/255)`` does the scaling).
"""

from __future__ import annotations

import math

import keras
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
                     batch_size: int, seed: int, augment: str = "off") -> EpochFeed:
    """One epoch of batches over ``images[indices]``, shuffled anew for every epoch.

    Args:
        images: uint8 ``(n, height, width, channels)``.
        labels: ``(n,)`` class indices.
        indices: which images to train on (e.g. the training part of a validation split).
        batch_size: images per batch; the epoch ends with one smaller batch if needed.
        seed: the shuffle's seed; epoch ``e`` uses ``stateless_shuffle`` with ``(seed, e)``,
            so no global random state is read or changed, and a training resumed at epoch
            ``e`` gets the same order as the one it takes over from.
        augment: a strength of :mod:`cnnlab.training.augment` (``off``: none); each batch is
            shifted, rotated and zoomed by Keras's layers seeded from ``seed``, still uint8.
            The layers' seed generators go on from epoch to epoch (a resumed training's start
            afresh).
    Returns:
        An :class:`EpochFeed`: pass its ``dataset`` to ``fit`` (no ``steps_per_epoch``) and
        the feed itself among the callbacks.
    """
    full, rest = divmod(len(indices), batch_size)
    data = (tf.convert_to_tensor(images), tf.convert_to_tensor(labels))
    index_tensor = tf.constant(indices, dtype=tf.int64)
    seed_tensor = tf.constant(seed, dtype=tf.int64)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)

    def epoch_batches(_: tf.Tensor) -> tf.data.Dataset:
        # read when a pass over the data set begins: after Keras's on_epoch_begin
        order = tf.random.experimental.stateless_shuffle(
            index_tensor, seed=tf.stack([seed_tensor, epoch.read_value()]))
        # Reshaping into full batches beats Dataset.batch (Keras's array adapter does this).
        batches = tf.data.Dataset.from_tensor_slices(
            tf.reshape(order[:full * batch_size], [full, batch_size]))
        if rest:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(order[full * batch_size:]))
        return batches

    def gather(batch: tf.Tensor, arrays: tuple[tf.Tensor, tf.Tensor]):
        return tf.gather(arrays[0], batch), tf.gather(arrays[1], batch)  # (batch, h, w, c)

    batches = tf.data.Dataset.range(1).flat_map(epoch_batches)
    dataset = tf.data.Dataset.zip((batches, tf.data.Dataset.from_tensors(data).repeat()))
    dataset = dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    augmenter = augmentation.pipeline_map(augment, seed)
    if augmenter is not None:  # sequential: the layers' seed generators advance in batch order
        dataset = dataset.map(augmenter)
    # known length, so Keras ends the epoch there (also inside a call of several batches)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(full + bool(rest)))
    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    return EpochFeed(dataset.with_options(options).prefetch(tf.data.AUTOTUNE), epoch)


class EpochFeed(keras.callbacks.Callback):
    """One epoch's batches (``dataset``, a new pass for every epoch) and the Keras callback
    that tells the pass which epoch it is (the shuffle's), set as each epoch begins.

    Why a pass per epoch, not one stream of every epoch's batches: a call of the traced
    training step runs several batches (:func:`cnnlab.training.compiled.batches_per_call`),
    and only a pass that ends tells such a call where the epoch ends.
    """

    def __init__(self, dataset: tf.data.Dataset, epoch: tf.Variable) -> None:
        super().__init__()
        self.dataset, self.epoch = dataset, epoch

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.assign(epoch)

    def epoch_batches(self, epoch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Epoch ``epoch``'s batches as arrays (for tests and previews)."""
        self.on_epoch_begin(epoch)
        return [(x.numpy(), y.numpy()) for x, y in self.dataset]
