"""A Dask worker's preload that warms it up for training before it takes a task:
``dask worker ADDRESS --preload cnnlab.cluster.warm`` (``scripts/classroom.py`` starts its
workers so).

Dask calls :func:`dask_setup` while the worker starts, before it joins the scheduler: the
warm-up (:func:`cnnlab.training.warmup.warm`: TensorFlow imported, the precision calibrated
for this worker's CPU, the Quick start's training traced, the loaded libraries frozen out of
the garbage collector's way) runs in a thread the event loop awaits, so the worker's
heartbeat machinery is not blocked, and the scheduler sends it jobs only once it is warm.
A failed warm-up is logged; the worker starts cold.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

# Dask's worker logs this logger's INFO lines (its own "distributed.*" loggers); ours it drops
_log = logging.getLogger("distributed.preloading")


async def dask_setup(worker: Any) -> None:
    """Warm this worker up (see the module)."""
    from cnnlab.training import warmup

    try:
        timings = await asyncio.to_thread(warmup.warm)
    except Exception:  # a cold worker still trains; its first job just pays for it
        _log.warning("warming worker %s up failed", getattr(worker, "name", "?"),
                     exc_info=True)
        return
    _log.info("worker %s warmed up for training: %s", getattr(worker, "name", "?"),
              ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
