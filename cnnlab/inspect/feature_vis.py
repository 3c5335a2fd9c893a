"""Ask what it wants to see: the input that excites a conv filter or an output class most
(feature visualization by gradient ascent; Olah, Mordvintsev & Schubert 2017, Distill).

The *objective* of a conv layer's filter is, by default (``objective="unit"``), its unit at
the centre of the layer's map: the filter's weighted sum plus bias *before* the activation
(after a ReLU, a unit silent on the start image would have no gradient to climb). Only the
unit's receptive field can change it, so the picture sits in that box (:attr:`Visualization.box`,
to outline). ``objective="channel"`` climbs the mean over the whole map instead, which paints a
texture over the image (for the first conv layer, a linear function of the pixels, it is a
flat black or white: use the unit there). A class's objective is its logit
(:func:`cnnlab.inspect.attribution.head_logits`): "what does my network think a 7 looks like?".

From a neutral image (mid grey, 0.5 in [0, 1] pixel units, with faint seeded noise of ±2
brightness levels), each of ``Settings.steps`` steps

1. blurs the image a little every ``blur_every`` steps (Gaussian, ``blur_sigma`` px), so high
   frequencies that only fool the network fade;
2. shifts it by up to ``jitter`` pixels each way for the gradient (a random roll, the same for
   every image of a batch; at most an eighth of a unit's field, so none for a 3×3 field,
   where one pixel is a third of what the unit sees);
3. climbs the objective's gradient, scaled so that the most any pixel moves is ``step_size``;
4. clips every pixel to [0, 1].

A unit whose every input is silent (zero after a ReLU) on the start image has no gradient
and stays where it started (``value == start_value``); a trained network rarely has one.

On a two-conv digits run the defaults take every first-layer unit at least 65 % (median 80 %)
of the way from the start to its exact optimum (the unit is a linear function of its 3×3
pixels, so its best input is known), every ``conv_2`` unit ends above 70 % of the most any of
500 test digits excites it, and 9 of the ten class pictures are read as their own class by
the network (the "1" comes second, after 3).

Every random draw comes from ``Settings.seed``, so the same settings give the same picture
(a filter climbed alone or with its layer: the batch's images are independent). A whole layer
is computed in batches of :data:`CHUNK` filters (one compiled step each) with a progress
callback and a stop flag; every filter's result is cached on its own in :data:`CACHE`, which
draws from the server's one memory budget (:mod:`cnnlab.memory.budget`), keyed by the
caller's run identity, the layer, the filter and the settings. A colour network gets colour
pictures.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from cnnlab.architecture.rows import Summary
from cnnlab.inspect import receptive
from cnnlab.inspect.attribution import checked_conv_layer, conv_rows, gradient_hazard, head_logits
from cnnlab.memory.budget import ByteCache, nbytes_of

CHUNK = 32  # filters (or classes) optimised together in one batch
START_NOISE = 2 / 255  # the start image's noise: ±2 brightness levels around mid grey
CACHE = ByteCache("feature visualizations")  # from the server's one budget
Progress = Callable[[int, int], None]  # (steps done, steps in all)
# what a conv filter's picture excites: its unit at the map's centre, or the whole map's mean
OBJECTIVES = ("unit", "channel")


@dataclass(frozen=True)
class Settings:
    """How to climb (validated); the defaults take about a tenth of a second for one two-conv
    filter once its step is traced."""

    steps: int = 96
    step_size: float = 0.05  # [0, 1] units: the largest pixel move of a step
    jitter: int = 1  # pixels
    blur_every: int = 4  # steps; 0 never blurs
    blur_sigma: float = 0.5  # pixels
    seed: int = 0
    objective: str = "unit"  # one of OBJECTIVES

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"feature visualization objective must be one of "
                             f"{', '.join(OBJECTIVES)}; received {self.objective!r}")
        checks = (("steps", self.steps, 1, 2000), ("step_size", self.step_size, 1e-4, 1.0),
                  ("jitter", self.jitter, 0, 8), ("blur_every", self.blur_every, 0, 2000),
                  ("blur_sigma", self.blur_sigma, 0.1, 3.0), ("seed", self.seed, 0, 2**31 - 1))
        for name, value, low, high in checks:
            if not low <= value <= high:
                raise ValueError(f"feature visualization {name} must be in {low:g}..{high:g}; "
                                 f"received {value!r}")


@dataclass(frozen=True, eq=False)
class Visualization:
    """The image that excites one filter of a conv layer (or one class) most.

    Attributes:
        layer: the conv layer, None for a class.
        index: the filter (channel), or the class.
        image: float32 in [0, 1], ``(height, width)`` grey or ``(height, width, 3)`` colour.
        start_value, value: the objective on the neutral start image and on ``image``.
        box: the receptive field of the layer's centre unit (top, left, bottom, right; bottom
            and right exclusive): what one unit of the filter sees; None for a class.
        settings: how it was made.
    """

    layer: str | None
    index: int
    image: np.ndarray
    start_value: float
    value: float
    box: receptive.Box | None
    settings: Settings

    def as_uint8(self) -> np.ndarray:
        """The image as uint8 0..255, to show or save."""
        return np.round(self.image * 255).astype(np.uint8)


def _gaussian(sigma: float, channels: int) -> np.ndarray:
    """A (3, 3, channels, 1) depthwise kernel of a normalised Gaussian."""
    line = np.exp(-np.arange(-1, 2) ** 2 / (2 * sigma**2))
    kernel = np.outer(line, line) / np.outer(line, line).sum()
    return np.repeat(kernel[:, :, None, None], channels, axis=2).astype(np.float32)


def _linear_copy(layer: keras.layers.Layer) -> keras.layers.Layer:
    """The conv layer with the same weights and no activation (its pre-activation)."""
    copy = type(layer).from_config({**layer.get_config(), "activation": "linear",
                                     "name": f"{layer.name}_linear"})
    copy.build(layer.input.shape)
    copy.set_weights(layer.get_weights())
    return copy


class Visualizer:
    """Feature visualizations of one Keras model (from :func:`cnnlab.models.builder`).

    Args:
        model: the network.
        summary: its shape summary.
        identity: what identifies the model's weights for the cache (e.g. the workspace, run
            folder and epoch); None keeps nothing in the cache. A randomised copy needs its own.

    Example:
        >>> from cnnlab.architecture import presets, shapes
        >>> from cnnlab.models import builder
        >>> arch = presets.get("two-conv")
        >>> visualizer = Visualizer(builder.build_model(arch, seed=0), shapes.summarize(arch))
        >>> found = visualizer.unit("conv_1", 3, Settings(steps=8))
        >>> found.image.shape, found.box, found.value > found.start_value
        ((28, 28), (13, 13, 16, 16), True)
    """

    def __init__(self, model: keras.Model, summary: Summary,
                 identity: Hashable | None = None) -> None:
        hazard = gradient_hazard(summary)
        if hazard:
            raise ValueError(hazard)
        self.model, self.summary, self.identity = model, summary, identity
        self.input_shape = tuple(model.input_shape[1:])
        self.num_classes = int(model.output_shape[-1])
        self.layers = conv_rows(summary)
        self._steps: dict[tuple[str | None, str], tuple[Callable, Callable]] = {}
        self._lock = threading.Lock()

    # --- what to climb ----------------------------------------------------------------------
    def _centre(self, layer: str) -> tuple[int, int]:
        rows, cols = receptive.unit_grid(self.summary, layer).shape
        return rows // 2, cols // 2

    def _objective(self, layer: str | None,
                   objective: str) -> Callable[[tf.Tensor], tf.Tensor]:
        """x (n, h, w, c) in 0..255 -> (n, channels or classes) objectives."""
        if layer is None:
            logits_of = head_logits(self.model, self.summary)
            return lambda x: logits_of(x)[-1]
        conv = self.model.get_layer(layer)
        below = keras.Model(self.model.input, conv.input)
        linear = _linear_copy(conv)
        if objective == "unit":
            row, col = self._centre(layer)
            return lambda x: linear(below(x, training=False))[:, row, col, :]
        return lambda x: tf.reduce_mean(linear(below(x, training=False)), axis=(1, 2))

    def _compiled(self, layer: str | None, objective: str) -> tuple[Callable, Callable]:
        """(one climbing step, every objective of a batch), traced once per layer and kind."""
        key = (layer, objective if layer else "class")
        with self._lock:
            if key not in self._steps:
                self._steps[key] = self._trace(layer, objective)
            return self._steps[key]

    def _trace(self, layer: str | None, kind: str) -> tuple[Callable, Callable]:
        objective = self._objective(layer, kind)
        channels = self.input_shape[2]
        signature = [tf.TensorSpec((None, *self.input_shape), tf.float32),
                     tf.TensorSpec((None,), tf.int32), tf.TensorSpec((2,), tf.int32),
                     tf.TensorSpec((), tf.float32), tf.TensorSpec((), tf.bool),
                     tf.TensorSpec((3, 3, channels, 1), tf.float32)]

        def step(x, indices, shift, size, blur, kernel):
            """One climb: (new x, each image's objective before it), after the blur if due."""
            x = tf.cond(blur, lambda: tf.nn.depthwise_conv2d(
                tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC"), kernel,
                [1, 1, 1, 1], "VALID"), lambda: x)
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(x)
                moved = tf.roll(x, shift, axis=[1, 2])  # the jitter
                values = tf.gather(objective(moved * 255.0), indices, batch_dims=1)
                total = tf.reduce_sum(values)  # the images are independent: one gradient
            grad = tape.gradient(total, x)
            scale = tf.reduce_max(tf.abs(grad), axis=[1, 2, 3], keepdims=True) + 1e-12
            x = x + size * grad / scale
            return tf.clip_by_value(x, 0.0, 1.0), values

        every = tf.function(lambda x: objective(x * 255.0), input_signature=signature[:1])
        return tf.function(step, input_signature=signature), every

    # --- climbing ---------------------------------------------------------------------------
    def _climb(self, layer: str | None, indices: Sequence[int], settings: Settings,
               progress: Progress | None = None, done: int = 0, total: int = 0,
               stop: threading.Event | None = None) -> list[Visualization] | None:
        """Climb ``indices`` together; None when ``stop`` was set on the way."""
        rng = np.random.default_rng(settings.seed)
        h, w, c = self.input_shape
        start = 0.5 + rng.uniform(-START_NOISE, START_NOISE, (h, w, c)).astype(np.float32)
        x = tf.constant(np.repeat(start[None], len(indices), axis=0))
        targets = tf.constant(np.asarray(indices, np.int32))
        jitter = self._jitter(layer, settings)
        shifts = rng.integers(-jitter, jitter + 1, (settings.steps, 2))
        kernel = tf.constant(_gaussian(settings.blur_sigma, c))
        step, every = self._compiled(layer, settings.objective)
        first = tf.gather(every(x), targets, batch_dims=1).numpy()
        for t in range(settings.steps):
            blur = settings.blur_every > 0 and t > 0 and t % settings.blur_every == 0
            x, _ = step(x, targets, tf.constant(shifts[t], tf.int32),
                        tf.constant(settings.step_size, tf.float32), tf.constant(blur), kernel)
            if progress is not None:
                progress(done + t + 1, total or settings.steps)
            if stop is not None and stop.is_set():
                return None
        final = tf.gather(every(x), targets, batch_dims=1).numpy()
        box = None if layer is None else receptive.input_region(self.summary, layer,
                                                                 *self._centre(layer))
        images = x.numpy()
        return [Visualization(layer, int(k), images[i, ..., 0] if c == 1 else images[i],
                              float(first[i]), float(final[i]), box, settings)
                for i, k in enumerate(indices)]

    def _jitter(self, layer: str | None, settings: Settings) -> int:
        """``settings.jitter``, but at most an eighth of the objective's field: a one-pixel
        shift of a 3×3 unit's field moves a third of what it sees (no jitter there)."""
        if layer is None or settings.objective == "channel":
            return settings.jitter
        top, left, bottom, right = receptive.region_unclipped(self.summary, layer,
                                                              *self._centre(layer))
        return min(settings.jitter, min(bottom - top, right - left) // 8)

    def _width(self, layer: str | None) -> int:
        if layer is None:
            return self.num_classes
        return int(self.model.get_layer(layer).output.shape[-1])

    # --- the public calls -------------------------------------------------------------------
    def _checked_index(self, layer: str | None, index: int) -> int:
        width = self._width(layer)
        what = f"layer {layer} has filters" if layer else "classes are"
        if not 0 <= int(index) < width:
            raise ValueError(f"{what} 0..{width - 1}; received {index}")
        return int(index)

    def _cached(self, layer: str | None, index: int, settings: Settings):
        key = (self.identity, layer, index, settings)
        return None if self.identity is None else CACHE.get(key)

    def _keep(self, found: Visualization) -> None:
        if self.identity is not None:
            CACHE.put((self.identity, found.layer, found.index, found.settings), found,
                      nbytes_of(found.image))

    def unit(self, layer: str, index: int, settings: Settings = Settings()) -> Visualization:
        """The image that excites filter ``index`` of conv layer ``layer`` most.

        Raises:
            ValueError: for a layer that is not a conv layer, or a filter out of range.
        """
        layer = checked_conv_layer(self.summary, layer)
        return self._many(layer, [self._checked_index(layer, index)], settings)[0]

    def output_class(self, index: int, settings: Settings = Settings()) -> Visualization:
        """The image that raises class ``index``'s logit most ("what does a 7 look like?")."""
        return self._many(None, [self._checked_index(None, index)], settings)[0]

    def layer(self, layer: str | None, settings: Settings = Settings(),
              progress: Progress | None = None,
              stop: threading.Event | None = None) -> list[Visualization]:
        """Every filter of conv layer ``layer`` (None: every class), in order.

        Args:
            layer: a conv layer's name, or None for the classes.
            settings: as for :meth:`unit`.
            progress: called with (steps done, steps in all) after each step (for a page's
                progress bar; the cached filters count as done).
            stop: when set, the climb ends after the current step.
        Returns:
            One :class:`Visualization` per filter; with ``stop`` set part-way, only those
            finished (and cached) before it.
        """
        if layer is not None:
            layer = checked_conv_layer(self.summary, layer)
        return self._many(layer, list(range(self._width(layer))), settings, progress, stop)

    def _many(self, layer: str | None, indices: list[int], settings: Settings,
              progress: Progress | None = None,
              stop: threading.Event | None = None) -> list[Visualization]:
        found = {k: v for k in indices if (v := self._cached(layer, k, settings)) is not None}
        missing = [k for k in indices if k not in found]
        chunks = [missing[i:i + CHUNK] for i in range(0, len(missing), CHUNK)]
        total = len(chunks) * settings.steps
        for n, chunk in enumerate(chunks):
            climbed = self._climb(layer, chunk, settings, progress, n * settings.steps, total,
                                  stop)
            if climbed is None:
                break
            for visualization in climbed:
                self._keep(visualization)
                found[visualization.index] = visualization
        return [found[k] for k in indices if k in found]
