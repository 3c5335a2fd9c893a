"""Data sets from class folders: one subfolder of PNG/JPEG images per class, the layout of
Keras's ``image_dataset_from_directory``, optionally split into ``train/`` and ``test/``::

    shapes/circle/001.png          shapes/train/circle/001.png
    shapes/circle/002.jpg    or    shapes/train/square/...
    shapes/square/...              shapes/test/circle/...   (the same class folders)

Class names are the folder names, sorted. Without ``train/`` and ``test/`` the images are split
80/20 per class (stratified), seeded. What is loaded is said by a
:class:`~cnnlab.data.refs.DatasetRef`: its ``image_size`` (every image resized to it) and its
``colour`` (``rgb`` or ``grey``; by default colour when any image is in colour, else grey).
Without an image size the images keep their own size, when they all share one of at most
:attr:`Limits.propose_side` pixels a side; otherwise :class:`SizeNeeded` is raised, with the
sizes found and a proposed size, before any pixel is decoded.

Before decoding, from the files' headers alone, the whole set is refused (``DatasetError``)
when decoding it would take more than :attr:`Limits.max_decode_seconds` of CPU
(:func:`cnnlab.data.image_files.decode_cost`), or its arrays more than
:attr:`Limits.max_array_bytes` or the server's memory budget (:mod:`cnnlab.memory.budget`); the
decode then holds its bytes in the budget while it runs.

Bad files are skipped, not fatal: a file that is a symbolic link, not a regular file, over the
size limits, or not a readable PNG/JPEG is left out and named in the returned warnings (up to
:attr:`Limits.max_named` names). The whole set is refused (``DatasetError``) when a limit on the
set itself is passed (images, bytes, classes), or a class has too few usable images. Messages
name the set by its label (what the user gave), never by where it is stored. Numpy and Pillow
only (no TensorFlow).
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.data import folder_scan, image_files, kinds, refs
from cnnlab.data.dataset import Dataset, DatasetError, cached
from cnnlab.memory import budget

Progress = Callable[[int, int], None]  # progress(images_done, images_total)
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Limits:
    """What a class folder may hold; the defaults suit a classroom server."""

    max_images: int = 100_000  # image files in the whole set
    max_file_bytes: int = 10 * 2**20  # one file (10 MiB)
    max_pixels: int = 4000 * 3000  # one image, as its header declares (a 12-megapixel photo)
    max_total_bytes: int = 2 * 2**30  # all image files together (2 GiB)
    max_array_bytes: int = 2**30  # the loaded uint8 images (1 GiB)
    max_classes: int = 100
    min_per_class: int = 2  # usable images per class (one to train on, one to test)
    max_side: int = refs.MAX_SIDE  # image height or width after resizing
    propose_side: int = 64  # over this many pixels a side, a size is proposed, not assumed
    max_decode_seconds: float = 30.0  # estimated CPU to decode the set (CNNLAB_DECODE_SECONDS)
    max_named: int = 10  # bad files named in a warning


class SizeNeeded(DatasetError):
    """No image size was given and one is needed: the images have several sizes, or share one
    over :attr:`Limits.propose_side` pixels a side. ``sizes`` lists them (smallest first),
    ``proposal`` is the size to offer: the most common one (of equally common ones, the
    smallest), shrunk to fit that side."""

    def __init__(self, message: str, sizes: list[tuple[int, int]],
                 proposal: tuple[int, int]) -> None:
        super().__init__(message)
        self.sizes = sizes
        self.proposal = proposal


def _size_text(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def proposed_size(size: tuple[int, int], side: int) -> tuple[int, int]:
    """``size`` shrunk, keeping its shape, until neither side is over ``side`` (at least 4).

    Example:
        >>> proposed_size((512, 384), 64), proposed_size((28, 28), 64)
        ((64, 48), (28, 28))
    """
    scale = min(1.0, side / max(size))
    return max(4, round(size[0] * scale)), max(4, round(size[1] * scale))


def _warning(skipped: list[tuple[Path, str]], folder: Path, limits: Limits) -> str:
    named = "; ".join(f"{p.relative_to(folder) if p.is_relative_to(folder) else p.name}: {why}"
                      for p, why in skipped[:limits.max_named])
    extra = len(skipped) - limits.max_named
    more = f"; and {extra} more" if extra > 0 else ""
    return f"skipped {len(skipped)} file(s) that cannot be used: {named}{more}"


def load_class_folder(path: str | os.PathLike[str], ref: refs.DatasetRef, seed: int = 0, *,
                      limits: Limits | None = None,
                      progress: Progress | None = None) -> tuple[Dataset, list[str]]:
    """Load a class-folder tree as the data set ``ref``; cached while its files are unchanged.

    Args:
        path: the folder (one subfolder per class, optionally inside ``train/`` and ``test/``).
        ref: which set this is (its label names it in messages) and its ``image_size`` and
            ``colour`` (:class:`~cnnlab.data.refs.DatasetRef`).
        seed: the seed of the 80/20 split (unused with ``train/`` and ``test/``).
        limits: the limits; :class:`Limits` defaults when None.
        progress: called as ``progress(images_done, images_total)`` while decoding.
    Returns:
        ``(dataset, warnings)``: read-only uint8 images shaped ``(n, height, width, 1 or 3)``,
        preparation :data:`kinds.RESIZE`; the warnings (also ``dataset.warnings``) say what
        was read and name skipped files.
    Raises:
        SizeNeeded: no ``image_size`` and the images differ in size or are over
            :attr:`Limits.propose_side` pixels a side (nothing decoded).
        DatasetError: not a class folder, a limit passed, or a class with too few images.
        MemoryBudgetError: the images would not fit the server's memory budget.

    Example:
        >>> ref = refs.folder("shapes", (32, 32))
        >>> ds, notes = load_class_folder("shapes", ref)  # doctest: +SKIP
    """
    limits = limits or Limits()
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"no folder {ref.label}: give a folder with one subfolder of "
                           "PNG/JPEG images per class")
    if ref.image_size and max(ref.image_size) > limits.max_side:
        raise DatasetError(f"image size must be two whole numbers H W between 1 and "
                           f"{limits.max_side}; received {ref.image_size!r}")
    folder = folder.resolve()
    found = folder_scan.scan(folder, limits, ref.label)
    key = ("class-folder", str(folder), int(seed), limits, found.stamp, ref)
    dataset = cached(key, lambda: _build(folder, found, ref, int(seed), limits, progress))
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


def _chosen_size(headers: list, ref: refs.DatasetRef, limits: Limits) -> tuple[int, int]:
    """The size to decode at: the ref's, or the images' own when they share one that is small
    enough; else :class:`SizeNeeded` with the sizes and a proposal."""
    if ref.image_size is not None:
        return ref.image_size
    counts = collections.Counter((h.height, h.width) for *_, h in headers)
    if not counts:
        return 1, 1  # no usable image: the split says which class is short
    sizes = sorted(counts)
    common = min(sizes, key=lambda size: (-counts[size], size))  # ties: the smallest
    proposal = proposed_size(common, limits.propose_side)
    if len(sizes) > 1:
        shown = ", ".join(_size_text(s) for s in sizes[:6]) + (", ..." if len(sizes) > 6 else "")
        raise SizeNeeded(f"images have {len(sizes)} sizes ({shown}): give --image-size H W",
                         sizes, proposal)
    if max(sizes[0]) > limits.propose_side:
        raise SizeNeeded(f"the images are {_size_text(sizes[0])}, over {limits.propose_side} "
                         f"pixels a side: give --image-size H W to resize them (e.g. "
                         f"{proposal[0]} {proposal[1]})", sizes, proposal)
    return sizes[0]


def _check_cost(headers: list, size: tuple[int, int], channels: int, ref: refs.DatasetRef,
                limits: Limits) -> int:
    """Refuse the set before decoding if it would take too much CPU or memory; its bytes."""
    seconds = sum(image_files.decode_cost(h, size) for *_, h in headers)
    if seconds > limits.max_decode_seconds:
        pixels = sum(h.height * h.width for *_, h in headers)
        raise DatasetError(
            f"{ref.label}: its {len(headers):,} images declare {pixels / 1e6:,.1f} megapixels, "
            f"about {seconds:,.1f} s of the server's CPU to decode, over its "
            f"{limits.max_decode_seconds:g} s (CNNLAB_DECODE_SECONDS); use fewer or smaller "
            "images (e.g. resized to 64 pixels a side before zipping)")
    nbytes = len(headers) * size[0] * size[1] * channels
    shape = f"{_size_text(size)}×{channels}"
    if nbytes > limits.max_array_bytes:
        raise DatasetError(f"{ref.label}: {len(headers):,} images of {shape} need more than "
                           f"{limits.max_array_bytes:,} bytes; use a smaller --image-size or "
                           "fewer images")
    budget.BUDGET.check(nbytes, f"the data set {ref.label} ({len(headers):,} images of {shape})")
    return nbytes


def _build(folder: Path, found: folder_scan.Found, ref: refs.DatasetRef, seed: int,
           limits: Limits, progress: Progress | None) -> Dataset:
    skipped = list(found.skipped)
    headers = _headers(found, limits, skipped)
    height, width = _chosen_size(headers, ref, limits)
    rgb = any(h.colour for *_, h in headers) if ref.colour is None else ref.colour == kinds.RGB
    channels = 3 if rgb else 1
    nbytes = _check_cost(headers, (height, width), channels, ref, limits)
    # Held while decoding: the decoded images, and for a moment their split copy too.
    with budget.BUDGET.reserve(2 * nbytes, f"loading the data set {ref.label}"):
        images = np.zeros((len(headers), height, width, channels), np.uint8)
        keep = np.zeros(len(headers), bool)
        for i, (path, *_rest) in enumerate(headers):
            try:
                images[i] = image_files.decode(path, (height, width), rgb,
                                               limits.max_file_bytes, limits.max_pixels)
                keep[i] = True
            except image_files.BadImage as exc:
                skipped.append((path, str(exc)))
            if progress is not None:
                progress(i + 1, len(headers))
        kept = np.flatnonzero(keep)
        labels = np.array([label for _, label, _, _ in headers], np.int64)[kept]
        splits = np.array([split for _, _, split, _ in headers], object)[kept]
        notes = list(found.notes) + ([_warning(skipped, folder, limits)] if skipped else [])
        train, test = _split(labels, splits, found.class_names, seed, ref, limits, notes)
        x_train, x_test = images[kept[train]], images[kept[test]]  # one copy, not two
        del images
    how = "given train/ and test/" if splits.size and splits[0] else f"80/20 split, seed {seed}"
    return Dataset(ref=ref, class_names=found.class_names,
                   x_train=x_train, y_train=labels[train], x_test=x_test, y_test=labels[test],
                   source=f"class folders ({how}; {_size_text((height, width))} "
                          f"{'rgb' if rgb else 'grey'})",
                   preparation=kinds.RESIZE, warnings=tuple(notes))


def _split(labels: np.ndarray, splits: np.ndarray, class_names: tuple[str, ...], seed: int,
           ref: refs.DatasetRef, limits: Limits,
           notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the train and test images, each shuffled (classes mixed), seeded."""
    counts = np.bincount(labels, minlength=len(class_names))
    few = [f"{name} ({count})" for name, count in zip(class_names, counts, strict=True)
           if count < limits.min_per_class]
    if few:
        raise DatasetError(f"{ref.label}: every class needs at least {limits.min_per_class} "
                           f"usable images; {', '.join(few)} "
                           f"{'has' if len(few) == 1 else 'have'} fewer"
                           + (f" ({notes[-1]})" if notes[-1].startswith("skipped") else ""))
    rng = np.random.default_rng(seed)
    if splits.size and splits[0]:
        train, test = np.flatnonzero(splits == "train"), np.flatnonzero(splits == "test")
        missing = [n for c, n in enumerate(class_names) if not (labels[train] == c).any()]
        if missing or not len(test):
            where = "train/" if missing else "test/"
            raise DatasetError(f"{ref.label}: {where} has no usable images of "
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
