"""Benchmark loading a class folder: time and memory of 10,000 images in 10 class folders.

Writes ``--images`` PNGs (default 10,000; 28×28 grey, or 32×32 colour with ``--colour``) of
random noise into a temporary folder, one subfolder per class, then loads it with
:func:`cnnlab.data.class_folders.load_class_folder` three times and prints:

* the first load (headers read, every image decoded), cold for Python, warm for the OS's file
  cache (the files were just written);
* a second load of the unchanged folder (the scan and the cache: no image decoded);
* a load with ``image_size`` 24×24 (every image decoded and resized);
* the loaded arrays' bytes and the peak of Python's traced allocations during another load
  (``tracemalloc``, untimed: numpy's and Pillow's buffers included), against the pixel bytes.

Usage: ``python bench/class_folder_bench.py [--images N] [--colour]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnnlab.data import class_folders, datasets, refs  # noqa: E402

CLASSES = 10


def write_folder(root: Path, images: int, colour: bool) -> None:
    rng = np.random.default_rng(0)
    shape = (32, 32, 3) if colour else (28, 28)
    for i in range(images):
        folder = root / f"class_{i % CLASSES}"
        folder.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, shape, np.uint8)).save(folder / f"{i:05d}.png")


def timed(call):
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--colour", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _, writing = timed(lambda: write_folder(root, args.images, args.colour))
        ref = refs.folder(root)
        (ds, _), first = timed(lambda: class_folders.load_class_folder(root, ref))
        (again, _), second = timed(lambda: class_folders.load_class_folder(root, ref))
        _, resized = timed(lambda: class_folders.load_class_folder(
            root, ref.with_options((24, 24), None)))
        datasets.clear_cache()
        tracemalloc.start()  # slows loading down: a separate, untimed load
        class_folders.load_class_folder(root, ref)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        pixels = ds.x_train.nbytes + ds.x_test.nbytes
        print(f"{args.images:,} images {ds.image_shape} in {CLASSES} classes "
              f"(written in {writing:.1f} s)")
        print(f"first load      {first:7.2f} s  ({args.images / first:,.0f} images/s)")
        print(f"second load     {second:7.2f} s  (cached: {again is ds})")
        print(f"resized 24×24   {resized:7.2f} s")
        print(f"pixels {pixels / 2**20:.1f} MiB; peak traced allocations while loading "
              f"{peak / 2**20:.1f} MiB ({peak / pixels:.1f}× the pixels)")
        datasets.clear_cache()


if __name__ == "__main__":
    main()
