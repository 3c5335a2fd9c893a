"""The Train page's own-images choice: a zip of class folders uploaded into the workspace, the
workspace's uploaded sets, and, for any class folder (uploaded, or a folder under the data
roots), the image size when its images differ in size and the colour.

Returns the data set's name for :func:`cnnlab.workspaces.data_roots.load`: the folder, or
``upload:<name>`` for an uploaded set, with the options when the student chose any
(``upload:shapes (32×32, rgb)``).
"""

from __future__ import annotations

import streamlit as st

from cnnlab.data import class_folders, datasets, folder_scan
from cnnlab.workspaces import data_roots, uploads
from ui import state

UPLOAD = "my own images (a zip upload)"
COLOURS = {"as the images are": None, "colour (rgb)": "rgb", "grey": "grayscale"}
HELP = ("A zip of a folder with one subfolder of PNG/JPEG images per class (the subfolder's "
        "name is the class), optionally inside train/ and test/; otherwise 80% of each class "
        "trains and 20% tests.")


def choose(running: bool) -> str | None:
    """The upload box and the workspace's uploaded sets; the chosen set's name, or None."""
    ws = state.session().workspace
    with st.expander("upload a zip of class folders", expanded=not uploads.names(ws)):
        st.caption(HELP)
        upload = st.file_uploader("zip of class folders", type=["zip"], key="upload_zip",
                                  disabled=running)
        if upload is not None and st.button("Add this data set", key="upload_add",
                                            disabled=running):
            try:
                with st.spinner(f"checking and unpacking {upload.name}…"):
                    path = uploads.add_zip(ws, upload.name, upload.getvalue())
                st.session_state["upload_set"] = path.relative_to(uploads.folder(ws)).parts[0]
                st.rerun()
            except ValueError as exc:  # DatasetError, WorkspaceError
                st.error(str(exc))
    sets = uploads.names(ws)
    if not sets:
        st.info("No data set of your own yet: upload a zip above.")
        return None
    name = st.selectbox("your data sets", sets, key="upload_set", disabled=running)
    if st.button(f"Delete {name}", key="upload_delete", disabled=running,
                 help="frees its space in this workspace; runs trained on it stay"):
        uploads.delete(ws, name)
        st.session_state.pop("upload_set", None)
        st.rerun()
    return with_options(uploads.PREFIX + name, running)


def with_options(folder: str, running: bool) -> str | None:
    """``folder``'s data set name, asking for an image size when its images differ and
    offering the colour; an MNIST-format folder comes back as it is."""
    if not _is_class_folder(folder):
        return folder  # IDX files, or the preview says what is wrong
    colour = COLOURS[st.selectbox("colour", list(COLOURS), key="upload_colour",
                                  disabled=running)]
    sizes = st.session_state.setdefault("upload_sizes", {})
    size = None
    # One slot on every run, used only while the images are first read: the page keeps the
    # same shape whether or not it reads them, so the boxes below keep their place in the
    # page and a value typed into one during a rerun is not lost with a replaced box.
    slot = st.empty()
    if (folder, colour) not in sizes:
        size_needed = _probe(folder, colour, slot)
        if size_needed is None:
            return None
        sizes[(folder, colour)] = size_needed
    if sizes[(folder, colour)]:
        found = sizes[(folder, colour)]
        shown = ", ".join(f"{h}×{w}" for h, w in found[:6]) + (", …" if len(found) > 6 else "")
        st.warning(f"The images have {len(found)} sizes ({shown}); a network takes one size, "
                   "so every image is resized to the size you pick." if len(found) > 1 else
                   f"The images are {shown}, more than 512 pixels a side: every image is "
                   "resized to the size you pick.")
        box = st.container(horizontal=True)
        height = box.number_input("height", 4, 512, min(found[0][0], 512), key="upload_h",
                                  disabled=running, width=110)
        width = box.number_input("width", 4, 512, min(found[0][1], 512), key="upload_w",
                                 disabled=running, width=110)
        size = (int(height), int(width))
    return class_folders.dataset_name(folder, size, colour)


def _is_class_folder(folder: str) -> bool:
    if uploads.set_name(folder) is not None:
        return True
    try:
        return folder_scan.is_class_folder(data_roots.resolve(folder))
    except ValueError:
        return False


def _probe(folder: str, colour: str | None, slot) -> list[tuple[int, int]] | None:
    """The sizes when they differ ([] when they agree: the set loads as it is, with progress
    shown in ``slot``); None after showing why it cannot load."""
    bar = slot.progress(0.0, text="reading the images…")
    try:
        data_roots.load(class_folders.dataset_name(folder, None, colour),
                        state.session().workspace, lambda done, total: bar.progress(
                            done / total, text=f"reading {done:,} of {total:,} images"))
        return []
    except class_folders.SizesDiffer as exc:
        return exc.sizes
    except (ValueError, OSError) as exc:
        st.error(str(exc))
        return None
    finally:
        bar.empty()


def show_notes(data: datasets.Dataset) -> None:
    """What loading noticed (skipped files), under the preview."""
    for note in data.warnings[1:]:
        st.caption(f":material/warning: {note}")
