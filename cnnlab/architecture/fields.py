"""The fields a layer type takes, like a Keras layer's arguments: kind, default, bounds, choices.

A :class:`Field` says everything about one argument: how the JSON form is parsed, which values
the validator accepts (its bounds are the Build page widgets' bounds, so an imported value the
widgets could not show is reported, never silently clamped), how it is written back to JSON and
to exported Keras code. :mod:`cnnlab.architecture.layer_types` puts fields together into layer
types. No TensorFlow here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

PADDINGS = ("valid", "same")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "elu", "selu", "gelu", "swish", "softplus")

Pair = tuple[int, int]


@dataclass(frozen=True)
class Field:
    """One argument of a layer type, named as Keras names it.

    ``kind`` is ``int``, ``pair`` (an int or [height, width]), ``choice`` (one of ``choices``)
    or ``rate`` (a number). ``default`` None means no default: the field is required, or it
    defaults to the field named by ``same_as`` (a pooling layer's strides are its pool_size).
    ``keras_default`` is what Keras assumes when the argument is left out; the JSON form and the
    exported code leave out a value that equals it.
    """

    name: str
    kind: str
    default: Any = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    label: str = ""
    key: str = ""
    help: str = ""
    same_as: str | None = None
    keras_default: Any = None

    @property
    def widget_label(self) -> str:
        return self.label or self.name

    @property
    def widget_key(self) -> str:
        return self.key or self.name

    def bounds_text(self) -> str:
        """``1 to 512``, ``"valid" or "same"``: what the validator accepts (messages, docs)."""
        if self.kind == "choice":
            quoted = [f'"{c}"' for c in self.choices]
            return " or ".join(quoted) if len(quoted) == 2 else "one of " + ", ".join(self.choices)
        return f"{self.min:g} to {self.max:g}"


def describe(value: Any) -> str:
    """A received value as the JSON shows it (strings quoted)."""
    return json.dumps(value) if not isinstance(value, str) else f'"{value}"'


def shown(value: Any) -> Any:
    """A pair as the JSON writes it: ``3`` when square, else ``[3, 5]``; other values as is."""
    if isinstance(value, tuple) and len(value) == 2:
        return value[0] if value[0] == value[1] else [value[0], value[1]]
    return value


def normalise(field: Field, value: Any) -> Any:
    """A value in the spec's form: a pair always as ``(height, width)``."""
    if field.kind == "pair":
        if isinstance(value, int) and not isinstance(value, bool):
            return (value, value)
        if isinstance(value, list):
            return tuple(value)
    return value


def _integral(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse(field: Field, value: Any, where: str) -> tuple[Any, str | None]:
    """The JSON value in the spec's form, or None and the message saying why it is unusable."""
    name = field.name
    if field.kind == "pair":
        if isinstance(value, float) and value.is_integer() and math.isfinite(value):
            return (int(value), int(value)), None
        if _integral(value):
            return (value, value), None
        if isinstance(value, list) and len(value) == 2 and all(_integral(v) for v in value):
            return (value[0], value[1]), None
        return None, (f"{where}: {name} must be an integer or [height, width] of integers; "
                      f"received {describe(value)}")
    if field.kind == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        if _integral(value):
            return value, None
        return None, f"{where}: {name} must be an integer; received {describe(value)}"
    if field.kind == "rate":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), None
        return None, (f"{where}: {name} must be a number from {field.bounds_text()}; received "
                      f"{describe(value)}")
    if isinstance(value, str):
        return value, None
    return None, f"{where}: {name} must be a string; received {describe(value)}"


def check(field: Field, value: Any, where: str) -> str | None:
    """The validator's message when ``value`` is out of the field's bounds or choices, else None.

    Example:
        >>> check(Field("units", "int", min=1, max=4096), 0, "layer 1 (dense)")
        'layer 1 (dense): units must be at least 1; received 0'
    """
    name = field.name
    if field.kind == "choice":
        if value in field.choices:
            return None
        return f"{where}: unknown {name} {describe(value)}; use {field.bounds_text()}"
    if field.kind == "rate":
        if not math.isfinite(value) or not field.min <= value <= field.max:
            return (f"{where}: {name} must be a number from {field.bounds_text()}, e.g. 0.25; "
                    f"received {value:g}")
        return None
    values = value if field.kind == "pair" else (value,)
    if min(values) < field.min:
        return f"{where}: {name} must be at least {field.min:g}; received {describe(shown(value))}"
    if max(values) > field.max:
        return (f"{where}: {name} must be at most {field.max:g} (CNN Lab's cap); received "
                f"{describe(shown(value))}")
    return None


def within(field: Field, number: Any) -> bool:
    """True when one number (a pair's height or width) lies within the field's bounds."""
    kind_ok = isinstance(number, (int, float)) if field.kind == "rate" else _integral(number)
    return kind_ok and not isinstance(number, bool) and field.min <= number <= field.max


def in_bounds(field: Field, value: Any) -> bool:
    """True when the Build page's widget for ``field`` can show ``value`` as it is."""
    if field.kind == "choice":
        return value in field.choices
    parts = value if field.kind == "pair" else (value,)
    return all(within(field, v) for v in parts)


# The fields the layer types share; bounds are the Build page's widget bounds.
FILTERS = Field("filters", "int", required=True, min=1, max=512,
                help="how many kernels: the output's channels")
KERNEL_SIZE = Field("kernel_size", "pair", required=True, min=1, max=11, label="kernel",
                    key="kernel", help="the kernel's height and width")
STRIDES = Field("strides", "pair", default=(1, 1), min=1, max=8, label="stride", key="stride",
                help="how far the kernel moves between outputs")
DILATION_RATE = Field("dilation_rate", "pair", default=(1, 1), min=1, max=8, label="dilation",
                      key="dilation", keras_default=(1, 1),
                      help="gaps between the kernel's taps: a kernel of k taps dilated by d "
                           "spans (k − 1)·d + 1 pixels")
DEPTH_MULTIPLIER = Field("depth_multiplier", "int", default=1, min=1, max=32, label="multiplier",
                         key="multiplier", keras_default=1,
                         help="how many kernels per input channel: the output has channels × "
                              "multiplier channels")
PADDING = Field("padding", "choice", default="valid", choices=PADDINGS,
                help='"valid": no padding, the map shrinks; "same": zeros around the edge keep '
                     "the size (at stride 1)")
ACTIVATION = Field("activation", "choice", default="relu", choices=ACTIVATIONS, key="act",
                   help="relu is the usual choice; tanh and sigmoid squash; linear does nothing")
POOL_SIZE = Field("pool_size", "pair", default=(2, 2), min=1, max=8, label="size", key="pool",
                  help="the pooling window's height and width")
POOL_STRIDES = Field("strides", "pair", same_as="pool_size", min=1, max=8, label="stride",
                     key="stride", help="how far the window moves (default: its size)")
RATE = Field("rate", "rate", required=True, min=0.0, max=0.9, step=0.05,
             label="rate (share of values dropped while training)")
UNITS = Field("units", "int", required=True, min=1, max=4096, help="how many neurons")
