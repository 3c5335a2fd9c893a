"""Shape arithmetic: every layer's output shape, parameters, MACs and receptive field.

Pure Python on integers, no TensorFlow, so the Build page and ``cnnlab summary`` answer at
once. ``tests/test_shapes_keras.py`` holds it against the Keras model that is actually built.
"""

from __future__ import annotations

import math

from cnnlab.architecture import spec
from cnnlab.architecture.resource_guard import resource_problems
from cnnlab.architecture.rows import Row, Shape, Summary
from cnnlab.architecture.spec import Architecture, Layer, Problem

NAME_PREFIX = {
    "conv2d": "conv",
    "max_pool2d": "pool",
    "avg_pool2d": "pool",
    "global_avg_pool2d": "gpool",
    "global_max_pool2d": "gpool",
    "batch_norm": "bn",
    "dropout": "dropout",
    "flatten": "flatten",
    "dense": "dense",
}


def conv_output_length(n: int, k: int, s: int, padding: str) -> int:
    """Keras's rule for one axis: valid → ⌊(n − k) / s⌋ + 1, same → ⌈n / s⌉.

    Example:
        >>> conv_output_length(28, 3, 1, "valid")
        26
    """
    if padding == "same":
        return -(-n // s)
    return (n - k) // s + 1


def same_padding_total(n: int, k: int, s: int) -> int:
    """Zero rows (or columns) Keras adds in total for "same" (the extra one goes bottom/right)."""
    out = -(-n // s)
    return max((out - 1) * s + k - n, 0)


def axis_formula(n: int, k: int, s: int, padding: str) -> str:
    """One axis's output-size formula with its numbers: ``(28 − 3 + 2·0) / 1 + 1 = 26``."""
    out = conv_output_length(n, k, s, padding)
    if padding == "same":
        return f"⌈{n} / {s}⌉ = {out}"
    if (n - k) % s == 0:
        return f"({n} − {k} + 2·0) / {s} + 1 = {out}"
    return f"⌊({n} − {k} + 2·0) / {s}⌋ + 1 = {out}"


def spatial_formula(shape_in: Shape, k: tuple[int, int], s: tuple[int, int], padding: str) -> str:
    h = axis_formula(shape_in[0], k[0], s[0], padding)
    w = axis_formula(shape_in[1], k[1], s[1], padding)
    return h if h == w else f"H: {h}; W: {w}"


def _fmt(shape: Shape) -> str:
    return "×".join(str(v) for v in shape)


def field_problems(position: int, layer: Layer) -> list[Problem]:
    """Range checks of one layer's fields (values < 1, unknown padding or activation, rate)."""
    where = spec.layer_label(position, layer.type)
    problems = []
    for name in ("filters", "units"):
        value = getattr(layer, name)
        if value is not None and value < 1:
            problems.append(Problem(f"{where}: {name} must be at least 1; received {value}",
                                    position, name))
    for name in spec.PAIR_FIELDS:
        value = getattr(layer, name)
        if value is not None and min(value) < 1:
            shown = value[0] if value[0] == value[1] else list(value)
            problems.append(Problem(f"{where}: {name} must be at least 1; received {shown}",
                                    position, name))
    if layer.padding is not None and layer.padding not in spec.PADDINGS:
        problems.append(Problem(f"{where}: unknown padding \"{layer.padding}\"; use \"valid\" "
                                f"or \"same\"", position, "padding"))
    if layer.activation is not None and layer.activation not in spec.ACTIVATIONS:
        problems.append(Problem(f"{where}: unknown activation \"{layer.activation}\"; use one of "
                                f"{', '.join(spec.ACTIVATIONS)}", position, "activation"))
    if layer.rate is not None and not 0 <= layer.rate < 1:
        problems.append(Problem(f"{where}: rate must be in [0, 1), e.g. 0.25; received "
                                f"{layer.rate:g}", position, "rate"))
    return problems


def _spatial(position: int, layer: Layer, shape: Shape) -> tuple[Shape, str, Problem | None]:
    """Output shape and formula of a conv or pooling layer, or why it does not fit."""
    k = layer.kernel_size if layer.type == "conv2d" else layer.pool_size
    field = "kernel_size" if layer.type == "conv2d" else "pool_size"
    s = layer.strides
    if layer.padding == "valid" and (k[0] > shape[0] or k[1] > shape[1]):
        shown = k[0] if k[0] == k[1] else list(k)
        fits = f"{field} <= {min(shape[0], shape[1])}" if k[0] == k[1] else (
            f"{field} <= [{shape[0]}, {shape[1]}]")
        return shape, "", Problem(
            f"{spec.layer_label(position, layer.type)}: {field} {shown} does not fit its "
            f"{shape[0]}x{shape[1]} input with padding \"valid\"; use padding \"same\" or {fits}",
            position, field)
    h = conv_output_length(shape[0], k[0], s[0], layer.padding)
    w = conv_output_length(shape[1], k[1], s[1], layer.padding)
    channels = layer.filters if layer.type == "conv2d" else shape[2]
    return (h, w, channels), spatial_formula(shape, k, s, layer.padding), None


def _needs_map(position: int, layer: Layer, shape: Shape) -> Problem:
    return Problem(f"{spec.layer_label(position, layer.type)} needs a height×width×channels "
                   f"feature map but receives a flat vector of {shape[0]} values; move it "
                   f"before the flatten, global pooling and dense layers", position, "type")


def summarize(
    arch: Architecture, input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
) -> Summary:
    """Walk the layers and compute every row; collect every problem instead of raising.

    Args:
        arch: the architecture.
        input_shape: overrides ``arch.input_shape`` (a data set supplies it); default 28×28×1.
        num_classes: overrides ``arch.num_classes``; default 10.
    Returns:
        A :class:`Summary`; rows stop at the first layer whose shape cannot be computed.

    Example:
        >>> from cnnlab.architecture import presets
        >>> summarize(presets.get("two-conv")).total_params
        225034
    """
    shape_in = tuple(input_shape or arch.input_shape or spec.DEFAULT_INPUT_SHAPE)
    classes = num_classes or arch.num_classes or spec.DEFAULT_NUM_CLASSES
    problems: list[Problem] = []
    if len(shape_in) != 3 or min(shape_in) < 1:
        problems.append(Problem(f"input_shape must be [height, width, channels] of integers >= 1;"
                                f" received {list(shape_in)}", field="input_shape"))
    if classes < 2:
        problems.append(Problem(f"num_classes must be at least 2; received {classes}",
                                field="num_classes"))
    for position, layer in enumerate(arch.layers, start=1):
        problems.extend(field_problems(position, layer))
    if problems:
        return Summary(tuple(shape_in), classes, (), tuple(problems))

    rows: list[Row] = []
    counters: dict[str, int] = {}
    shape: Shape = shape_in
    rf, jump = (1, 1), (1, 1)

    def name_for(prefix: str) -> str:
        counters[prefix] = counters.get(prefix, 0) + 1
        return f"{prefix}_{counters[prefix]}"

    def flatten_row(position: int | None, layer: Layer | None, auto: bool) -> Row:
        size = math.prod(shape)
        formula = f"{' × '.join(str(v) for v in shape)} = {size}" if len(shape) == 3 else ""
        return Row(name_for("flatten"), "flatten", (size,), 0, 0, formula, position, auto,
                   layer, input_shape=shape)

    def dense_row(name: str, position: int | None, layer: Layer, auto: bool) -> Row:
        n = shape[0]
        params = (n + 1) * layer.units
        return Row(name, "dense", (layer.units,), params, n * layer.units,
                   f"({n} + 1) × {layer.units} = {params:,} params", position, auto, layer,
                   input_shape=shape)

    for position, layer in enumerate(arch.layers, start=1):
        kind = layer.type
        if kind in spec.SPATIAL_TYPES or kind.startswith("global"):
            if len(shape) != 3:
                problems.append(_needs_map(position, layer, shape))
                break
        if kind in spec.SPATIAL_TYPES:
            out, formula, problem = _spatial(position, layer, shape)
            if problem:
                problems.append(problem)
                break
            k = layer.kernel_size if kind == "conv2d" else layer.pool_size
            rf = (rf[0] + (k[0] - 1) * jump[0], rf[1] + (k[1] - 1) * jump[1])
            jump = (jump[0] * layer.strides[0], jump[1] * layer.strides[1])
            params = macs = 0
            if kind == "conv2d":
                per_filter = k[0] * k[1] * shape[2]
                params = (per_filter + 1) * layer.filters
                macs = out[0] * out[1] * layer.filters * per_filter
            rows.append(Row(name_for(NAME_PREFIX[kind]), kind, out, params, macs, formula,
                            position, False, layer, rf, jump, shape))
        elif kind.startswith("global"):
            out = (shape[2],)
            rows.append(Row(name_for("gpool"), kind, out, 0, 0,
                            f"{_fmt(shape)} → {shape[2]} ({'average' if 'avg' in kind else 'max'}"
                            f" of each channel)", position, False, layer, None, None, shape))
        elif kind == "flatten":
            out = (math.prod(shape),)
            rows.append(flatten_row(position, layer, False))
        elif kind == "dense":
            if len(shape) == 3:
                rows.append(flatten_row(None, None, True))
                shape = rows[-1].output_shape
            rows.append(dense_row(name_for("dense"), position, layer, False))
            out = rows[-1].output_shape
        else:  # batch_norm, dropout: shape unchanged
            out = shape
            params = 4 * shape[-1] if kind == "batch_norm" else 0
            formula = f"4 × {shape[-1]} = {params} params (γ, β, mean, variance)" if params else (
                f"drops {layer.rate:.0%} of values while training")
            rows.append(Row(name_for(NAME_PREFIX[kind]), kind, out, params, 0, formula, position,
                            False, layer, rf if len(shape) == 3 else None,
                            jump if len(shape) == 3 else None, shape))
        shape = out
    else:
        if len(shape) == 3:
            rows.append(flatten_row(None, None, True))
            shape = rows[-1].output_shape
        head = spec.Layer(type="dense", units=classes, activation="softmax")
        rows.append(dense_row("output", None, head, True))
        problems.extend(resource_problems(rows))
    return Summary(tuple(shape_in), classes, tuple(rows), tuple(problems))
