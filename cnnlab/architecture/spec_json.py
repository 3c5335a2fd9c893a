"""The architecture JSON format: parsing and validating it into :mod:`cnnlab.architecture.spec`'s
dataclasses (every problem a learner can act on, by layer and field), and loading and saving
files (size-limited, never executed).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from cnnlab.architecture import fields, layer_types
from cnnlab.architecture.fields import describe as _describe
from cnnlab.architecture.spec import (
    MAX_LAYERS,
    Architecture,
    Layer,
    Problem,
    SpecError,
    layer_label,
    make_layer,
)
from cnnlab.files import reading

MAX_JSON_BYTES = 256_000


def _parse_int(value: Any, where: str, name: str, problems: list[Problem], pos: int | None):
    parsed, message = fields.parse(fields.Field(name, "int"), value, where)
    if message:
        problems.append(Problem(message, pos, name))
    return parsed


def _parse_layer(raw: Any, pos: int, problems: list[Problem]) -> Layer | None:
    if not isinstance(raw, dict):
        problems.append(
            Problem(f"layer {pos}: must be an object like {{\"type\": \"conv2d\", ...}}; "
                    f"received {_describe(raw)}", pos)
        )
        return None
    layer_type = raw.get("type")
    if layer_type not in layer_types.REGISTRY:
        received = "no type" if layer_type is None else f"type {_describe(layer_type)}"
        problems.append(
            Problem(f"layer {pos}: unknown layer {received}; use one of "
                    f"{', '.join(layer_types.LAYER_TYPES)}", pos, "type")
        )
        return None
    where = layer_label(pos, layer_type)
    kind = layer_types.REGISTRY[layer_type]
    allowed = kind.field_names
    before = len(problems)
    for name in raw:
        if name != "type" and name not in allowed:
            hint = f"it takes {', '.join(allowed)}" if allowed else "it takes no fields"
            problems.append(Problem(f"{where}: unknown field {_describe(name)}; {hint}", pos, name))
    values: dict[str, Any] = {}
    for fld in kind.fields:
        value = raw.get(fld.name)
        if value is None:
            if fld.required:
                problems.append(Problem(f"{where}: missing field {fld.name}", pos, fld.name))
            continue
        values[fld.name], message = fields.parse(fld, value, where)
        if message:
            problems.append(Problem(message, pos, fld.name))
    if len(problems) > before:
        return None
    return make_layer(layer_type, **values)


def architecture_from_dict(data: Any) -> Architecture:
    """Parse the JSON form into an :class:`Architecture`, collecting every structural problem.

    Types and names are checked here; bounds and shapes by
    :func:`cnnlab.architecture.shapes.summarize`.

    Args:
        data: the decoded JSON object.
    Returns:
        The architecture, with the format's defaults filled in.
    Raises:
        SpecError: listing every problem found.
    """
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise SpecError([Problem(f"an architecture must be a JSON object with a \"layers\" list; "
                                 f"received {type(data).__name__}")])
    known = {"name", "input_shape", "num_classes", "layers", "description"}
    for key in data:
        if key not in known:
            problems.append(Problem(f"unknown top-level field {_describe(key)}; "
                                    f"use name, input_shape, num_classes, layers"))
    name = data.get("name", "untitled")
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(f"name must be a non-empty string; received {_describe(name)}"))
        name = "untitled"
    input_shape = data.get("input_shape")
    if input_shape is not None:
        if (not isinstance(input_shape, list) or len(input_shape) != 3
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in input_shape)):
            problems.append(Problem(f"input_shape must be [height, width, channels] of integers, "
                                    f"e.g. [28, 28, 1]; received {_describe(input_shape)}",
                                    field="input_shape"))
            input_shape = None
        else:
            input_shape = tuple(input_shape)
    num_classes = data.get("num_classes")
    if num_classes is not None:
        num_classes = _parse_int(num_classes, "num_classes", "num_classes", problems, None)
        if problems and problems[-1].field == "num_classes":
            problems[-1] = Problem(f"num_classes must be an integer >= 2; received "
                                   f"{_describe(data['num_classes'])}", field="num_classes")
    raw_layers = data.get("layers")
    layers: list[Layer] = []
    if not isinstance(raw_layers, list):
        problems.append(Problem(f"layers must be a list of layer objects; received "
                                f"{_describe(raw_layers) if raw_layers is not None else 'none'}"))
    elif len(raw_layers) > MAX_LAYERS:
        problems.append(Problem(f"layers holds {len(raw_layers):,} layers; an architecture may "
                                f"have at most {MAX_LAYERS}; use fewer layers", field="layers"))
    else:
        for pos, raw in enumerate(raw_layers, start=1):
            layer = _parse_layer(raw, pos, problems)
            if layer is not None:
                layers.append(layer)
    if problems:
        raise SpecError(problems)
    return Architecture(name=name, layers=tuple(layers), input_shape=input_shape,
                        num_classes=num_classes)


def architecture_from_json(text: str | bytes) -> Architecture:
    """Parse JSON text (size-, depth- and number-limited, see :mod:`cnnlab.files.reading`);
    malformed JSON becomes a :class:`SpecError`."""
    if len(text) > MAX_JSON_BYTES:
        raise SpecError([Problem(f"architecture file is {len(text):,} bytes; the limit is "
                                 f"{MAX_JSON_BYTES:,} bytes")])
    try:
        data = reading.loads_json(text, "architecture")
    except reading.InputError as exc:
        message = str(exc).removeprefix("architecture: ").removeprefix("not valid JSON: ")
        raise SpecError([Problem(message)]) from None
    return architecture_from_dict(data)


def load_architecture(path: str | Path) -> Architecture:
    """Read an architecture JSON file (size-limited, never executed)."""
    path = Path(path)
    try:  # a regular file only: a FIFO or /dev/zero is refused before reading
        text = reading.read_regular_file(path, MAX_JSON_BYTES, "an architecture file")
    except reading.InputError as exc:
        raise SpecError([Problem(str(exc))]) from None
    try:
        return architecture_from_json(text)
    except SpecError as exc:
        exc.problems = [dataclasses.replace(p, message=f"{path}: {p.message}")
                        for p in exc.problems]
        raise


def architecture_to_json(arch: Architecture) -> str:
    """The documented JSON form, indented, one layer per line."""
    lines = ",\n".join(f"    {json.dumps(layer.to_dict())}" for layer in arch.layers)
    head = {k: v for k, v in arch.to_dict().items() if k != "layers"}
    head_text = json.dumps(head, indent=2)[:-2]
    return f"{head_text},\n  \"layers\": [\n{lines}\n  ]\n}}\n"


def save_architecture(arch: Architecture, path: str | Path) -> None:
    """Write ``arch`` as JSON to ``path``."""
    Path(path).write_text(architecture_to_json(arch), encoding="utf-8")
