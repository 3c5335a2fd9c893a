"""Benchmark float32 against auto precision (bfloat16 where native), the time around a job,
and the cluster's Quick start against an in-process one.

Sections, in one process on this machine (select with ``--only``; all by default):

* ``peak``: TensorFlow's own matmul of two 4096×4096 matrices in float32 and in bfloat16,
  alternated, the fastest of each: the machine's peak the training is held against.
* ``speed``: per preset, training images per second in float32 and in auto precision, in
  alternating pairs of 3-epoch trainings (epochs 2-3 timed, 4,000 ``mnist-5k`` images, batch
  64, no validation split): the rates, auto ÷ float32, the training's FLOP/s (6 × the
  network's multiply-accumulates per image: forward, and twice that backward) ÷ the float32
  matmul peak (goal >= 0.6 with bfloat16 where native), and images per CPU second (the
  process's CPU time over the same epochs: the capacity table's figure).
* ``accuracy``: per preset, test accuracy in float32 and in bfloat16 over seeds 0, 1, 2 (a new
  run's defaults: 5 epochs, batch 64, Adam 0.003 on the cosine schedule, 10 % validation) on
  ``mnist-5k`` and on Fashion-MNIST (Debian's ``dataset-fashion-mnist`` IDX files, its first
  ``--fashion-train`` training images and all 10,000 test images); goal: the means within 0.5
  points. A preset that misses belongs in ``cnnlab.models.precision.FLOAT32_PRESETS``.
* ``latency``: the Quick start's recipe as a job (``start_job``, its run saved to a folder):
  from the click (``start_job``) to the first batch, from the last batch to the run saved,
  and the job's CPU seconds: first in this cold process, then after ``warmup.warm()`` in
  alternating pairs of a kept compiled model and a new one.
* ``cluster`` (only with ``--scheduler``): Quick starts on the Dask cluster of that scheduler
  (e.g. ``scripts/classroom.py up``'s, its workers warmed by their preload) against the same
  in this process, alternated: click to saved; goal: cluster <= 1.5 × in-process.

The load average is printed before and after each section: on a shared machine the rates
are noisy, which is why the pairs alternate.

Usage: ``python bench/precision_bench.py [--smoke] [--only SECTION ...] [--pairs N]
[--scheduler tcp://HOST:PORT] [--fashion-train N]`` (``--smoke``: tiny sizes, two presets, one
seed, no Fashion-MNIST; the figures then mean nothing).
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tensorflow as tf  # noqa: E402

from cnnlab.architecture import presets  # noqa: E402
from cnnlab.data import datasets, refs  # noqa: E402
from cnnlab.jobs import start  # noqa: E402
from cnnlab.models import precision  # noqa: E402
from cnnlab.runs import recipes, run_files  # noqa: E402
from cnnlab.runs.records import Hyperparameters  # noqa: E402
from cnnlab.training import compiled, routine, warmup  # noqa: E402

FASHION = Path("/usr/share/datasets/fashion-mnist")
SECTIONS = ("peak", "speed", "accuracy", "latency", "cluster")
FLOPS_GOAL, ACCURACY_POINTS, CLUSTER_GOAL = 0.6, 0.5, 1.5


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def section(title: str) -> None:
    print(f"\n## {title}  (load average {load_average()})", flush=True)


def subset(data: datasets.Dataset, train: int, test: int, label: str) -> datasets.Dataset:
    return datasets.Dataset(refs.recorded(label), data.class_names, data.x_train[:train],
                            data.y_train[:train], data.x_test[:test], data.y_test[:test])


def matmul_peak(side: int, rounds: int) -> dict[str, float]:
    """FLOP/s of the fastest ``side``² matmul in each precision, alternated."""
    flops = 2 * side**3
    matrices = {name: tf.cast(tf.random.stateless_uniform((side, side), seed=(1, 2)), dtype)
                for name, dtype in (("float32", tf.float32), ("bfloat16", tf.bfloat16))}
    best = dict.fromkeys(matrices, float("inf"))
    for matrix in matrices.values():
        tf.matmul(matrix, matrix).numpy()
    for _ in range(rounds):
        for name, matrix in matrices.items():
            started = time.perf_counter()
            tf.matmul(matrix, matrix).numpy()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: flops / seconds for name, seconds in best.items()}


def timed_rate(arch, data, asked: str, epochs: int) -> tuple[float, float, str]:
    """(images per second, images per CPU second, precision trained in) over epochs 2.."""
    marks: list[tuple[float, float]] = []

    def listen(event) -> None:
        if event.kind in ("epoch_begin", "epoch"):
            marks.append((time.perf_counter(), time.process_time()))

    settings = Hyperparameters(epochs=epochs, batch_size=64, validation_fraction=0.0,
                               lr_schedule="constant", precision=asked)
    run = routine.train(arch, data, settings, listener=listen)
    images = run.metrics.train_samples * (epochs - 1)
    (wall0, cpu0), (wall1, cpu1) = marks[2], marks[-1]  # epoch 2's begin, the last epoch's end
    return images / (wall1 - wall0), images / (cpu1 - cpu0), run.metrics.precision


def speed(args, data, peak: dict[str, float]) -> None:
    section(f"training speed: float32 against auto, {args.pairs} alternating pairs per preset, "
            f"{len(data.y_train):,} images, batch 64, epochs 2-{args.speed_epochs} timed")
    print(f"{'preset':<18} {'MFLOP/img':>9} {'float32 img/s':>13} {'auto img/s':>10} "
          f"{'auto':>8} {'auto ÷ f32':>10} {'FLOP/s ÷ f32 peak':>17} "
          f"{'img/CPU s f32':>13} {'img/CPU s auto':>14}")
    for name in args.presets:
        arch = routine.prepare_architecture(presets.get(name), data)
        flop = compiled.training_flop(arch)
        rates: dict[str, list[tuple[float, float]]] = {"float32": [], "auto": []}
        trained = "float32"
        for pair in range(args.pairs):
            order = ("float32", "auto") if pair % 2 == 0 else ("auto", "float32")
            for asked in order:
                wall, cpu, used = timed_rate(arch, data, asked, args.speed_epochs)
                rates[asked].append((wall, cpu))
                trained = used if asked == "auto" else trained
        f32 = statistics.median(r[0] for r in rates["float32"])
        auto = statistics.median(r[0] for r in rates["auto"])
        ratio = auto * flop / peak["float32"]
        print(f"{name:<18} {flop / 1e6:>9.2f} {f32:>13,.0f} {auto:>10,.0f} {trained:>8} "
              f"{auto / f32:>10.2f} {ratio:>17.2f} "
              f"{statistics.median(r[1] for r in rates['float32']):>13,.0f} "
              f"{statistics.median(r[1] for r in rates['auto']):>14,.0f}", flush=True)
        print(f"    pairs, img/s float32: {' '.join(f'{r[0]:,.0f}' for r in rates['float32'])}"
              f"; auto: {' '.join(f'{r[0]:,.0f}' for r in rates['auto'])}")
    print(f"goal: FLOP/s ÷ float32 peak >= {FLOPS_GOAL} with bfloat16 where native "
          f"(load average {load_average()})")


def accuracy(args, sets: dict[str, datasets.Dataset]) -> None:
    seeds = args.seeds
    section(f"test accuracy: float32 against bfloat16, seeds {', '.join(map(str, seeds))}, a "
            f"new run's defaults ({recipes.describe(Hyperparameters())})")
    print(f"{'data set':<14} {'preset':<18} {'float32 by seed':<24} {'bfloat16 by seed':<24} "
          f"{'f32 mean':>8} {'bf16 mean':>9} {'points':>6}  within {ACCURACY_POINTS}?")
    misses = []
    for label, data in sets.items():
        for name in args.presets:
            found: dict[str, list[float]] = {"float32": [], "bfloat16": []}
            for seed in seeds:
                order = ("float32", "bfloat16") if seed % 2 == 0 else ("bfloat16", "float32")
                for asked in order:
                    run = routine.train(presets.get(name), data, Hyperparameters(
                        epochs=args.accuracy_epochs, seed=seed, precision=asked))
                    found[asked].append(run.test_accuracy)
            means = {k: statistics.mean(v) for k, v in found.items()}
            points = 100 * (means["bfloat16"] - means["float32"])
            ok = abs(points) <= ACCURACY_POINTS
            if not ok:
                misses.append(f"{name} on {label}")
            print(f"{label:<14} {name:<18} "
                  f"{' / '.join(f'{a:.4f}' for a in found['float32']):<24} "
                  f"{' / '.join(f'{a:.4f}' for a in found['bfloat16']):<24} "
                  f"{means['float32']:>8.4f} {means['bfloat16']:>9.4f} {points:>+6.2f}  "
                  f"{'yes' if ok else 'NO'}", flush=True)
    print(f"presets beyond {ACCURACY_POINTS} points: {', '.join(misses) or 'none'}; in "
          f"FLOAT32_PRESETS now: {', '.join(sorted(precision.FLOAT32_PRESETS)) or 'none'} "
          f"(load average {load_average()})")


def quick_job(data, scheduler: str | None = None) -> dict[str, float]:
    """One Quick start as a job, its run saved to a temporary folder: seconds from the click
    to the first batch, from the last batch to saved, click to saved, and CPU seconds here."""
    marks: dict[str, float] = {}

    def listen(event) -> None:
        if event.kind == "batch":
            marks.setdefault("first", time.perf_counter())
            marks["last"] = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="cnnlab-bench-") as tmp:
        cpu, clicked = time.process_time(), time.perf_counter()
        job = start.start_job(presets.get(recipes.QUICK_START_ARCH), data, recipes.QUICK_START,
                              save=lambda run: run_files.save_run(run, Path(tmp) / "run"),
                              scheduler=scheduler, listeners=[listen])
        job.wait()
        saved = time.perf_counter()
        assert job.state == "saved", job.message
    return {"to first batch": marks["first"] - clicked, "after last batch": saved - marks["last"],
            "click to saved": saved - clicked, "CPU s here": time.process_time() - cpu,
            "test accuracy": job.metrics.test_accuracy}


def show(label: str, results: list[dict[str, float]]) -> None:
    keys = ("to first batch", "after last batch", "click to saved", "CPU s here")
    medians = {k: statistics.median(r[k] for r in results) for k in keys}
    spread = " ".join(f"{r['click to saved']:.2f}" for r in results)
    accuracies = " ".join(f"{r['test accuracy']:.3f}" for r in results)
    print(f"{label:<34} " + " ".join(f"{medians[k]:>16.2f}" for k in keys)
          + f"   (click to saved: {spread}; test accuracy {accuracies})", flush=True)


def latency(args, data) -> None:
    section(f"the time around a Quick start job ({recipes.describe(recipes.QUICK_START)}), "
            "median seconds")
    keys = ("to first batch", "after last batch", "click to saved", "CPU s here")
    print(f"{'':<34} " + " ".join(f"{k:>16}" for k in keys))
    show("first job (TensorFlow imported)", [quick_job(data)])
    steps = warmup.warm()
    print("warm-up: " + ", ".join(f"{k} {v:.2f} s" for k, v in steps.items()))
    kept, new = [], []
    for pair in range(args.pairs):
        for mode in (("kept", "new") if pair % 2 == 0 else ("new", "kept")):
            if mode == "new":
                compiled.clear()
            (kept if mode == "kept" else new).append(quick_job(data))
    show("warm, a kept compiled model", kept)
    show("warm, a new model (traced again)", new)
    print(f"load average {load_average()}")


def cluster(args, data) -> None:
    section(f"a Quick start through the cluster at {args.scheduler} against in-process, "
            f"{args.pairs} alternating pairs")
    keys = ("to first batch", "after last batch", "click to saved", "CPU s here")
    print(f"{'':<34} " + " ".join(f"{k:>16}" for k in keys))
    warmup.warm()
    here, there = [], []
    for pair in range(args.pairs):
        for where in (("here", "there") if pair % 2 == 0 else ("there", "here")):
            if where == "here":
                here.append(quick_job(data))
            else:
                there.append(quick_job(data, args.scheduler))
    show("in this process", here)
    show("on the cluster", there)
    ratio = (statistics.median(r["click to saved"] for r in there)
             / statistics.median(r["click to saved"] for r in here))
    print(f"cluster ÷ in-process, click to saved: {ratio:.2f} (goal <= {CLUSTER_GOAL}; met? "
          f"{'yes' if ratio <= CLUSTER_GOAL else 'NO'}; load average {load_average()})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a quick check")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=None)
    parser.add_argument("--pairs", type=int, default=3, help="alternating pairs (default 3)")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler for 'cluster'")
    parser.add_argument("--fashion-train", type=int, default=12_000,
                        help="Fashion-MNIST training images used (default 12,000 of 60,000)")
    args = parser.parse_args(argv)
    sections = args.only or [s for s in SECTIONS if s != "cluster" or args.scheduler]
    digits = datasets.load_dataset("mnist-5k")
    args.presets, args.seeds = list(presets.PRESET_NAMES), (0, 1, 2)
    args.speed_epochs, args.accuracy_epochs, peak_side = 3, Hyperparameters().epochs, 4096
    sets = {"mnist-5k": digits}
    if FASHION.is_dir():
        fashion = datasets.load(refs.folder(FASHION))
        sets["fashion-mnist"] = subset(fashion, args.fashion_train, len(fashion.y_test),
                                       f"fashion-mnist, first {args.fashion_train:,}")
    if args.smoke:
        digits = subset(digits, 300, 100, "mnist-5k, smoke")
        args.presets, args.seeds, args.pairs = ["tutorial-1conv", "two-conv"], (0,), 1
        args.speed_epochs, args.accuracy_epochs, peak_side = 3, 1, 512
        sets = {"mnist-5k": digits}
    found = precision.calibrate()
    print(f"{datetime.date.today().isoformat()}, {os.cpu_count()} CPUs, TensorFlow "
          f"{tf.__version__}; CPU bfloat16 flags: "
          f"{', '.join(f for f in precision.NATIVE_FLAGS if f in precision.cpu_flags()) or 'none'}"
          f"; auto means {found.choice} here ({found.reason}); load average {load_average()}")
    if not FASHION.is_dir():
        print(f"note: no Fashion-MNIST at {FASHION} (apt-get install dataset-fashion-mnist): "
              "its accuracy rows are skipped")
    peak = {"float32": 1.0, "bfloat16": 1.0}
    if "peak" in sections or "speed" in sections:
        section(f"matmul peak, {peak_side}×{peak_side}")
        peak = matmul_peak(peak_side, 3 if args.smoke else 6)
        print(f"float32 {peak['float32'] / 1e9:,.1f} GFLOP/s, bfloat16 "
              f"{peak['bfloat16'] / 1e9:,.1f} GFLOP/s (fastest of alternating rounds)")
    if "latency" in sections:  # first: the process is still cold
        latency(args, digits)
    if "speed" in sections:
        speed(args, subset(digits, 4000, 100, "mnist-5k, 4,000"), peak)
    if "accuracy" in sections:
        accuracy(args, sets)
    if "cluster" in sections and args.scheduler:
        cluster(args, digits)
    note = "  (smoke run (tiny sizes, not a verdict))" if args.smoke else ""
    print(f"\ndone; load average {load_average()}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
