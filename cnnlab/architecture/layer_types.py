"""The layer types: each one described once, like a Keras layer class.

A :class:`LayerType` holds a type's fields (with defaults and bounds), its shape rule (output
shape, formula, parameters, multiply-adds, receptive-field step), the Keras class and
arguments that build it, its diagram colour, its Build page label and a new layer's starting
values. The validator, the shape arithmetic, the model builder, the code export, the diagram,
the editing helpers and the Build page all read :data:`REGISTRY`; adding a layer type or a
field touches this file and :mod:`cnnlab.architecture.fields` only. No TensorFlow here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cnnlab.architecture import fields as f
from cnnlab.architecture.conv_arithmetic import conv_output_length as _length
from cnnlab.architecture.conv_arithmetic import effective_kernel, spatial_formula

Shape = tuple[int, ...]
Pair = tuple[int, int]


@dataclass(frozen=True)
class Out:
    """What one layer makes of its input: shape, formula, parameters, multiply-adds.

    ``window`` is the (effective kernel, stride) pair that moves the receptive field; None
    leaves it as it is.
    """

    shape: Shape
    formula: str
    params: int = 0
    macs: int = 0
    window: tuple[Pair, Pair] | None = None


@dataclass(frozen=True)
class Misfit:
    """Why a layer cannot take its input: the field to change and the message after its label."""

    field: str
    message: str


Rule = Callable[[Any, Shape], "Out | Misfit"]


@dataclass(frozen=True)
class LayerType:
    """Everything about one layer type.

    ``keras_args`` name the fields passed positionally (in order); the other fields go as
    keyword arguments of the same (Keras) name. ``needs_map`` types take a height×width×channels
    map only; before a ``flattens_map`` type a Flatten is inserted automatically.
    ``size_field`` is the field that makes the layer large (the resource guard names it);
    ``learn`` gives the Learn page's step-through settings (op, k, s, pad) for a layer it can
    show, else None; ``cross_check`` finds combinations of in-bounds values Keras refuses.
    """

    name: str
    label: str
    colour: str
    prefix: str
    fields: tuple[f.Field, ...]
    rule: Rule
    keras_class: str
    keras_args: tuple[str, ...] = ()
    start: dict[str, Any] = field(default_factory=dict)
    needs_map: bool = False
    flattens_map: bool = False
    size_field: str | None = None
    learn: Callable[[Any], dict[str, Any] | None] | None = None
    cross_check: Callable[[Any], list[Misfit]] | None = None

    def checks(self, layer: Any) -> list[Misfit]:
        """Problems between fields whose values are each in bounds (Keras refuses the pair)."""
        return self.cross_check(layer) if self.cross_check else []

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(fld.name for fld in self.fields)


def _fmt(shape: Shape) -> str:
    return "×".join(str(v) for v in shape)


def _window(layer: Any, shape: Shape, name: str,
            dilation: Pair = (1, 1)) -> tuple[Pair, Misfit | None]:
    """The window's output height and width, or why it does not fit a "valid" input."""
    k = getattr(layer, name)
    span = (effective_kernel(k[0], dilation[0]), effective_kernel(k[1], dilation[1]))
    if layer.padding == "valid" and (span[0] > shape[0] or span[1] > shape[1]):
        square = span[0] == span[1]
        fits = f"{name} <= {min(shape[0], shape[1])}" if square else (
            f"{name} <= [{shape[0]}, {shape[1]}]")
        spans = "" if dilation == (1, 1) else f" (dilated, it spans {f.describe(f.shown(span))})"
        return (0, 0), Misfit(name, f"{name} {f.describe(f.shown(k))}{spans} does not fit its "
                                    f"{shape[0]}x{shape[1]} input with padding \"valid\"; use "
                                    f"padding \"same\" or {fits}")
    s = layer.strides
    return (_length(shape[0], k[0], s[0], layer.padding, dilation[0]),
            _length(shape[1], k[1], s[1], layer.padding, dilation[1])), None


def _conv(layer: Any, shape: Shape) -> Out | Misfit:
    k, d = layer.kernel_size, layer.dilation_rate
    (h, w), misfit = _window(layer, shape, "kernel_size", d)
    if misfit:
        return misfit
    per_filter = k[0] * k[1] * shape[2]
    return Out((h, w, layer.filters), spatial_formula(shape, k, layer.strides, layer.padding, d),
               (per_filter + 1) * layer.filters, h * w * layer.filters * per_filter,
               ((effective_kernel(k[0], d[0]), effective_kernel(k[1], d[1])), layer.strides))


def _depthwise(layer: Any, shape: Shape) -> Out | Misfit:
    """One k_h × k_w kernel per input channel and multiplier: k_h·k_w·C·m weights + C·m biases."""
    k, d = layer.kernel_size, layer.dilation_rate
    (h, w), misfit = _window(layer, shape, "kernel_size", d)
    if misfit:
        return misfit
    channels = shape[2] * layer.depth_multiplier
    return Out((h, w, channels), spatial_formula(shape, k, layer.strides, layer.padding, d),
               k[0] * k[1] * channels + channels, h * w * channels * k[0] * k[1],
               ((effective_kernel(k[0], d[0]), effective_kernel(k[1], d[1])), layer.strides))


def _stride_or_dilation(layer: Any) -> list[Misfit]:
    """Keras's Conv2D refuses a stride above 1 together with a dilation above 1."""
    if max(layer.strides) > 1 and max(layer.dilation_rate) > 1:
        d, s = f.describe(f.shown(layer.dilation_rate)), f.describe(f.shown(layer.strides))
        return [Misfit("dilation_rate", f"dilation_rate {d} with strides {s}: Keras cannot "
                                        f"combine a dilation above 1 with a stride above 1; use "
                                        f"dilation_rate 1 or strides 1")]
    return []


def _pool(layer: Any, shape: Shape) -> Out | Misfit:
    (h, w), misfit = _window(layer, shape, "pool_size")
    if misfit:
        return misfit
    return Out((h, w, shape[2]), spatial_formula(shape, layer.pool_size, layer.strides,
                                                 layer.padding), window=(layer.pool_size,
                                                                         layer.strides))


def _global(how: str) -> Rule:
    def rule(layer: Any, shape: Shape) -> Out:
        return Out((shape[2],), f"{_fmt(shape)} → {shape[2]} ({how} of each channel)")
    return rule


def _batch_norm(layer: Any, shape: Shape) -> Out:
    params = 4 * shape[-1]
    return Out(shape, f"4 × {shape[-1]} = {params} params (γ, β, mean, variance)", params)


def _dropout(layer: Any, shape: Shape) -> Out:
    return Out(shape, f"drops {layer.rate:.0%} of values while training")


def _flatten(layer: Any, shape: Shape) -> Out:
    size = math.prod(shape)
    return Out((size,), f"{' × '.join(str(v) for v in shape)} = {size}" if len(shape) == 3 else "")


def _dense(layer: Any, shape: Shape) -> Out:
    n, units = shape[0], layer.units
    params = (n + 1) * units
    return Out((units,), f"({n} + 1) × {units} = {params:,} params", params, n * units)


def _learn(op: str, name: str) -> Callable[[Any], dict[str, Any] | None]:
    def settings(layer: Any) -> dict[str, Any] | None:
        k, s = getattr(layer, name), layer.strides
        if max(layer.dilation_rate or (1, 1)) > 1:
            return None  # the Learn page's step-through has no dilation
        return {"op": op, "k": k[0], "s": s[0], "pad": layer.padding}
    return settings


_POOL_FIELDS = (f.POOL_SIZE, f.POOL_STRIDES, f.PADDING)

REGISTRY: dict[str, LayerType] = {t.name: t for t in (
    LayerType("conv2d", "conv", "#64b5f6", "conv",
              (f.FILTERS, f.KERNEL_SIZE, f.STRIDES, f.DILATION_RATE, f.PADDING, f.ACTIVATION),
              _conv, "Conv2D", ("filters", "kernel_size"), {"filters": 16, "kernel_size": 3},
              needs_map=True, size_field="filters", learn=_learn("conv", "kernel_size"),
              cross_check=_stride_or_dilation),
    LayerType("depthwise_conv2d", "depthwise conv", "#4dd0e1", "dwconv",
              (f.KERNEL_SIZE, f.STRIDES, f.DILATION_RATE, f.DEPTH_MULTIPLIER, f.PADDING,
               f.ACTIVATION), _depthwise, "DepthwiseConv2D", ("kernel_size",), {"kernel_size": 3},
              needs_map=True, size_field="depth_multiplier",
              learn=_learn("conv", "kernel_size")),  # each channel: a one-channel convolution
    LayerType("max_pool2d", "max pool", "#81c784", "pool", _POOL_FIELDS, _pool,
              "MaxPooling2D", ("pool_size",), needs_map=True, learn=_learn("max", "pool_size")),
    LayerType("avg_pool2d", "avg pool", "#aed581", "pool", _POOL_FIELDS, _pool,
              "AveragePooling2D", ("pool_size",), needs_map=True, learn=_learn("avg", "pool_size")),
    LayerType("global_avg_pool2d", "global avg pool", "#aed581", "gpool", (), _global("average"),
              "GlobalAveragePooling2D", needs_map=True),
    LayerType("global_max_pool2d", "global max pool", "#81c784", "gpool", (), _global("max"),
              "GlobalMaxPooling2D", needs_map=True),
    LayerType("batch_norm", "batch norm", "#ffd54f", "bn", (), _batch_norm,
              "BatchNormalization"),
    LayerType("dropout", "dropout", "#e0e0e0", "dropout", (f.RATE,), _dropout, "Dropout",
              ("rate",), {"rate": 0.25}),
    LayerType("flatten", "flatten", "#ba68c8", "flatten", (), _flatten, "Flatten"),
    LayerType("dense", "dense", "#ff8a65", "dense", (f.UNITS, f.ACTIVATION), _dense, "Dense",
              ("units",), {"units": 64}, flattens_map=True, size_field="units"),
)}
LAYER_TYPES = tuple(REGISTRY)
AUTO_FLATTEN = "flatten"  # inserted before a flattens_map type that meets a feature map
HEAD = "dense"  # the softmax output layer added after the user's layers
INPUT_COLOUR = "#cfd8dc"


def get(layer_type: str) -> LayerType:
    """The registry entry of ``layer_type``; a ValueError naming the known types otherwise."""
    if layer_type not in REGISTRY:
        raise ValueError(f"unknown layer type {layer_type!r}; use one of {', '.join(LAYER_TYPES)}")
    return REGISTRY[layer_type]


def learn_settings(layer_type: str, layer: Any | None) -> dict[str, Any] | None:
    """The Learn page's step-through settings for one layer (op, k, s, pad), or None."""
    kind = REGISTRY.get(layer_type)
    return kind.learn(layer) if kind and kind.learn and layer is not None else None


def keras_call(layer_type: str, layer: Any | None) -> tuple[str, tuple, dict[str, Any]]:
    """The Keras class name, positional and keyword arguments that build one layer.

    Read by the model builder (``getattr(keras.layers, cls)(*args, **kwargs)``) and the code
    export (``layers.Cls(...)``). A keyword argument equal to Keras's own default is left out
    when the field says so (``keras_default``).

    Example:
        >>> from cnnlab.architecture.spec import make_layer
        >>> keras_call("max_pool2d", make_layer("max_pool2d"))
        ('MaxPooling2D', ((2, 2),), {'strides': (2, 2), 'padding': 'valid'})
    """
    kind = get(layer_type)
    if layer is None:
        return kind.keras_class, (), {}
    args = tuple(getattr(layer, name) for name in kind.keras_args)
    kwargs = {}
    for fld in kind.fields:
        value = getattr(layer, fld.name)
        if fld.name in kind.keras_args or value is None or value == fld.keras_default:
            continue
        kwargs[fld.name] = value
    return kind.keras_class, args, kwargs
