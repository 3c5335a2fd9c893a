"""Where the network looked: a saliency map and Grad-CAM for one image and one class.

* **Saliency**: ``|d score / d input|`` per pixel (the largest over the input's channels):
  the pixels whose change moves the class's score most.
* **Grad-CAM** (Selvaraju et al., 2017): the last conv layer's maps (a depthwise conv counts as
  conv), each weighted by the mean gradient of the class's score over it, summed, ReLU'd and
  resized to the input: the places the class's evidence came from.

The *score* is the class's logit, the head's input times its kernel plus bias, before the
softmax (whose saturation would hide the gradient). Layers are found by type through the
summary's rows (:data:`CONV_TYPES`), never by name patterns. Both maps come from ONE compiled
call (a ``tf.function`` traced once per model). Each map is scaled so its largest value is 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from cnnlab.architecture import layer_types
from cnnlab.architecture.rows import Summary
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


def last_conv_row(summary: Summary) -> str | None:
    """The name of the last conv (or depthwise conv) row, None without one."""
    convs = [row.name for row in summary.rows if row.type in CONV_TYPES]
    return convs[-1] if convs else None


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


def _normalised(values: np.ndarray) -> np.ndarray:
    top = float(values.max())
    return (values / top if top > 0 else np.zeros_like(values)).astype(np.float32)


def _resized(values: np.ndarray, height: int, width: int) -> np.ndarray:
    if values.shape == (height, width):
        return values
    image = Image.fromarray(values.astype(np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), np.float32)


class Explainer:
    """Saliency and Grad-CAM of one Keras model (from :func:`cnnlab.models.builder`).

    Example:
        >>> from cnnlab.architecture import presets, shapes
        >>> from cnnlab.models import builder
        >>> arch = presets.get("two-conv")
        >>> explainer = Explainer(builder.build_model(arch), shapes.summarize(arch))
        >>> explainer.explain(np.zeros((28, 28), np.uint8), 3).gradcam.shape
        (28, 28)
    """

    def __init__(self, model: keras.Model, summary: Summary) -> None:
        hazard = gradient_hazard(summary)
        if hazard:
            raise ValueError(hazard)
        self.input_shape = tuple(model.input_shape[1:])
        self.num_classes = int(model.output_shape[-1])
        self.gradcam_layer = last_conv_row(summary)
        head = model.get_layer(summary.rows[-1].name)  # the softmax head, the last row
        tapped = [model.get_layer(self.gradcam_layer).output] if self.gradcam_layer else []
        probe = keras.Model(model.input, tapped + [head.input])
        signature = [tf.TensorSpec((1, *self.input_shape), tf.float32),
                     tf.TensorSpec((), tf.int32)]

        def maps(x: tf.Tensor, class_index: tf.Tensor):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(x)
                outs = probe(x, training=False)
                outs = outs if isinstance(outs, (list, tuple)) else [outs]
                logits = tf.matmul(outs[-1], head.kernel) + head.bias  # (1, classes)
                score = logits[0, class_index]
            grads = tape.gradient(score, [x] + list(outs[:-1]))
            saliency = tf.reduce_max(tf.abs(grads[0][0]), axis=-1)  # (height, width)
            if not self.gradcam_layer:
                return saliency, saliency
            weights = tf.reduce_mean(grads[1][0], axis=(0, 1))  # (channels,)
            cam = tf.nn.relu(tf.reduce_sum(outs[0][0] * weights, axis=-1))  # (h, w)
            return saliency, cam

        self._maps = tf.function(maps, input_signature=signature)

    def explain(self, image: np.ndarray, class_index: int) -> Explanation:
        """Saliency and Grad-CAM of ``image`` (uint8-range, as for the Predictor) for one class.

        Raises:
            ValueError: for an image that does not fit or a class index out of range.
        """
        if not 0 <= int(class_index) < self.num_classes:
            raise ValueError(f"class_index must be in 0..{self.num_classes - 1}; received "
                             f"{class_index}")
        batch = as_batch(image, self.input_shape)  # (1, height, width, channels)
        saliency, cam = self._maps(tf.constant(batch), tf.constant(int(class_index), tf.int32))
        height, width = self.input_shape[0], self.input_shape[1]
        gradcam = None
        if self.gradcam_layer:
            gradcam = _normalised(_resized(cam.numpy(), height, width))
        return Explanation(int(class_index), _normalised(saliency.numpy()), gradcam,
                           self.gradcam_layer, "" if self.gradcam_layer else NO_CONV)
