"""Time the Draw page's "Inside the decision" pieces on the default two-conv model.

One run measures, as the page does them for one 28×28 drawing: a unit's outline (region and
picture), saliency + Grad-CAM (one compiled call, both maps, resized and normalised), one
transformed re-prediction (shift, rotate, scale, thicken, then the Predictor), and the
stability strip (21 transformed drawings and ONE batched prediction). Prints p50/p95 in ms::

    python bench/explain_bench.py            # ~20 s
    python bench/explain_bench.py --smoke    # a few repetitions, to check it runs

Exits 1 when a p95 misses its target, except with ``--smoke`` (too few samples to judge).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inference_bench import percentiles  # noqa: E402 (the shared timing helper)

TARGETS_MS = {"outline": 20.0, "saliency + Grad-CAM": 50.0, "transformed re-prediction": 30.0,
              "stability strip (21 images)": 300.0}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; returns 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few repetitions only")
    parser.add_argument("--reps", type=int, default=100, help="timed calls per case")
    args = parser.parse_args(argv)
    reps = 3 if args.smoke else args.reps

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cnnlab.architecture import presets, shapes
    from cnnlab.inspect import attribution, inference, receptive, transform
    from cnnlab.models import builder
    from cnnlab.views import overlay

    arch = presets.get("two-conv")
    summary = shapes.summarize(arch)
    model = builder.build_model(arch, seed=0)
    predictor = inference.Predictor(model)
    explainer = attribution.Explainer(model, summary)
    image = np.zeros((28, 28), np.uint8)
    image[5:23, 12:16] = 255  # a "1"
    last_map = receptive.unit_rows(summary)[-1]
    h, w = last_map.output_shape[:2]

    def outline() -> np.ndarray:
        box = receptive.input_region(summary, last_map.name, h // 2, w // 2)
        return overlay.outlined(image, box, 8)

    def saliency_gradcam() -> tuple[np.ndarray, np.ndarray]:
        result = explainer.explain(image, 1)
        return overlay.heat_overlay(image, result.gradcam, 8), overlay.heat_overlay(
            image, result.saliency, 8)

    def transformed() -> np.ndarray:
        moved = transform.transform(image, dx=3, dy=-2, angle=15, scale=1.1, thickness=1)
        return predictor.probabilities(moved)

    def strip() -> object:
        return transform.sweep(image, lambda batch: inference.predict_batch(model, batch))

    cases = [("outline", outline), ("saliency + Grad-CAM", saliency_gradcam),
             ("transformed re-prediction", transformed), ("stability strip (21 images)", strip)]
    print(f"two-conv (untrained), one 28x28 drawing, {os.cpu_count()} CPUs, "
          f"{'smoke run (tiny sizes, not a verdict)' if args.smoke else f'{reps} calls a case'}")
    print(f"{'case':30s} {'p50 ms':>8s} {'p95 ms':>8s} {'target':>9s}  met?")
    missed = False
    for name, fn in cases:
        p50, p95 = percentiles(fn, reps, warmup=1 if args.smoke else 3)
        target = TARGETS_MS[name]
        met = "—" if args.smoke else ("yes" if p95 <= target else "NO")
        missed |= met == "NO"
        print(f"{name:30s} {p50:8.2f} {p95:8.2f} {'≤ ' + format(target, 'g'):>9s}  {met}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
