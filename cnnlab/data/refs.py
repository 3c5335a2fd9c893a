"""Which data set: a :class:`DatasetRef`, made once where the user's choice enters (a Train page
widget, ``cnnlab train --dataset``, the My classes page, a run's record) and passed unchanged to
the loaders, the cluster, the run's record and the pages.

Nothing parses a data set's display text back: what a page shows is :attr:`DatasetRef.label`,
derived from the ref; a run writes the ref as a dict (``metrics.json``'s ``dataset_ref``) next to
the label (``dataset``, for older readers). The kinds:

==========  ==========================================================  =======================
kind        ``name``                                                    loaded by
==========  ==========================================================  =======================
named       one of :data:`NAMES`                                        ``datasets.load``
folder      a folder of IDX files or class folders (the command line:   ``datasets.load``; the
            its absolute path; the web app: as typed, under a data      web app through
            root)                                                       ``data_roots.load``
upload      a workspace's own uploaded set, by its name there           ``data_roots.load``
drawn       :data:`DRAWN_NAME`: the workspace's drawn classes           ``data_roots.load``
recorded    the label a run recorded (a run saved before refs, or       never: a name only
            one whose record says nothing this server can load)
==========  ==========================================================  =======================

A class-folder set (folder or upload) may carry the ``image_size`` its images are resized to
and the ``colour`` they are converted to (``None``: as the images are).

Example:
    >>> ref = upload("fashion3", (32, 32), "rgb")
    >>> ref.label
    'fashion3 (your upload, 32×32, rgb)'
    >>> DatasetRef.from_dict(ref.to_dict()) == ref
    True
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

from cnnlab.data import kinds

NAMED, FOLDER, UPLOAD, DRAWN, RECORDED = "named", "folder", "upload", "drawn", "recorded"
KINDS = (NAMED, FOLDER, UPLOAD, DRAWN, RECORDED)
NAMES = ("mnist-5k", "mnist", "fashion-mnist", "cifar-10")  # the named data sets, one list
DRAWN_NAME = "my drawings"
MAX_SIDE = 512  # an image size's height or width, in pixels
MAX_NAME_CHARS = 1000  # a name or a recorded label
_WITH_OPTIONS = (FOLDER, UPLOAD)  # kinds whose images can be resized and converted


@dataclasses.dataclass(frozen=True)
class DatasetRef:
    """One data set, by kind and name, with the image size and colour it is loaded at.

    Attributes:
        kind: one of :data:`KINDS`.
        name: what identifies it within its kind (see the module's table).
        image_size: ``(height, width)`` every image is resized to, or None (their own size).
        colour: :data:`cnnlab.data.kinds.GREY` or ``RGB`` to convert to, or None (as they are).
    Raises:
        ValueError: naming the field and the value received.
    """

    kind: str
    name: str
    image_size: tuple[int, int] | None = None
    colour: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a data set's kind must be one of {', '.join(KINDS)}; received "
                             f"{self.kind!r}")
        if (not isinstance(self.name, str) or not self.name.strip()
                or len(self.name) > MAX_NAME_CHARS or not self.name.isprintable()):
            shown = self.name[:40] if isinstance(self.name, str) else type(self.name).__name__
            raise ValueError(f"a data set's name must be printable text of 1 to "
                             f"{MAX_NAME_CHARS} characters; received {shown!r}")
        if self.kind == NAMED and self.name not in NAMES:
            raise ValueError(f"unknown data set {self.name!r}: use one of {', '.join(NAMES)} "
                             "(mnist-5k is built in and works offline), or a folder")
        if self.kind == DRAWN and self.name != DRAWN_NAME:
            raise ValueError(f"drawn classes are named {DRAWN_NAME!r}; received {self.name!r}")
        if self.image_size is not None:
            size = tuple(self.image_size)
            if len(size) != 2 or not all(type(v) is int and 1 <= v <= MAX_SIDE for v in size):
                raise ValueError(f"image size must be two whole numbers H W between 1 and "
                                 f"{MAX_SIDE}; received {self.image_size!r}")
            object.__setattr__(self, "image_size", size)
        if self.colour is not None and self.colour not in kinds.COLOURS:
            raise ValueError(f"colour must be one of {', '.join(kinds.COLOURS)} or none (as the "
                             f"images are); received {self.colour!r}")
        if (self.image_size or self.colour) and self.kind not in _WITH_OPTIONS:
            raise ValueError(f"an image size and colour are for class folders; {self.name} has "
                             "its own size and colour")

    @property
    def label(self) -> str:
        """What a page or a message shows, e.g. ``mnist-5k``, ``shapes (32×32, rgb)``,
        ``fashion3 (your upload)``; never parsed back."""
        options = ([f"{self.image_size[0]}×{self.image_size[1]}"] if self.image_size else []) + (
            [self.colour] if self.colour else [])
        if self.kind == UPLOAD:
            return f"{self.name} ({', '.join(['your upload', *options])})"
        return f"{self.name} ({', '.join(options)})" if options else self.name

    @property
    def loadable(self) -> bool:
        """False for a recorded ref: a name only, never loaded."""
        return self.kind != RECORDED

    def with_options(self, image_size: Sequence[int] | None,
                     colour: str | None) -> DatasetRef:
        """The same set at another image size and colour (None: their own)."""
        size = None if image_size is None else tuple(int(v) for v in image_size)
        return dataclasses.replace(self, image_size=size, colour=colour)

    def as_recorded(self) -> DatasetRef:
        """A recorded ref with this ref's label."""
        return recorded(self.label)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"kind", "name", "image_size": [h, w] or null, "colour"}``."""
        return {"kind": self.kind, "name": self.name,
                "image_size": None if self.image_size is None else list(self.image_size),
                "colour": self.colour}

    @classmethod
    def from_dict(cls, data: Any) -> DatasetRef:
        """Parse :meth:`to_dict`'s form; ValueError naming a missing, unknown or bad field."""
        if not isinstance(data, dict):
            raise ValueError(f"a data set reference must be a JSON object; received "
                             f"{type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown or "kind" not in data or "name" not in data:
            raise ValueError(f"a data set reference has the fields {', '.join(sorted(known))} "
                             f"(kind and name required); received {sorted(data)}")
        size = data.get("image_size")
        if size is not None and not isinstance(size, list):
            raise ValueError(f"a data set's image_size must be [height, width]; received "
                             f"{size!r}")
        return cls(data["kind"], data["name"], None if size is None else tuple(size),
                   data.get("colour"))


def named(name: str) -> DatasetRef:
    """One of :data:`NAMES`."""
    return DatasetRef(NAMED, name)


def folder(path: str | os.PathLike[str], image_size: Sequence[int] | None = None,
           colour: str | None = None) -> DatasetRef:
    """A folder of IDX files or class folders, by its path."""
    return DatasetRef(FOLDER, os.fspath(path)).with_options(image_size, colour)


def upload(name: str, image_size: Sequence[int] | None = None,
           colour: str | None = None) -> DatasetRef:
    """A workspace's uploaded set ``name``."""
    return DatasetRef(UPLOAD, name).with_options(image_size, colour)


def drawn() -> DatasetRef:
    """The workspace's drawn classes."""
    return DatasetRef(DRAWN, DRAWN_NAME)


def recorded(label: str) -> DatasetRef:
    """A data set known by the label a run recorded only (or a set made in memory): never
    loaded."""
    return DatasetRef(RECORDED, label)


def from_record(metrics: dict[str, Any]) -> DatasetRef:
    """A run's data set from its ``metrics.json`` object: ``dataset_ref``, checked; a run
    saved before refs has only the label ``dataset``, which becomes a recorded ref.

    Raises:
        ValueError: ``dataset_ref`` is malformed, or neither key holds a usable value.
    """
    if "dataset_ref" in metrics:
        return DatasetRef.from_dict(metrics["dataset_ref"])
    label = metrics.get("dataset")
    text = "".join(c if c.isprintable() else " " for c in label).strip() \
        if isinstance(label, str) else ""
    return recorded(text[:MAX_NAME_CHARS] or "an unnamed data set")
