"""The resource guard: networks too large for an interactive CPU app are refused, naming the
layer that makes them so (parameters, multiply-adds per image, feature-map memory per batch).
"""

from __future__ import annotations

import math

from cnnlab.architecture import layer_types, spec
from cnnlab.architecture.rows import Row
from cnnlab.architecture.spec import Problem

MAX_PARAMS = 10_000_000
MAX_MACS = 1_000_000_000  # per image; beyond this one epoch on a laptop CPU takes many minutes
MAX_ACTIVATION_BYTES = 2 * 1024**3  # float32 outputs of every layer for one batch
GUARD_BATCH = 128


def resource_problems(rows: list[Row]) -> list[Problem]:
    """Refuse networks too large for an interactive CPU app, naming the layer that makes it so."""
    problems = []
    params = macs = activations = 0
    for row in rows:
        where = (spec.layer_label(row.position, row.type) if row.position
                 else f"the {row.name} layer (added automatically)")
        params += row.params
        macs += row.macs
        activations += math.prod(row.output_shape) * 4 * GUARD_BATCH
        if params > MAX_PARAMS:
            why = (f"brings the network to {params:,} parameters; CNN Lab allows up to "
                   f"{MAX_PARAMS:,} on a CPU — use fewer filters or units, or pool before it")
        elif macs > MAX_MACS:
            why = (f"brings the network to {macs:,} multiply-adds per image; CNN Lab allows "
                   f"up to {MAX_MACS:,} — use fewer filters, a larger stride, or pool before it")
        elif activations > MAX_ACTIVATION_BYTES:
            why = (f"the feature maps up to here take {activations / 1024**3:.1f} GB per "
                   f"batch of {GUARD_BATCH}; CNN Lab allows up to "
                   f"{MAX_ACTIVATION_BYTES / 1024**3:.0f} GB — use fewer filters or a larger "
                   f"stride")
        else:
            continue
        problems.append(Problem(f"{where}: {why}", row.position,
                                layer_types.REGISTRY[row.type].size_field))
        break
    return problems
