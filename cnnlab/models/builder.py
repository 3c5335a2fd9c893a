"""Build and compile the Keras 3 model an architecture describes (imports TensorFlow)."""

from __future__ import annotations

import keras
from keras import layers

from cnnlab.architecture import layer_types, shapes
from cnnlab.architecture.shapes import checked_summary
from cnnlab.architecture.spec import Architecture
from cnnlab.models import optimizers

RESCALE_NAME = "rescale"  # inputs are uint8-range images; the model scales them to [0, 1]


def keras_layer(row: shapes.Row) -> keras.layers.Layer:
    """The Keras layer for one summary row, named by the row (``conv_1``, ``output``, ...)."""
    cls, args, kwargs = layer_types.keras_call(row.type, row.layer)
    return getattr(layers, cls)(*args, name=row.name, **kwargs)


def build_model(
    arch: Architecture, input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None, seed: int | None = None,
) -> keras.Model:
    """The Keras functional model of ``arch``: ``keras.Input``, rescaling, the rows, the head.

    Args:
        arch: the architecture (validated here).
        input_shape: overrides ``arch.input_shape``; default 28×28×1.
        num_classes: overrides ``arch.num_classes``; default 10.
        seed: seeds Keras's weight initialisers for a reproducible start.
    Returns:
        An uncompiled ``keras.Model`` whose layer names match the summary's rows.

    Example:
        >>> from cnnlab.architecture import presets
        >>> build_model(presets.get("two-conv")).count_params()
        225034
    """
    # batch 1: the feature maps' memory is checked where the batch size is chosen (training)
    summary = checked_summary(arch, input_shape, num_classes, batch_size=1)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=summary.input_shape, name="image")
    x = layers.Rescaling(1 / 255, name=RESCALE_NAME)(inputs)  # (batch, height, width, channels)
    for row in summary.rows:
        x = keras_layer(row)(x)
    return keras.Model(inputs, x, name=_model_name(arch.name))


def _model_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in name).strip("_-")
    return cleaned or "cnn"


def compile_model(model: keras.Model, optimizer: str = "adam",
                  learning_rate: float = 1e-3) -> keras.Model:
    """Compile with sparse categorical cross-entropy and accuracy (the optimizer by its name in
    :data:`cnnlab.models.optimizers.NAMES`); returns the model."""
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0; received {learning_rate}")
    model.compile(optimizer=optimizers.make(optimizer, learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
