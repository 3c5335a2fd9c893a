"""The My classes page's glue: this workspace's drawn set, the canvas that adds to it, the
preview of multiplied drawings, and the training job on it (through :func:`ui.jobs.start`).

The set is read from the workspace on every script run and saved after every change
(:mod:`cnnlab.workspaces.drawn_sets`), so a reload, another tab or a restarted server shows
the same drawings. Messages for refused changes go to ``st.session_state.mine_message`` and
are shown on the next run, since a change is made in a button's callback.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnlab.data import drawn, drawn_zip
from cnnlab.inspect import preprocess
from cnnlab.runs import records
from cnnlab.views import render
from cnnlab.workspaces import drawn_sets
from ui import canvas as canvas_ui
from ui import images, jobs, state, text

THUMB_PX = 56
PREVIEW_EXAMPLES = 4  # drawings shown with their copies in the preview
MESSAGE = "mine_message"
TRAIN_SEED = drawn.SPLIT_SEED  # the split the page trains with; Feature maps shows its test


def current() -> drawn.DrawnSet | None:
    """This workspace's drawn set, or None; a refused file is reported and treated as none."""
    try:
        return drawn_sets.load(state.session().workspace)
    except ValueError as exc:
        st.error(text.md(exc))
        return None


def save(drawn_set: drawn.DrawnSet | None) -> bool:
    """Save (or with None delete) the set; False, with the reason shown next run, if refused."""
    workspace = state.session().workspace
    try:
        if drawn_set is None:
            drawn_sets.delete(workspace)
        else:
            drawn_sets.save(workspace, drawn_set)
        return True
    except ValueError as exc:
        st.session_state[MESSAGE] = str(exc)
        return False


def show_message() -> None:
    """The message a callback left for this run, once."""
    message = st.session_state.pop(MESSAGE, None)
    if message:
        st.error(text.md(message))


def change(edit) -> None:
    """Apply ``edit(set) -> set`` to the saved set and save it; a refusal becomes the message."""
    drawn_set = current()
    if drawn_set is None:
        return
    try:
        save(edit(drawn_set))
    except ValueError as exc:
        st.session_state[MESSAGE] = str(exc)


def name_classes() -> None:
    """Create the set from the names typed, one per line (a button's callback)."""
    typed = st.session_state.get("mine_names") or ""
    names = [line.strip() for line in typed.splitlines() if line.strip()]
    try:
        save(drawn_sets.new_set(names))
    except ValueError as exc:
        st.session_state[MESSAGE] = str(exc)


def canvas(stroke: int, drawn_set: drawn.DrawnSet, index: int) -> None:
    """The canvas with its "Add to <class>" button (see :func:`ui.canvas.with_add`)."""
    canvas_ui.with_add(stroke, "mine_canvas", drawn_set.names[index], on_add=add_example,
                       on_refused=refused)


def refused(message: str) -> None:
    st.session_state[MESSAGE] = message


def add_example(name: str, rgba: np.ndarray) -> None:
    """Add a drawing (the canvas's RGBA pixels) to the class ``name`` as it was when Add was
    pressed (a callback); a speck, or a class since renamed or removed, is refused in words."""
    drawn_set = current()
    if drawn_set is None:
        return
    if name not in drawn_set.names:
        refused(f"there is no class {name!r} any more, so that drawing was not added; the "
                f"classes are {', '.join(drawn_set.names)}")
        return
    try:
        prepared = preprocess.preprocess_canvas(np.asarray(rgba))
    except ValueError as exc:
        refused(str(exc))
        return
    if prepared.blank:
        refused(f"that drawing was too small to learn from, so it was not added to {name!r}: "
                "draw it larger")
        return
    change(lambda s: s.add(s.names.index(name), prepared.as_uint8()))
    st.session_state.pop(canvas_ui.TEST_IMAGE, None)  # the tests' canvas empties too


def thumbnails(drawn_set: drawn.DrawnSet, index: int) -> None:
    """Class ``index``'s examples, numbered from 1, with a picker to delete some."""
    positions = drawn_set.examples_of(index)
    if not positions:
        st.caption("No examples yet: draw one and press **Add**.")
        return
    name = drawn_set.names[index]
    images.grid([render.thumbnail(drawn_set.images[p] / 255.0, size=THUMB_PX) for p in positions],
                alts=[f"{name}, example {k}" for k in range(1, len(positions) + 1)],
                captions=[f"#{k}" for k in range(1, len(positions) + 1)], width=THUMB_PX)
    doomed = st.multiselect("examples to delete", range(1, len(positions) + 1),
                            key=f"mine_doomed_{index}", format_func=lambda k: f"#{k}")
    if st.button("Delete selected", key=f"mine_delete_{index}", disabled=not doomed):
        drop = sorted((positions[k - 1] for k in doomed), reverse=True)
        change(lambda s: _deleted(s, drop))
        st.session_state.pop(f"mine_doomed_{index}", None)
        st.rerun()


def _deleted(drawn_set: drawn.DrawnSet, positions: list[int]) -> drawn.DrawnSet:
    for position in positions:  # highest first, so the others keep their places
        drawn_set = drawn_set.delete(position)
    return drawn_set


def preview(drawn_set: drawn.DrawnSet, copies: int, strength: str) -> None:
    """A few drawings, each followed by its multiplied copies (imports TensorFlow)."""
    from cnnlab.training import multiply

    picks = [drawn_set.examples_of(c)[-1] for c in range(len(drawn_set.names))
             if drawn_set.examples_of(c)][:PREVIEW_EXAMPLES]
    if not picks:
        st.caption("Draw some examples first: the preview shows their copies.")
        return
    with st.spinner("making copies…"):
        made = multiply.multiplied(drawn_set.images[picks], min(copies, 6), strength, seed=0)
    for pick, row in zip(picks, made, strict=True):
        name = drawn_set.names[drawn_set.labels[pick]]
        images.grid([render.thumbnail(img / 255.0, size=THUMB_PX) for img in
                     [drawn_set.images[pick], *row]], width=THUMB_PX,
                    alts=[f"{name}: drawn"] + [f"{name}: copy {k}" for k in range(1, len(row) + 1)],
                    captions=[f"{name}: drawn"] + ["copy"] * len(row))


def train(drawn_set: drawn.DrawnSet, epochs: int, copies: int, strength: str,
          seed: int) -> str | None:
    """Start training the Build page's network on the set; the error to show, or None."""
    try:
        with st.spinner("preparing your drawings…"):
            from cnnlab.training import multiply  # TensorFlow: only when copies are made

            dataset = multiply.with_copies(drawn_set.to_dataset(seed), copies, strength, seed)
        hyper = records.Hyperparameters(epochs=epochs, batch_size=16, validation_fraction=0.0,
                                        seed=seed)
        jobs.start(state.get_arch(), dataset, hyper)
    except ValueError as exc:
        return str(exc)
    return None


def download(drawn_set: drawn.DrawnSet) -> None:
    st.download_button("Download as class folders (.zip)", drawn_zip.to_zip_bytes(drawn_set),
                       file_name="my-classes.zip", mime="application/zip", key="mine_download",
                       icon=":material/download:")


def upload() -> None:
    """Replace the set with an uploaded class-folder zip, after checking it."""
    file = st.file_uploader("…or upload a class-folder zip (one folder of 28×28 PNGs per "
                            "class)", type=["zip"], key="mine_upload",
                            max_upload_size=drawn_zip.MAX_ZIP_BYTES // 2**20)
    if file is not None and st.button("Use this zip as my classes", key="mine_use_zip"):
        try:
            drawn_set = drawn_zip.from_zip_bytes(file.getvalue(), drawn_sets.max_classes(),
                                                 drawn_sets.max_per_class())
        except ValueError as exc:
            st.error(text.md(exc))
            return
        if save(drawn_set):
            st.rerun()
        show_message()
