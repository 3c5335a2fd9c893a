"""The :class:`Dataset` every part of CNN Lab trains on and shows, and the process-wide cache
of loaded ones.

Images stay uint8 ``(n, height, width, channels)`` (never float copies) and every array is
read-only, since one loaded data set is shared by all users of the server. The cache draws from
the server's one memory budget (:mod:`cnnlab.memory.budget`, ``CNNLAB_MEMORY_MB``): each loaded
set, each image size and colour of it, counts its arrays' bytes, and the least recently used
entry of any of the server's caches makes room. A set evicted while a job trains on it stays
alive through the job's own reference.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable

import numpy as np

from cnnlab.data import kinds, refs
from cnnlab.memory import budget


class DatasetError(ValueError):
    """A data set cannot be loaded; the message says what was asked and what would work."""


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A labelled image data set split into train and test, with read-only uint8 images.

    Images given as ``(n, h, w)`` get a channel axis; all arrays become read-only views.
    ``ref`` says which data set this is (:class:`cnnlab.data.refs.DatasetRef`); ``name`` is its
    label.
    """

    ref: refs.DatasetRef
    class_names: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""
    preparation: str = ""  # how the images were made: kinds.PREPARATIONS; "" for the default
    warnings: tuple[str, ...] = ()  # what loading noticed, e.g. files a class folder skipped
    # a named set whose test split is part of its full one (the web app's, without the
    # held-back images): the indices kept, into the full test split; None: the whole split
    test_indices: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.ref, refs.DatasetRef):
            raise TypeError(f"a Dataset's ref must be a DatasetRef; received "
                            f"{type(self.ref).__name__} (make one with cnnlab.data.refs)")
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        object.__setattr__(self, "preparation", kinds.preparation_of(self))
        object.__setattr__(self, "warnings", tuple(str(w) for w in self.warnings))
        for split in ("train", "test"):
            x, y = _checked_split(self, split)
            object.__setattr__(self, f"x_{split}", x)
            object.__setattr__(self, f"y_{split}", y)
        if self.test_indices is not None:
            kept = np.asarray(self.test_indices, dtype=np.int64).view()
            if kept.shape != self.y_test.shape:
                raise DatasetError(f"data set {self.name}: {len(self.y_test):,} test images "
                                   f"need as many test indices; received shape {kept.shape}")
            kept.flags.writeable = False
            object.__setattr__(self, "test_indices", kept)
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise DatasetError(f"data set {self.name}: train images are {self.x_train.shape[1:]}"
                               f" but test images are {self.x_test.shape[1:]}; they must match")

    @property
    def name(self) -> str:
        """The data set's label (:attr:`cnnlab.data.refs.DatasetRef.label`), for messages."""
        return self.ref.label

    @property
    def nbytes(self) -> int:
        """Bytes the images and labels hold (what the data-set cache counts)."""
        return sum(int(a.nbytes) for a in (self.x_train, self.y_train, self.x_test, self.y_test))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)`` of one image."""
        height, width, channels = (int(s) for s in self.x_train.shape[1:])
        return height, width, channels

    @property
    def num_classes(self) -> int:
        """How many classes there are (labels run from 0 to ``num_classes - 1``)."""
        return len(self.class_names)

    def class_counts(self, split: str) -> list[int]:
        """How many images of each class a split holds.

        Args:
            split: ``"train"`` or ``"test"``.
        Returns:
            One count per class, in class order.
        """
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        labels = self.y_train if split == "train" else self.y_test
        return np.bincount(labels, minlength=self.num_classes).tolist()

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}: {len(self.y_train):,} train / {len(self.y_test):,} test "
                f"images {self.image_shape}, {self.num_classes} classes)")


def _checked_split(ds: Dataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's images (uint8, 4-D) and labels (integers in range), as read-only views."""
    x, y = np.asarray(getattr(ds, f"x_{split}")), np.asarray(getattr(ds, f"y_{split}"))
    where = f"data set {ds.name}, {split} split"
    if x.dtype != np.uint8:
        raise DatasetError(f"{where}: images must be uint8 (0-255), got {x.dtype}; keep them "
                           "uint8, the model rescales them")
    x = x.reshape(x.shape + (1,)) if x.ndim == 3 else x.view()
    if x.ndim != 4 or len(x) == 0:
        raise DatasetError(f"{where}: images must be shaped (n, height, width[, channels]) with "
                           f"n > 0, got {x.shape}")
    if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{where}: labels must be {len(x):,} integers, got {y.dtype} "
                           f"shaped {y.shape}")
    if y.min() < 0 or y.max() >= len(ds.class_names):
        raise DatasetError(f"{where}: labels run from {y.min()} to {y.max()} but there are "
                           f"{len(ds.class_names)} class names; give one name per class")
    y = y.view()
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """Whether a named data set can be loaded without internet, and where it is."""

    name: str
    description: str
    available_offline: bool
    detail: str

    def __str__(self) -> str:
        state = "available offline" if self.available_offline else "needs a download"
        return f"{self.name:<14} {state:<18} {self.description}\n{'':<15}{self.detail}"


CACHE = budget.ByteCache("data sets")  # every loaded set, counted by its arrays' bytes


def clear_cache() -> None:
    """Forget every loaded data set (the next load reads the files again)."""
    CACHE.clear()


def cached(key: Hashable, build: Callable[[], Dataset]) -> Dataset:
    """The data set cached under ``key``, built once even when several threads ask at the same
    time, and kept (as its :attr:`Dataset.nbytes`) while the memory budget has room."""
    return CACHE.get_or_build(key, build, size=lambda dataset: dataset.nbytes)
