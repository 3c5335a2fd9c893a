"""The Train page's own-images choice: a zip of class folders uploaded into the workspace, the
workspace's uploaded sets, and, for any class folder (uploaded, or a folder under the data
roots), the colour and, when its images differ in size or are over 64 pixels a side, the image
size to train at (a proposed one filled in).

Returns the chosen set's :class:`~cnnlab.data.refs.DatasetRef` (with the size and colour
chosen) for :func:`cnnlab.workspaces.data_roots.load`.
"""

from __future__ import annotations

import streamlit as st

from cnnlab.data import class_folders, datasets, folder_scan, kinds, refs
from cnnlab.workspaces import data_roots, uploads
from ui import state, text

UPLOAD = "my own images (a zip upload)"
COLOURS = {"as the images are": None, "colour (rgb)": kinds.RGB, "grey": kinds.GREY}
HELP = ("A zip of a folder with one subfolder of PNG/JPEG images per class (the subfolder's "
        "name is the class), optionally inside train/ and test/; otherwise 80% of each class "
        "trains and 20% tests.")


def choose(running: bool) -> refs.DatasetRef | None:
    """The upload box and the workspace's uploaded sets; the chosen set's ref, or None."""
    ws = state.session().workspace
    with st.expander("upload a zip of class folders", expanded=not uploads.names(ws)):
        st.caption(HELP)
        upload = st.file_uploader("zip of class folders", type=["zip"], key="upload_zip",
                                  disabled=running)
        if upload is not None and st.button("Add this data set", key="upload_add",
                                            disabled=running):
            try:
                with st.spinner(f"checking and unpacking {text.md(upload.name)}…"):
                    path = uploads.add_zip(ws, upload.name, upload.getvalue())
                st.session_state["upload_set"] = path.relative_to(uploads.folder(ws)).parts[0]
                st.rerun()
            except ValueError as exc:  # DatasetError, WorkspaceError
                st.error(text.md(exc))
    sets = uploads.names(ws)
    if not sets:
        st.info("No data set of your own yet: upload a zip above.")
        return None
    name = st.selectbox("your data sets", sets, key="upload_set", disabled=running)
    if st.button(f"Delete {text.md(name)}", key="upload_delete", disabled=running,
                 help="frees its space in this workspace; runs trained on it stay"):
        uploads.delete(ws, name)
        st.session_state.pop("upload_set", None)
        st.rerun()
    return with_options(refs.upload(name), running)


def with_options(ref: refs.DatasetRef, running: bool) -> refs.DatasetRef | None:
    """``ref`` with the colour chosen and, when the images differ in size or are over 64
    pixels a side, the size to train at (a proposal filled in); an MNIST-format folder comes
    back as it is."""
    if not _is_class_folder(ref):
        return ref  # IDX files, or the preview says what is wrong
    colour = COLOURS[st.selectbox("colour", list(COLOURS), key="upload_colour",
                                  disabled=running)]
    sizes = st.session_state.setdefault("upload_sizes", {})
    size = None
    # One slot on every run, used only while the images are first read: the page keeps the
    # same shape whether or not it reads them, so the boxes below keep their place in the
    # page and a value typed into one during a rerun is not lost with a replaced box.
    slot = st.empty()
    plain = ref.with_options(None, colour)  # the images as they are, in the colour chosen
    if plain not in sizes:
        size_needed = _probe(plain, slot)
        if size_needed is None:
            return None
        sizes[plain] = size_needed
    if sizes[plain]:
        found, proposal = sizes[plain]
        shown = ", ".join(f"{h}×{w}" for h, w in found[:6]) + (", …" if len(found) > 6 else "")
        side = class_folders.Limits().propose_side
        st.warning(f"The images have {len(found)} sizes ({shown}); a network takes one size, "
                   "so every image is resized to the size you pick." if len(found) > 1 else
                   f"The images are {shown}, more than {side} pixels a side: every image is "
                   f"resized to the size you pick ({proposal[0]}×{proposal[1]} proposed), and "
                   "only that size is kept in memory.")
        box = st.container(horizontal=True)
        height = box.number_input("height", 4, refs.MAX_SIDE, proposal[0], key="upload_h",
                                  disabled=running, width=110)
        width = box.number_input("width", 4, refs.MAX_SIDE, proposal[1], key="upload_w",
                                 disabled=running, width=110)
        size = (int(height), int(width))
    return ref.with_options(size, colour)


def _is_class_folder(ref: refs.DatasetRef) -> bool:
    if ref.kind == refs.UPLOAD:
        return True
    try:
        return folder_scan.is_class_folder(data_roots.resolve(ref.name))
    except ValueError:
        return False


def _probe(ref: refs.DatasetRef,
           slot) -> tuple[list[tuple[int, int]], tuple[int, int]] | tuple[()] | None:
    """``(sizes, proposed size)`` when the images need a size to be chosen (nothing decoded);
    ``()`` when they load as they are (with progress shown in ``slot``); None after showing
    why they cannot load."""
    bar = slot.progress(0.0, text="reading the images…")
    try:
        data_roots.load(ref, state.session().workspace, lambda done, total: bar.progress(
            done / total, text=f"reading {done:,} of {total:,} images"))
        return ()
    except class_folders.SizeNeeded as exc:
        return exc.sizes, exc.proposal
    except (ValueError, OSError) as exc:
        st.error(text.md(exc))
        return None
    finally:
        bar.empty()


def show_notes(data: datasets.Dataset) -> None:
    """What loading noticed (skipped files), under the preview."""
    for note in data.warnings[1:]:
        st.caption(f":material/warning: {text.md(note)}")
