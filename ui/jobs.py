"""This workspace's training job: start it, stop it, and show its run once it is saved.

Jobs belong to workspaces (:mod:`cnnlab.jobs.ownership`): the server refuses a second active
job of a workspace, and every job saves its run to its workspace itself, so a closed tab loses
nothing and a reload reattaches to the running job. A job's one state
(:class:`cnnlab.jobs.job.State`) says everything a page needs: while it is not final the page
shows progress; once it is final (saved, failed or cancelled) the page shows the result.
``app.py`` calls :func:`harvest` at the start of every script run, before the sidebar and the
page are drawn, so both agree; fragments that watch a job ask for one full rerun when its
state becomes final (:func:`rerun_when_final`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from cnnlab.jobs import ownership
from ui import state

if TYPE_CHECKING:
    from cnnlab.architecture.spec import Architecture
    from cnnlab.data.datasets import Dataset
    from cnnlab.data.refs import DatasetRef
    from cnnlab.jobs.job import Job
    from cnnlab.runs.records import Hyperparameters

def client_address() -> str | None:
    """The address of the computer this page is open on, for the per-client queue limit
    (:func:`cnnlab.jobs.ownership.client_address`: a proxy's headers only from this machine)."""
    try:
        return ownership.client_address(st.context.ip_address, st.context.headers)
    except Exception:  # no session context (a bare script run): unknown
        return None


def start(arch: Architecture, dataset: DatasetRef | Dataset,
          hyperparameters: Hyperparameters) -> None:
    """Queue a training job for this workspace (imports TensorFlow on first use). A ref is
    loaded by :func:`cnnlab.workspaces.data_roots.load` (this workspace's uploads and
    drawings, folders under the data roots); a Dataset (e.g. as previewed) is used as it is.

    Raises ValueError (DatasetError, SpecError, BusyError, WorkspaceError,
    MemoryBudgetError included) with a message to show.
    """
    from cnnlab.data.refs import DatasetRef
    from cnnlab.workspaces import data_roots

    session = state.session()
    if isinstance(dataset, DatasetRef):
        dataset = data_roots.load(dataset, session.workspace)
    ownership.start(session.workspace, arch, dataset, hyperparameters,
                    name=state.next_run_name(arch.name), client=client_address())


def stop() -> None:
    """Ask this session's job to stop after its current batch (a button's callback)."""
    job = state.session().job
    if job is not None:
        job.stop()


def job() -> Job | None:
    """The workspace's last job in this server process (active or ended), or None."""
    return state.session().job


def active() -> Job | None:
    """The workspace's job while its state is not final (queued, running, stopping, saving);
    None otherwise."""
    current = state.session().job
    return current if current is not None and not current.state.final else None


def _unseen_final(current: Job | None) -> bool:
    """Whether ``current``'s state is final and this session has not shown it yet."""
    return (current is not None and current.state.final
            and state.session().seen_job != id(current))


def harvest() -> None:
    """Once per job and session, when its state is final (its run saved, or it failed or was
    cancelled): mark it shown. Called by ``app.py`` at the start of every script run, before
    anything is drawn; the saved run is then the workspace's current model."""
    current = state.session().job
    if _unseen_final(current):
        state.session().seen_job = id(current)


def rerun_when_final() -> None:
    """In a fragment that watches the job: when its state has become final, rerun the whole
    app, whose start harvests it, so every part of the page shows the result."""
    if _unseen_final(state.session().job):
        st.rerun(scope="app")
