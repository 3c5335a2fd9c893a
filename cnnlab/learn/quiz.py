"""Predict, then reveal: guess a layer's output shape and parameter count, then check it.

The answers come from :func:`cnnlab.architecture.shapes.summarize` (which
``tests/test_shapes_keras.py`` holds against Keras); this module only reads guesses, compares
them and writes the formulas out with their numbers. :func:`challenge` makes a random small
valid network from a seed, so the same seed always gives the same exercise.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from cnnlab.architecture import fields, layer_types, shapes, spec
from cnnlab.architecture.rows import Row

SHAPE_EXAMPLE = "13x13x32 (or 13, 13, 32; a flat vector: 400)"
_SEPARATORS = re.compile(r"\s*[x×X*,]\s*|\s+")
_NUMBER = re.compile(r"\d+")
CHALLENGE_INPUTS = ((28, 28, 1), (32, 32, 3), (16, 16, 1), (24, 24, 3), (20, 20, 1))
MAX_CHALLENGE_PARAMS = 400_000


@dataclass(frozen=True)
class Verdict:
    """One checked guess: what was typed, what is right, and the formulas that give it."""

    layer: str
    shape_right: bool
    params_right: bool
    guessed_shape: tuple[int, ...]
    guessed_params: int
    shape: tuple[int, ...]
    params: int
    shape_formula: str
    params_formula: str

    @property
    def points(self) -> int:
        """One point for the shape, one for the parameter count."""
        return int(self.shape_right) + int(self.params_right)


def parse_shape(text: str) -> tuple[int, ...]:
    """A typed shape as integers: ``13x13x32``, ``13×13×32``, ``13,13,32``, ``(13, 13, 32)``,
    ``[400]`` or ``400``.

    Raises:
        ValueError: naming what was received and how to type it.

    Example:
        >>> parse_shape(" (13, 13, 32) ")
        (13, 13, 32)
    """
    inner = str(text).strip().strip("()[]").strip().rstrip(",").strip()
    parts = _SEPARATORS.split(inner) if inner else []
    if not parts or not all(_NUMBER.fullmatch(part) for part in parts) or len(parts) > 3:
        raise ValueError(f"output shape: received {str(text)!r}; type up to three whole numbers "
                         f"like {SHAPE_EXAMPLE}")
    values = tuple(int(part) for part in parts)
    if min(values) < 1:
        raise ValueError(f"output shape: received {str(text)!r}; every size is at least 1")
    return values


def parse_params(text: str) -> int:
    """A typed parameter count: ``320``, ``3,200``, ``3 200`` or ``3_200``.

    Raises:
        ValueError: naming what was received and how to type it.

    Example:
        >>> parse_params("18 496")
        18496
    """
    cleaned = str(text).strip()
    if not re.fullmatch(r"\d{1,3}([ ,_]\d{3})+|\d+", cleaned):
        raise ValueError(f"parameters: received {str(text)!r}; type a whole number like 320 "
                         f"or 18,496")
    return int(re.sub(r"[ ,_]", "", cleaned))


def params_formula(row: Row) -> str:
    """How the row's parameter count comes about, with its numbers.

    Example:
        >>> from cnnlab.architecture import presets
        >>> params_formula(shapes.summarize(presets.get("two-conv")).rows[0])[:26]
        '(3 × 3 × 1 + 1) × 32 = 320'
    """
    layer, c_in = row.layer, row.input_shape[-1] if row.input_shape else 0
    if row.type == "conv2d":
        k = layer.kernel_size
        return (f"({k[0]} × {k[1]} × {c_in} + 1) × {layer.filters} = {row.params:,} (a weight "
                f"per kernel tap and input channel, one bias per filter)")
    if row.type == "depthwise_conv2d":
        k, m = layer.kernel_size, layer.depth_multiplier
        return (f"({k[0]} × {k[1]} + 1) × {c_in} × {m} = {row.params:,} (one kernel and bias per "
                f"input channel and multiplier)")
    if row.type == "dense":
        return f"({c_in} + 1) × {layer.units} = {row.params:,} (a weight per input, one bias)"
    if row.type == "batch_norm":
        return f"4 × {c_in} = {row.params:,} (γ, β, mean and variance per channel)"
    return f"0 ({layer_types.get(row.type).label} has no weights)"


def shape_formula(row: Row) -> str:
    """How the row's output shape comes about, with its numbers."""
    out = "×".join(map(str, row.output_shape))
    if row.type in ("conv2d", "depthwise_conv2d", "max_pool2d", "avg_pool2d"):
        return f"{row.formula}; channels {row.output_shape[-1]} → {out}"
    if row.type == "dense":
        return f"one value per unit → {out}"
    if row.type == "flatten":
        return f"{row.formula} values in a row"
    if row.type in ("dropout", "batch_norm"):
        return f"same as its input → {out}"
    return f"{row.formula} → {out}" if row.formula else out


def check(row: Row, shape_text: str, params_text: str) -> Verdict:
    """Compare a learner's two guesses with the row's true output shape and parameters.

    Raises:
        ValueError: for a guess that cannot be read (see :func:`parse_shape`,
            :func:`parse_params`); nothing is scored then.
    """
    shape, params = parse_shape(shape_text), parse_params(params_text)
    return Verdict(row.name, shape == tuple(row.output_shape), params == row.params, shape,
                   params, tuple(row.output_shape), row.params, shape_formula(row),
                   params_formula(row))


def describe(row: Row) -> str:
    """The row's type and settings, as the learner needs them to work out the answer."""
    if row.name == "output" and row.auto:
        return f"output layer (added automatically): dense, {row.layer.units} units, softmax"
    if row.auto:
        return "flatten (added automatically before a dense layer)"
    kind = layer_types.get(row.type)
    settings = ", ".join(f"{fld.name} {fields.describe(fields.shown(getattr(row.layer, fld.name)))}"
                         for fld in kind.fields if getattr(row.layer, fld.name) is not None)
    return f"{kind.label}" + (f": {settings}" if settings else "")


def _challenge_layers(rng: random.Random) -> list[spec.Layer]:
    layers = []
    for _ in range(rng.randint(1, 3)):
        layers.append(spec.make_layer(
            "conv2d", filters=rng.choice((4, 8, 16, 32)), kernel_size=rng.choice((1, 3, 5)),
            strides=rng.choice((1, 1, 2)), padding=rng.choice(("valid", "same"))))
        if rng.random() < 0.3:
            layers.append(spec.make_layer("batch_norm"))
        if rng.random() < 0.6:
            layers.append(spec.make_layer(rng.choice(("max_pool2d", "avg_pool2d")),
                                          pool_size=rng.choice((2, 3)),
                                          padding=rng.choice(("valid", "same"))))
    if rng.random() < 0.3:
        layers.append(spec.make_layer("global_avg_pool2d"))
    else:
        layers.append(spec.make_layer("flatten"))
        if rng.random() < 0.6:
            layers.append(spec.make_layer("dense", units=rng.choice((16, 32, 64))))
    return layers


def challenge(seed: int) -> spec.Architecture:
    """A random small valid network (1–3 convs, pooling, a head) for the quiz, the same for the
    same seed.

    Example:
        >>> shapes.summarize(challenge(7)).ok
        True
    """
    rng = random.Random(seed)
    while True:
        arch = spec.Architecture(f"challenge {seed}", tuple(_challenge_layers(rng)),
                                 rng.choice(CHALLENGE_INPUTS), 10)
        summary = shapes.summarize(arch)
        if summary.ok and summary.total_params <= MAX_CHALLENGE_PARAMS:
            return arch
