"""Edits of an architecture's layer list, as the Build page makes them (pure, no Streamlit)."""

from __future__ import annotations

import dataclasses
from typing import Any

from cnnlab.architecture import spec
from cnnlab.architecture.spec import Architecture, Layer

# What a freshly added layer of each type starts with.
NEW_LAYER_FIELDS: dict[str, dict[str, Any]] = {
    "conv2d": {"filters": 16, "kernel_size": 3},
    "dense": {"units": 64},
    "dropout": {"rate": 0.25},
}


def new_layer(layer_type: str) -> Layer:
    """A layer of ``layer_type`` with sensible starting values for a class demo."""
    if layer_type not in spec.LAYER_TYPES:
        raise ValueError(f"unknown layer type {layer_type!r}; use one of "
                         f"{', '.join(spec.LAYER_TYPES)}")
    return spec.make_layer(layer_type, **NEW_LAYER_FIELDS.get(layer_type, {}))


def _with_layers(arch: Architecture, layers: list[Layer]) -> Architecture:
    return dataclasses.replace(arch, layers=tuple(layers))


def insert_layer(arch: Architecture, index: int, layer: Layer) -> Architecture:
    """``layer`` inserted before position ``index`` (0-based; ``len`` appends)."""
    layers = list(arch.layers)
    layers.insert(max(0, min(index, len(layers))), layer)
    return _with_layers(arch, layers)


def remove_layer(arch: Architecture, index: int) -> Architecture:
    """The architecture without the layer at ``index`` (0-based)."""
    layers = list(arch.layers)
    del layers[index]
    return _with_layers(arch, layers)


def move_layer(arch: Architecture, index: int, offset: int) -> Architecture:
    """The layer at ``index`` moved by ``offset`` places (clamped to the list's ends)."""
    layers = list(arch.layers)
    target = max(0, min(index + offset, len(layers) - 1))
    layers.insert(target, layers.pop(index))
    return _with_layers(arch, layers)


def replace_layer(arch: Architecture, index: int, layer: Layer) -> Architecture:
    """The architecture with the layer at ``index`` replaced by ``layer``."""
    layers = list(arch.layers)
    layers[index] = layer
    return _with_layers(arch, layers)


def change_type(layer: Layer, layer_type: str) -> Layer:
    """``layer`` turned into ``layer_type``, keeping the fields both types share.

    Example:
        >>> change_type(spec.make_layer("max_pool2d", pool_size=3), "avg_pool2d").pool_size
        (3, 3)
    """
    fresh = new_layer(layer_type)
    shared = {name: getattr(layer, name) for name in spec.FIELDS[layer_type]
              if name in spec.FIELDS.get(layer.type, ()) and getattr(layer, name) is not None}
    return dataclasses.replace(fresh, **shared)
