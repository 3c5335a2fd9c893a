"""Sanity checks for explanations (Adebayo et al. 2018, "Sanity checks for saliency maps").

An explanation that looks the same for a trained network and for one whose weights are random
describes the image, not what the network learned. :func:`randomised` gives a copy of a model
with every layer from a chosen one up to the output re-initialised (the *cascading*
randomisation of the paper, from the top down to layer N), so every map can be recomputed on
it; :func:`spearman` measures how alike two maps are by the ranks of their values, and
:func:`similarity` does so for every map of two explanations.

What the checks show on the built-in digits (two-conv trained 2 epochs, 20 test digits, fully
randomised with three seeds): Grad-CAM passes, its rank correlation with the trained map
averaging −0.02 to 0.24; the signed gradient passes too (about 0). The saliency map,
``|gradient|``, does not: 0.64 on average. On a black background every unit of a randomised
network (zero biases) is exactly zero wherever its field holds no ink, so its saliency is the
digit's own shape (rank correlation 0.9 with the dilated ink), and the trained network's
saliency follows the ink too (0.6–0.7). The absolute saliency of a digit says as much about
the digit as about the network: the lesson the page's switch gives.

Each variable is re-initialised with its own layer's initialiser (``kernel_initializer``,
``bias_initializer``, ``gamma_initializer``, ...: Glorot uniform kernels and zero biases for
this project's layers), seeded per variable from ``seed``, so the same seed gives the same
network. A variable whose initialiser cannot be found is an error, never left trained. Only
the copy changes; the run's model is untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

from cnnlab.architecture.rows import Summary
from cnnlab.inspect.attribution import Explanation

# a variable's name -> the layer attributes that may hold its initialiser, in order
INITIALISERS = {
    "kernel": ("kernel_initializer", "depthwise_initializer"),
    "bias": ("bias_initializer",),
    "gamma": ("gamma_initializer",),
    "beta": ("beta_initializer",),
    "moving_mean": ("moving_mean_initializer",),
    "moving_variance": ("moving_variance_initializer",),
}


def randomisable_layers(summary: Summary) -> list[str]:
    """The rows that hold weights, in model order (the first one: randomise everything)."""
    return [row.name for row in summary.rows if row.params > 0]


def _initialiser(layer: keras.layers.Layer, variable_name: str, seed: int):
    for attribute in INITIALISERS.get(variable_name, ()):
        initialiser = getattr(layer, attribute, None)
        if initialiser is not None:
            config = initialiser.get_config()
            if "seed" in config:  # random initialisers; constants (zeros, ones) have none
                config["seed"] = seed
            return type(initialiser).from_config(config)
    raise ValueError(f"layer {layer.name}: no initialiser found for its variable "
                     f"{variable_name!r}; known variables: {', '.join(INITIALISERS)}")


def randomised(model: keras.Model, summary: Summary, from_layer: str,
               seed: int = 0) -> keras.Model:
    """A copy of ``model`` whose layers from ``from_layer`` up to the output are
    re-initialised; the layers below keep their trained weights.

    Args:
        model: a model from :func:`cnnlab.models.builder.build_model`.
        summary: its shape summary (the rows name the layers).
        from_layer: the lowest layer to randomise (one of :func:`randomisable_layers`); the
            first of them randomises the whole network.
        seed: seeds every re-initialised variable.
    Returns:
        A new ``keras.Model`` with the same layer names.
    Raises:
        ValueError: for a layer without weights or not in the network (the message lists the
            ones there are).

    Example:
        >>> from cnnlab.architecture import presets, shapes
        >>> from cnnlab.models import builder
        >>> arch = presets.get("two-conv")
        >>> model, summary = builder.build_model(arch, seed=0), shapes.summarize(arch)
        >>> copy = randomised(model, summary, "dense_1", seed=1)
        >>> np.array_equal(copy.get_layer("conv_2").get_weights()[0],
        ...                model.get_layer("conv_2").get_weights()[0])
        True
    """
    names = randomisable_layers(summary)
    if from_layer not in names:
        raise ValueError(f"cannot randomise from layer {from_layer!r}: use one with weights, "
                         f"one of {', '.join(names)}")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    for offset, name in enumerate(names[names.index(from_layer):]):
        layer = copy.get_layer(name)
        for index, variable in enumerate(layer.weights):
            variable_name = variable.path.rsplit("/", 1)[-1]
            initialiser = _initialiser(layer, variable_name, seed * 1009 + offset * 31 + index)
            variable.assign(initialiser(tuple(variable.shape), variable.dtype))
    return copy


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties given their mean rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + ends - 1) / 2)[inverse.ravel()]


def spearman(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman's rank correlation of two maps of the same shape (ties get their mean rank):
    1 for the same order, −1 for the reverse, NaN when either map is constant.

    Example:
        >>> round(spearman(np.array([1, 2, 3, 4, 5]), np.array([5, 6, 7, 8, 7])), 6)
        0.820783
    """
    a, b = np.ravel(first), np.ravel(second)
    if a.shape != b.shape:
        raise ValueError(f"the maps must have the same shape; received {np.shape(first)} and "
                         f"{np.shape(second)}")
    ra, rb = _ranks(a) - (len(a) - 1) / 2, _ranks(b) - (len(b) - 1) / 2
    scale = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / scale) if scale > 0 else float("nan")


@dataclass(frozen=True)
class Similarity:
    """Rank correlations between two explanations of one image and class (NaN where a map is
    constant, e.g. a Grad-CAM that is zero everywhere)."""

    saliency: float  # |gradient|, as shown
    gradient: float  # the signed gradient (the paper's "no absolute value" variant)
    gradcam: float  # Grad-CAM at its layer's own resolution; NaN without Grad-CAM

    def passes(self, limit: float = 0.5) -> dict[str, bool | None]:
        """Per map: True when the two differ (correlation below ``limit``), None when undefined."""
        return {name: None if math.isnan(value) else value < limit
                for name, value in self.__dict__.items()}


def similarity(first: Explanation, second: Explanation) -> Similarity:
    """How alike two explanations are (e.g. of the trained and a randomised network).

    Grad-CAM is compared at its layer's own resolution: the placing on the input adds the same
    structure to both (every map fades to zero in the margin) and says nothing of the weights.
    """
    gradcam = float("nan")
    if first.gradcam_cells is not None and second.gradcam_cells is not None:
        gradcam = spearman(first.gradcam_cells, second.gradcam_cells)
    gradient = float("nan")
    if first.gradient is not None and second.gradient is not None:
        gradient = spearman(first.gradient, second.gradient)
    return Similarity(spearman(first.saliency, second.saliency), gradient, gradcam)
