"""Folder data sets in the web app: only folders under the configured data roots, and the
workspace's own uploaded sets (:mod:`cnnlab.workspaces.uploads`).

The web app's visitors are not the machine's user, so a folder they type is resolved with
``realpath`` (``..`` and symbolic links followed) and must lie inside one of
``CNNLAB_DATA_DIRS``; messages name the folder typed and the files expected, never what a
folder holds. A folder is an MNIST-format folder (four IDX files) or a tree of class folders
(:mod:`cnnlab.data.class_folders`), whose name may carry the image size and colour it was
loaded with (``shapes (32×32, rgb)``). The command line (run by the machine's own user) does
not use this.
"""

from __future__ import annotations

import os
from pathlib import Path

from cnnlab.data import class_folders, datasets, folder_scan, idx
from cnnlab.workspaces import settings, store, uploads


class DataRootError(ValueError):
    """A folder refused; ``str()`` says why and what would work."""


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


def load(name: str, workspace: store.Workspace | None = None,
         progress: class_folders.Progress | None = None) -> datasets.Dataset:
    """The web app's data set ``name``: a named one, a folder only inside the data roots, or
    ``workspace``'s own uploaded set ``upload:<name>``; a class folder's name may carry its
    options (``FOLDER (H×W, rgb)``).

    Args:
        name: a data set name, a folder, ``upload:<name>``, each optionally with options.
        workspace: the workspace whose uploaded sets ``upload:`` names.
        progress: ``progress(images_done, images_total)`` while a class folder loads.
    Raises:
        DataRootError: a folder outside the roots (see :func:`resolve`), or an uploaded set
            without its workspace.
        DatasetError: the data set cannot be loaded (``class_folders.SizesDiffer`` when a
            class folder's images differ in size and the name gives none).
    """
    if name in datasets.NAMES:
        return datasets.load_dataset(name)
    named = class_folders.parse_name(name)
    text, size, color = named if named else (name, None, None)
    upload = uploads.set_name(text)
    if upload is not None:
        if workspace is None:
            raise DataRootError(f"{name!r} is a workspace's own data set; open it from the "
                                "workspace that uploaded it")
        try:
            uploads.path_of(workspace, upload)
        except ValueError as exc:
            raise DataRootError(str(exc)) from None
        return uploads.load(workspace, upload, size, color, progress)
    return datasets.load_dataset(str(resolve(text)), image_size=size, color=color,
                                 folder_progress=progress)
