"""Time single-image inference and rendering for the default two-conv model.

The model is untrained: its arithmetic (and so its speed) does not depend on the weights'
values. Compares ``cnnlab.inspect.inference.Predictor`` with ``model.predict`` and plain ``model()``
calls and prints p50/p95 in milliseconds with the speed-up over ``model.predict``::

    python bench/inference_bench.py            # ~30 s
    python bench/inference_bench.py --smoke    # a few repetitions, to check it runs

Exits 1 when a target is missed (probabilities p95 <= 30 ms, feature maps p95 <= 50 ms),
except with ``--smoke``, whose few samples are too noisy to judge.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

TARGETS_MS = {"Predictor.probabilities": 30.0, "Predictor.feature_maps": 50.0}


def percentiles(fn: Callable[[], object], reps: int, warmup: int = 3) -> tuple[float, float]:
    """``(p50, p95)`` in ms of ``fn()`` over ``reps`` timed calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def once_ms(fn: Callable[[], object]) -> float:
    """Milliseconds of one call of ``fn`` (building and a first call: tracing, compiling)."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def render_all(maps: list, render) -> list[np.ndarray]:
    """Every layer as the Inspect page would show it: grids for maps, strips for vectors."""
    return [render.channel_grid(m.values)[0] if m.spatial else render.vector_strip(m.values)[0]
            for m in maps]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).
    Returns:
        The exit status: 0, or 1 when a target is missed in a full run.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few repetitions only")
    parser.add_argument("--reps", type=int, default=300, help="timed calls per fast case")
    args = parser.parse_args(argv)
    reps = 5 if args.smoke else args.reps
    slow_reps = 3 if args.smoke else 40  # model.predict takes ~50-100 ms a call

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import keras

    from cnnlab.architecture import presets
    from cnnlab.inspect import inference
    from cnnlab.models import builder
    from cnnlab.views import render

    model = builder.build_model(presets.get("two-conv"), seed=0)
    image = np.random.default_rng(0).integers(0, 256, size=(28, 28), dtype=np.uint8)
    batch = image[None, :, :, None].astype(np.float32)  # (1, 28, 28, 1)
    maps_model = keras.Model(model.input, [layer.output for layer in
                                           inference.probed_layers(model)])

    # The first traced function of a process pays TF's one-off start-up (~0.3 s); not timed.
    inference.Predictor(model).probabilities(image)
    first = {
        "Predictor": once_ms(lambda: inference.Predictor(model).probabilities(image)),
        "Predictor(jit_compile=True)": once_ms(
            lambda: inference.Predictor(model, jit_compile=True).probabilities(image)),
    }
    predictor = inference.Predictor(model)
    jit = inference.Predictor(model, jit_compile=True)
    weights = [model.get_weights(), [w * 0.5 for w in model.get_weights()]]
    views = [predictor.at_weights(w) for w in weights]
    first["at_weights: clone + feature_maps"] = once_ms(lambda: views[0].feature_maps(image))
    maps = predictor.feature_maps(image)
    flip = iter(range(10**9))

    cases = [
        ("model.predict", lambda: model.predict(batch, verbose=0), slow_reps),
        ("model(x)", lambda: model(batch, training=False).numpy(), reps),
        ("Predictor.probabilities", lambda: predictor.probabilities(image), reps),
        ("  probabilities, jit_compile=True", lambda: jit.probabilities(image), reps),
        ("  at_weights, alternating 2 epochs",
         lambda: views[next(flip) % 2].probabilities(image), reps),
        ("multi-output model(x)",
         lambda: [o.numpy() for o in maps_model(batch, training=False)], reps),
        ("Predictor.feature_maps", lambda: predictor.feature_maps(image), reps),
        ("  feature_maps, jit_compile=True", lambda: jit.feature_maps(image), reps),
        ("render all layers", lambda: render_all(maps, render), reps),
        ("feature_maps + render all", lambda: render_all(predictor.feature_maps(image),
                                                         render), reps),
    ]
    print(f"two-conv (untrained), one 28x28 image, {os.cpu_count()} CPUs, "
          f"{'smoke run' if args.smoke else f'{reps} calls per case'}")
    print(f"{'case':38s} {'p50 ms':>8s} {'p95 ms':>8s} {'vs predict':>11s}")
    results: dict[str, tuple[float, float]] = {}
    for name, fn, n in cases:
        p50, p95 = percentiles(fn, n, warmup=1 if args.smoke else 3)
        results[name] = (p50, p95)
        base = results["model.predict"][0]
        print(f"{name:38s} {p50:8.2f} {p95:8.2f} {base / p50:10.0f}x")
    print("first call (build + trace):")
    for name, ms in first.items():
        print(f"  {name:36s} {ms:8.0f} ms")

    missed = [f"{name} p95 {results[name][1]:.1f} ms > {limit:g} ms"
              for name, limit in TARGETS_MS.items() if results[name][1] > limit]
    for line in missed:
        print(f"target missed: {line}")
    if not missed:
        print("targets met: " + ", ".join(f"{n} p95 <= {v:g} ms" for n, v in TARGETS_MS.items()))
    return 1 if missed and not args.smoke else 0


if __name__ == "__main__":
    sys.exit(main())
