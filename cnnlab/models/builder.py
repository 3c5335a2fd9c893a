"""Build and compile the Keras 3 model an architecture describes (imports TensorFlow)."""

from __future__ import annotations

import inspect
from typing import Any

import keras
import numpy as np
from keras import layers

from cnnlab.architecture import layer_types, shapes
from cnnlab.architecture.shapes import checked_summary
from cnnlab.architecture.spec import Architecture
from cnnlab.models import optimizers

RESCALE_NAME = "rescale"  # inputs are uint8-range images; the model scales them to [0, 1]
# the precision a model is built to compute in -> the Keras dtype policy of its layers; the
# softmax head is always float32 (and so the loss and the metrics, which read its output)
POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


SEEDED_INITIALIZERS = ("kernel_initializer", "depthwise_initializer")  # random by default


def seeded_arguments(cls: type, seed: int) -> dict[str, Any]:
    """Keyword arguments that make a Keras layer class's random parts draw from ``seed``: its
    random initialisers, as Keras's defaults but seeded, and its own ``seed`` (dropout).

    Left unseeded, Keras draws an initialiser's seed from Python's process-wide ``random``
    when the layer is made, which other threads (Dask's and Tornado's event loops) also
    draw from: the same run's seed could start from other weights, now and then.
    """
    parameters = inspect.signature(cls.__init__).parameters
    rng = np.random.default_rng(seed)
    found: dict[str, Any] = {}
    for name in SEEDED_INITIALIZERS:
        if name in parameters:
            default = keras.initializers.get(parameters[name].default)
            found[name] = type(default).from_config({**default.get_config(),
                                                     "seed": int(rng.integers(2**31))})
    if "seed" in parameters:
        found["seed"] = int(rng.integers(2**31))
    return found


def keras_layer(row: shapes.Row, dtype: str = "float32",
                seed: int | None = None) -> keras.layers.Layer:
    """The Keras layer for one summary row, named by the row (``conv_1``, ``output``, ...),
    under the dtype policy ``dtype``; its random parts seeded from ``seed`` if given."""
    cls, args, kwargs = layer_types.keras_call(row.type, row.layer)
    layer_class = getattr(layers, cls)
    if seed is not None:
        kwargs = {**seeded_arguments(layer_class, seed), **kwargs}
    return layer_class(*args, name=row.name, dtype=dtype, **kwargs)


def build_model(
    arch: Architecture, input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None, seed: int | None = None, precision: str = "float32",
) -> keras.Model:
    """The Keras functional model of ``arch``: ``keras.Input``, rescaling, the rows, the head.

    Args:
        arch: the architecture (validated here).
        input_shape: overrides ``arch.input_shape``; default 28×28×1.
        num_classes: overrides ``arch.num_classes``; default 10.
        seed: seeds every layer's weight initialiser and dropout for a reproducible start
            (each layer its own seed, drawn from this one; see :func:`seeded_arguments`).
        precision: ``float32``, or ``bfloat16`` for training: every layer but the softmax head
            computes in bfloat16 (Keras's ``mixed_bfloat16`` policy); its weights are float32
            either way, so weights move between the two builds unchanged.
    Returns:
        An uncompiled ``keras.Model`` whose layer names match the summary's rows.

    Example:
        >>> from cnnlab.architecture import presets
        >>> build_model(presets.get("two-conv")).count_params()
        225034
    """
    # batch 1: the feature maps' memory is checked where the batch size is chosen (training)
    summary = checked_summary(arch, input_shape, num_classes, batch_size=1)
    if precision not in POLICIES:
        raise ValueError(f"precision must be one of {', '.join(POLICIES)}; received {precision!r}")
    policy = POLICIES[precision]
    inputs = keras.Input(shape=summary.input_shape, name="image")
    # (batch, height, width, channels)
    x = layers.Rescaling(1 / 255, name=RESCALE_NAME, dtype=policy)(inputs)
    *body, head = summary.rows  # the head: the softmax output layer shapes adds
    seeds = [None] * len(summary.rows) if seed is None else [
        int(s) for s in np.random.default_rng(seed).integers(2**31, size=len(summary.rows))]
    for row, layer_seed in zip(body, seeds, strict=False):
        x = keras_layer(row, policy, layer_seed)(x)
    x = keras_layer(head, "float32", seeds[-1])(x)
    return keras.Model(inputs, x, name=_model_name(arch.name))


def _model_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in name).strip("_-")
    return cleaned or "cnn"


def compile_model(model: keras.Model, optimizer: str = "adam", learning_rate: float = 1e-3,
                  schedule: Any = None, batches_per_call: int = 1) -> keras.Model:
    """Compile with sparse categorical cross-entropy and accuracy (the optimizer by its name in
    :data:`cnnlab.models.optimizers.NAMES`, at ``learning_rate``, or following ``schedule``
    from :func:`cnnlab.models.optimizers.make_schedule` if given), each call of the traced
    step training ``batches_per_call`` batches (Keras's ``steps_per_execution``); returns the
    model."""
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0; received {learning_rate}")
    model.compile(optimizer=optimizers.make(optimizer, learning_rate if schedule is None
                                            else schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=batches_per_call)
    return model
