"""``cnnlab train``'s data set options: ``--dataset``'s companions ``--image-size H W`` and
``--color`` for class folders, and loading the set with a download notice, a progress line for
large folders, and the loader's warnings (skipped files) on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnlab.data.datasets import Dataset

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


def load(args: argparse.Namespace) -> Dataset:
    """The data set ``args.dataset`` names, its warnings printed to stderr.

    Raises:
        DatasetError: it cannot be loaded; for a class folder whose images differ in size,
            the message asks for ``--image-size H W``.
    """
    from cnnlab.data import datasets

    size, color = getattr(args, "image_size", None), getattr(args, "color", None)
    key = str(args.dataset).strip().lower()
    if (size or color) and key in datasets.NAMES:
        raise datasets.DatasetError(f"--image-size and --color are for class folders; "
                                    f"{args.dataset} has its own size and colour")
    dataset = datasets.load_dataset(args.dataset, download_notice(args.dataset),
                                    image_size=None if size is None else tuple(size),
                                    color=color, folder_progress=_loading_notice(args.dataset))
    for warning in dataset.warnings:
        print(f"note: {warning}", file=sys.stderr, flush=True)
    return dataset
