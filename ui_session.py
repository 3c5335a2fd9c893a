"""Glue between Streamlit and cnnlab: this browser session's architecture, runs and job.

Everything a user makes lives in ``st.session_state``, so each browser session is independent;
nothing per-user goes into ``st.cache_resource``. Pages call these helpers, never each other.
"""

from __future__ import annotations

import itertools
from typing import Any

import streamlit as st

from cnnlab import presets, shapes, spec

_ids = itertools.count(1)  # widget keys for layers; unique across sessions, which is harmless


def _init() -> None:
    if "arch" not in st.session_state:
        set_arch(presets.get(presets.DEFAULT_PRESET))
    if "runs" not in st.session_state:
        st.session_state.runs = []  # finished or stopped runs of this session, oldest first
    if "current_run" not in st.session_state:
        st.session_state.current_run = None  # index into runs
    if "job" not in st.session_state:
        st.session_state.job = None  # the training job this session started, if any


def get_arch() -> spec.Architecture:
    """The architecture being built in this session (the default preset at first)."""
    _init()
    return st.session_state.arch


def set_arch(arch: spec.Architecture) -> None:
    """Replace the architecture; every layer gets fresh widget ids."""
    st.session_state.arch = arch
    st.session_state.layer_ids = [next(_ids) for _ in arch.layers]


def layer_ids() -> list[int]:
    _init()
    return st.session_state.layer_ids


def update_arch(arch: spec.Architecture, ids: list[int]) -> None:
    """Store an edited architecture with its layers' widget ids (same length, same order)."""
    st.session_state.arch = arch
    st.session_state.layer_ids = ids


def new_id() -> int:
    return next(_ids)


def current_summary(input_shape: tuple[int, int, int] | None = None) -> shapes.Summary:
    return shapes.summarize(get_arch(), input_shape)


def runs() -> list[Any]:
    """This session's runs (``cnnlab.runs.Run``), oldest first."""
    _init()
    return st.session_state.runs


def current_run() -> Any | None:
    """The run the Feature maps and Draw pages use, or None."""
    _init()
    index = st.session_state.current_run
    return st.session_state.runs[index] if index is not None else None


def select_run(index: int | None) -> None:
    st.session_state.current_run = index


def add_run(run: Any) -> None:
    """Keep a finished run and make it the current model."""
    _init()
    st.session_state.runs.append(run)
    st.session_state.current_run = len(st.session_state.runs) - 1


def job() -> Any | None:
    _init()
    return st.session_state.job


def set_job(value: Any | None) -> None:
    st.session_state.job = value
