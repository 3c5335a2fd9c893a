"""A workspace's disk use as a running total, and the one lock its writers hold.

Every write and delete in a workspace goes through :func:`recording`. It holds the workspace's
lock, measures the paths it is told will change before and after the change (only those, as
the disk sees them: :mod:`cnnlab.files.disk`), and adds the difference to the total kept in
``<workspace>/usage.json``. Reading the total (:func:`read`) reads that one small file, so a
page never walks the tree; the tree is walked only when the total is missing or unreadable
(a workspace from before it was kept) or a repair is asked for (:func:`recount`,
``cnnlab workspaces usage --repair``).

The lock is a thread lock in this process plus ``fcntl.flock`` on ``<workspace>/.lock``: app
replicas behind nginx share ``CNNLAB_HOME``, and a check of the room left followed by a write
must not interleave with another replica's. It is re-entrant within a thread.

The total counts every file and folder of the workspace, its own folder included, except the
bookkeeping files named in :data:`BOOKKEEPING` (a few entries and at most a block or two).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cnnlab.files import disk, reading
from cnnlab.files.disk import Usage

FILE, LOCK, VISIT = "usage.json", ".lock", ".visited"
BOOKKEEPING = (FILE, f".{FILE}.tmp", LOCK, VISIT)
MAX_FILE_BYTES = 4096

_GUARD = threading.Lock()
_THREAD_LOCKS: dict[str, threading.RLock] = {}
_HELD: dict[str, tuple[int, int]] = {}  # folder -> (lock file descriptor, depth); owner only


def _lock_file(folder: Path, make: bool) -> int:
    """An open descriptor of ``folder``'s lock file, locked. The folder may be removed (or,
    after a prune, made again) while we wait: the lock held must be the file now at its path.
    """
    while True:
        if make:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            if os.fstat(descriptor).st_ino == os.stat(folder / LOCK).st_ino:
                return descriptor
        except FileNotFoundError:
            if not make:
                os.close(descriptor)
                raise
        except BaseException:
            os.close(descriptor)
            raise
        os.close(descriptor)  # the folder went away meanwhile: lock the one there now


@contextmanager
def locked(folder: Path, make: bool = False) -> Iterator[None]:
    """Hold ``folder``'s lock against other threads and other processes; re-entrant within a
    thread. The folder must exist, unless ``make`` (then it is made if need be)."""
    key = str(folder)
    with _GUARD:
        thread_lock = _THREAD_LOCKS.setdefault(key, threading.RLock())
    with thread_lock:
        descriptor, depth = _HELD.get(key, (-1, 0))
        if depth == 0:
            descriptor = _lock_file(folder, make)
        _HELD[key] = (descriptor, depth + 1)
        try:
            yield
        finally:
            descriptor, depth = _HELD.pop(key)
            if depth > 1:
                _HELD[key] = (descriptor, depth - 1)
            else:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
                os.close(descriptor)


def _load(folder: Path) -> Usage | None:
    """The stored total, or None when it is missing or not two counts."""
    try:
        data = reading.loads_json(reading.read_regular_file(folder / FILE, MAX_FILE_BYTES,
                                                            "the usage file"), FILE)
        total = Usage(int(data["bytes"]), int(data["files"]))
    except (ValueError, OSError, KeyError, TypeError):
        return None
    return total if total.bytes >= 0 and total.files >= 0 else None


def _store(folder: Path, total: Usage) -> None:
    temporary = folder / f".{FILE}.tmp"
    temporary.write_text(json.dumps({"bytes": total.bytes, "files": total.files}),
                         encoding="utf-8")
    os.replace(temporary, folder / FILE)


def read(folder: Path) -> Usage:
    """The workspace's total: the stored one (no walk), counted afresh only when it is
    missing or unreadable; ``Usage()`` for a workspace not written yet."""
    total = _load(folder)
    if total is not None:
        return total
    if not folder.is_dir():
        return Usage()
    try:
        with locked(folder):
            return _load(folder) or recount(folder)
    except (FileNotFoundError, NotADirectoryError):  # not written yet, or just pruned
        return Usage()


def recount(folder: Path) -> Usage:
    """Walk the workspace, store the total it finds, and return it (a repair)."""
    if not folder.is_dir():
        return Usage()
    with locked(folder):
        total = disk.measure(folder, skip=BOOKKEEPING)
        _store(folder, total)
        return total


def _tops(folder: Path, paths: tuple[str, ...]) -> list[Path]:
    """For each changed path, the highest folder of it (or the path itself) that does not
    exist yet: what a write may create, measured whole. None inside another."""
    tops: list[Path] = []
    for relative in paths:
        path = folder
        for part in Path(relative).parts:
            path = path / part
            if not os.path.lexists(path):
                break
        tops.append(path)
    return [t for t in dict.fromkeys(tops)
            if not any(other != t and t.is_relative_to(other) for other in tops)]


def _measure(paths: list[Path]) -> Usage:
    total = Usage()
    for path in paths:
        total += disk.measure(path)
    return total


@contextmanager
def recording(folder: Path, *paths: str) -> Iterator[Usage]:
    """Change ``paths`` (relative to the workspace ``folder``) inside the ``with`` block, under
    the workspace's lock, and add what they then take, less what they took, to the total.

    The workspace's folder is made here if it does not exist: a workspace appears on its first
    write (and is removed again if that write fails or writes nothing). The block receives
    the total before the change. Whether the block succeeds or raises, the total is updated by
    what really changed.

    Example:
        >>> with recording(workspace.folder, "runs/two-conv-1"):  # doctest: +SKIP
        ...     run_files.save_run(run, workspace.folder / "runs" / "two-conv-1")
    """
    created = not folder.is_dir()
    with locked(folder, make=True):
        total = _load(folder) or recount(folder)
        tops = _tops(folder, paths)
        before = _measure(tops)
        failed = True
        try:
            yield total
            failed = False
        finally:
            after = (total + _measure(tops) - before).at_least_zero()
            if created and (failed or after.files <= 1):  # a first write refused, or empty
                shutil.rmtree(folder, ignore_errors=True)
            else:
                _store(folder, after)
