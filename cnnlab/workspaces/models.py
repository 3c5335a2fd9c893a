"""The runs loaded in memory, process-wide: a cache weighed in bytes, not counted in runs.

Keyed by (workspace token, run folder), each run counted by what it holds: its model's weights
(:func:`cnnlab.memory.budget.weights_bytes`) and its per-epoch weights (``nbytes``). The cache
draws from the server's one memory budget (``CNNLAB_MEMORY_MB``, :mod:`cnnlab.memory.budget`):
when another entry of any cache needs room, the least recently used goes, and a run reloads
from disk when asked for again. Before a run is loaded, the memory it declares is checked
against the budget (:func:`cnnlab.runs.run_files.load_run`). A run just trained is put in at
once, so its first use does not reload it. TensorFlow is imported when a run is loaded, not
before.

What pages make from a run (its compiled predictor, its explainer: :func:`tool`) lives exactly
as long as the run object does and is shared by every session that shows the run; sessions keep
no run, model or predictor of their own. So a run the budget evicts is freed with everything
made from it, instead of living on in the session state of every tab that once showed it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cnnlab.memory import budget

if TYPE_CHECKING:
    from cnnlab.runs.records import Run
    from cnnlab.workspaces.store import Workspace

Key = tuple[str, str]
RUNS = budget.ByteCache("models")
_TOOLS: dict[int, dict[str, Any]] = {}  # id(run) -> what pages made from it, while it lives
_TOOLS_LOCK = threading.Lock()


def run_bytes(run: Run) -> int:
    """What ``run`` holds in memory: its model's weights twice (the model, and the clone its
    predictor makes to show an earlier epoch, see :func:`tool`) and its per-epoch weights."""
    return 2 * budget.weights_bytes(run.model) + sum(
        int(array.nbytes) for arrays in run.epoch_weights.values() for array in arrays)


def tool(run: Run, name: str, build: Callable[[], Any]) -> Any:
    """What ``build`` makes from ``run`` (e.g. ``"predictor"``), made once per run object and
    dropped when the run is: kept beside the run, not in any session.

    Its bytes are counted with the run's (:func:`run_bytes`): a predictor holds the run's own
    model, traced calls, and at most one clone of the weights.
    """
    with _TOOLS_LOCK:
        made = _TOOLS.get(id(run))
        if made is None:
            made = _TOOLS[id(run)] = {}
            weakref.finalize(run, _TOOLS.pop, id(run), None)  # before the id can be reused
        if name in made:
            return made[name]
    value = build()  # outside the lock: tracing takes a while; the first one built is kept
    with _TOOLS_LOCK:
        return made.setdefault(name, value)


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
