"""A workspace's drawn classes on disk: ``<workspace>/drawn/drawn.npz``, written atomically.

The file is an uncompressed ``.npz`` of three arrays, read back with ``allow_pickle=False``
after its size and every array header are checked (:mod:`cnnlab.files.archives`):

``names``   unicode ``(classes,)``, the class names;
``images``  uint8 ``(n, 28, 28)``, the examples in drawing order;
``labels``  int64 ``(n,)``, each example's class.

It counts toward the workspace's disk quota (``CNNLAB_WORKSPACE_MB``, in whole blocks) and
file limit; a save that would pass them is refused before anything is written, saying how much
is used. Limits (environment, read each time):

=============================  =======  =========================================
setting                        default  what
=============================  =======  =========================================
``CNNLAB_DRAWN_MAX_CLASSES``   10       classes a drawn set may have (at least 2)
``CNNLAB_DRAWN_MAX_PER_CLASS`` 200      examples each class may have
=============================  =======  =========================================
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from cnnlab.data import drawn
from cnnlab.files import archives, disk, reading
from cnnlab.runs import atomic
from cnnlab.workspaces import settings, store, usage
from cnnlab.workspaces.store import Workspace

FOLDER, FILE = "drawn", "drawn.npz"
FIELDS = ("names", "images", "labels")


def max_classes() -> int:
    """``CNNLAB_DRAWN_MAX_CLASSES`` (default 10): classes one drawn set may have."""
    return int(settings._number("CNNLAB_DRAWN_MAX_CLASSES", drawn.MAX_CLASSES_DEFAULT,
                                drawn.MIN_CLASSES))


def max_per_class() -> int:
    """``CNNLAB_DRAWN_MAX_PER_CLASS`` (default 200): examples one class may have."""
    return int(settings._number("CNNLAB_DRAWN_MAX_PER_CLASS", drawn.MAX_PER_CLASS_DEFAULT,
                                drawn.MIN_PER_CLASS))


def max_file_bytes() -> int:
    """The largest ``drawn.npz`` the limits allow (examples plus headers and names)."""
    return max_classes() * max_per_class() * (drawn.SIDE * drawn.SIDE + 8) + 64 * 2**10


def path(workspace: Workspace) -> Path:
    return workspace.folder / FOLDER / FILE


def new_set(names: list[str]) -> drawn.DrawnSet:
    """An empty drawn set with these classes, under this server's limits."""
    return drawn.DrawnSet.named(names, max_classes(), max_per_class())


def load(workspace: Workspace) -> drawn.DrawnSet | None:
    """The workspace's drawn set, or None when it has none.

    Raises:
        DrawnError: the file is there but refused (too large, not the three arrays, corrupt);
            the message names it and says it can be replaced by drawing or uploading a set.
    """
    file = path(workspace)
    if not file.exists():
        return None
    where = f"the saved drawn set {file.name}"
    try:
        data = reading.read_regular_file(file, max_file_bytes(), "the drawn set file")
        with zipfile.ZipFile(io.BytesIO(data)) as npz:
            members = {i.filename: i for i in npz.infolist()}
            if sorted(members) != sorted(f"{f}.npy" for f in FIELDS):
                raise ValueError(f"it holds {sorted(members)}, not {', '.join(FIELDS)}")
            for info in members.values():
                archives.npy_header(npz, info, where)
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            names, images, labels = (arrays[f] for f in FIELDS)
        if names.dtype.kind != "U" or names.ndim != 1:
            raise ValueError(f"its names are {names.dtype} {names.shape}, not text")
        return drawn.DrawnSet(tuple(str(n) for n in names), images, labels,
                              max_classes(), max_per_class())
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise drawn.DrawnError(f"{where} cannot be read ({exc}); name your classes again "
                               "or upload a drawn-set zip to replace it") from None


def save(workspace: Workspace, drawn_set: drawn.DrawnSet) -> None:
    """Write the set atomically (the old file stays whole until the new one is complete).

    Raises:
        WorkspaceError: the quota or file limit would be passed (nothing is written then),
            or the disk refused (the message names no server folder).
    """
    buffer = io.BytesIO()
    np.savez(buffer, names=np.array(drawn_set.names, dtype=str),
             images=np.asarray(drawn_set.images), labels=np.asarray(drawn_set.labels))
    payload = buffer.getvalue()
    file = path(workspace)
    with usage.recording(workspace.folder, FOLDER):
        need = disk.new_folder([len(payload)], disk.block_bytes(workspace.folder))
        workspace.check_room(need - disk.measure(file.parent), "the drawn set", runs=False)
        try:
            atomic.replace_folder(file.parent,
                                  lambda staging: (staging / FILE).write_bytes(payload),
                                  len(payload), owned=[FILE])
        except atomic.SaveError as exc:  # its reason names no server folder
            raise store.WorkspaceError(f"the drawn set cannot be saved: {exc.reason}") from None


def delete(workspace: Workspace) -> None:
    """Remove the workspace's drawn set, if any."""
    file = path(workspace)
    if file.exists():
        with usage.recording(workspace.folder, f"{FOLDER}/{FILE}"):
            file.unlink()
