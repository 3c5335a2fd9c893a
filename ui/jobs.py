"""This workspace's training job: start it, stop it, and show its run when it ends.

Jobs belong to workspaces (:mod:`cnnlab.training.ownership`): the server refuses a second
active job of a workspace, and saves every job's run to its workspace itself, so a closed
tab loses nothing and a reload reattaches to the running job. ``app.py`` calls
:func:`harvest` at the start of every script run, before the sidebar and the page are drawn,
so both show the same runs and the same current model. Fragments that watch a job only ask
for a full rerun when it has ended (:func:`ended`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from cnnlab.training import ownership
from ui import state, text

if TYPE_CHECKING:
    from cnnlab.architecture.spec import Architecture
    from cnnlab.data.datasets import Dataset
    from cnnlab.data.refs import DatasetRef
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training.engine import TrainingJob

QUICK_EPOCHS = 3


def start(arch: Architecture, dataset: DatasetRef | Dataset,
          hyperparameters: Hyperparameters) -> None:
    """Queue a training job for this workspace (imports TensorFlow on first use). A ref is
    loaded by :func:`cnnlab.workspaces.data_roots.load` (this workspace's uploads and
    drawings, folders under the data roots); a Dataset (e.g. as previewed) is used as it is.

    Raises ValueError (DatasetError, SpecError, BusyError, WorkspaceError included) with a
    message to show.
    """
    from cnnlab.data.refs import DatasetRef
    from cnnlab.workspaces import data_roots

    session = state.session()
    if isinstance(dataset, DatasetRef):
        dataset = data_roots.load(dataset, session.workspace)
    ownership.start(session.workspace, arch, dataset, hyperparameters,
                    name=state.next_run_name(arch.name))


def stop() -> None:
    """Ask this session's job to stop after its current batch (a button's callback)."""
    job = state.session().job
    if job is not None:
        job.stop()


def job() -> TrainingJob | None:
    """The workspace's last job in this server process (running or ended), or None."""
    return state.session().job


def active() -> TrainingJob | None:
    """The workspace's job while it is queued, running, stopping, or ended with its run not
    saved yet (the server saves it at once); None otherwise."""
    owned = ownership.last(state.session().workspace.token)
    return owned.job if owned is not None and owned.active else None


def saving() -> bool:
    """Whether the workspace's job has ended (its snapshot is final) and its run is not saved
    yet: the thread is finishing or the server is saving the run right now (a page keeps
    showing the job's progress until the run is there)."""
    owned = ownership.last(state.session().workspace.token)
    return owned is not None and owned.active and owned.job.snapshot().done


def ended() -> bool:
    """Whether the workspace's job has ended and this session has not shown its run yet."""
    session = state.session()
    owned = ownership.last(session.workspace.token)
    return (owned is not None and owned.job.done and owned.saved.is_set()
            and session.seen_job != id(owned.job))


def harvest() -> None:
    """Once per ended job and session, once the server has saved its run (it is then the
    workspace's current model): mark it shown, and say if saving failed. Called by
    ``app.py`` at the start of every script run, before anything is drawn.
    """
    if not ended():  # ended() already requires the run to be saved
        return
    session = state.session()
    owned = ownership.last(session.workspace.token)
    session.seen_job = id(owned.job)
    if owned.error:
        st.error(text.md(f"The run {owned.job.name} could not be saved: {owned.error}"))


def rerun_if_ended() -> None:
    """In a fragment that watches the job: when it has ended, rerun the whole app, whose
    start harvests the run, so every part of the page shows it."""
    if ended():
        st.rerun(scope="app")
