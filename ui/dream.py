"""Feature maps' "Ask what it wants to see": the picture that excites one filter of a conv
layer most (its unit's receptive field outlined), every filter of a layer computed in the
background with its progress, and "what does my network think a 7 looks like?" (the logic is
:mod:`cnnlab.inspect.feature_vis`).

An expander computed only while it is open. Pictures are kept per run in the feature
visualizations' cache (the server's memory budget), keyed by the workspace, the run and a
fingerprint of its weights, so a layer computed once shows at once when asked again. A whole
layer runs in a :class:`cnnlab.inspect.background.Task` (one per session: another layer
stops the one before); the page shows its progress in a fragment that reruns itself every
half second, and a Stop button; nothing waits for it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import streamlit as st

from cnnlab.architecture import shapes
from cnnlab.inspect import background, feature_vis
from cnnlab.views import overlay, render
from ui import images, numbers, state, text

TITLE = "Ask what it wants to see: the picture a filter or a class likes most"
MODES = ("one filter", "a whole layer", "a class")
PICTURE_PX = 224  # one filter's or class's picture on the page
TILE_PX = 56  # a layer's filters in the grid
SETTINGS = feature_vis.Settings()  # the defaults: about 0.1 s a filter on two-conv
POLL_SECONDS = 0.5  # how often the progress line reruns itself


def fingerprint(run: Any) -> str:
    """A digest of the run's weights: a run retrained into the same folder is another run."""
    digest = hashlib.sha1()
    for weights in run.model.get_weights():
        digest.update(np.ascontiguousarray(weights).tobytes())
    return digest.hexdigest()


def _visualizer(run: Any) -> feature_vis.Visualizer | str:
    """This session's visualizer of ``run`` (built once per run), or why there is none."""
    cached = st.session_state.get("dream_visualizer")
    if cached is None or cached[0] is not run:
        summary = shapes.summarize(run.architecture, num_classes=len(run.class_names))
        identity = (state.session().workspace.token, run.name, fingerprint(run))
        try:
            made: feature_vis.Visualizer | str = feature_vis.Visualizer(run.model, summary,
                                                                        identity=identity)
        except ValueError as exc:
            made = str(exc)
        cached = (run, made)
        st.session_state["dream_visualizer"] = cached
    return cached[1]


def outlined(found: feature_vis.Visualization, side: int, width: int = 1) -> np.ndarray:
    """The picture (grey or colour) enlarged to about ``side`` pixels, its unit's receptive
    field outlined (a class's picture has none)."""
    scale = max(1, side // max(found.image.shape[:2]))
    if found.box is None:
        return render.upscale(overlay.as_rgb(found.image), scale)
    return overlay.outlined(found.image, found.box, scale, width=width)


def box_words(found: feature_vis.Visualization) -> str:
    """"rows 10–17, columns 10–17: 8×8 pixels": the region the red box marks."""
    top, left, bottom, right = found.box
    return (f"rows {top}–{bottom - 1}, columns {left}–{right - 1}: {bottom - top}×"
            f"{right - left} pixels")


def one_filter(visualizer: feature_vis.Visualizer, key: str) -> None:
    """A layer and a filter: its picture, the receptive field outlined, and how much it
    climbed."""
    cols = st.columns(2)
    layer = cols[0].selectbox("conv layer", visualizer.layers, key=f"{key}_dream_layer")
    count = int(visualizer.model.get_layer(layer).output.shape[-1])
    index = numbers.whole_number(cols[1], "filter", 0, count - 1, key=f"{key}_dream_filter_"
                                 f"{layer}", value=0, answer=st, note=f"{layer} has {count}")
    if index is None:
        return
    with st.spinner(f"climbing towards what {layer} filter {index} likes…"):
        found = visualizer.unit(layer, index, SETTINGS)
    images.grid([outlined(found, PICTURE_PX // 2)],
                [f"the picture that excites {layer} filter {index} most, its unit's receptive "
                 f"field ({box_words(found)}) outlined in red"],
                [f"{layer} filter {index}"], width=PICTURE_PX)
    st.caption(f"What the centre unit of {layer} filter {index} likes most; the red box is what "
               f"that unit sees, {box_words(found)}. Gradient ascent from plain grey raised "
               f"the unit's value (before its activation) from {found.start_value:.3g} to "
               f"{found.value:.3g}; only the pixels in the red box can change it.")


def a_class(run: Any, visualizer: feature_vis.Visualizer, key: str) -> None:
    """"What does my network think a 7 looks like?", and what the network says of it."""
    names = run.class_names
    k = st.selectbox("class", list(range(len(names))), key=f"{key}_dream_class",
                     format_func=lambda i: names[i])
    st.markdown(f"**What does {text.md(run.name)} think {text.md(with_article(names[k]))} "
                "looks like?**")
    with st.spinner(f"climbing towards {text.md(names[k])}…"):
        found = visualizer.output_class(k, SETTINGS)
    probs = state.predictor(run).probabilities(found.as_uint8())
    said = int(np.argmax(probs))
    images.grid([outlined(found, PICTURE_PX // 2)],
                [f"the picture that raises the score of {names[k]} most; the network reads it "
                 f"as {names[said]} ({probs[said]:.0%})"],
                [f"read as {names[said]} ({probs[said]:.0%})"], width=PICTURE_PX)
    st.caption(f"Gradient ascent from plain grey on {text.md(names[k])}'s score (its logit), "
               "with a little blur and jitter so only patterns the network really uses survive.")


def with_article(name: str) -> str:
    """"a 7", "an 8", "an apple", "a circle": the article as the name is read aloud.

    Example:
        >>> [with_article(n) for n in ("7", "8", "11", "umbrella", "T-shirt/top")]
        ['a 7', 'an 8', 'an 11', 'an umbrella', 'a T-shirt/top']
    """
    spoken_vowel = name[:1].lower() in "aeiou8" or name.startswith(("11", "18"))
    return f"{'an' if spoken_vowel and name else 'a'} {name}"


def _task(key: tuple) -> background.Task | None:
    kept = st.session_state.get("dream_task")
    return kept[1] if kept is not None and kept[0] == key else None


def _start(visualizer: feature_vis.Visualizer, layer: str, key: tuple) -> None:
    kept = st.session_state.get("dream_task")
    if kept is not None:
        kept[1].cancel()  # one layer at a time per session
    work = lambda progress, stop: visualizer.layer(layer, SETTINGS, progress, stop)  # noqa: E731
    st.session_state["dream_task"] = (key, background.Task(work, f"feature vis {layer}"))


def _progress(task: background.Task, layer: str, count: int, key: str) -> None:
    """The running layer's progress and a Stop button; when it ends, the whole page reruns
    to show the grid."""
    snap = task.snapshot()
    if snap.state != "running":
        st.rerun()
        return
    st.progress(snap.fraction, text=f"climbing all {count} filters of {layer}: step "
                                    f"{snap.done} of {snap.total or '…'}")
    st.button("Stop", key=f"{key}_dream_stop", on_click=task.cancel, icon=":material/stop:")


def whole_layer(visualizer: feature_vis.Visualizer, key: str) -> None:
    """Every filter of a layer as a grid, computed in the background with its progress."""
    layer = st.selectbox("conv layer", visualizer.layers, key=f"{key}_dream_grid_layer")
    count = int(visualizer.model.get_layer(layer).output.shape[-1])
    task_key = (visualizer.identity, layer, SETTINGS)
    task = _task(task_key)
    if task is not None and not task.finished.is_set():
        st.fragment(run_every=POLL_SECONDS)(_progress)(task, layer, count, key)
        return
    found = visualizer.cached(layer, SETTINGS)
    if task is not None and task.snapshot().state == "failed":
        st.error(text.md(f"The layer's pictures could not be made: {task.snapshot().error}"))
    if len(found) < count:
        if found:
            st.caption(f"Stopped after {len(found)} of {count} filters.")
        label = (f"Show all {count} filters of {layer}" if not found
                 else f"Climb the other {count - len(found)}")
        if st.button(label, key=f"{key}_dream_start", icon=":material/play_arrow:"):
            _start(visualizer, layer, task_key)
            st.rerun()
    if found:
        grid(found, layer)


def grid(found: list[feature_vis.Visualization], layer: str) -> None:
    box = box_words(found[0])
    st.caption(f"What each filter of {layer} likes most, its centre unit's receptive field "
               f"({box}) outlined in red.")
    images.grid([outlined(v, TILE_PX) for v in found],
                [f"{layer} filter {v.index}: the picture that excites it most" for v in found],
                [str(v.index) for v in found], width=TILE_PX)


def section(run: Any, key: str, final_only: bool = False) -> None:
    """The expander (``final_only``: the page shows another epoch's weights elsewhere)."""
    box = st.expander(TITLE, key=f"{key}_dream", on_change="rerun",
                      icon=":material/auto_awesome:")
    if not box.open:
        return
    with box:
        visualizer = _visualizer(run)
        if isinstance(visualizer, str):
            st.info(text.md(visualizer))
            return
        if not visualizer.layers:
            st.info("This network has no conv layer: ask what a class looks like instead.")
        if final_only:
            st.caption("Made with the final weights.")
        modes = MODES if visualizer.layers else MODES[2:]
        mode = st.segmented_control("ask about", modes, default=modes[0],
                                    key=f"{key}_dream_mode")
        if mode == MODES[0]:
            one_filter(visualizer, key)
        elif mode == MODES[1]:
            whole_layer(visualizer, key)
        elif mode == MODES[2]:
            a_class(run, visualizer, key)
