"""Random valid architectures drawn from the layer registry, for tests against Keras."""

from __future__ import annotations

import random

from cnnlab.architecture import fields, layer_types, shapes, spec


def random_value(rng: random.Random, field: fields.Field):
    """A value of ``field`` within its bounds, small enough for a quick model."""
    if field.kind == "choice":
        return rng.choice(field.choices)
    if field.kind == "rate":
        return round(rng.random() * field.max, 2)
    top = int(min(field.max, 12 if field.kind == "int" else 3))
    if field.kind == "int":
        return rng.randint(int(field.min), top)
    return (rng.randint(1, top), rng.randint(1, top)) if rng.random() < 0.5 else (
        (rng.randint(1, top),) * 2)


def random_layer(rng: random.Random, flat: bool) -> spec.Layer:
    """A layer of a random registry type, each field random or left to its default."""
    spatial_only = [t.name for t in layer_types.REGISTRY.values() if t.needs_map]
    kinds = [t for t in layer_types.LAYER_TYPES if not (flat and t in spatial_only)]
    kind = rng.choice(kinds + [t for t in kinds if t in spatial_only and "pool" not in t])
    values = {field.name: random_value(rng, field)
              for field in layer_types.REGISTRY[kind].fields
              if field.required or rng.random() < 0.7}
    return spec.make_layer(kind, **values)


def random_valid_arch(rng: random.Random) -> spec.Architecture:
    while True:
        input_shape = (rng.randint(5, 32), rng.randint(5, 32), rng.randint(1, 4))
        layers, flat = [], False
        for _ in range(rng.randint(1, 7)):
            layer = random_layer(rng, flat)
            layers.append(layer)
            flat = flat or layer.type in ("flatten", "dense") or layer.type.startswith("global")
        arch = spec.Architecture("random", tuple(layers), input_shape, rng.randint(2, 12))
        if shapes.summarize(arch).ok:
            return arch
