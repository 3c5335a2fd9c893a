"""The held-back split: part of each named data set's test split that only the server's
scoring reads, so a challenge is scored on images no student has seen in the app.

**Which images.** For a named data set (``cnnlab.data.datasets.NAMES``) and each class ``c``,
the test images of class ``c`` are ordered by ``HMAC-SHA256(secret, "<name>:<index>")`` and
the first ``CNNLAB_HELD_BACK_PERCENT`` percent (default 50, rounded down) are held back; the
rest are what students may see. Indices are into ``datasets.load_dataset(name).x_test`` as
loaded in full. The split is fixed for a server: the same on every replica and after every
restart, since the secret is one random 256-bit file, ``CNNLAB_HOME/classes/held-back.secret``,
made once (atomically: the first replica to make it wins, every other reads it) and never
changed. It differs between servers, and nobody without the file can tell which test images
are held back. Stratified by class, so the scored part has every class in proportion.

**Where it applies.** :func:`held_back` gives the scoring arrays (only
:mod:`cnnlab.classes.scoring` reads them). :func:`visible` gives the data set the web app may
show: the same data set with its test split cut to the visible indices, and those indices kept
as its ``test_indices`` (the training split is untouched: held-back images are test images,
never trained on in the app). The web app's one loader, :func:`cnnlab.workspaces.data_roots.load`,
applies it to every named data set, **for every workspace, in a class or not**: the held-back
images reach no page of the app, for anyone — not the test metrics of a run trained in the app
(the job receives the visible set; a Dask worker loads the set by name and cuts its test split
to the ``test_indices`` the job sends), not Train's data-set counts and misclassified grid
(indices into the visible ``x_test``), not Feature maps' test images, not the Learn page's
built-in digits. A student may open the app without joining, or join after looking around:
cutting only joined workspaces would have shown them the held-back images first. The command
line (``cnnlab train``) is the operator's and sees the full data set. Scoring reads the full
data set (:func:`held_back` loads it itself).

**What it cannot do.** The named data sets are public: someone who trains elsewhere on the
whole public test split and uploads the run is scored on images they trained on. A run's
record of its data set and epochs is what the run says; the README says so.

Numpy only; no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.data import datasets, refs
from cnnlab.data.dataset import CACHE, Dataset
from cnnlab.workspaces import settings

SECRET_FILE = "held-back.secret"
SECRET_BYTES = 32


@dataclass(frozen=True)
class Split:
    """Indices into a named data set's full test split (sorted, disjoint, together all)."""

    visible: np.ndarray
    held_back: np.ndarray


# One split per named data set at most (four names, index arrays of their test splits: 80 kB
# each for MNIST's 10,000): tiny and bounded by the list of names, so outside the memory budget.
_CACHE: dict[str, tuple[tuple, Split]] = {}
_LOCK = threading.Lock()


def _secret_path() -> Path:
    return settings.classes_home() / SECRET_FILE


def secret() -> bytes:
    """This server's secret, made on first use; every replica sharing ``CNNLAB_HOME`` reads
    the same one."""
    path = _secret_path()
    for _ in range(2):
        try:
            text = path.read_text(encoding="ascii").strip()
            if len(text) == 2 * SECRET_BYTES:
                return bytes.fromhex(text)
        except (OSError, ValueError):
            pass
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor, tmp = tempfile.mkstemp(prefix=".secret.", dir=path.parent)
        try:
            os.write(descriptor, secrets.token_hex(SECRET_BYTES).encode("ascii"))
            os.close(descriptor)
            os.link(tmp, path)  # fails if another replica made it first: theirs is kept
        except FileExistsError:
            pass
        finally:
            Path(tmp).unlink(missing_ok=True)
    raise ValueError(f"{path} is not a held-back secret ({2 * SECRET_BYTES} hex digits); "
                     "remove it so the server makes a new one (the held-back split changes)")


def split_labels(name: str, labels: np.ndarray, key: bytes, percent: int) -> Split:
    """The split of a test split with ``labels``, by ``key`` (pure: for tests and
    :func:`split`).

    Example:
        >>> s = split_labels("demo", np.array([0, 0, 1, 1, 1, 1]), b"k", 50)
        >>> len(s.held_back), sorted(np.concatenate([s.visible, s.held_back]).tolist())
        (3, [0, 1, 2, 3, 4, 5])
    """
    labels = np.asarray(labels)
    held = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        order = sorted(members.tolist(), key=lambda i: hmac.new(
            key, f"{name}:{i}".encode("ascii"), hashlib.sha256).digest())
        held.extend(order[:len(members) * percent // 100])
    held_back = np.array(sorted(held), dtype=np.int64)
    visible = np.setdiff1d(np.arange(len(labels), dtype=np.int64), held_back)
    return Split(visible, held_back)


def _split(name: str) -> tuple[tuple, Split]:
    """The split of ``name`` and the stamp it was made under (secret, percent, size)."""
    if name not in datasets.NAMES:
        raise ValueError(f"only the named data sets ({', '.join(datasets.NAMES)}) have a "
                         f"held-back split; received {name!r}")
    labels = datasets.load_dataset(name).y_test
    key, percent = secret(), settings.held_back_percent()
    stamp = (hashlib.sha256(key).hexdigest(), percent, len(labels))
    with _LOCK:
        cached = _CACHE.get(name)
    if cached is not None and cached[0] == stamp:
        return cached
    made = (stamp, split_labels(name, labels, key, percent))
    with _LOCK:
        _CACHE[name] = made
    return made


def split(name: str) -> Split:
    """The split of the named data set ``name`` on this server (loaded in full to read its
    labels; cached per data set).

    Raises:
        ValueError: not a named data set (folders, uploads and drawings hold nothing back).
    """
    return _split(name)[1]


def visible_test_indices(name: str) -> np.ndarray:
    """The indices of ``name``'s full test split that students may see."""
    return split(name).visible


def visible(data: Dataset) -> Dataset:
    """What the web app may show of ``data``: for a named data set, its test split cut to the
    visible indices (so a run's misclassified indices point into the cut split), those indices
    kept as its ``test_indices``; any other data set, or one already cut, unchanged. Cached
    with the data sets (counted by the test split it copies).

    Raises:
        ValueError: a named data set whose test split is not the full one it names.
    """
    if data.ref.kind != refs.NAMED or data.test_indices is not None:
        return data
    stamp, made = _split(data.ref.name)
    keep, total = made.visible, len(made.visible) + len(made.held_back)
    if not len(made.held_back):  # CNNLAB_HELD_BACK_PERCENT=0
        return data
    if total != len(data.y_test):
        raise ValueError(f"{data.name} has {len(data.y_test):,} test images; the named data "
                         f"set has {total:,}")

    def cut() -> Dataset:
        return dataclasses.replace(data, x_test=data.x_test[keep], y_test=data.y_test[keep],
                                   test_indices=keep)

    return CACHE.get_or_build(("visible", data.ref, stamp), cut,
                          size=lambda d: d.x_test.nbytes + d.y_test.nbytes)


def held_back(name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of ``name``'s held-back test images, for scoring only: uint8
    ``(n, height, width, channels)`` and ``(n,)``.

    Raises:
        ValueError: not a named data set, or nothing is held back
            (``CNNLAB_HELD_BACK_PERCENT`` is 0).
    """
    data = datasets.load_dataset(name)
    indices = split(name).held_back
    if not len(indices):
        raise ValueError("nothing is held back for challenges: CNNLAB_HELD_BACK_PERCENT is 0; "
                         "set it from 1 to 90")
    return data.x_test[indices], data.y_test[indices]
