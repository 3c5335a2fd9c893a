"""Classes a student draws: names, examples, and the data set they make.

A :class:`DrawnSet` is immutable: every change (:meth:`~DrawnSet.add`, :meth:`~DrawnSet.undo`,
:meth:`~DrawnSet.delete`, :meth:`~DrawnSet.rename`, ...) returns a new set, so a page can keep
one in its session and save it after each change. Examples are 28×28 uint8 grey images, ink
bright on black, as :meth:`cnnlab.inspect.preprocess.Preprocessed.as_uint8` makes them from the
canvas (MNIST-style centring), kept in the order they were drawn (``undo`` removes the last).

Class names become folder names in the zip a set downloads as
(:mod:`cnnlab.data.drawn_zip`), so :func:`check_name` allows letters, digits, spaces, ``-``
and ``_`` only, at most :data:`NAME_CHARS` characters, unique ignoring case.

Example:
    >>> s = DrawnSet.named(["circle", "cross"])
    >>> s = s.add(0, np.zeros((28, 28), np.uint8))
    >>> s.counts(), s.undo().counts()
    ([1, 0], [0, 0])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cnnlab.data import kinds, refs
from cnnlab.data.dataset import Dataset

SIDE = 28  # every example is SIDE × SIDE grey
MIN_CLASSES = 2
MAX_CLASSES_DEFAULT = 10  # CNNLAB_DRAWN_MAX_CLASSES (cnnlab.workspaces.drawn_sets)
MAX_PER_CLASS_DEFAULT = 200  # CNNLAB_DRAWN_MAX_PER_CLASS
MIN_PER_CLASS = 10  # examples of each class needed before training
NAME_CHARS = 30
TEST_SHARE = 0.2  # held out per class, at least one example each
SPLIT_SEED = 0  # the split the My classes page trains with and Feature maps shows the test of
_NAME_FORM = re.compile(r"\w[\w \-]*", re.UNICODE)


class DrawnError(ValueError):
    """A drawn set refused a change or a file; ``str()`` says what and what would work."""


def check_name(name: object, taken: Sequence[str] = ()) -> str:
    """``name`` stripped, if it can name a class (and a folder); else :class:`DrawnError`.

    Args:
        name: the name typed.
        taken: the other classes' names (compared ignoring case).
    Example:
        >>> check_name("  big cat ")
        'big cat'
    """
    if not isinstance(name, str):
        raise DrawnError(f"a class name must be text; received {type(name).__name__}")
    text = name.strip()
    if not text:
        raise DrawnError("a class name cannot be empty; type a word such as 'circle'")
    if len(text) > NAME_CHARS:
        raise DrawnError(f"class name {text[:NAME_CHARS]!r}… is {len(text)} characters; use at "
                         f"most {NAME_CHARS}")
    if not _NAME_FORM.fullmatch(text) or "_" == text[0]:
        raise DrawnError(f"class name {text!r} may hold letters, digits, spaces, '-' and '_' "
                         "only, starting with a letter or digit (it becomes a folder name)")
    clash = [t for t in taken if t.casefold() == text.casefold()]
    if clash:
        typed = "" if clash[0] == text else f" (you typed {text!r}; case is ignored)"
        raise DrawnError(f"there is already a class named {clash[0]!r}{typed}; give each "
                         "class its own name")
    return text


def _checked_image(image: object) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.shape != (SIDE, SIDE) or arr.dtype != np.uint8:
        raise DrawnError(f"a drawn example must be a {SIDE}×{SIDE} uint8 grey image; received "
                         f"shape {arr.shape} and dtype {arr.dtype}")
    return arr


@dataclass(frozen=True, eq=False)
class DrawnSet:
    """Class names and the examples drawn for them, oldest first.

    Attributes:
        names: one per class, checked by :func:`check_name`.
        images: uint8 ``(n, 28, 28)``.
        labels: int ``(n,)``, indices into ``names``.
        max_classes, max_per_class: the limits this set keeps to.
    """

    names: tuple[str, ...]
    images: np.ndarray = field(default_factory=lambda: np.zeros((0, SIDE, SIDE), np.uint8))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    max_classes: int = MAX_CLASSES_DEFAULT
    max_per_class: int = MAX_PER_CLASS_DEFAULT

    def __post_init__(self) -> None:
        names: list[str] = []
        for name in self.names:
            names.append(check_name(name, names))
        if len(names) > self.max_classes:
            raise DrawnError(f"{len(names)} classes are more than the {self.max_classes} "
                             "allowed; remove some")
        images = np.asarray(self.images)
        labels = np.asarray(self.labels)
        if images.dtype != np.uint8 or images.shape[1:] != (SIDE, SIDE) or images.ndim != 3:
            raise DrawnError(f"drawn examples must be uint8 (n, {SIDE}, {SIDE}); received "
                             f"{images.dtype} {images.shape}")
        if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer) or (
                len(labels) and (labels.min() < 0 or labels.max() >= len(names))):
            raise DrawnError(f"drawn labels must be {len(images)} class indices below "
                             f"{len(names)}; received {labels.dtype} {labels.shape}")
        counts = np.bincount(labels, minlength=len(names))
        if len(counts) and counts.max() > self.max_per_class:
            worst = int(np.argmax(counts))
            raise DrawnError(f"class {names[worst]!r} has {counts[worst]} examples, more than "
                             f"the {self.max_per_class} allowed per class")
        images, labels = images.copy(), labels.astype(np.int64)
        images.flags.writeable = labels.flags.writeable = False
        object.__setattr__(self, "names", tuple(names))
        object.__setattr__(self, "images", images)
        object.__setattr__(self, "labels", labels)

    @classmethod
    def named(cls, names: Sequence[str], max_classes: int = MAX_CLASSES_DEFAULT,
              max_per_class: int = MAX_PER_CLASS_DEFAULT) -> DrawnSet:
        """An empty set with these classes; at least :data:`MIN_CLASSES` of them."""
        if len(names) < MIN_CLASSES:
            raise DrawnError(f"name at least {MIN_CLASSES} classes; received {len(names)}")
        return cls(tuple(names), max_classes=max_classes, max_per_class=max_per_class)

    def _with(self, names: Sequence[str], images: np.ndarray, labels: np.ndarray) -> DrawnSet:
        return DrawnSet(tuple(names), images, labels, self.max_classes, self.max_per_class)

    def _check_class(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) \
                or not 0 <= index < len(self.names):
            raise DrawnError(f"class index must be 0 to {len(self.names) - 1}; received {index!r}")
        return int(index)

    # --- examples --------------------------------------------------------------------------
    def counts(self) -> list[int]:
        """Examples per class, in class order."""
        return np.bincount(self.labels, minlength=len(self.names)).tolist()

    def examples_of(self, index: int) -> list[int]:
        """Positions (into ``images``) of class ``index``'s examples, oldest first."""
        return np.flatnonzero(self.labels == self._check_class(index)).tolist()

    def add(self, index: int, image: np.ndarray) -> DrawnSet:
        """With ``image`` (28×28 uint8) added to class ``index``."""
        index = self._check_class(index)
        arr = _checked_image(image)
        if self.counts()[index] >= self.max_per_class:
            raise DrawnError(f"class {self.names[index]!r} already has {self.max_per_class} "
                             "examples, the most allowed; delete some before adding more")
        return self._with(self.names, np.concatenate([self.images, arr[None]]),
                          np.append(self.labels, index))

    def undo(self) -> DrawnSet:
        """Without the example added last (unchanged when there is none)."""
        return self if not len(self.labels) else self.delete(len(self.labels) - 1)

    def delete(self, position: int) -> DrawnSet:
        """Without the example at ``position`` (an index into ``images``)."""
        if isinstance(position, bool) or not isinstance(position, (int, np.integer)) \
                or not 0 <= position < len(self.labels):
            raise DrawnError(f"no example {position!r}: there are {len(self.labels)}")
        keep = np.arange(len(self.labels)) != position
        return self._with(self.names, self.images[keep], self.labels[keep])

    # --- classes ---------------------------------------------------------------------------
    def add_class(self, name: str) -> DrawnSet:
        """With a new, empty class ``name`` at the end."""
        if len(self.names) >= self.max_classes:
            raise DrawnError(f"there are already {len(self.names)} classes, the most allowed")
        return self._with((*self.names, check_name(name, self.names)), self.images, self.labels)

    def rename(self, index: int, name: str) -> DrawnSet:
        """With class ``index`` named ``name`` (its examples kept)."""
        index = self._check_class(index)
        others = [n for i, n in enumerate(self.names) if i != index]
        names = list(self.names)
        names[index] = check_name(name, others)
        return self._with(names, self.images, self.labels)

    def remove_class(self, index: int) -> DrawnSet:
        """Without class ``index`` and its examples; at least :data:`MIN_CLASSES` remain."""
        index = self._check_class(index)
        if len(self.names) <= MIN_CLASSES:
            raise DrawnError(f"a drawn set needs at least {MIN_CLASSES} classes; rename this "
                             "one instead")
        keep = self.labels != index
        labels = self.labels[keep]
        return self._with([n for i, n in enumerate(self.names) if i != index],
                          self.images[keep], labels - (labels > index))

    # --- training ----------------------------------------------------------------------------
    def missing(self) -> list[str]:
        """One line per class that has fewer than :data:`MIN_PER_CLASS` examples."""
        return [f"{name}: {count} of {MIN_PER_CLASS}" for name, count in
                zip(self.names, self.counts(), strict=True) if count < MIN_PER_CLASS]

    def to_dataset(self, seed: int = SPLIT_SEED) -> Dataset:
        """The set as a :class:`Dataset` (ref :func:`cnnlab.data.refs.drawn`): a seeded
        stratified split, :data:`TEST_SHARE` of each class (at least one) held out for testing.
        More training examples are made by :func:`cnnlab.training.multiply.with_copies`.

        Args:
            seed: the split's seed.
        Raises:
            DrawnError: a class has fewer than :data:`MIN_PER_CLASS` examples.
        """
        short = self.missing()
        if short:
            raise DrawnError(f"draw at least {MIN_PER_CLASS} examples of each class before "
                             f"training; still short: {', '.join(short)}")
        rng = np.random.default_rng(seed)
        test = np.concatenate([
            rng.permutation(np.flatnonzero(self.labels == c))[
                :max(1, round(TEST_SHARE * count))] for c, count in enumerate(self.counts())])
        train = rng.permutation(np.setdiff1d(np.arange(len(self.labels)), test))
        test = rng.permutation(test)  # the classes mixed, as in every other data set
        described = ", ".join(f"{n} ({c})" for n, c in zip(self.names, self.counts(),
                                                            strict=True))
        return Dataset(ref=refs.drawn(), class_names=self.names, x_train=self.images[train],
                       y_train=self.labels[train], x_test=self.images[test],
                       y_test=self.labels[test], preparation=kinds.MNIST_DIGITS,
                       source=f"drawn in CNN Lab: {described}")
