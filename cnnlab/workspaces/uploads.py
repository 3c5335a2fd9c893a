"""A workspace's own data sets: zips of class folders uploaded in the web app, unpacked (after
:mod:`cnnlab.data.class_zip`'s checks) into ``<workspace>/datasets/<name>/``, counted in the
workspace's quota (``CNNLAB_WORKSPACE_MB``) like its runs.

An uploaded set is known by its name (:func:`cnnlab.data.refs.upload`, shown as ``pets (your
upload)``), never by its path, which holds the workspace's token: a run records its data set,
and a run's zip may be shared. Such a set loads only within its own workspace
(:func:`cnnlab.workspaces.data_roots.load` with the workspace). Messages about an upload name
the file the user gave, never the temporary file or folder it is unpacked through.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from cnnlab.data import class_zip
from cnnlab.workspaces import settings, store

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
        filename: the upload's name; the set is named after it (made safe, made unique).
        data: the zip's bytes.
    Returns:
        The folder to load (see :func:`path_of`).
    Raises:
        DatasetError: the zip is refused (see :mod:`cnnlab.data.class_zip`).
        WorkspaceError: it does not fit the workspace's quota.
    """
    quota = settings.workspace_bytes()
    room = quota - ws.usage()
    if len(data) * 2 > room:  # the zip and at least as much unpacked
        raise store.WorkspaceError(
            f"{filename} ({len(data) / 2**20:.1f} MB) does not fit: this workspace has "
            f"{max(room, 0) / 2**20:.1f} MB left of its {quota / 2**20:.0f} MB "
            "(CNNLAB_WORKSPACE_MB); delete runs or data sets first")
    base = folder(ws)
    base.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=".upload-", suffix=".zip", dir=base)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        return class_zip.unpack(temp, base / _free_name(ws, filename),
                                max_bytes=room - len(data), shown=Path(filename).name)
    finally:
        os.unlink(temp)


def delete(ws: store.Workspace, name: str) -> None:
    """Remove the uploaded set ``name`` from the workspace."""
    if name not in names(ws):
        raise store.WorkspaceError(f"this workspace has no data set {name!r}")
    shutil.rmtree(folder(ws) / name)
