"""This session's training job: start it, stop it, and take its run when it ends.

A job that has ended is harvested exactly once per script run, by ``app.py`` before the
sidebar and the page are drawn, so both show the same runs and the same current model.
Fragments that watch a job only ask for a full rerun when it has ended (:func:`ended`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui import state

if TYPE_CHECKING:
    from cnnlab.architecture.spec import Architecture
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training.engine import TrainingJob

QUICK_EPOCHS = 3


def start(arch: Architecture, dataset_name: str, hyperparameters: Hyperparameters) -> None:
    """Queue a training job for this session (imports TensorFlow on first use).

    Raises ValueError (DatasetError, SpecError included) with a message to show.
    """
    from cnnlab.data import datasets
    from cnnlab.training import engine

    dataset = datasets.load_dataset(dataset_name)
    session = state.session()
    session.job = engine.start_training(arch, dataset, hyperparameters,
                                        name=state.next_run_name(arch.name))
    session.job_harvested = False


def stop() -> None:
    """Ask this session's job to stop after its current batch (a button's callback)."""
    job = state.session().job
    if job is not None:
        job.stop()


def job() -> TrainingJob | None:
    """The job this session started last (running or ended), or None."""
    return state.session().job


def active() -> TrainingJob | None:
    """This session's job while it is queued, running or stopping; None otherwise."""
    current = job()
    return current if current is not None and not current.done else None


def ended() -> bool:
    """Whether this session's job has ended and its run is not harvested yet."""
    session = state.session()
    return session.job is not None and session.job.done and not session.job_harvested


def harvest() -> None:
    """Keep the run of a job that has ended (and make it current); once per job.

    Called by ``app.py`` at the start of every script run, before anything is drawn.
    """
    if not ended():
        return
    session = state.session()
    session.job_harvested = True
    result = session.job.result()
    if result is not None:
        session.add_run(result)


def rerun_if_ended() -> None:
    """In a fragment that watches the job: when it has ended, rerun the whole app, whose
    start harvests the run, so every part of the page shows it."""
    if ended():
        st.rerun(scope="app")
