"""The server's ``CNNLAB_*`` settings, read from the environment each time they are asked for.

Each has a default that fits a class of about 30 students on one server; the README's Limits
table lists them. A malformed value raises ``ValueError`` naming the variable and the value.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_DEFAULT = "~/.cnnlab"
WORKSPACE_MB_DEFAULT = 200  # per workspace: about 20 runs of the default network
WORKSPACE_FILES_DEFAULT = 20_000  # per workspace: a 10,000-image class-folder zip, twice
WORKSPACE_DAYS_DEFAULT = 30  # days without a write or a visit before `cnnlab workspaces prune`
MAX_RUNS_DEFAULT = 20  # runs kept per workspace
MAX_QUEUE_DEFAULT = 30  # jobs waiting for a slot, server-wide: one per student of a class
MAX_QUEUE_PER_CLIENT_DEFAULT = 2  # jobs waiting from one client address
ORPHAN_GRACE_S_DEFAULT = 60.0  # seconds with no open page before a workspace's job ends
DECODE_SECONDS_DEFAULT = 30.0  # estimated CPU seconds one data set's images may take to decode
HELD_BACK_PERCENT_DEFAULT = 50  # of a named data set's test split, scored only by the server
CLASS_STUDENTS_DEFAULT = 60  # students one class takes: a class of 30 twice over
MAX_CLASSES_DEFAULT = 100  # classes one server keeps


def _number(name: str, default: float, minimum: float, whole: bool = True) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or value != value or value < minimum:
        kind = "a whole number" if whole else "a number"
        raise ValueError(f"{name} must be {kind} >= {minimum:g}; received {raw!r}")
    return value


def home() -> Path:
    """``CNNLAB_HOME`` (default ``~/.cnnlab``): workspaces live in its ``workspaces/``."""
    return Path(os.environ.get("CNNLAB_HOME", "").strip() or HOME_DEFAULT).expanduser()


def classes_home() -> Path:
    """``CNNLAB_HOME/classes``: the classes (:mod:`cnnlab.classes.store`) and the held-back
    split's secret (:mod:`cnnlab.workspaces.held_back`)."""
    return home() / "classes"


def workspace_bytes() -> int:
    """``CNNLAB_WORKSPACE_MB`` (default 200): disk quota of one workspace, in bytes, counted
    as the disk allocates them (whole blocks: a one-byte file costs 4 kB on ext4)."""
    return int(_number("CNNLAB_WORKSPACE_MB", WORKSPACE_MB_DEFAULT, 1)) * 2**20


def workspace_files() -> int:
    """``CNNLAB_WORKSPACE_FILES`` (default 20,000): files and folders one workspace may hold
    (each takes an inode, even an empty one)."""
    return int(_number("CNNLAB_WORKSPACE_FILES", WORKSPACE_FILES_DEFAULT, 10))


def workspace_days() -> float:
    """``CNNLAB_WORKSPACE_DAYS`` (default 30): days without a write or a visit after which
    ``cnnlab workspaces prune`` removes a workspace."""
    return float(_number("CNNLAB_WORKSPACE_DAYS", WORKSPACE_DAYS_DEFAULT, 1, whole=False))


def max_runs() -> int:
    """``CNNLAB_MAX_RUNS`` (default 20): runs one workspace may keep."""
    return int(_number("CNNLAB_MAX_RUNS", MAX_RUNS_DEFAULT, 1))


def max_queue() -> int:
    """``CNNLAB_MAX_QUEUE`` (default 30): jobs that may wait for a training slot."""
    return int(_number("CNNLAB_MAX_QUEUE", MAX_QUEUE_DEFAULT, 0))


def max_queue_per_client() -> int:
    """``CNNLAB_MAX_QUEUE_PER_CLIENT`` (default 2): jobs one client address may have waiting
    for a training slot (or a cluster's worker). A class behind one address (a school's NAT
    with no proxy header) needs it as large as the class."""
    return int(_number("CNNLAB_MAX_QUEUE_PER_CLIENT", MAX_QUEUE_PER_CLIENT_DEFAULT, 1))


def orphan_grace_s() -> float:
    """``CNNLAB_ORPHAN_GRACE_S`` (default 60): seconds without an open page of a workspace
    after which its queued job is cancelled and its running job stopped (and saved)."""
    return float(_number("CNNLAB_ORPHAN_GRACE_S", ORPHAN_GRACE_S_DEFAULT, 0.5, whole=False))


def data_dirs() -> list[Path]:
    """``CNNLAB_DATA_DIRS``: the folders (``os.pathsep``-separated) under which the web app
    accepts folder data sets; none by default (then only the named data sets)."""
    raw = os.environ.get("CNNLAB_DATA_DIRS", "")
    return [Path(part).expanduser() for part in raw.split(os.pathsep) if part.strip()]


def scheduler() -> str | None:
    """``CNNLAB_SCHEDULER``: a Dask scheduler's address (``tcp://HOST:PORT``); training jobs
    then run on that cluster (:mod:`cnnlab.cluster`). Unset by default: jobs train here."""
    raw = os.environ.get("CNNLAB_SCHEDULER", "").strip()
    if raw and (not raw.startswith(("tcp://", "tls://", "inproc://")) or ":" not in
                raw.split("://", 1)[1]):
        raise ValueError(f"CNNLAB_SCHEDULER must look like tcp://HOST:PORT (e.g. "
                         f"tcp://127.0.0.1:8786); received {raw!r}")
    return raw or None


def precision() -> str:
    """``CNNLAB_PRECISION`` (default ``auto``): what trainings started here compute in unless
    they say (``cnnlab train --precision``): ``auto`` (bfloat16 where this CPU does it natively
    and faster, else float32; :mod:`cnnlab.models.precision`), ``float32`` or ``bfloat16``."""
    from cnnlab.models import precision as precisions

    raw = os.environ.get("CNNLAB_PRECISION", "").strip() or "auto"
    if raw not in precisions.NAMES:
        raise ValueError(f"CNNLAB_PRECISION must be one of {', '.join(precisions.NAMES)}; "
                         f"received {raw!r}")
    return raw


def decode_seconds() -> float:
    """``CNNLAB_DECODE_SECONDS`` (default 30): the estimated CPU seconds decoding one data set's
    images may take (each image size and colour is a load); a set over it is refused before
    any image is decoded (:mod:`cnnlab.data.class_folders`)."""
    return float(_number("CNNLAB_DECODE_SECONDS", DECODE_SECONDS_DEFAULT, 0.1, whole=False))


def held_back_percent() -> int:
    """``CNNLAB_HELD_BACK_PERCENT`` (default 50, at most 90): the share of each named data
    set's test split held back for class challenges (:mod:`cnnlab.workspaces.held_back`); no
    student page shows it. 0 turns it off (then no challenge can be set)."""
    value = int(_number("CNNLAB_HELD_BACK_PERCENT", HELD_BACK_PERCENT_DEFAULT, 0))
    if value > 90:
        raise ValueError(f"CNNLAB_HELD_BACK_PERCENT must be a whole number from 0 to 90; "
                         f"received {value}")
    return value


def class_students() -> int:
    """``CNNLAB_CLASS_STUDENTS`` (default 60): students who may join one class."""
    return int(_number("CNNLAB_CLASS_STUDENTS", CLASS_STUDENTS_DEFAULT, 1))


def max_classes() -> int:
    """``CNNLAB_MAX_CLASSES`` (default 100): classes kept on this server (``cnnlab class
    delete CODE`` removes one)."""
    return int(_number("CNNLAB_MAX_CLASSES", MAX_CLASSES_DEFAULT, 1))
