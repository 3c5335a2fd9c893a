"""The web app's one data-set loader, by :class:`~cnnlab.data.refs.DatasetRef`: named sets
(never downloaded here: the Train page's button does that), folders only under the configured
data roots, the workspace's own uploaded sets (:mod:`cnnlab.workspaces.uploads`) and its drawn
classes (:mod:`cnnlab.workspaces.drawn_sets`). Recorded refs are names only, never loaded.

The web app's visitors are not the machine's user, so a folder they type is resolved with
``realpath`` (``..`` and symbolic links followed) and must lie inside one of
``CNNLAB_DATA_DIRS``; messages name the folder typed and the files expected, never what a
folder holds, and never where a workspace keeps its files. A folder is an MNIST-format folder
(four IDX files) or a tree of class folders (:mod:`cnnlab.data.class_folders`), loaded at the
ref's image size and colour within ``CNNLAB_DECODE_SECONDS``. The command line (run by the
machine's own user) does not use this.

A named set comes without its held-back test images (:func:`cnnlab.workspaces.held_back.visible`),
for every workspace: what this loader returns is what the app trains on, tests on and shows,
and the held-back images are for a class challenge's scoring only.

:func:`run_data` is what pages use for a run's test images: a run that was not trained in this
workspace (added from a run zip) names a data set from elsewhere, which is never loaded here.
"""

from __future__ import annotations

import os
from pathlib import Path

from cnnlab.data import class_folders, datasets, drawn, folder_scan, idx, refs
from cnnlab.workspaces import drawn_sets, held_back, settings, store, uploads


class DataRootError(ValueError):
    """A folder refused; ``str()`` says why and what would work."""


class NotHere(DataRootError):
    """A run's data set is not on this server (or not in this workspace): it is a name only."""


def roots() -> list[Path]:
    """The data roots, resolved; empty when ``CNNLAB_DATA_DIRS`` is unset."""
    return [Path(os.path.realpath(r)) for r in settings.data_dirs()]


def resolve(text: str) -> Path:
    """The folder ``text`` names (absolute, or relative to the first root), checked.

    Raises:
        DataRootError: no roots are configured, the folder is outside every root (after
            ``..`` and symbolic links), or it lacks the four MNIST-format files.
    """
    allowed = roots()
    if not allowed:
        raise DataRootError("folder data sets are switched off on this server; use a named "
                            "data set, or ask the teacher to set CNNLAB_DATA_DIRS")
    typed = Path(text.strip()).expanduser() if text.strip() else allowed[0]
    path = Path(os.path.realpath(typed if typed.is_absolute() else allowed[0] / typed))
    if not any(path == r or path.is_relative_to(r) for r in allowed):
        raise DataRootError(f"{text.strip()!r} is not inside a data folder of this server; "
                            f"use a folder under {', '.join(map(str, allowed))}")
    missing = [stem for _, stem in idx.FOLDER_FILES if not any(
        (path / (base + ext)).is_file() for base in (stem, stem.replace("-idx", ".idx"))
        for ext in ("", ".gz"))]
    if missing and not folder_scan.is_class_folder(path):
        raise DataRootError(f"{text.strip()!r} is not an MNIST-format folder: it needs "
                            f"{', '.join(stem for _, stem in idx.FOLDER_FILES)} (each "
                            "optionally .gz); nor a folder with one subfolder of PNG/JPEG "
                            "images per class")
    return path


def folder_ref(text: str) -> refs.DatasetRef:
    """The ref of the folder typed: absolute as typed, or relative to the first root (made
    absolute, not resolved, so a run's record and a cluster worker name the same folder).

    Raises:
        DataRootError: folder data sets are off (no roots), or nothing was typed.
    """
    allowed = roots()
    if not allowed or not text.strip():
        raise DataRootError("folder data sets are switched off on this server; use a named "
                            "data set, or ask the teacher to set CNNLAB_DATA_DIRS"
                            if not allowed else "type the folder's path")
    typed = Path(text.strip()).expanduser()
    return refs.folder(typed if typed.is_absolute() else allowed[0] / typed)


def limits() -> class_folders.Limits:
    """The class-folder limits of the web app (``CNNLAB_DECODE_SECONDS`` among them)."""
    return class_folders.Limits(max_decode_seconds=settings.decode_seconds())


def load(ref: refs.DatasetRef, workspace: store.Workspace | None = None,
         progress: class_folders.Progress | None = None) -> datasets.Dataset:
    """The web app's data set ``ref``.

    Args:
        ref: a named set (loaded only if already on this server), a folder (only inside the
            data roots, see :func:`resolve`), or ``workspace``'s own upload or drawn classes.
        workspace: the workspace whose uploads and drawings ``ref`` may name.
        progress: ``progress(images_done, images_total)`` while a class folder loads.
    Returns:
        The data set, whose ``ref`` is ``ref``; a named set without its held-back test images.
    Raises:
        NotHere: a recorded ref, or a named set not downloaded on this server.
        DataRootError: a folder outside the roots, or an upload or drawing without its
            workspace or missing from it.
        DatasetError: the data set cannot be loaded (``class_folders.SizeNeeded`` when a
            class folder needs an image size).
    """
    if ref.kind == refs.RECORDED:
        raise NotHere(f"the data set {ref.label} is not on this server: a run only recorded "
                      "its name")
    if ref.kind == refs.NAMED:
        if not datasets.on_disk(ref.name):
            raise NotHere(f"{ref.name} is not on this server yet: download it on the Train "
                          "page first")
        return held_back.visible(datasets.load(ref, download=False))
    if ref.kind == refs.FOLDER:
        return datasets.load_folder(resolve(ref.name), ref, folder_progress=progress,
                                    limits=limits())
    if workspace is None:
        raise DataRootError(f"{ref.label} is a workspace's own data set; open it from the "
                            "workspace that made it")
    if ref.kind == refs.DRAWN:
        drawn_set = drawn_sets.load(workspace)
        if drawn_set is None:
            raise DataRootError("this workspace has no drawn classes; name and draw them on "
                                "the My classes page")
        return drawn_set.to_dataset(drawn.SPLIT_SEED)
    try:
        path = uploads.path_of(workspace, ref.name)
    except ValueError as exc:
        raise DataRootError(str(exc)) from None
    return class_folders.load_class_folder(path, ref, progress=progress, limits=limits())[0]


def run_data(workspace: store.Workspace, folder: str | None, ref: refs.DatasetRef,
             class_names: tuple[str, ...], run_name: str) -> datasets.Dataset:
    """The data set the run ``folder`` of ``workspace`` was trained on, for its test images.

    Args:
        workspace: the run's workspace.
        folder: the run's folder in it (None when unknown: treated as not trained here).
        ref: the run's data set; ``class_names`` and ``run_name`` its classes and name.
    Raises:
        NotHere: the run was added from a run zip (its record names a set from elsewhere,
            never loaded), its ref is only recorded, or its named set is not downloaded here.
        ValueError: the data set cannot be loaded, or its classes are no longer the run's.
    """
    if folder is None or workspace.was_uploaded(folder):
        raise NotHere(f"the data set {ref.label} is not here: {run_name} was added from a run "
                      "zip, so this server only knows its data set's name")
    data = load(ref, workspace)
    if tuple(data.class_names) != tuple(class_names):
        now = ", ".join(data.class_names)
        raise DataRootError(f"{run_name} was trained on {ref.label} with the classes "
                            f"{', '.join(class_names)}, which are now {now}")
    return data
