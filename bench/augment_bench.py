"""Benchmark augmentation: test accuracy of the built-in digits with and without it, and the
accuracy on canvas-like renderings of the held-out digits.

Trains the ``two-conv`` preset on ``mnist-5k`` (4,000 training images, no validation
split, batch 64, Adam 1e-3, seed 0 or ``--seed``) through the training routine, once per
augmentation strength (``off``, ``light``, ``strong``), 10 epochs each, and prints one row
per strength:

* test accuracy on the 1,000 held-out digits as they are (goal: >= 0.97 with augmentation);
* accuracy on canvas-like renderings of the same held-out digits: each shrunk to 55-85 % of
  its size and moved off-centre by up to 5 pixels each way, like a child's drawing on the
  canvas that nobody centred (made with Pillow from the test images, seeded, so not with
  the Keras layers that augment the training images);
* the training time.

Usage: ``python bench/augment_bench.py [--smoke] [--seed S]`` (``--smoke``: 500 training images,
1 epoch, a few seconds per strength; the figures then mean nothing).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from cnnlab.architecture import presets  # noqa: E402
from cnnlab.data import datasets, refs  # noqa: E402
from cnnlab.inspect import inference  # noqa: E402
from cnnlab.runs import augmentation  # noqa: E402
from cnnlab.runs.records import Hyperparameters  # noqa: E402
from cnnlab.training import routine  # noqa: E402

GOAL = 0.97


def canvas_like(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """``images`` (uint8 ``(n, 28, 28, 1)``) each shrunk to 55-85 % and moved up to 5 px
    off-centre each way, on a black background: digits drawn small and anywhere."""
    rng = np.random.default_rng(seed)
    out = np.zeros_like(images)
    height, width = images.shape[1:3]
    for i, image in enumerate(images[..., 0]):
        scale = rng.uniform(0.55, 0.85)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = Image.fromarray(image).resize(size, Image.Resampling.BILINEAR)
        canvas = Image.new("L", (width, height))
        dx, dy = rng.integers(-5, 6, size=2)
        canvas.paste(small, ((width - size[0]) // 2 + int(dx), (height - size[1]) // 2 + int(dy)))
        out[i, ..., 0] = np.asarray(canvas)
    return out


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    """The share of ``images`` the model labels right."""
    probabilities = inference.predict_batch(model, images, 256)
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def train(data, strength: str, epochs: int, seed: int):
    """One run of ``two-conv`` with augmentation ``strength``; returns (run, seconds)."""
    settings = Hyperparameters(epochs=epochs, batch_size=64, validation_fraction=0.0, seed=seed,
                               augment=strength)
    start = time.perf_counter()
    run = routine.train(presets.get("two-conv"), data, settings, name=f"augment-{strength}")
    return run, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a quick check")
    parser.add_argument("--seed", type=int, default=0, help="the runs' seed (default 0)")
    args = parser.parse_args()
    data = datasets.load_dataset("mnist-5k")
    epochs = 10
    if args.smoke:
        data = datasets.Dataset(refs.recorded("mnist-5k-smoke"), data.class_names,
                                data.x_train[:500], data.y_train[:500], data.x_test[:200],
                                data.y_test[:200])
        epochs = 1
    canvas = canvas_like(data.x_test)
    print(f"two-conv on {data.name}: {len(data.y_train):,} training images, {epochs} epochs, "
          f"seed {args.seed}; "
          f"{len(data.y_test):,} held-out digits, as they are and canvas-like "
          f"({datetime.date.today().isoformat()})")
    header = f"{'augment':<8}  {'test accuracy':>13}  {'canvas-like':>11}  {'train s':>8}  strength"
    print(header)
    print("-" * len(header))
    best = 0.0
    for strength in augmentation.NAMES:
        run, seconds = train(data, strength, epochs, args.seed)
        canvas_accuracy = accuracy(run.model, canvas, data.y_test)
        if strength != "off":
            best = max(best, run.test_accuracy)
        print(f"{strength:<8}  {run.test_accuracy:>13.4f}  {canvas_accuracy:>11.4f}  "
              f"{seconds:>8.1f}  {augmentation.describe(strength)}", flush=True)
    verdict = "yes" if best >= GOAL else "NO"
    note = "  (smoke run (tiny sizes, not a verdict))" if args.smoke else ""
    print(f"goal: test accuracy >= {GOAL} with augmentation: best {best:.4f}, met? {verdict}"
          f"{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
