"""Data sets from class folders: one subfolder of PNG/JPEG images per class, the layout of
Keras's ``image_dataset_from_directory``, optionally split into ``train/`` and ``test/``::

    shapes/circle/001.png          shapes/train/circle/001.png
    shapes/circle/002.jpg    or    shapes/train/square/...
    shapes/square/...              shapes/test/circle/...   (the same class folders)

Class names are the folder names, sorted. Without ``train/`` and ``test/`` the images are split
80/20 per class (stratified), seeded. Images keep their own size when they all share one, else
every image is resized to the ``image_size`` the caller gives; they are colour (RGB) when any
image is in colour, else grey, unless ``color`` says otherwise.

Bad files are skipped, not fatal: a file that is a symbolic link, not a regular file, over the
size limits, or not a readable PNG/JPEG is left out and named in the returned warnings (up to
:attr:`Limits.max_named` names). The whole set is refused (``DatasetError``) when a limit on the
set itself is passed (images, bytes, classes), a class has too few usable images, or the sizes
differ and no ``image_size`` is given. Numpy and Pillow only (no TensorFlow).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.data import folder_scan, image_files, kinds
from cnnlab.data.dataset import Dataset, DatasetError, cached

Progress = Callable[[int, int], None]  # progress(images_done, images_total)
COLORS = {"rgb": True, "grayscale": False, "grey": False, "gray": False}
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Limits:
    """What a class folder may hold; the defaults suit a classroom server."""

    max_images: int = 100_000  # image files in the whole set
    max_file_bytes: int = 10 * 2**20  # one file (10 MiB)
    max_pixels: int = 4096 * 4096  # one image, as its header declares, checked before decoding
    max_total_bytes: int = 2 * 2**30  # all image files together (2 GiB)
    max_array_bytes: int = 2**30  # the loaded uint8 images (1 GiB)
    max_classes: int = 100
    min_per_class: int = 2  # usable images per class (one to train on, one to test)
    max_side: int = 512  # image height or width after resizing
    max_named: int = 10  # bad files named in a warning


class SizesDiffer(DatasetError):
    """The images have several sizes and no ``image_size`` was given; ``sizes`` lists them."""

    def __init__(self, message: str, sizes: list[tuple[int, int]]) -> None:
        super().__init__(message)
        self.sizes = sizes


_NAMED = re.compile(r"^(?P<folder>.+) \((?:(?P<h>\d+)×(?P<w>\d+))?(?:, )?"
                    r"(?P<color>rgb|grayscale)?\)$")


def _size_text(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def dataset_name(folder: str | os.PathLike[str], image_size: Sequence[int] | None = None,
                 color: str | None = None) -> str:
    """The data set's name: the folder, with the options it was loaded with, so that the name
    (a run's ``dataset``) loads the same images again.

    Example:
        >>> dataset_name("/data/shapes", (32, 32), "rgb")
        '/data/shapes (32×32, rgb)'
    """
    options = [_size_text(tuple(image_size))] if image_size else []
    options += [str(color)] if color else []
    return f"{folder} ({', '.join(options)})" if options else str(folder)


def parse_name(name: str) -> tuple[str, tuple[int, int] | None, str | None] | None:
    """``(folder, image_size, color)`` of a name made by :func:`dataset_name` with options;
    None when ``name`` carries none."""
    match = _NAMED.match(str(name))
    if not match or not (match["h"] or match["color"]):
        return None
    size = (int(match["h"]), int(match["w"])) if match["h"] else None
    return match["folder"], size, match["color"]


def _checked_options(image_size: Sequence[int] | None, color: str | None,
                     limits: Limits) -> tuple[tuple[int, int] | None, bool | None]:
    if color is not None and str(color).lower() not in COLORS:
        raise DatasetError(f"color must be rgb or grayscale; received {color!r}")
    rgb = None if color is None else COLORS[str(color).lower()]
    if image_size is None:
        return None, rgb
    size = tuple(image_size)
    if len(size) != 2 or not all(isinstance(v, int | np.integer) and not isinstance(v, bool)
                                 and 1 <= v <= limits.max_side for v in size):
        raise DatasetError(f"image size must be two whole numbers H W between 1 and "
                           f"{limits.max_side}; received {image_size!r}")
    return (int(size[0]), int(size[1])), rgb


def _warning(skipped: list[tuple[Path, str]], folder: Path, limits: Limits) -> str:
    named = "; ".join(f"{p.relative_to(folder) if p.is_relative_to(folder) else p}: {why}"
                      for p, why in skipped[:limits.max_named])
    extra = len(skipped) - limits.max_named
    more = f"; and {extra} more" if extra > 0 else ""
    return f"skipped {len(skipped)} file(s) that cannot be used: {named}{more}"


def load_class_folder(path: str | os.PathLike[str], image_size: Sequence[int] | None = None,
                      color: str | None = None, seed: int = 0, *,
                      limits: Limits | None = None, progress: Progress | None = None,
                      name: str | None = None) -> tuple[Dataset, list[str]]:
    """Load a class-folder tree as a data set; cached while its files are unchanged.

    Args:
        path: the folder (one subfolder per class, optionally inside ``train/`` and ``test/``).
        image_size: ``(height, width)`` to resize every image to; needed when sizes differ.
        color: ``"rgb"`` or ``"grayscale"``; by default RGB when any image is in colour.
        seed: the seed of the 80/20 split (unused with ``train/`` and ``test/``).
        limits: the limits; :class:`Limits` defaults when None.
        progress: called as ``progress(images_done, images_total)`` while decoding.
        name: the data set's name (default: the folder, with the options given, see
            :func:`dataset_name`), e.g. one that does not reveal where it is stored.
    Returns:
        ``(dataset, warnings)``: read-only uint8 images shaped ``(n, height, width, 1 or 3)``,
        preparation :data:`kinds.RESIZE`; the warnings (also ``dataset.warnings``) say what
        was read and name skipped files.
    Raises:
        SizesDiffer: the images have several sizes and no ``image_size`` was given.
        DatasetError: not a class folder, a limit passed, or a class with too few images.

    Example:
        >>> ds, notes = load_class_folder("shapes", image_size=(32, 32))  # doctest: +SKIP
    """
    limits = limits or Limits()
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"no folder {folder}: give a folder with one subfolder of PNG/JPEG "
                           "images per class")
    folder = folder.resolve()
    size, rgb = _checked_options(image_size, color, limits)
    found = folder_scan.scan(folder, limits)
    name = name or dataset_name(folder, size, None if rgb is None else
                                ("rgb" if rgb else "grayscale"))
    key = ("class-folder", str(folder), size, rgb, int(seed), limits, found.stamp, name)
    dataset = cached(key, lambda: _build(folder, found, size, rgb, int(seed), limits, progress,
                                         name))
    return dataset, list(dataset.warnings)


def _headers(found: folder_scan.Found, limits: Limits, skipped: list) -> list:
    headers = []
    for path, label, split in found.files:
        try:
            headers.append((path, label, split, image_files.read_header(
                path, limits.max_file_bytes, limits.max_pixels)))
        except image_files.BadImage as exc:
            skipped.append((path, str(exc)))
    return headers


def _build(folder: Path, found: folder_scan.Found, size: tuple[int, int] | None, rgb: bool | None,
           seed: int, limits: Limits, progress: Progress | None, name: str) -> Dataset:
    skipped = list(found.skipped)
    headers = _headers(found, limits, skipped)
    sizes = sorted({(h.height, h.width) for *_, h in headers})
    if size is None and len(sizes) > 1:
        shown = ", ".join(_size_text(s) for s in sizes[:6]) + (", ..." if len(sizes) > 6 else "")
        raise SizesDiffer(f"images have {len(sizes)} sizes ({shown}): give --image-size H W",
                          sizes)
    if size is None and sizes:
        size = sizes[0]
        if max(size) > limits.max_side:
            raise SizesDiffer(f"the images are {_size_text(size)}, over {limits.max_side} "
                              "pixels a side: give --image-size H W to resize them", sizes)
    rgb = any(h.colour for *_, h in headers) if rgb is None else rgb
    channels = 3 if rgb else 1
    if size is not None and len(headers) * size[0] * size[1] * channels > limits.max_array_bytes:
        raise DatasetError(f"{folder}: {len(headers):,} images of {_size_text(size)}×{channels} "
                           f"need more than {limits.max_array_bytes:,} bytes; use a smaller "
                           "--image-size or fewer images")
    height, width = size or (1, 1)
    images = np.zeros((len(headers), height, width, channels), np.uint8)
    keep = np.zeros(len(headers), bool)
    for i, (path, *_rest) in enumerate(headers):
        try:
            images[i] = image_files.decode(path, (height, width), rgb, limits.max_file_bytes,
                                           limits.max_pixels)
            keep[i] = True
        except image_files.BadImage as exc:
            skipped.append((path, str(exc)))
        if progress is not None:
            progress(i + 1, len(headers))
    labels = np.array([label for _, label, _, _ in headers], np.int64)
    splits = np.array([split for _, _, split, _ in headers], object)
    images, labels, splits = images[keep], labels[keep], splits[keep]
    notes = list(found.notes) + ([_warning(skipped, folder, limits)] if skipped else [])
    train, test = _split(labels, splits, found.class_names, seed, folder, limits, notes)
    how = "given train/ and test/" if splits.size and splits[0] else f"80/20 split, seed {seed}"
    return Dataset(name=name, class_names=found.class_names,
                   x_train=images[train], y_train=labels[train], x_test=images[test],
                   y_test=labels[test],
                   source=f"class folder {folder} ({how}; {_size_text((height, width))} "
                          f"{'rgb' if rgb else 'grey'})",
                   preparation=kinds.RESIZE, warnings=tuple(notes))


def _split(labels: np.ndarray, splits: np.ndarray, class_names: tuple[str, ...], seed: int,
           folder: Path, limits: Limits, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the train and test images, each shuffled (classes mixed), seeded."""
    counts = np.bincount(labels, minlength=len(class_names))
    few = [f"{name} ({count})" for name, count in zip(class_names, counts, strict=True)
           if count < limits.min_per_class]
    if few:
        raise DatasetError(f"{folder}: every class needs at least {limits.min_per_class} usable "
                           f"images; {', '.join(few)} "
                           f"{'has' if len(few) == 1 else 'have'} fewer"
                           + (f" ({notes[-1]})" if notes[-1].startswith("skipped") else ""))
    rng = np.random.default_rng(seed)
    if splits.size and splits[0]:
        train, test = np.flatnonzero(splits == "train"), np.flatnonzero(splits == "test")
        missing = [n for c, n in enumerate(class_names) if not (labels[train] == c).any()]
        if missing or not len(test):
            where = "train/" if missing else "test/"
            raise DatasetError(f"{folder}: {where} has no usable images of "
                               f"{', '.join(missing) or 'any class'}")
    else:
        train_parts, test_parts = [], []
        for c in range(len(class_names)):
            members = rng.permutation(np.flatnonzero(labels == c))
            n_test = max(1, round(TEST_FRACTION * len(members)))
            test_parts.append(members[:n_test])
            train_parts.append(members[n_test:])
        train, test = np.concatenate(train_parts), np.concatenate(test_parts)
    return rng.permutation(train), rng.permutation(test)
