"""The resource guard: networks too large for an interactive CPU app are refused, naming the
layer that makes them so (parameters, multiply-adds per image, feature-map memory per batch at
the batch size chosen), and what a training of one holds in memory.
"""

from __future__ import annotations

import math

from cnnlab.architecture import layer_types, spec
from cnnlab.architecture.rows import Row
from cnnlab.architecture.spec import Problem

MAX_PARAMS = 10_000_000
MAX_MACS = 1_000_000_000  # per image; beyond this one epoch on a laptop CPU takes many minutes
MAX_ACTIVATION_BYTES = 2 * 1024**3  # float32 outputs of every layer for one batch
GUARD_BATCH = 128  # the batch size checked where none is chosen yet (Build, `cnnlab summary`)
FLOAT_BYTES = 4


def map_bytes_per_image(rows: list[Row]) -> int:
    """Bytes of every layer's float32 output for one image (what a batch keeps per image)."""
    return sum(math.prod(row.output_shape) * FLOAT_BYTES for row in rows)


def largest_batch(rows: list[Row], limit: int = MAX_ACTIVATION_BYTES) -> int:
    """The largest batch size whose feature maps fit in ``limit`` bytes (0 if none does)."""
    per_image = map_bytes_per_image(rows)
    return limit // per_image if per_image else 1 << 30


def resource_problems(rows: list[Row], batch_size: int = GUARD_BATCH) -> list[Problem]:
    """Refuse networks too large for an interactive CPU app, naming the layer that makes it so
    and, for feature maps, the batch size checked and the largest that would fit."""
    problems = []
    params = macs = activations = 0
    for row in rows:
        where = (spec.layer_label(row.position, row.type) if row.position
                 else f"the {row.name} layer (added automatically)")
        params += row.params
        macs += row.macs
        activations += math.prod(row.output_shape) * FLOAT_BYTES * batch_size
        if params > MAX_PARAMS:
            why = (f"brings the network to {params:,} parameters; CNN Lab allows up to "
                   f"{MAX_PARAMS:,} on a CPU — use fewer filters or units, or pool before it")
        elif macs > MAX_MACS:
            why = (f"brings the network to {macs:,} multiply-adds per image; CNN Lab allows "
                   f"up to {MAX_MACS:,} — use fewer filters, a larger stride, or pool before it")
        elif activations > MAX_ACTIVATION_BYTES:
            fits = largest_batch(rows)
            smaller = (f"a batch size of at most {fits:,}" if fits else
                       "no batch size fits even one image")
            why = (f"the feature maps up to here take {activations / 1024**3:.1f} GB per "
                   f"batch of {batch_size:,}; CNN Lab allows up to "
                   f"{MAX_ACTIVATION_BYTES / 1024**3:.0f} GB ({smaller} would fit) — use a smaller "
                   f"batch, fewer filters or a larger stride")
        else:
            continue
        problems.append(Problem(f"{where}: {why}", row.position,
                                layer_types.REGISTRY[row.type].size_field))
        break
    return problems


def training_bytes(rows: list[Row], batch_size: int, optimizer_slots: int) -> int:
    """What training a network holds in memory, estimated: its float32 weights, their
    gradients and the optimizer's ``optimizer_slots`` copies, and one batch of every layer's
    outputs twice (kept for the backward pass, and their gradients).

    Example:
        >>> from cnnlab.architecture import presets, shapes
        >>> rows = list(shapes.summarize(presets.get("two-conv")).rows)
        >>> training_bytes(rows, 64, 2) // 2**20  # MB at batch 64 with Adam
        22
    """
    params = sum(row.params for row in rows)
    return params * FLOAT_BYTES * (2 + optimizer_slots) + 2 * batch_size * map_bytes_per_image(
        rows)
