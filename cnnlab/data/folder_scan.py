"""Finding the images of a class-folder tree (see :mod:`cnnlab.data.class_folders`): the
class folders, the optional ``train/`` and ``test/`` split, the image files in each (walked
recursively, links never followed), what was ignored, and a stamp that changes when any file
does, for the cache. Nothing is opened here but folders.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlab.data import image_files
from cnnlab.data.dataset import DatasetError

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Found:
    """The image files of a tree and what the scan noticed."""

    files: list[tuple[Path, int, str]]  # (path, class index, split: "train", "test" or "")
    class_names: tuple[str, ...]
    skipped: list[tuple[Path, str]]
    notes: list[str]
    stamp: str


def is_class_folder(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds at least one subfolder that is not hidden (a class, or
    ``train``)."""
    try:
        return any(e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
                   for e in os.scandir(folder))
    except OSError:
        return False


def _subfolders(folder: Path, skipped: list, notes: list, shown: str) -> list[str]:
    names, loose = [], 0
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        if entry.is_symlink():
            skipped.append((Path(entry.path), "a symbolic link (links are refused)"))
        elif entry.is_dir():
            names.append(entry.name)
        else:
            loose += 1
    if loose:
        notes.append(f"ignored {loose} file(s) directly in {shown}: images go in one subfolder "
                     "per class")
    return names


def _walk(folder: Path, label: int, split: str, found: list, skipped: list, ignored: list) -> None:
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for d in dirs:
            if os.path.islink(os.path.join(root, d)):
                skipped.append((Path(root, d), "a symbolic link (links are refused)"))
        for name in sorted(files):
            if name.startswith("."):
                continue
            if image_files.is_image_name(name):
                found.append((Path(root, name), label, split))
            else:
                ignored.append(name)


def scan(folder: Path, limits: Any, shown: str) -> Found:
    """The tree's image files and class names, checked against ``limits`` (a
    :class:`cnnlab.data.class_folders.Limits`); DatasetError for a bad layout or a limit.
    Notes and messages call the folder ``shown`` (what the user gave), never its path."""
    skipped: list[tuple[Path, str]] = []
    notes: list[str] = []
    top = _subfolders(folder, skipped, notes, shown)
    layout = "an 80/20 split"
    if "train" in top and "test" in top:
        per_split = {s: _subfolders(folder / s, skipped, notes, f"{shown}: {s}/")
                     for s in SPLITS}
        if set(per_split["train"]) != set(per_split["test"]):
            differ = sorted(set(per_split["train"]) ^ set(per_split["test"]))
            raise DatasetError(f"{shown}: train/ and test/ must hold the same class folders; "
                               f"only one of them has {', '.join(differ)}")
        names, roots = per_split["train"], [(folder / s, s) for s in SPLITS]
        layout = "its train/ and test/ folders"
        extra = [n for n in top if n not in SPLITS]
        if extra:
            notes.append(f"ignored {', '.join(extra)} in {shown}: with train/ and test/, only "
                         "those two are read")
    else:
        names, roots = top, [(folder, "")]
    if len(names) < 2:
        raise DatasetError(f"{shown} holds {len(names)} class folder(s); put the images of each "
                           f"class (at least 2 classes) in a subfolder named after it, e.g. "
                           f"cat/1.png and dog/1.png, optionally inside train/ and test/")
    if len(names) > limits.max_classes:
        raise DatasetError(f"{shown} holds {len(names):,} class folders; at most "
                           f"{limits.max_classes} classes are accepted")
    files: list[tuple[Path, int, str]] = []
    ignored: list[str] = []
    for root, split in roots:
        for label, name in enumerate(names):
            _walk(root / name, label, split, files, skipped, ignored)
    if ignored:
        notes.append(f"ignored {len(ignored)} file(s) that are not .png, .jpg or .jpeg: "
                     f"{', '.join(ignored[:limits.max_named])}")
    if len(files) > limits.max_images:
        raise DatasetError(f"{shown} holds {len(files):,} images; at most "
                           f"{limits.max_images:,} are accepted")
    digest, total = hashlib.sha256(layout.encode()), 0
    for path, _, _ in files:
        try:
            info = path.lstat()
        except OSError:
            continue
        total += info.st_size
        digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    if total > limits.max_total_bytes:
        raise DatasetError(f"{shown} holds {total:,} bytes of images; at most "
                           f"{limits.max_total_bytes:,} bytes are accepted")
    notes.insert(0, f"{len(files):,} images in {len(names)} classes, split by {layout}")
    return Found(files, tuple(names), skipped, notes, digest.hexdigest())


