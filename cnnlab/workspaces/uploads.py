"""A workspace's own data sets: zips of class folders uploaded in the web app, unpacked (after
:mod:`cnnlab.data.class_zip`'s checks) into ``<workspace>/datasets/<name>/``, counted in the
workspace's quota (``CNNLAB_WORKSPACE_MB``) and file limit (``CNNLAB_WORKSPACE_FILES``) like
its runs: what a zip would take on disk, in blocks and files, is checked against the room left
before anything is unpacked, and the zip itself is never written to disk.

An uploaded set is known by its name (:func:`cnnlab.data.refs.upload`, shown as ``pets (your
upload)``), never by its path, which holds the workspace's token: a run records its data set,
and a run's zip may be shared. Such a set loads only within its own workspace
(:func:`cnnlab.workspaces.data_roots.load` with the workspace). Messages about an upload name
the file the user gave, never the temporary file or folder it is unpacked through.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from cnnlab.data import class_zip
from cnnlab.workspaces import store, usage

DATASETS = "datasets"
MAX_NAME = 40


def folder(ws: store.Workspace) -> Path:
    """Where the workspace keeps its uploaded sets (it may not exist yet)."""
    return ws.folder / DATASETS


def names(ws: store.Workspace) -> list[str]:
    """The workspace's uploaded sets, by name, sorted."""
    base = folder(ws)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))


def path_of(ws: store.Workspace, name: str) -> Path:
    """The folder to load for the uploaded set ``name`` (its top folder if the zip had one)."""
    if name not in names(ws):
        raise store.WorkspaceError(f"this workspace has no data set {name!r}; upload a zip of "
                                   "class folders first")
    return class_zip.class_root(folder(ws) / name)


def _free_name(ws: store.Workspace, filename: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(filename).stem).strip("-")[:MAX_NAME] or "images"
    taken, name, number = set(names(ws)), stem, 1
    while name in taken:
        number += 1
        name = f"{stem}-{number}"
    return name


def add_zip(ws: store.Workspace, filename: str, data: bytes) -> Path:
    """Unpack an uploaded zip of class folders into the workspace, checks first.

    Args:
        ws: the workspace.
        filename: the upload's name; the set is named after it (made safe, made unique), and
            messages name it.
        data: the zip's bytes (never written to disk: only the images are unpacked).
    Returns:
        The folder to load (see :func:`path_of`).
    Raises:
        DatasetError: the zip is refused (see :mod:`cnnlab.data.class_zip`).
        WorkspaceError: what it would take on disk passes the workspace's quota or file limit.
    """
    shown = Path(filename).name or "the upload"
    name = _free_name(ws, filename)
    with usage.recording(ws.folder, f"{DATASETS}/{name}"):  # the workspace made if need be
        return class_zip.unpack(
            data, folder(ws) / name, shown=shown,
            fits=lambda need: ws.check_room(need, f"the data set {shown}", runs=False))


def delete(ws: store.Workspace, name: str) -> None:
    """Remove the uploaded set ``name`` from the workspace."""
    if name not in names(ws):
        raise store.WorkspaceError(f"this workspace has no data set {name!r}")
    with usage.recording(ws.folder, f"{DATASETS}/{name}"):
        shutil.rmtree(folder(ws) / name)
