"""The architecture spec: plain dataclasses (the JSON format is read and written by
:mod:`cnnlab.architecture.spec_json`).

This is the single source of truth: the Build page's widgets make one, the shape arithmetic,
the model builder, the code export and the diagram all read it. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
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
