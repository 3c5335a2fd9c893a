"""What one browser session holds, created once per session by :func:`init` (from ``app.py``).

Everything a user makes lives in ``st.session_state``, so sessions are independent; nothing
per-user goes into ``st.cache_resource``. The getters here only read.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

from cnnlab.architecture import presets, shapes, spec

if TYPE_CHECKING:
    from cnnlab.inspect.inference import Predictor
    from cnnlab.runs.records import Run
    from cnnlab.training.engine import TrainingJob

KEY = "cnnlab"  # the one st.session_state entry this package owns
_ids = itertools.count(1)  # widget ids for layers; unique across sessions, which is harmless


@dataclass
class SessionState:
    """One browser session's architecture, runs, training job and compiled predictor.

    Attributes:
        arch: the architecture being built.
        layer_ids: one widget id per layer of ``arch``, in order.
        runs: finished or stopped runs of this session (trained or uploaded), oldest first.
        current: index into ``runs`` of the model Feature maps and Draw use; None before any.
        job: the training job this session started last, if any.
        job_harvested: whether ``job``'s result has been taken into ``runs``.
        uploaded: file ids of run uploads already added (an upload widget keeps its file).
        predictors: the current run's compiled predictor, by ``id(run)`` (one at a time).
        loaded: the architecture as last loaded (preset, import or the default), whose name an
            unchanged network keeps; ``loads`` counts the loads (it keys the Build name field).
        chosen_name: the name the user gave the network on Build ("" for none).
        page_progress: whether the page drawn in this script run shows the job's progress
            (then the sidebar does not: one progress indicator per page).
    """

    arch: spec.Architecture
    layer_ids: list[int]
    runs: list[Run] = field(default_factory=list)
    current: int | None = None
    job: TrainingJob | None = None
    job_harvested: bool = True
    uploaded: set[str] = field(default_factory=set)
    predictors: dict[int, Predictor] = field(default_factory=dict)
    loaded: spec.Architecture | None = None
    loads: int = 0
    chosen_name: str = ""
    page_progress: bool = False

    def add_run(self, run: Run) -> None:
        """Keep a run and make it the current model (the newest run is current)."""
        self.runs.append(run)
        self.current = len(self.runs) - 1

    def current_run(self) -> Run | None:
        return self.runs[self.current] if self.current is not None else None


def init() -> SessionState:
    """This session's state, created with the default preset on the session's first run."""
    if KEY not in st.session_state:
        arch = presets.get(presets.DEFAULT_PRESET)
        st.session_state[KEY] = SessionState(arch, [next(_ids) for _ in arch.layers],
                                             loaded=arch)
    return st.session_state[KEY]


def session() -> SessionState:
    """This session's state; ``app.py`` creates it (:func:`init`) before any page runs."""
    try:
        return st.session_state[KEY]
    except KeyError:
        raise RuntimeError("ui.state.init() has not run in this session: open the app "
                           "through app.py (streamlit run app.py)") from None


# --- the architecture being built (read and written by the Build page) -------------------------

def get_arch() -> spec.Architecture:
    """The architecture being built in this session (the default preset at first)."""
    return session().arch


def set_arch(arch: spec.Architecture) -> None:
    """Load an architecture (a preset or an import): every layer gets fresh widget ids, and
    the name the user chose for the previous network is dropped."""
    update_arch(arch, [next(_ids) for _ in arch.layers])
    current = session()
    current.loaded, current.chosen_name, current.loads = arch, "", current.loads + 1


def name_for(layers: tuple[spec.Layer, ...], chosen: str = "") -> str:
    """The name a network with these layers goes by: the user's ``chosen`` name if any, else
    the loaded network's, marked " (edited)" once its layers differ from the loaded ones.

    Example: the default preset with one kernel changed is ``two-conv (edited)``.
    """
    if chosen.strip():
        return chosen.strip()
    loaded = session().loaded or session().arch
    if loaded.layers and tuple(layers) != tuple(loaded.layers):
        return f"{loaded.name.removesuffix(' (edited)')} (edited)"
    return loaded.name


def update_arch(arch: spec.Architecture, ids: list[int]) -> None:
    """Store an edited architecture with its layers' widget ids (same length, same order)."""
    if len(ids) != len(arch.layers):
        raise ValueError(f"update_arch needs one widget id per layer: {len(arch.layers)} "
                         f"layers; received {len(ids)} ids")
    current = session()
    current.arch, current.layer_ids = arch, list(ids)


def layer_ids() -> list[int]:
    """A copy of the layers' widget ids, to edit and hand back to :func:`update_arch`."""
    return list(session().layer_ids)


def new_id() -> int:
    return next(_ids)


def current_summary(input_shape: tuple[int, int, int] | None = None) -> shapes.Summary:
    return shapes.summarize(get_arch(), input_shape)


# --- runs ----------------------------------------------------------------------------------------

def runs() -> list[Run]:
    """This session's runs, oldest first (as harvested by :func:`ui.jobs.harvest`)."""
    return session().runs


def next_run_name(base: str) -> str:
    """``base-<n>`` with the first n this session has not used (not counted per server: every
    user's first two-conv run is ``two-conv-1``)."""
    taken = {run.name for run in session().runs}
    if session().job is not None:
        taken.add(session().job.name)
    number = 1
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def current_run() -> Run | None:
    """The run the Feature maps and Draw pages use, or None."""
    return session().current_run()


def select_run(index: int) -> None:
    """Make ``runs()[index]`` the current model."""
    if not 0 <= index < len(session().runs):
        raise IndexError(f"no run {index} in this session; it has {len(session().runs)}")
    session().current = index


def add_run(run: Run) -> None:
    """Keep a run (uploaded or trained) and make it the current model."""
    session().add_run(run)


def predictor(run: Run, epoch: int | None = None) -> Any:
    """The run's :class:`cnnlab.inspect.inference.Predictor`, built once; at a saved epoch if
    given."""
    from cnnlab.inspect import inference

    cache = session().predictors
    if id(run) not in cache:
        cache.clear()  # one model's compiled calls at a time per session keeps memory flat
        cache[id(run)] = inference.Predictor(run.model)
    base = cache[id(run)]
    last = max(run.epoch_weights) if run.epoch_weights else None
    if epoch is None or epoch == last or epoch not in run.epoch_weights:
        return base
    return base.at_weights(run.epoch_weights[epoch])
