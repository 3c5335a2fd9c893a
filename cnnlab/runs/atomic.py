"""Writing a folder all at once: into a temporary sibling, then renamed into place.

A crash, a full disk or a kill part-way leaves the old folder or the new one, never a folder
mixing new weights with an old history. Problems are one :class:`SaveError` naming the folder.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SPARE_BYTES = 1 << 20  # free space kept beyond the estimate (file-system overhead)

_REASONS = {  # what a learner or teacher can do about each
    errno.ENOSPC: "the disk is full; free some space and save again",
    errno.EDQUOT: "the disk quota is used up; free some space and save again",
    errno.EFBIG: "a file would pass the size this process may write (ulimit -f); raise the "
                 "limit or save a smaller run",
    errno.EROFS: "the file system is read-only; save to another folder",
    errno.EACCES: "permission denied; save to a folder you can write",
    errno.EPERM: "permission denied; save to a folder you can write",
}


class SaveError(ValueError):
    """A folder that could not be written; the old one, if any, is unchanged.

    ``str()`` is ``"cannot save to <folder>: <reason>"``; ``reason`` alone names no path, for
    pages that must not show the server's folders.
    """

    def __init__(self, folder: Path, reason: str) -> None:
        super().__init__(f"cannot save to {folder}: {reason}")
        self.reason = reason

    @classmethod
    def from_os_error(cls, folder: Path, exc: BaseException) -> SaveError:
        """The error for ``exc`` (from h5py, Keras or the OS) while writing ``folder``."""
        if isinstance(exc, OSError) and exc.errno in _REASONS:
            return cls(folder, _REASONS[exc.errno])
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return cls(folder, detail.splitlines()[0] if detail else type(exc).__name__)


def _json_ready(value: Any) -> Any:
    """NaN and infinities become null: the files stay strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def json_text(data: Any) -> str:
    """``data`` as strict JSON (NaN and infinities as null), indented, as written to files."""
    return json.dumps(_json_ready(data), indent=1, allow_nan=False) + "\n"


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as strict JSON (NaN and infinities as null), indented."""
    path.write_text(json_text(data), encoding="utf-8")



def check_target(folder: str | os.PathLike[str], owned: Iterable[str]) -> None:
    """Raise :class:`SaveError` unless ``folder`` can be (re)created: its parent made, and the
    folder absent or holding only ``owned`` files."""
    folder = Path(folder)
    for parent in folder.parents:  # the nearest existing one must be a folder
        if parent.exists():
            if not parent.is_dir():
                raise SaveError(folder, f"{parent} is a file, not a folder")
            break
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        if folder.exists() and not folder.is_dir():
            raise SaveError(folder, "it is a file, not a folder")
        others = sorted(set(os.listdir(folder)) - set(owned)) if folder.is_dir() else []
        if not os.access(folder.parent, os.W_OK | os.X_OK):
            raise SaveError(folder, "its parent folder is not writable")
    except OSError as exc:
        raise SaveError.from_os_error(folder, exc) from None
    if others:
        raise SaveError(folder, f"it holds {others[0]!r}, which is not a run file; use a new "
                                "or empty folder")


def replace_folder(folder: str | os.PathLike[str], write: Callable[[Path], None],
                   needed_bytes: int, owned: Iterable[str]) -> Path:
    """Create ``folder`` anew with ``write(temporary_folder)``, replacing the old one whole.

    Args:
        folder: the folder to (re)create; its parent is created if needed.
        write: writes every file into the folder it is given.
        needed_bytes: an estimate of what ``write`` writes, checked against the free space
            first.
        owned: the file names a folder may hold to be replaced; a folder holding anything
            else is refused (it is not ours to delete).
    Returns:
        ``folder`` as a Path.
    Raises:
        SaveError: the parent cannot be made or written, the disk is (or becomes) full, or
            the folder holds other files.
    """
    folder = Path(folder)
    check_target(folder, owned)
    try:
        free = shutil.disk_usage(folder.parent).free
        if free < needed_bytes + SPARE_BYTES:
            raise SaveError(folder, f"it needs about {needed_bytes:,} bytes and the disk has "
                                    f"{free:,} free; free some space and save again")
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.saving-", dir=folder.parent))
    except OSError as exc:
        raise SaveError.from_os_error(folder, exc) from None
    try:
        os.chmod(staging, 0o755)
        write(staging)
        _swap(staging, folder)
    except (OSError, RuntimeError, ValueError) as exc:  # h5py and Keras wrap OS errors
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, SaveError):
            raise
        raise SaveError.from_os_error(folder, exc) from None
    except BaseException:  # Ctrl-C or SIGTERM: leave no half-written staging folder behind
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def _swap(staging: Path, folder: Path) -> None:
    """Rename ``staging`` to ``folder``; an old ``folder`` is set aside first, then removed."""
    if not folder.exists():
        os.replace(staging, folder)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
    os.replace(folder, old / "run")  # from here until the next line no folder exists
    try:
        os.replace(staging, folder)
    except OSError:
        os.replace(old / "run", folder)  # put the old one back
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
