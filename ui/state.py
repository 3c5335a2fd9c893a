"""What one browser session holds, created once per session by :func:`init` (from ``app.py``).

Everything a user makes (architecture, runs, current model, job) belongs to a workspace
(:mod:`cnnlab.workspaces.store`), on disk under ``CNNLAB_HOME``, named by an unguessable
token kept in the page's URL (``?w=...``): a reload, a server restart or the same link on
another computer returns to it. A first visit only draws a token; the workspace's folder is
made by its first write (:func:`cnnlab.workspaces.store.new`), so a visit that writes nothing
leaves nothing on disk. ``st.session_state`` holds only the token's workspace and
per-session widget bits; loaded models, and the predictors made from them, come from the
process-wide cache of the memory budget (:mod:`cnnlab.workspaces.models`), never from the
session: a session holds no model; nothing per-user goes into ``st.cache_resource``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

from cnnlab.architecture import presets, shapes, spec
from cnnlab.classes import members
from cnnlab.jobs import ownership
from cnnlab.workspaces import models, settings, store

if TYPE_CHECKING:
    from cnnlab.jobs.job import Job
    from cnnlab.runs.records import Run
    from cnnlab.workspaces.run_info import RunInfo

KEY = "cnnlab"  # the one st.session_state entry this package owns
TOKEN_PARAM = "w"  # the workspace token's query parameter
_ids = itertools.count(1)  # widget ids for layers; unique across sessions, which is harmless


@dataclass
class SessionState:
    """One browser session's workspace, architecture widgets and compiled predictor.

    Attributes:
        workspace: the workspace (runs, current model, saved architecture) this session shows.
        arch: the architecture being built (saved to the workspace on every change).
        layer_ids: one widget id per layer of ``arch``, in order.
        seen_job: ``id`` of the last job whose final state this session has shown.
        notice: a message for the page (e.g. the link's workspace was not found), or "".
        uploaded: file ids of run uploads already added (an upload widget keeps its file).
        loaded: the architecture as last loaded (preset, import or the default), whose name an
            unchanged network keeps; ``loads`` counts the loads (it keys the Build name field).
        chosen_name: the name the user gave the network on Build ("" for none).
        page_progress: whether the page drawn in this script run shows the job's progress
            (then the sidebar does not: one progress indicator per page).
    """

    workspace: store.Workspace
    arch: spec.Architecture
    layer_ids: list[int]
    seen_job: int | None = None
    notice: str = ""
    uploaded: set[str] = field(default_factory=set)
    loaded: spec.Architecture | None = None
    loads: int = 0
    chosen_name: str = ""
    page_progress: bool = False

    @property
    def runs(self) -> list[RunInfo]:
        """The workspace's runs (trained or uploaded), oldest first, without their models."""
        return self.workspace.runs()

    @property
    def current(self) -> int | None:
        """Index into :attr:`runs` of the model Feature maps and Draw use; None before any."""
        folder = self.workspace.current()
        folders = [info.folder for info in self.runs]
        return folders.index(folder) if folder in folders else None

    @property
    def job(self) -> Job | None:
        """The workspace's last training job in this server process, if any."""
        return ownership.last(self.workspace.token)

    def add_run(self, run: Run, uploaded: bool = False) -> None:
        """Save a run to the workspace and make it the current model (ValueError, saying
        what to delete, if it does not fit: checked before anything is written); ``uploaded``
        for a run from a run zip. In a class, the run is scored like a trained one (the
        saved-run hook, :func:`cnnlab.jobs.ownership.scored`)."""
        folder = self.workspace.save_run(run, uploaded=uploaded)
        models.put(self.workspace.token, folder, run)
        ownership.scored(self.workspace.token, self.workspace.run_path(folder))

    def current_run(self) -> Run | None:
        """The current model, from memory or loaded from the workspace; None if none (or
        if it cannot be read any more)."""
        folder = self.workspace.current()
        if folder is None:
            return None
        try:
            return models.get(self.workspace, folder)
        except ValueError:
            return None


NOT_A_TOKEN = ("This page's link has a w=... part that is not a workspace token, so this is "
               "a new, empty workspace; use the link CNN Lab gave you.")
NO_WORKSPACE = ("There is no workspace with this link on this server: nothing was saved under "
                "it, or it went unused for {days:g} days and was removed. This is a new, empty "
                "workspace.")


def _open(token: str | None) -> tuple[store.Workspace, str]:
    """The workspace of the link's token, or a new one, not on disk until its first write
    (with a notice why, if a token was given: never the link's own text)."""
    if not token:
        return store.new(), ""
    if not isinstance(token, str) or not store.TOKEN_FORM.fullmatch(token):
        return store.new(), NOT_A_TOKEN
    try:
        return store.open_workspace(token), ""
    except store.WorkspaceError:
        return store.new(), NO_WORKSPACE.format(days=settings.workspace_days())


def init() -> SessionState:
    """This session's state: on its first run, the URL's workspace (or a new one) with its
    saved architecture (or the default preset). Every run puts the token back in the URL
    (page navigation drops query parameters) and records that a page of it is open."""
    token = st.query_params.get(TOKEN_PARAM)
    current = st.session_state.get(KEY)
    if current is None or (token and token != current.workspace.token):
        workspace, notice = _open(token)
        arch = workspace.architecture() or presets.get(presets.DEFAULT_PRESET)
        current = SessionState(workspace, arch, [next(_ids) for _ in arch.layers],
                               notice=notice, loaded=arch)
        st.session_state[KEY] = current
    if token != current.workspace.token:
        st.query_params[TOKEN_PARAM] = current.workspace.token
    current.workspace.record_visit()  # for pruning: a stat, and a touch at most once an hour
    ownership.beat(current.workspace.token)
    _attach(current.workspace.token)
    return current


def _attach(token: str) -> None:
    """Tell the job owner how to ask whether this browser session is still connected, so a
    background tab (whose live refreshes and polls the browser slows to one a minute, past
    the grace) keeps its job. Uses Streamlit's private ``Runtime.is_active_session``
    (thread-safe), listed in ``ui.patches.INTERNALS``: ``tests/test_ui_patches.py`` fails if
    Streamlit drops it. Without a runtime (AppTest) heartbeats alone count."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if not runtime.exists() or ctx is None:
        return
    instance, session_id = runtime.get_instance(), ctx.session_id
    ownership.attach(token, session_id, lambda: instance.is_active_session(session_id))


def session() -> SessionState:
    """This session's state; ``app.py`` creates it (:func:`init`) before any page runs.

    Every call records that a page of the workspace is open (fragments call it too)."""
    try:
        current = st.session_state[KEY]
    except KeyError:
        raise RuntimeError("ui.state.init() has not run in this session: open the app "
                           "through app.py (streamlit run serve.py)") from None
    ownership.beat(current.workspace.token)
    return current


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
    if arch != current.arch:
        current.workspace.save_architecture(arch)
        if current.job is None or current.job.state.final:  # training says more than building
            ownership.noted(current.workspace.token, members.BUILDING)
    current.arch, current.layer_ids = arch, list(ids)


def layer_ids() -> list[int]:
    """A copy of the layers' widget ids, to edit and hand back to :func:`update_arch`."""
    return list(session().layer_ids)


def new_id() -> int:
    return next(_ids)


def current_summary(input_shape: tuple[int, int, int] | None = None) -> shapes.Summary:
    return shapes.summarize(get_arch(), input_shape)


# --- runs ----------------------------------------------------------------------------------------

def runs() -> list[RunInfo]:
    """The workspace's runs, oldest first, without their models (:func:`current_run` loads
    the current one)."""
    return session().runs


def next_run_name(base: str) -> str:
    """``base-<n>`` with the first n this workspace has not used (not counted per server:
    every user's first two-conv run is ``two-conv-1``)."""
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


def current_info() -> RunInfo | None:
    """The current run as its JSON files tell it (name, data set, accuracy...), or None:
    without loading its model, so a page that only names it (Home, the sidebar) does not
    import TensorFlow."""
    folder = session().workspace.current()
    return next((info for info in session().runs if info.folder == folder), None)


def select_run(index: int) -> None:
    """Make ``runs()[index]`` the current model."""
    kept = session().runs
    if not 0 <= index < len(kept):
        raise IndexError(f"no run {index} in this workspace; it has {len(kept)}")
    session().workspace.set_current(kept[index].folder)


def delete_run(index: int) -> None:
    """Delete ``runs()[index]`` from the workspace's disk and from memory."""
    kept = session().runs
    if not 0 <= index < len(kept):
        raise IndexError(f"no run {index} in this workspace; it has {len(kept)}")
    current = session()
    current.workspace.delete_run(kept[index].folder)
    models.forget(current.workspace.token, kept[index].folder)


def add_run(run: Run, uploaded: bool = False) -> None:
    """Keep a run and make it the current model; ``uploaded``: it came from a run zip, so
    the workspace records that its data set is a name only here."""
    session().add_run(run, uploaded)


def predictor(run: Run, epoch: int | None = None) -> Any:
    """The run's :class:`cnnlab.inspect.inference.Predictor`, built once per run and shared
    (:func:`cnnlab.workspaces.models.tool`); at a saved epoch if given."""
    from cnnlab.inspect import inference

    base = models.tool(run, "predictor", lambda: inference.Predictor(run.model))
    last = max(run.epoch_weights) if run.epoch_weights else None
    if epoch is None or epoch == last or epoch not in run.epoch_weights:
        return base
    return base.at_weights(run.epoch_weights[epoch])
