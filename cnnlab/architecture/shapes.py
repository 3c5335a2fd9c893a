"""Shape arithmetic: every layer's output shape, parameters, MACs and receptive field.

Pure Python on integers, no TensorFlow, so the Build page and ``cnnlab summary`` answer at
once. ``tests/test_shapes_keras.py`` holds it against the Keras model that is actually built.
"""

from __future__ import annotations

from cnnlab.architecture import fields, layer_types, spec
from cnnlab.architecture.layer_types import Misfit, Out
from cnnlab.architecture.resource_guard import GUARD_BATCH, resource_problems
from cnnlab.architecture.rows import Row, Shape, Summary
from cnnlab.architecture.spec import Architecture, Layer, Problem, SpecError


def field_problems(position: int, layer: Layer) -> list[Problem]:
    """Range checks of one layer's fields: each field's bounds and choices, and the rules
    between fields of its type (see :mod:`cnnlab.architecture.layer_types`)."""
    kind = layer_types.REGISTRY.get(layer.type)
    if kind is None:
        return [Problem(f"layer {position}: unknown layer type {fields.describe(layer.type)}; use "
                        f"one of {', '.join(layer_types.LAYER_TYPES)}", position, "type")]
    where = spec.layer_label(position, layer.type)
    problems = []
    for fld in kind.fields:
        value = getattr(layer, fld.name)
        message = fields.check(fld, value, where) if value is not None else (
            f"{where}: missing field {fld.name}" if fld.required else None)
        if message:
            problems.append(Problem(message, position, fld.name))
    if not problems:
        for misfit in kind.checks(layer):
            problems.append(Problem(f"{where}: {misfit.message}", position, misfit.field))
    return problems


def _needs_map(position: int, layer: Layer, shape: Shape) -> Problem:
    return Problem(f"{spec.layer_label(position, layer.type)} needs a height×width×channels "
                   f"feature map but receives a flat vector of {shape[0]} values; move it "
                   f"before the flatten, global pooling and dense layers", position, "type")


def summarize(
    arch: Architecture, input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None, batch_size: int = GUARD_BATCH,
) -> Summary:
    """Walk the layers and compute every row; collect every problem instead of raising.

    Args:
        arch: the architecture.
        input_shape: overrides ``arch.input_shape`` (a data set supplies it); default 28×28×1.
        num_classes: overrides ``arch.num_classes``; default 10.
        batch_size: the batch size the feature maps' memory is checked at (the resource
            guard, :mod:`cnnlab.architecture.resource_guard`); training checks its own.
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
    if len(arch.layers) > spec.MAX_LAYERS:
        problems.append(Problem(f"the architecture has {len(arch.layers):,} layers; CNN Lab "
                                f"allows at most {spec.MAX_LAYERS}; remove layers",
                                field="layers"))
        return Summary(tuple(shape_in), classes, (), tuple(problems))
    for position, layer in enumerate(arch.layers, start=1):
        problems.extend(field_problems(position, layer))
    if problems:
        return Summary(tuple(shape_in), classes, (), tuple(problems))

    rows: list[Row] = []
    counters: dict[str, int] = {}
    shape: Shape = shape_in
    rf, jump = (1, 1), (1, 1)

    def add_row(kind: layer_types.LayerType, layer: Layer | None, position: int | None,
                name: str | None = None) -> Out | Misfit:
        nonlocal shape, rf, jump
        out = kind.rule(layer, shape)
        if isinstance(out, Misfit):
            return out
        if out.window:
            (k, s) = out.window
            rf = (rf[0] + (k[0] - 1) * jump[0], rf[1] + (k[1] - 1) * jump[1])
            jump = (jump[0] * s[0], jump[1] * s[1])
        if name is None:
            counters[kind.prefix] = counters.get(kind.prefix, 0) + 1
            name = f"{kind.prefix}_{counters[kind.prefix]}"
        spatial = len(out.shape) == 3
        rows.append(Row(name, kind.name, out.shape, out.params, out.macs, out.formula, position,
                        position is None, layer, rf if spatial else None,
                        jump if spatial else None, shape))
        shape = out.shape
        return out

    def auto_flatten() -> None:
        add_row(layer_types.REGISTRY[layer_types.AUTO_FLATTEN], None, None)

    for position, layer in enumerate(arch.layers, start=1):
        kind = layer_types.REGISTRY[layer.type]
        if kind.needs_map and len(shape) != 3:
            problems.append(_needs_map(position, layer, shape))
            break
        if kind.flattens_map and len(shape) == 3:
            auto_flatten()
        out = add_row(kind, layer, position)
        if isinstance(out, Misfit):
            problems.append(Problem(f"{spec.layer_label(position, layer.type)}: {out.message}",
                                    position, out.field))
            break
    else:
        if len(shape) == 3:
            auto_flatten()
        head = spec.Layer(type=layer_types.HEAD, units=classes, activation="softmax")
        add_row(layer_types.REGISTRY[layer_types.HEAD], head, None, "output")
        problems.extend(resource_problems(rows, batch_size))
    return Summary(tuple(shape_in), classes, tuple(rows), tuple(problems))


def checked_summary(
    arch: Architecture, input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None, batch_size: int = GUARD_BATCH,
) -> Summary:
    """The summary of a valid architecture; raises :class:`SpecError` listing its problems.

    The builder, the code export and ``cnnlab summary`` all go through it.
    """
    summary = summarize(arch, input_shape, num_classes, batch_size)
    if summary.problems:
        raise SpecError(list(summary.problems))
    return summary
