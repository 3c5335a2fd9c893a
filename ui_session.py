"""Glue between Streamlit and cnnlab: this browser session's architecture, runs and job.

Everything a user makes lives in ``st.session_state``, so each browser session is independent;
nothing per-user goes into ``st.cache_resource``. Pages call these helpers, never each other.
"""

from __future__ import annotations

import itertools
from typing import Any

import streamlit as st

from cnnlab.architecture import presets, shapes, spec

_ids = itertools.count(1)
_navigation_checked = False  # widget keys for layers; unique across sessions, which is harmless


def _leave_pages_directory_mode() -> None:
    """Make a deep link on a fresh server use app.py's navigation.

    Streamlit runs the first script of a new server the old multipage way when a ``pages/``
    folder exists (pages listed by file name, no page config) until ``st.navigation`` has run
    once; a page opened by its URL first would show that. Switch over and run again.
    """
    global _navigation_checked
    if _navigation_checked:  # once per process: the old mode only happens before the first run
        return
    _navigation_checked = True
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a later Streamlit without the old mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


def _close_matplotlib_figures() -> None:
    """What Streamlit's after-run clean-up does, minus ``keras.backend.clear_session()``."""
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def _keep_keras_state() -> None:
    """Stop Streamlit from clearing Keras's global state after every script run.

    Streamlit calls ``keras.backend.clear_session()`` at the end of each run, fragments
    included, once Keras is imported: about 0.2 s holding the GIL here, a few times a second
    per training session, and it clears TensorFlow's kernel cache under the jobs that are
    training. CNN Lab keeps no per-run Keras state that needs clearing (models are owned by
    runs and jobs), so only the matplotlib part of that clean-up is kept. Together with
    ``runner.postScriptGC = false`` in ``.streamlit/config.toml`` this keeps pages responsive
    while others train (``bench/run.py``'s sessions row).
    """
    try:
        from streamlit.runtime.scriptrunner import script_runner
    except ImportError:  # a Streamlit that moved it: nothing to switch off
        return
    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = _close_matplotlib_figures


_keep_keras_state()


def _init() -> None:
    """Create this session's state once."""
    _leave_pages_directory_mode()
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
    """This session's runs (``records.Run``), oldest first (a just-ended job's included)."""
    _init()
    harvest()
    return st.session_state.runs


def current_run() -> Any | None:
    """The run the Feature maps and Draw pages use, or None."""
    _init()
    harvest()
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


# --- training jobs ---------------------------------------------------------------------------

QUICK_EPOCHS = 3


def start_job(arch: spec.Architecture, dataset_name: str, hyperparameters: Any) -> None:
    """Queue a training job for this session (imports TensorFlow on first use).

    Raises ValueError (DatasetError, SpecError included) with a message to show.
    """
    from cnnlab.data import datasets
    from cnnlab.training import engine

    dataset = datasets.load_dataset(dataset_name)
    st.session_state.job = engine.start_training(arch, dataset, hyperparameters)
    st.session_state.job_harvested = False


def active_job() -> Any | None:
    """This session's job while it is queued, running or stopping; None otherwise."""
    current = job()
    return current if current is not None and not current.done else None


def harvest() -> bool:
    """Keep the result of a job that has just ended as a run; True the first time."""
    current = job()
    if current is None or not current.done or st.session_state.get("job_harvested", True):
        return False
    st.session_state.job_harvested = True
    result = current.result()
    if result is not None:
        add_run(result)
    return True


def progress_text(snap: Any) -> str:
    """One line: where a job is, in words a learner reads at a glance."""
    if snap.status == "queued":
        return (f"⏳ {snap.name}: waiting, place {snap.queue_position} in the queue "
                f"(other users are training)")
    if snap.phase in ("waiting", "building"):
        return f"⚙️ {snap.name}: building the model…"
    if snap.phase == "training" and snap.epoch <= 1 and snap.batch == 0:
        return f"⚙️ {snap.name}: preparing the first batch (TensorFlow compiles the model)…"
    if snap.phase == "evaluating":
        return f"🧮 {snap.name}: testing on the test images…"
    parts = [f"{snap.name}: epoch {snap.epoch}/{snap.epochs}, batch {snap.batch}/"
             f"{snap.batches_per_epoch}"]
    if snap.samples_per_second:
        parts.append(f"{snap.samples_per_second:,.0f} images/s")
    if snap.seconds_left is not None:
        parts.append(f"about {snap.seconds_left:.0f} s left")
    if snap.status == "stopping":
        parts.append("stopping after this batch")
    return "🟢 " + " · ".join(parts)


def show_progress(snap: Any) -> None:
    st.progress(snap.fraction, text=progress_text(snap))


def _job_badge() -> None:
    current = job()
    if current is None:
        return
    if harvest():
        st.rerun(scope="app")
    snap = current.snapshot()
    if snap.done:
        if snap.status == "failed":
            st.error(f"{snap.name} failed: {snap.message}")
        return
    show_progress(snap)


def sidebar(live_badge: bool = True) -> None:
    """The current model, and a live badge while a job runs (``live_badge``: not on the
    Train page, which shows the same progress larger); shown on every page."""
    with st.sidebar:
        run = current_run()
        st.markdown("**Current model**")
        if run is None:
            st.caption("none trained yet — train one on the Train page, or use Quick start on "
                       "Home")
        else:
            params = shapes.summarize(run.architecture).total_params
            status = "stopped early" if run.stopped else "trained"
            st.markdown(f"`{run.name}` · {params:,} parameters  \n{run.dataset} · {status}, "
                        f"{run.epochs_completed} epoch(s)  \ntest accuracy "
                        f"**{run.test_accuracy:.1%}**")
        st.caption(f"Being built: `{get_arch().name}`")
        if live_badge:
            live = active_job() is not None
            st.fragment(run_every=1.0 if live else None)(_job_badge)()


def quick_start_panel(key: str) -> None:
    """Train the default network on the built-in digits in one click, with progress shown."""
    if active_job() is not None:
        st.fragment(run_every=0.5)(_job_badge)()
        st.button("■ Stop", key=f"{key}_quick_stop", on_click=lambda: job().stop())
        return
    run = current_run()
    if run is not None:
        st.success(f"Model ready: `{run.name}`, test accuracy {run.test_accuracy:.1%}. "
                   "Now draw a digit and see what it answers.")
        st.page_link("pages/draw.py", label="Draw a digit →", icon=":material/draw:")
        return
    if st.button("▶ Quick start: train the default network (about 15 s)", key=f"{key}_quick",
                 type="primary"):
        from cnnlab.runs import records as runs

        try:
            start_job(presets.get(presets.DEFAULT_PRESET), "mnist-5k",
                      runs.Hyperparameters(epochs=QUICK_EPOCHS))
        except ValueError as exc:
            st.error(str(exc))
        st.rerun()


def model_or_offer(key: str) -> Any | None:
    """The current run; if there is none, offer to make one or pick a kept run (no dead end)."""
    run = current_run()
    if run is not None:
        return run
    st.info("This page needs a trained model, and this session has none selected yet.")
    kept = runs()
    if kept:
        names = [r.name for r in kept]
        choice = st.selectbox("use a run of this session", names, key=f"{key}_pick_run")
        if st.button("Use this run", key=f"{key}_use_run"):
            select_run(names.index(choice))
            st.rerun()
    quick_start_panel(key)
    return None


# --- inference: one compiled predictor per run, kept in this session -------------------------

def predictor(run: Any, epoch: int | None = None) -> Any:
    """The run's :class:`cnnlab.inference.Predictor`, built once; at a saved epoch if given."""
    from cnnlab.inspect import inference

    cache = st.session_state.setdefault("predictors", {})
    if id(run) not in cache:
        cache.clear()  # one model's compiled calls at a time per session keeps memory flat
        cache[id(run)] = inference.Predictor(run.model)
    base = cache[id(run)]
    last = max(run.epoch_weights) if run.epoch_weights else None
    if epoch is None or epoch == last or epoch not in run.epoch_weights:
        return base
    return base.at_weights(run.epoch_weights[epoch])


def canvas_rgba(stroke_width: int, key: str) -> Any | None:
    """The drawing as an RGBA array, or None before anything is drawn.

    The seam for tests: an array put in ``st.session_state.draw_test_image`` replaces the canvas.
    """
    if st.session_state.get("draw_test_image") is not None:
        return st.session_state.draw_test_image
    from streamlit_drawable_canvas import st_canvas  # registers its component on import

    result = st_canvas(stroke_width=stroke_width, stroke_color="#FFFFFF",
                       background_color="#000000", height=280, width=280,
                       drawing_mode="freedraw", return_image_data=True, key=key)
    return result.image_data
