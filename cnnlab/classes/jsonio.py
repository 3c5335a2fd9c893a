"""The small JSON files a class keeps, written whole and read with a size limit, and the lock
a read-modify-write holds.

Several app replicas behind nginx share ``CNNLAB_HOME``: every file is written into a
temporary sibling and renamed into place (``os.replace``), so a reader sees the old file or
the new one, never half of one. A file that is read, changed and written back (a class's
``class.json``, a student's ``results.json``) is changed under :func:`locked`: a thread lock in
this process plus ``fcntl.flock`` on a lock file next to it, so two threads or two processes
of one machine never interleave. Each such file has one writer by design (the teacher's
server, the server handling that student); the lock covers the rare second one.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cnnlab.files import reading

_GUARD = threading.Lock()
_THREAD_LOCKS: dict[str, threading.Lock] = {}


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` atomically: a temporary sibling, then ``os.replace``."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    descriptor, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, max_bytes: int) -> Any:
    """The JSON at ``path`` (a regular file of at most ``max_bytes``), or None when it is
    missing, too large or malformed: a class's files are ours, and a damaged one reads as
    absent rather than breaking the board."""
    try:
        return reading.loads_json(reading.read_regular_file(path, max_bytes), path.name)
    except ValueError:
        return None


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the lock of ``path`` (the file ``<path>.lock`` beside it) against other threads
    and processes of this machine; not re-entrant."""
    with _GUARD:
        thread_lock = _THREAD_LOCKS.setdefault(str(path), threading.Lock())
    with thread_lock:
        descriptor = os.open(path.with_name(f".{path.name}.lock"),
                             os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the flock
