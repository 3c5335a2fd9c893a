"""The architecture spec: layers (a type from :mod:`cnnlab.architecture.layer_types` and its
field values) in an architecture (the JSON format is read and written by
:mod:`cnnlab.architecture.spec_json`).

This is the single source of truth: the Build page's widgets make one, the shape arithmetic,
the model builder, the code export and the diagram all read it. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from cnnlab.architecture import fields, layer_types

LAYER_TYPES = layer_types.LAYER_TYPES
PADDINGS = fields.PADDINGS
ACTIVATIONS = fields.ACTIVATIONS
DEFAULT_INPUT_SHAPE = (28, 28, 1)
DEFAULT_NUM_CLASSES = 10
MAX_LAYERS = 64  # layers a user lists (the automatic Flatten and output layer not counted)

Pair = tuple[int, int]

# Every field name some layer type takes: ``layer.x`` is None for those its type does not use.
_ALL_FIELDS = {fld.name: fld for kind in layer_types.REGISTRY.values() for fld in kind.fields}


class Layer:
    """One layer as the user describes it: a type and its field values (see ``layer_types``).

    Values are kept as given (a filters of 0 is representable) so the validator can name them;
    pairs are stored as ``(height, width)``. Fields read as attributes (``layer.filters``); one
    its type does not use reads None. Equal and hashable by value.

    Example:
        >>> Layer(type="dense", units=10, activation="softmax").units
        10
    """

    __slots__ = ("type", "_values")

    def __init__(self, type: str, **values: Any) -> None:  # noqa: A002 - the JSON's key
        object.__setattr__(self, "type", type)
        kept = {name: fields.normalise(_ALL_FIELDS[name], value) if name in _ALL_FIELDS
                else value for name, value in values.items() if value is not None}
        object.__setattr__(self, "_values", kept)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in _ALL_FIELDS:
            raise AttributeError(f"a layer has no field {name!r}")
        return self._values.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layer):
            return NotImplemented
        return self.type == other.type and self._values == other._values

    def __hash__(self) -> int:
        return hash((self.type, frozenset(self._values.items())))

    def __repr__(self) -> str:
        inner = "".join(f", {name}={value!r}" for name, value in self._values.items())
        return f"Layer(type={self.type!r}{inner})"

    def __reduce__(self):
        return (_rebuild, (self.type, tuple(self._values.items())))

    def replace(self, **values: Any) -> Layer:
        """This layer with some fields changed (None removes one)."""
        return Layer(type=self.type, **{**self._values, **values})

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: type first, then this type's fields; pairs as ints when square.

        A field left at Keras's own default (``keras_default``, e.g. a dilation_rate of 1) is
        left out, as the exported code leaves it out.
        """
        out: dict[str, Any] = {"type": self.type}
        kind = layer_types.REGISTRY.get(self.type)
        known = {fld.name: fld for fld in kind.fields} if kind else {}
        for name in kind.field_names if kind else tuple(self._values):
            value = self._values.get(name)
            quiet = name in known and known[name].keras_default is not None and (
                value == known[name].keras_default)
            if value is not None and not quiet:
                out[name] = fields.shown(value)
        return out


def _rebuild(layer_type: str, items: tuple[tuple[str, Any], ...]) -> Layer:
    return Layer(type=layer_type, **dict(items))


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


def make_layer(layer_type: str, **values: Any) -> Layer:
    """A layer of ``layer_type`` with the format's defaults for the fields not given.

    Example:
        >>> make_layer("max_pool2d").strides
        (2, 2)
    """
    kind = layer_types.REGISTRY.get(layer_type)
    if kind is None:
        return Layer(type=layer_type, **values)
    filled: dict[str, Any] = {}
    for fld in kind.fields:
        value = fields.normalise(fld, values.pop(fld.name, None))
        if value is None and not fld.required:
            value = filled.get(fld.same_as) if fld.same_as else fld.default
        filled[fld.name] = value
    return Layer(type=layer_type, **filled, **values)
