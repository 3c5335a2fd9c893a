"""Fast single-image inference on a trained model: probabilities, feature maps, filters.

A :class:`Predictor` is built once per Keras model and reused. Its calls go through
``tf.function``s traced once with a fixed one-image input signature: ``model.predict`` costs
~50-100 ms per image and a plain ``model(x)`` ~4 ms, a compiled call well under 1 ms
(``bench/inference_bench.py`` measures them). Feature maps come from ONE forward pass through a
multi-output model over the same layers. :meth:`Predictor.at_weights` looks at a saved epoch's
weights through a single clone of the model, so switching epochs costs a ``set_weights``
(~1 ms), never a new trace.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from cnnlab.architecture import layer_types

# Keras layer class -> the spec's layer type (from the layer registry), matched by isinstance.
LAYER_TYPES: tuple[tuple[type, str], ...] = tuple(
    (getattr(layers, kind.keras_class), kind.name) for kind in layer_types.REGISTRY.values())


@dataclass(frozen=True, eq=False)
class FeatureMap:
    """One layer's output for one image; ``values`` is read-only float32 without batch axis."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    values: np.ndarray  # (height, width, channels) or (units,)

    @property
    def spatial(self) -> bool:
        """True for a height×width×channels map, False for a flat vector."""
        return len(self.output_shape) == 3


@dataclass(frozen=True, eq=False)
class ConvFilters:
    """The learned kernels of one conv layer."""

    name: str
    kernel: np.ndarray  # (kernel_h, kernel_w, in_channels, filters)
    bias: np.ndarray | None  # (filters,), None without a bias


def layer_type(layer: keras.layers.Layer) -> str:
    """The spec type of a Keras layer (``conv2d``, ``dense``, ...), else its class name."""
    for cls, name in LAYER_TYPES:
        if isinstance(layer, cls):
            return name
    return type(layer).__name__.lower()


def probed_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers after the input and the rescaling, ending with the output layer."""
    skipped = (layers.InputLayer, layers.Rescaling)
    return [layer for layer in model.layers if not isinstance(layer, skipped)]


def _image_shape(model: keras.Model) -> tuple[int, int, int]:
    shape = tuple(model.input_shape[1:])
    if len(shape) != 3 or any(v is None for v in shape):
        raise ValueError(f"the model must take (height, width, channels) images of a fixed "
                         f"size; received input shape {model.input_shape}")
    return shape  # type: ignore[return-value]


def as_batch(image: np.ndarray, input_shape: tuple[int, int, int]) -> np.ndarray:
    """One image as a float32 ``(1, height, width, channels)`` batch, validated.

    Args:
        image: uint8 or float values in 0..255, shaped ``(h, w)`` (one channel only),
            ``(h, w, c)`` or ``(1, h, w, c)``.
        input_shape: the model's ``(height, width, channels)``.
    Returns:
        The float32 batch of one.
    Raises:
        ValueError: for a wrong shape, a non-numeric dtype or values outside 0..255.
    """
    arr = np.asarray(image)
    h, w, c = input_shape
    allowed = ([(h, w)] if c == 1 else []) + [(h, w, c), (1, h, w, c)]
    if arr.dtype.kind not in "uif":
        raise ValueError(f"image must hold uint8 or float values in 0..255; received dtype "
                         f"{arr.dtype}")
    if arr.shape not in allowed:
        raise ValueError(f"image must have shape {' or '.join(map(str, allowed))} for this "
                         f"model; received shape {arr.shape}")
    batch = arr.reshape(1, h, w, c).astype(np.float32, copy=False)  # (1, height, width, channels)
    low, high = float(batch.min()), float(batch.max())
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 255:
        raise ValueError(f"image values must be in 0..255 (uint8 range); received values from "
                         f"{low:g} to {high:g}")
    return batch


class _Engine:
    """A model with its compiled calls; ``lock`` serialises weight swaps with the calls."""

    def __init__(self, model: keras.Model, jit_compile: bool) -> None:
        self.model = model
        self.input_shape = _image_shape(model)
        self.layers = probed_layers(model)
        self.lock = threading.Lock()
        self.loaded: tuple[np.ndarray, ...] | None = None  # the arrays last set_weights'ed
        maps_model = keras.Model(model.input, [layer.output for layer in self.layers])
        signature = [tf.TensorSpec((1, *self.input_shape), tf.float32)]
        self.probabilities = tf.function(lambda x: model(x, training=False),
                                         input_signature=signature, jit_compile=jit_compile)
        self.maps = tf.function(lambda x: maps_model(x, training=False),
                                input_signature=signature, jit_compile=jit_compile)
        index = {id(variable): i for i, variable in enumerate(model.weights)}
        self.conv_indices = [
            (layer.name, index[id(layer.kernel)],
             index[id(layer.bias)] if layer.bias is not None else None)
            for layer in self.layers if isinstance(layer, layers.Conv2D)]

    def run(self, fn: Callable, batch: np.ndarray,
            weights: tuple[np.ndarray, ...] | None) -> list[np.ndarray]:
        """``fn(batch)`` as NumPy arrays, with ``weights`` loaded first unless None."""
        if weights is None:
            return [out.numpy() for out in tf.nest.flatten(fn(batch))]
        with self.lock:
            stale = self.loaded is None or any(
                a is not b for a, b in zip(self.loaded, weights, strict=True))
            if stale:
                self.model.set_weights(list(weights))
                self.loaded = weights
            return [out.numpy() for out in tf.nest.flatten(fn(batch))]


class Predictor:
    """Probabilities, feature maps and filters of one Keras model, compiled once.

    Safe to share between threads: calls on the model's own weights run concurrently, and
    the views from :meth:`at_weights` share one clone whose weight swaps hold a lock.

    Example:
        >>> from cnnlab.architecture import presets
        >>> from cnnlab.models import builder
        >>> predictor = Predictor(builder.build_model(presets.get("two-conv")))
        >>> predictor.probabilities(np.zeros((28, 28), np.uint8)).shape
        (10,)
    """

    def __init__(self, model: keras.Model, jit_compile: bool = False) -> None:
        """Wrap ``model``; tracing happens on the first call of each kind.

        Args:
            model: a functional model from :func:`cnnlab.models.builder.build_model` (uint8-range
                inputs, softmax output).
            jit_compile: compile the calls with XLA: ~0.1-0.2 ms faster per call but ~0.25 s
                more on the first call of each kind (a plain trace takes ~30 ms).
        """
        self._engine = _Engine(model, jit_compile)
        self._weights: tuple[np.ndarray, ...] | None = None
        self._jit_compile = jit_compile
        self._clone: _Engine | None = None
        self._clone_lock = threading.Lock()
        self._root = self

    @property
    def model(self) -> keras.Model:
        """The wrapped model (for a view from :meth:`at_weights`: the shared clone)."""
        return self._engine.model

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)`` of one input image."""
        return self._engine.input_shape

    @property
    def num_classes(self) -> int:
        """The number of output classes."""
        return int(self._engine.model.output_shape[-1])

    def probabilities(self, image: np.ndarray) -> np.ndarray:
        """Class probabilities for one image.

        Args:
            image: uint8 or float in 0..255, ``(h, w)``, ``(h, w, c)`` or ``(1, h, w, c)``.
        Returns:
            ``(num_classes,)`` float32 probabilities summing to 1.
        Raises:
            ValueError: when the image does not fit the model's input (see :func:`as_batch`).
        """
        batch = as_batch(image, self.input_shape)
        (out,) = self._engine.run(self._engine.probabilities, batch, self._weights)
        return out[0]

    def feature_maps(self, image: np.ndarray) -> list[FeatureMap]:
        """Every layer's output for one image, from one forward pass, in model order.

        The input and rescaling layers are left out; the last map is the softmax output.

        Args:
            image: as for :meth:`probabilities`.
        Returns:
            One :class:`FeatureMap` per layer, named like the summary rows (``conv_1``, ...).
        Raises:
            ValueError: when the image does not fit the model's input.
        """
        batch = as_batch(image, self.input_shape)
        outputs = self._engine.run(self._engine.maps, batch, self._weights)
        maps = []
        for layer, out in zip(self._engine.layers, outputs, strict=True):
            values = out[0]  # drop the batch axis
            values.setflags(write=False)
            maps.append(FeatureMap(layer.name, layer_type(layer), tuple(values.shape), values))
        return maps

    def conv_filters(self) -> list[ConvFilters]:
        """The kernel and bias of every conv layer, in model order (copies).

        Returns:
            One :class:`ConvFilters` per ``Conv2D`` layer; empty for a model without one.
        """
        if self._weights is None:
            weights = [v.numpy() for v in self._engine.model.weights]
        else:
            weights = [np.array(w) for w in self._weights]  # copies: the snapshot stays intact
        return [ConvFilters(name, weights[k], None if b is None else weights[b])
                for name, k, b in self._engine.conv_indices]

    def at_weights(self, weights: Sequence[np.ndarray]) -> Predictor:
        """A predictor that answers with ``weights`` (e.g. a saved epoch's ``get_weights()``).

        Every view shares one clone of the model, built and traced once; a call loads its
        weights into the clone only when another set was loaded last. The arrays are treated
        as immutable snapshots: identical arrays are not reloaded.

        Args:
            weights: arrays in ``model.get_weights()`` order and shapes.
        Returns:
            A :class:`Predictor` with the same methods.
        Raises:
            ValueError: when the count or a shape does not match the model's weights.
        """
        root = self._root
        expected = [tuple(v.shape) for v in root._engine.model.weights]
        arrays = tuple(np.asarray(w) for w in weights)
        if len(arrays) != len(expected):
            raise ValueError(f"weights must be {len(expected)} arrays as from "
                             f"model.get_weights(); received {len(arrays)}")
        for i, (array, shape) in enumerate(zip(arrays, expected, strict=True)):
            if array.shape != shape:
                name = root._engine.model.weights[i].path
                raise ValueError(f"weights[{i}] ({name}) must have shape {shape}; received "
                                 f"{array.shape}")
        with root._clone_lock:
            if root._clone is None:
                clone = keras.models.clone_model(root._engine.model)
                root._clone = _Engine(clone, root._jit_compile)
        view = Predictor.__new__(Predictor)
        view._engine, view._weights, view._root = root._clone, arrays, root
        return view


def predict_batch(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for many images by direct calls, one batch at a time.

    Args:
        model: a model from :func:`cnnlab.models.builder.build_model`.
        images: ``(n, h, w, c)`` (or ``(n, h, w)`` for one channel) uint8 or float 0..255.
        batch_size: images per call; each batch is cast to float32 on its own.
    Returns:
        ``(n, num_classes)`` float32 probabilities.
    Raises:
        ValueError: for images that do not fit the model or a batch_size below 1.
    """
    shape = _image_shape(model)
    images = np.asarray(images)
    if images.ndim == 3 and shape[2] == 1:
        images = images[..., None]
    if images.ndim != 4 or tuple(images.shape[1:]) != shape:
        raise ValueError(f"images must have shape (n, {', '.join(map(str, shape))}) for this "
                         f"model; received shape {images.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1; received {batch_size}")
    out = np.empty((len(images), int(model.output_shape[-1])), dtype=np.float32)
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size].astype(np.float32)  # (batch, h, w, c)
        out[start:start + len(batch)] = keras.ops.convert_to_numpy(model(batch, training=False))
    return out
