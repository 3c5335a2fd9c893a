"""The architecture spec: plain dataclasses, loaded from and saved to the documented JSON.

This is the single source of truth: the Build page's widgets make one, the shape arithmetic,
the model builder, the code export and the diagram all read it. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LAYER_TYPES = (
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "global_avg_pool2d",
    "global_max_pool2d",
    "batch_norm",
    "dropout",
    "flatten",
    "dense",
)
PADDINGS = ("valid", "same")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "elu", "selu", "gelu", "swish", "softplus")
DEFAULT_INPUT_SHAPE = (28, 28, 1)
DEFAULT_NUM_CLASSES = 10
MAX_JSON_BYTES = 256_000

# Which fields each layer type takes, in the order the JSON and the Build page show them.
FIELDS: dict[str, tuple[str, ...]] = {
    "conv2d": ("filters", "kernel_size", "strides", "padding", "activation"),
    "max_pool2d": ("pool_size", "strides", "padding"),
    "avg_pool2d": ("pool_size", "strides", "padding"),
    "global_avg_pool2d": (),
    "global_max_pool2d": (),
    "batch_norm": (),
    "dropout": ("rate",),
    "flatten": (),
    "dense": ("units", "activation"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "conv2d": ("filters", "kernel_size"),
    "dropout": ("rate",),
    "dense": ("units",),
}
PAIR_FIELDS = ("kernel_size", "strides", "pool_size")
SPATIAL_TYPES = ("conv2d", "max_pool2d", "avg_pool2d")
POOL_TYPES = ("max_pool2d", "avg_pool2d")

Pair = tuple[int, int]


@dataclass(frozen=True)
class Layer:
    """One layer as the user describes it; fields not used by its type stay None.

    Values are kept as given (a filters of 0 is representable) so the validator can name them.
    """

    type: str
    filters: int | None = None
    kernel_size: Pair | None = None
    strides: Pair | None = None
    padding: str | None = None
    activation: str | None = None
    pool_size: Pair | None = None
    rate: float | None = None
    units: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: type first, then this type's fields; pairs as ints when square."""
        out: dict[str, Any] = {"type": self.type}
        for name in FIELDS.get(self.type, ()):
            value = getattr(self, name)
            if value is None:
                continue
            if name in PAIR_FIELDS:
                value = value[0] if value[0] == value[1] else [value[0], value[1]]
            out[name] = value
        return out


@dataclass(frozen=True)
class Architecture:
    """A named network: optional input shape and class count, then the user's layers."""

    name: str = "untitled"
    layers: tuple[Layer, ...] = ()
    input_shape: tuple[int, int, int] | None = None
    num_classes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.input_shape is not None:
            out["input_shape"] = list(self.input_shape)
        if self.num_classes is not None:
            out["num_classes"] = self.num_classes
        out["layers"] = [layer.to_dict() for layer in self.layers]
        return out

    def with_data(self, input_shape: tuple[int, int, int], num_classes: int) -> Architecture:
        """This architecture with a data set's input shape and class count filled in."""
        return dataclasses.replace(self, input_shape=tuple(input_shape), num_classes=num_classes)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (1-based layer position, field) and a full message."""

    message: str
    layer: int | None = None
    field: str | None = None


@dataclass
class SpecError(ValueError):
    """A spec that cannot be used; ``str()`` is the first problem's message."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return self.problems[0].message if self.problems else "invalid architecture"


def layer_label(position: int, layer_type: str) -> str:
    """``layer 3 (conv2d)``: how every message names a layer."""
    return f"layer {position} ({layer_type})"


def make_layer(layer_type: str, **fields: Any) -> Layer:
    """A layer of ``layer_type`` with the format's defaults for the fields not given.

    Example:
        >>> make_layer("max_pool2d").strides
        (2, 2)
    """
    values = dict(fields)
    for name in PAIR_FIELDS:
        if isinstance(values.get(name), int):
            values[name] = (values[name], values[name])
        elif isinstance(values.get(name), list):
            values[name] = tuple(values[name])
    if layer_type == "conv2d":
        values.setdefault("strides", (1, 1))
        values.setdefault("padding", "valid")
        values.setdefault("activation", "relu")
    elif layer_type in POOL_TYPES:
        values.setdefault("pool_size", (2, 2))
        if values.get("strides") is None:
            values["strides"] = values["pool_size"]
        values.setdefault("padding", "valid")
    elif layer_type == "dense":
        values.setdefault("activation", "relu")
    return Layer(type=layer_type, **values)


def _describe(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else f'"{value}"'


def _parse_pair(value: Any, where: str, name: str, problems: list[Problem], pos: int | None):
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        return (value, value)
    elif isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return (int(value), int(value))
    elif (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return (value[0], value[1])
    problems.append(
        Problem(
            f"{where}: {name} must be an integer or [height, width] of integers; "
            f"received {_describe(value)}",
            pos,
            name,
        )
    )
    return None


def _parse_int(value: Any, where: str, name: str, problems: list[Problem], pos: int | None):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    problems.append(
        Problem(f"{where}: {name} must be an integer; received {_describe(value)}", pos, name)
    )
    return None


def _parse_layer(raw: Any, pos: int, problems: list[Problem]) -> Layer | None:
    if not isinstance(raw, dict):
        problems.append(
            Problem(f"layer {pos}: must be an object like {{\"type\": \"conv2d\", ...}}; "
                    f"received {_describe(raw)}", pos)
        )
        return None
    layer_type = raw.get("type")
    if layer_type not in LAYER_TYPES:
        received = "no type" if layer_type is None else f"type {_describe(layer_type)}"
        problems.append(
            Problem(f"layer {pos}: unknown layer {received}; use one of {', '.join(LAYER_TYPES)}",
                    pos, "type")
        )
        return None
    where = layer_label(pos, layer_type)
    allowed = FIELDS[layer_type]
    before = len(problems)
    for name in raw:
        if name != "type" and name not in allowed:
            hint = f"it takes {', '.join(allowed)}" if allowed else "it takes no fields"
            problems.append(Problem(f"{where}: unknown field {_describe(name)}; {hint}", pos, name))
    for name in REQUIRED.get(layer_type, ()):
        if raw.get(name) is None:
            problems.append(Problem(f"{where}: missing field {name}", pos, name))
    values: dict[str, Any] = {}
    for name in allowed:
        value = raw.get(name)
        if value is None:
            continue
        if name in PAIR_FIELDS:
            values[name] = _parse_pair(value, where, name, problems, pos)
        elif name in ("filters", "units"):
            values[name] = _parse_int(value, where, name, problems, pos)
        elif name == "rate":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values[name] = float(value)
            else:
                problems.append(Problem(
                    f"{where}: rate must be a number in [0, 1); received {_describe(value)}",
                    pos, name))
        elif isinstance(value, str):
            values[name] = value
        else:
            problems.append(Problem(
                f"{where}: {name} must be a string; received {_describe(value)}", pos, name))
    if len(problems) > before:
        return None
    return make_layer(layer_type, **values)


def architecture_from_dict(data: Any) -> Architecture:
    """Parse the JSON form into an :class:`Architecture`, collecting every structural problem.

    Types and names are checked here; ranges and shapes by :func:`cnnlab.validate.validate`.

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
    """Parse JSON text (size-limited); malformed JSON becomes a :class:`SpecError`."""
    if len(text) > MAX_JSON_BYTES:
        raise SpecError([Problem(f"architecture file is {len(text):,} bytes; the limit is "
                                 f"{MAX_JSON_BYTES:,} bytes")])
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        detail = f"line {exc.lineno} column {exc.colno}: {exc.msg}" if isinstance(
            exc, json.JSONDecodeError) else str(exc)
        raise SpecError([Problem(f"malformed JSON at {detail}")]) from None
    return architecture_from_dict(data)


def load_architecture(path: str | Path) -> Architecture:
    """Read an architecture JSON file (size-limited, never executed)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise SpecError([Problem(f"{path}: file is {size:,} bytes; an architecture file may "
                                     f"be at most {MAX_JSON_BYTES:,} bytes")])
        text = path.read_bytes()
    except OSError as exc:
        raise SpecError([Problem(f"cannot read {path}: {exc.strerror or exc}")]) from None
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
