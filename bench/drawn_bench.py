"""Benchmark drawn classes: accuracy and time of the default network on 3 classes × 10
drawings, with and without the My classes page's copies.

The drawings are synthesised like a student's on the canvas (``tests/drawn_shapes.py``:
crosses, pluses — a cross turned 45° — and squares, each placed, sized, slanted up to ±14°
and stroked a little differently),
prepared as the page prepares them (MNIST-style centring), and trained exactly as the page
trains them: :meth:`cnnlab.data.drawn.DrawnSet.to_dataset` (8 of each class for training, 2
held out) and :func:`cnnlab.training.multiply.with_copies`, then the ``two-conv`` preset
through the training routine, batch 16, Adam 1e-3,
no validation split, 15 epochs. Accuracy is measured on 300 fresh drawings (100 per class,
another seed, slanted up to ±23°: drawn less carefully than the examples) rather than the 6
held out, which would say little. Rows: copies 0 (none) and
4 ``light`` copies per drawing (shifts, rotations, zoom, pen width), each over three seeds.

Usage: ``python bench/drawn_bench.py [--smoke]`` (``--smoke``: one seed, 2 epochs, 30 fresh
drawings; the figures then mean nothing).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
from drawn_shapes import canvas  # noqa: E402

from cnnlab.architecture import presets  # noqa: E402
from cnnlab.data import drawn, refs  # noqa: E402
from cnnlab.data.datasets import Dataset  # noqa: E402
from cnnlab.inspect import inference, preprocess  # noqa: E402
from cnnlab.runs.records import Hyperparameters  # noqa: E402
from cnnlab.training import multiply, routine  # noqa: E402

PER_CLASS = 10
SHAPES = ("cross", "plus", "square")
FRESH_SPREAD = 1.6  # the fresh drawings slant up to 1.6 times as far
COPIES = (0, 4)


def drawings(per_class: int, seed: int, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` prepared drawings of each shape: uint8 (n, 28, 28) and their labels."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, kind in enumerate(SHAPES):
        for _ in range(per_class):
            images.append(preprocess.preprocess_canvas(canvas(kind, rng, spread)).as_uint8())
            labels.append(label)
    return np.stack(images), np.array(labels)


def one_run(copies: int, seed: int, epochs: int, fresh: tuple[np.ndarray, np.ndarray]
            ) -> tuple[float, float, float]:
    """(accuracy on the fresh drawings, seconds to make the copies, seconds to train)."""
    images, labels = drawings(PER_CLASS, seed)
    drawn_set = drawn.DrawnSet(SHAPES, images, labels)
    start = time.perf_counter()
    made = multiply.with_copies(drawn_set.to_dataset(seed=seed), copies, seed=seed)
    copying = time.perf_counter() - start
    data = Dataset(refs.recorded("drawn-bench"), SHAPES, made.x_train, made.y_train, fresh[0],
                   fresh[1], preparation=made.preparation)
    settings = Hyperparameters(epochs=epochs, batch_size=16, validation_fraction=0.0, seed=seed)
    start = time.perf_counter()
    run = routine.train(presets.get(presets.DEFAULT_PRESET), data, settings,
                        name=f"drawn-{copies}")
    seconds = time.perf_counter() - start
    probabilities = inference.predict_batch(run.model, fresh[0][..., None], 256)
    return float(np.mean(np.argmax(probabilities, axis=1) == fresh[1])), copying, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a quick check")
    args = parser.parse_args()
    seeds, epochs, fresh_per_class = ((0,), 2, 10) if args.smoke else ((0, 1, 2), 15, 100)
    fresh = drawings(fresh_per_class, seed=1000, spread=FRESH_SPREAD)
    print(f"{presets.DEFAULT_PRESET} on {len(SHAPES)} drawn classes x {PER_CLASS} drawings "
          f"({', '.join(SHAPES)}): 8 per class trained, {epochs} epochs, batch 16; accuracy on "
          f"{len(fresh[1])} fresh drawings; seeds {', '.join(map(str, seeds))} "
          f"({datetime.date.today().isoformat()})")
    header = (f"{'copies':<7}  {'training images':>15}  {'accuracy (mean, min-max)':>24}  "
              f"{'copies s':>8}  {'train s':>7}")
    print(header)
    print("-" * len(header))
    for copies in COPIES:
        results = [one_run(copies, seed, epochs, fresh) for seed in seeds]
        accuracies = [r[0] for r in results]
        spread = f"{np.mean(accuracies):.3f} ({min(accuracies):.3f}-{max(accuracies):.3f})"
        print(f"{copies:<7}  {8 * len(SHAPES) * (1 + copies):>15}  {spread:>24}  "
              f"{np.mean([r[1] for r in results]):>8.2f}  "
              f"{np.mean([r[2] for r in results]):>7.1f}", flush=True)
    if args.smoke:
        print("smoke run (tiny sizes, not a verdict)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
