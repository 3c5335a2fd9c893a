"""Where the network looked: a saliency map and Grad-CAM for one image and one class.

* **Saliency**: ``|d score / d input|`` per pixel (the largest over the input's channels):
  the pixels whose change moves the class's score most.
* **Grad-CAM** (Selvaraju et al., 2017): a conv layer's maps (a depthwise conv counts as conv;
  the last one unless the caller picks another), each weighted by the mean gradient of the
  class's score over it, summed and ReLU'd: the places the class's evidence came from. The map
  has the layer's own resolution (11×11 for two-conv's ``conv_2``, 26×26 for ``conv_1``); it
  is brought to the input's resolution in the input's coordinate frame
  (:func:`cnnlab.inspect.receptive.to_input`: each cell's value at the centre of the
  receptive field it saw), never stretched edge to edge.

The *score* is the class's logit, the head's input times its kernel plus bias, before the
softmax (whose saturation would hide the gradient; :func:`head_logits`, shared with the
attacks, occlusion and feature visualization). Layers are found by type through the summary's
rows (:data:`CONV_TYPES`), never by name patterns. Both maps come from ONE compiled call (a
``tf.function`` traced once per model and layer). Each map is scaled so its largest value is 1.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from cnnlab.architecture import layer_types
from cnnlab.architecture.rows import Summary
from cnnlab.inspect import receptive
from cnnlab.inspect.inference import as_batch

# layer types that hold a sliding kernel: the convolutions (ordinary and depthwise)
CONV_TYPES = tuple(name for name, kind in layer_types.REGISTRY.items()
                   if "kernel_size" in kind.field_names)
NO_CONV = ("this network has no conv layer, so there are no feature maps for Grad-CAM to "
           "weigh; the saliency map shows which pixels move the answer")


@dataclass(frozen=True, eq=False)
class Explanation:
    """The maps for one image and one class; each (height, width) float32 in 0..1."""

    class_index: int
    saliency: np.ndarray
    gradcam: np.ndarray | None  # None when the network has no conv layer
    gradcam_layer: str | None  # the conv layer Grad-CAM weighs
    message: str  # why there is no Grad-CAM, "" otherwise
    gradcam_cells: np.ndarray | None = None  # Grad-CAM at the layer's own resolution, 0..1
    gradient: np.ndarray | None = None  # d score / d input summed over channels, max |.| = 1

    @property
    def gradcam_resolution(self) -> tuple[int, int] | None:
        """(rows, columns) of Grad-CAM's own map (e.g. (11, 11)), None without Grad-CAM."""
        return None if self.gradcam_cells is None else tuple(self.gradcam_cells.shape)


def conv_rows(summary: Summary) -> list[str]:
    """The names of the conv (and depthwise conv) rows, in model order: Grad-CAM's layers."""
    return [row.name for row in summary.rows if row.type in CONV_TYPES]


def last_conv_row(summary: Summary) -> str | None:
    """The name of the last conv (or depthwise conv) row, None without one."""
    convs = conv_rows(summary)
    return convs[-1] if convs else None


def checked_conv_layer(summary: Summary, layer: str) -> str:
    """``layer`` if it names a conv row; else ValueError naming the ones there are."""
    names = conv_rows(summary)
    if layer not in names:
        raise ValueError(f"no conv layer named {layer!r} in this network; use one of "
                         f"{', '.join(names) or 'none (it has no conv layer)'}")
    return layer


def gradient_hazard(summary: Summary) -> str:
    """Why gradients are not taken for this network, "" when they are.

    TensorFlow's oneDNN CPU kernels have crashed the whole process on the input gradient of a
    one-tap kernel with a stride above 1 (``tests/test_receptive_region.py`` met it), and a
    crash would take the server down with it.
    """
    for row in summary.rows:
        if row.type in CONV_TYPES:
            k, s = row.layer.kernel_size, row.layer.strides
            if any(k[axis] == 1 and s[axis] > 1 for axis in (0, 1)):
                return (f"layer {row.name}: a kernel_size {list(k)} with strides {list(s)} "
                        f"skips pixels, and TensorFlow's CPU gradient of it can crash; use a "
                        f"kernel of at least 2 along a strided axis to see where it looked")
    return ""


def head_logits(model: keras.Model, summary: Summary,
                taps: tuple[str, ...] = ()) -> Callable[[tf.Tensor], list[tf.Tensor]]:
    """A differentiable function of a ``(batch, height, width, channels)`` 0..255 batch:
    ``[tap outputs..., logits]``, the logits ``(batch, classes)`` being the softmax head's
    input times its kernel plus bias (the scores before the softmax)."""
    head = model.get_layer(summary.rows[-1].name)  # the softmax head, the last row
    probe = keras.Model(model.input, [model.get_layer(name).output for name in taps]
                        + [head.input])

    def logits(x: tf.Tensor) -> list[tf.Tensor]:
        outs = probe(x, training=False)
        outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
        return outs[:-1] + [tf.matmul(outs[-1], head.kernel) + head.bias]

    return logits


def _normalised(values: np.ndarray) -> np.ndarray:
    top = float(values.max())
    return (values / top if top > 0 else np.zeros_like(values)).astype(np.float32)


class Explainer:
    """Saliency and Grad-CAM of one Keras model (from :func:`cnnlab.models.builder`).

    Grey and colour (rgb) networks alike: saliency takes the largest gradient over the
    input's channels.

    Example:
        >>> from cnnlab.architecture import presets, shapes
        >>> from cnnlab.models import builder
        >>> arch = presets.get("two-conv")
        >>> explainer = Explainer(builder.build_model(arch), shapes.summarize(arch))
        >>> result = explainer.explain(np.zeros((28, 28), np.uint8), 3, layer="conv_1")
        >>> result.gradcam.shape, result.gradcam_resolution
        ((28, 28), (26, 26))
    """

    def __init__(self, model: keras.Model, summary: Summary) -> None:
        hazard = gradient_hazard(summary)
        if hazard:
            raise ValueError(hazard)
        self.model = model
        self.summary = summary
        self.input_shape = tuple(model.input_shape[1:])
        self.num_classes = int(model.output_shape[-1])
        self.layers = conv_rows(summary)  # the layers Grad-CAM can weigh
        self.gradcam_layer = last_conv_row(summary)  # the default
        self._compiled: dict[str | None, Callable] = {}
        self._lock = threading.Lock()

    def _maps(self, layer: str | None) -> Callable:
        """The compiled (saliency, cam) call for ``layer`` (None: saliency only), traced once."""
        with self._lock:
            if layer not in self._compiled:
                self._compiled[layer] = self._trace(layer)
            return self._compiled[layer]

    def _trace(self, layer: str | None) -> Callable:
        logits_of = head_logits(self.model, self.summary, (layer,) if layer else ())
        signature = [tf.TensorSpec((1, *self.input_shape), tf.float32),
                     tf.TensorSpec((), tf.int32)]

        def maps(x: tf.Tensor, class_index: tf.Tensor):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(x)
                outs = logits_of(x)
                score = outs[-1][0, class_index]
            grads = tape.gradient(score, [x] + outs[:-1])
            saliency = tf.reduce_max(tf.abs(grads[0][0]), axis=-1)  # (height, width)
            gradient = tf.reduce_sum(grads[0][0], axis=-1)  # signed, (height, width)
            if not layer:
                return saliency, gradient, saliency
            weights = tf.reduce_mean(grads[1][0], axis=(0, 1))  # (channels,)
            cam = tf.nn.relu(tf.reduce_sum(outs[0][0] * weights, axis=-1))  # (rows, cols)
            return saliency, gradient, cam

        return tf.function(maps, input_signature=signature)

    def explain(self, image: np.ndarray, class_index: int,
                layer: str | None = None) -> Explanation:
        """Saliency and Grad-CAM of ``image`` (uint8-range, as for the Predictor) for one class.

        Args:
            image: ``(h, w)`` (grey), ``(h, w, c)`` or ``(1, h, w, c)``, values 0..255.
            class_index: the class whose score is explained.
            layer: the conv layer Grad-CAM weighs (one of :attr:`layers`); default the last.
        Returns:
            The :class:`Explanation`; ``gradcam_cells`` is Grad-CAM at the layer's own
            resolution, ``gradcam`` the same placed on the input's pixels.
        Raises:
            ValueError: for an image that does not fit, a class index out of range or a
                layer that is not a conv layer of this network.
        """
        if not 0 <= int(class_index) < self.num_classes:
            raise ValueError(f"class_index must be in 0..{self.num_classes - 1}; received "
                             f"{class_index}")
        layer = self.gradcam_layer if layer is None else checked_conv_layer(self.summary, layer)
        batch = as_batch(image, self.input_shape)  # (1, height, width, channels)
        saliency, gradient, cam = self._maps(layer)(tf.constant(batch),
                                                    tf.constant(int(class_index), tf.int32))
        gradcam = cells = None
        if layer:
            cells = _normalised(cam.numpy())  # (rows, cols) of the layer's map
            grid = receptive.unit_grid(self.summary, layer)
            gradcam = _normalised(receptive.to_input(cells, grid, self.input_shape[:2]))
        signed = gradient.numpy()
        return Explanation(int(class_index), _normalised(saliency.numpy()), gradcam, layer,
                           "" if layer else NO_CONV, cells,
                           (signed / max(float(np.abs(signed).max()), 1e-30)).astype(np.float32))
