"""``cnnlab train``'s data set options: ``--dataset``'s companions ``--image-size H W`` and
``--color`` for class folders, made into the run's :class:`~cnnlab.data.refs.DatasetRef` here,
once, and loading the set with a download notice, a progress line for large folders, and the
loader's warnings (skipped files) on stderr.

Class folders whose images all share one size over 64 pixels a side (``Limits.propose_side``)
and no ``--image-size``: the proposed size (that side, the shape kept) is used, with a note
naming it; images of several sizes still need ``--image-size``. ``CNNLAB_DECODE_SECONDS``
bounds the decoding as in the web app.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnlab.data.datasets import Dataset
    from cnnlab.data.refs import DatasetRef

PROGRESS_EVERY = 1000  # images between progress lines while a class folder loads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--image-size`` and ``--color`` to ``cnnlab train``."""
    parser.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                        help="for a class folder: resize every image to H×W pixels (needed when "
                             "its images differ in size; default their own size)")
    parser.add_argument("--color", choices=("rgb", "grayscale"), default=None,
                        help="for a class folder: rgb or grayscale (default rgb when any image "
                             "is in colour)")


def download_notice(name: str) -> Callable[[int, int], None]:
    """``progress(done, total)`` that says once on stderr that ``name`` is downloading."""
    shown = []

    def progress(done: int, total: int) -> None:
        if not shown:
            print(f"downloading {name} ({total / 1e6:.0f} MB)...", file=sys.stderr, flush=True)
            shown.append(True)

    return progress


def _loading_notice(name: str) -> Callable[[int, int], None]:
    def progress(done: int, total: int) -> None:
        if total >= PROGRESS_EVERY and (done % PROGRESS_EVERY == 0 or done == total):
            print(f"reading {name}: {done:,} of {total:,} images", file=sys.stderr, flush=True)

    return progress


def dataset_ref(args: argparse.Namespace) -> DatasetRef:
    """The ref of ``--dataset`` with ``--image-size`` and ``--color``: a named set, or a
    folder by its absolute path (so the run's record loads the same folder from anywhere).

    Raises:
        ValueError: an unknown name, a missing folder, or options for a named set.
    """
    from cnnlab.data import datasets, idx, kinds, refs

    text = str(args.dataset).strip()
    size, color = getattr(args, "image_size", None), getattr(args, "color", None)
    colour = None if color is None else (kinds.RGB if color == "rgb" else kinds.GREY)
    key = text.lower().replace("_", "-")
    if key in refs.NAMES:
        if size or colour:
            raise datasets.DatasetError(f"--image-size and --color are for class folders; "
                                        f"{text} has its own size and colour")
        return refs.named(key)
    folder = Path(text).expanduser()
    if not folder.is_dir():
        looks_like_path = any(c in text for c in "/\\~.") or folder.exists()
        what = f"no folder {folder}" if looks_like_path else f"unknown data set {text!r}"
        raise datasets.DatasetError(
            f"{what}: use one of {', '.join(refs.NAMES)} (mnist-5k is built in and works "
            "offline), the path of a folder with one subfolder of PNG/JPEG images per class "
            "(optionally inside train/ and test/), or of a folder holding the MNIST-format "
            f"files {', '.join(stem for _, stem in idx.FOLDER_FILES)} (each optionally .gz)")
    return refs.folder(folder.absolute(), size, colour)


def load(args: argparse.Namespace) -> Dataset:
    """The data set ``args.dataset`` names, its warnings printed to stderr.

    Raises:
        DatasetError: it cannot be loaded; for a class folder whose images differ in size,
            the message asks for ``--image-size H W``.
    """
    from cnnlab.data import class_folders, datasets
    from cnnlab.workspaces import settings

    ref = dataset_ref(args)
    limits = class_folders.Limits(max_decode_seconds=settings.decode_seconds())

    def load_ref(ref: DatasetRef) -> Dataset:
        return datasets.load(ref, download_notice(ref.label), limits=limits,
                             folder_progress=_loading_notice(ref.label))

    try:
        dataset = load_ref(ref)
    except class_folders.SizeNeeded as exc:
        if len(exc.sizes) != 1:
            raise  # several sizes: which one to train at is the user's choice
        height, width = exc.proposal
        print(f"note: the images are {exc.sizes[0][0]}×{exc.sizes[0][1]}, over "
              f"{limits.propose_side} pixels a side: training at {height}×{width} (give "
              "--image-size H W for another size)", file=sys.stderr, flush=True)
        dataset = load_ref(ref.with_options(exc.proposal, ref.colour))
    for warning in dataset.warnings:
        print(f"note: {warning}", file=sys.stderr, flush=True)
    return dataset
