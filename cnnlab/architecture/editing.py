"""Edits of an architecture's layer list, as the Build page makes them (pure, no Streamlit)."""

from __future__ import annotations

import dataclasses

from cnnlab.architecture import layer_types, spec
from cnnlab.architecture.spec import Architecture, Layer


def new_layer(layer_type: str) -> Layer:
    """A layer of ``layer_type`` with its registry's starting values for a class demo."""
    return spec.make_layer(layer_type, **layer_types.get(layer_type).start)


def _with_layers(arch: Architecture, layers: list[Layer]) -> Architecture:
    return dataclasses.replace(arch, layers=tuple(layers))


def insert_layer(arch: Architecture, index: int, layer: Layer) -> Architecture:
    """``layer`` inserted before position ``index`` (0-based; ``len`` appends).

    Raises:
        SpecError: the architecture already has :data:`spec.MAX_LAYERS` layers.
    """
    if len(arch.layers) >= spec.MAX_LAYERS:
        raise spec.SpecError([spec.Problem(
            f"the architecture already has {len(arch.layers)} layers, CNN Lab's limit of "
            f"{spec.MAX_LAYERS}; remove a layer before adding one", field="layers")])
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
    return _with_layers(arch, move_id(list(arch.layers), index, offset))


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
    shared = {name: getattr(layer, name) for name in layer_types.get(layer_type).field_names
              if name in layer_types.get(layer.type).field_names
              and getattr(layer, name) is not None}
    return fresh.replace(**shared)


def move_id(ids: list, index: int, offset: int) -> list:
    """``ids`` with the item at ``index`` moved by ``offset`` places, as :func:`move_layer` does.

    The Build page moves its widget ids through the same rule as the layers.
    """
    moved = list(ids)
    target = max(0, min(index + offset, len(moved) - 1))
    moved.insert(target, moved.pop(index))
    return moved
