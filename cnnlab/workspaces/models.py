"""The runs loaded in memory, process-wide: a bounded least-recently-used set.

Keyed by (workspace token, run folder); at most ``CNNLAB_MODEL_CACHE`` runs (Keras models)
are kept, the rest reload from disk when asked for. A run just trained is put in at once, so
its first use does not reload it. TensorFlow is imported when a run is loaded, not before.
"""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING

from cnnlab.workspaces import settings

if TYPE_CHECKING:
    from cnnlab.runs.records import Run
    from cnnlab.workspaces.store import Workspace

Key = tuple[str, str]
_RUNS: collections.OrderedDict[Key, Run] = collections.OrderedDict()
_LOCK = threading.Lock()


def put(token: str, folder: str, run: Run) -> None:
    """Keep ``run`` as the newest entry; the least recently used beyond the limit go."""
    with _LOCK:
        _RUNS[(token, folder)] = run
        _RUNS.move_to_end((token, folder))
        while len(_RUNS) > settings.model_cache():
            _RUNS.popitem(last=False)


def get(workspace: Workspace, folder: str) -> Run:
    """The run in ``workspace``'s ``folder``, from memory or loaded from disk (ValueError if
    it cannot be read)."""
    key = (workspace.token, folder)
    with _LOCK:
        if key in _RUNS:
            _RUNS.move_to_end(key)
            return _RUNS[key]
    from cnnlab.runs import run_files

    run = run_files.load_run(workspace.run_path(folder))
    put(workspace.token, folder, run)
    return run


def forget(token: str, folder: str | None = None) -> None:
    """Drop one run (or every run of a workspace) from memory."""
    with _LOCK:
        for key in [k for k in _RUNS if k[0] == token and folder in (None, k[1])]:
            del _RUNS[key]


def loaded() -> list[Key]:
    """The keys in memory, least recently used first."""
    with _LOCK:
        return list(_RUNS)
