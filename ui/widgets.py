"""The pieces several pages share: the sidebar, job progress, the quick start, and "this page
needs a model" (the drawing canvas is :mod:`ui.canvas`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from cnnlab.architecture import presets, shapes
from cnnlab.runs import records
from ui import jobs, state, text

if TYPE_CHECKING:
    from cnnlab.jobs.job import Snapshot
    from cnnlab.runs.records import Run


def show_progress(snap: Snapshot) -> None:
    """The job's progress bar; the page that shows it keeps the sidebar from showing another."""
    state.session().page_progress = True
    st.progress(snap.fraction, text=text.md(text.progress_text(snap)))


def job_badge() -> None:
    """This session's job, small: its progress, or why it failed. Run as a fragment."""
    current = jobs.job()
    if current is None:
        return
    snap = current.snapshot()  # one state for the whole drawing: no empty refresh in between
    if snap.state.final:
        jobs.rerun_when_final()  # the app's rerun draws the result where the bar was
        if snap.state == "failed":
            st.error(text.md(f"{snap.name} failed: {snap.message}"))
        return
    show_progress(snap)


def sidebar() -> None:
    """The current model, drawn before the page; see :func:`sidebar_after_page`."""
    with st.sidebar:
        run = state.current_info()  # not the model: the first page must not wait on TF
        st.markdown("**Current model**")
        if run is None:
            st.caption("none trained yet — train one on the Train page, or use Quick start on "
                       "Home")
        else:
            params = shapes.summarize(run.architecture).total_params
            status = "stopped early" if run.stopped else "trained"
            whole, partial = records.epochs_trained(run.history, run.hyperparameters.epochs,
                                                    run.curve.batches_per_epoch)
            st.markdown(f"**{text.md(run.name)}** · {params:,} parameters  \n"
                        f"{text.md(run.dataset.label)} · {status}, {whole} epochs"
                        f"{f' ({partial})' if partial else ''}  \n"
                        f"test accuracy **{run.test_accuracy:.2%}**")


def sidebar_after_page() -> None:
    """The network being built, as the page left it (Build renames an edited one), and a live
    badge while a job runs, unless the page showed its progress itself (one per page)."""
    with st.sidebar:
        st.caption(f"Being built: **{text.md(state.get_arch().name)}**")
        workspace_note()
        if state.session().page_progress:
            return
        live = jobs.active() is not None
        st.fragment(run_every=1.0 if live else None)(job_badge)()


def workspace_note() -> None:
    """Where this student's work lives: the page's link (and why a new workspace was made)."""
    current = state.session()
    if current.notice:
        st.warning(text.md(current.notice))  # it never quotes the link; escaped all the same
        current.notice = ""
    st.caption("Your work is saved on this server under this page's link (its `?w=` part) "
               "from your first run, upload, drawing or edited network: bookmark it to come "
               "back, from any computer. Anyone with the link sees it.")


def quick_start_panel(key: str) -> None:
    """Train the default network on the built-in digits in one click, with progress shown."""
    if jobs.active() is not None:
        st.fragment(run_every=0.5)(job_badge)()
        st.button("Stop", key=f"{key}_quick_stop", icon=":material/stop:", on_click=jobs.stop)
        return
    run = state.current_info()
    if run is not None:
        st.success(f"Model ready: **{text.md(run.name)}**, test accuracy {run.test_accuracy:.2%}. "
                   "Now draw a digit and see what it answers.")
        st.page_link("pages/draw.py", label="Draw a digit →", icon=":material/draw:")
        return
    if st.button("Quick start: train the default network (about 15 s)", key=f"{key}_quick",
                 type="primary", icon=":material/play_arrow:"):
        from cnnlab.data import refs
        from cnnlab.runs import recipes

        try:  # the recipe the server's warm-up traced (cnnlab/training/warmup.py)
            jobs.start(presets.get(recipes.QUICK_START_ARCH),
                       refs.named(recipes.QUICK_START_DATASET), recipes.QUICK_START)
        except ValueError as exc:  # e.g. the server is busy: say so (a rerun would hide it)
            st.error(text.md(exc))
            return
        st.rerun()


def model_or_offer(key: str) -> Run | None:
    """The current run; if there is none, offer to make one or pick a kept run (no dead end)."""
    run = state.current_run()
    if run is not None:
        return run
    st.info("This page needs a trained model, and this workspace has none selected yet.")
    kept = state.runs()
    if kept:
        choice = st.selectbox("use a run of this workspace", range(len(kept)),
                              format_func=lambda i: kept[i].name, key=f"{key}_pick_run")
        if st.button("Use this run", key=f"{key}_use_run"):
            state.select_run(choice)
            st.rerun()
    quick_start_panel(key)
    return None

