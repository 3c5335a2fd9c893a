"""The runs loaded in memory, process-wide: a cache weighed in bytes, not counted in runs.

Keyed by (workspace token, run folder), each run counted by what it holds: its model's weights
(:func:`cnnlab.memory.budget.weights_bytes`) and its per-epoch weights (``nbytes``). The cache
draws from the server's one memory budget (``CNNLAB_MEMORY_MB``, :mod:`cnnlab.memory.budget`):
when another entry of any cache needs room, the least recently used goes, and a run reloads
from disk when asked for again. Before a run is loaded, the memory it declares is checked
against the budget (:func:`cnnlab.runs.run_files.load_run`). A run just trained is put in at
once, so its first use does not reload it. TensorFlow is imported when a run is loaded, not
before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnnlab.memory import budget

if TYPE_CHECKING:
    from cnnlab.runs.records import Run
    from cnnlab.workspaces.store import Workspace

Key = tuple[str, str]
RUNS = budget.ByteCache("models")


def run_bytes(run: Run) -> int:
    """What ``run`` holds in memory: its model's weights and its per-epoch weights."""
    return budget.weights_bytes(run.model) + sum(
        int(array.nbytes) for arrays in run.epoch_weights.values() for array in arrays)


def put(token: str, folder: str, run: Run) -> None:
    """Keep ``run`` as the newest entry, weighed by :func:`run_bytes`; older entries of any
    cache go when the budget needs the room."""
    RUNS.put((token, folder), run, run_bytes(run))


def get(workspace: Workspace, folder: str) -> Run:
    """The run in ``workspace``'s ``folder``, from memory or loaded from disk (ValueError if
    it cannot be read; MemoryBudgetError if it declares more memory than the budget has)."""
    key = (workspace.token, folder)
    run = RUNS.get(key)
    if run is not None:
        return run
    from cnnlab.runs import run_files

    run = run_files.load_run(workspace.run_path(folder))
    put(workspace.token, folder, run)
    return run


def forget(token: str, folder: str | None = None) -> None:
    """Drop one run (or every run of a workspace) from memory."""
    RUNS.discard_where(lambda key: not (key[0] == token and folder in (None, key[1])))


def loaded() -> list[Key]:
    """The keys in memory, least recently used first."""
    return list(RUNS.keys())
