"""Benchmark training recipes on the built-in digits: the learning-rate schedules, and the
Quick start's recipe against today's.

Two tables, every run through the training routine on ``mnist-5k`` with the Train page's
defaults unless a row says otherwise (``two-conv``, batch 64, Adam, a 10 % validation split,
so 3,600 training images), seeds 0, 1 and 2:

* schedules: 10 epochs with light augmentation, one row per learning-rate schedule and
  learning rate, 0.001 (the old default) and 0.003 (goal: test accuracy >= 0.975 for every
  seed; the default schedule and learning rate are picked from here);
* quick start: candidate recipes (epochs, batch, schedule, augmentation, learning rate), the
  first being the Quick start as it was (3 epochs, constant, no augmentation); goal: test
  accuracy >= 0.97 for every seed in <= 10 s of training (the run's ``metrics.seconds``:
  first batch to last, validation passes included) on this machine's 2 cores.

The load average is printed with the tables: other work on a shared machine slows the runs,
it does not change their accuracy (a seed repeats its run exactly on one CPU).

Usage: ``python bench/recipe_bench.py [--smoke] [--precision auto|float32|bfloat16]
[--only schedules|quick]`` (``--smoke``: 300 training images, 1 epoch; figures mean nothing).
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnnlab.architecture import presets  # noqa: E402
from cnnlab.data import datasets, refs  # noqa: E402
from cnnlab.models import optimizers, precision  # noqa: E402
from cnnlab.runs import recipes  # noqa: E402
from cnnlab.runs.records import Hyperparameters  # noqa: E402
from cnnlab.training import routine  # noqa: E402

SEEDS = (0, 1, 2)
SCHEDULE_RATES = (1e-3, 3e-3)  # the old default learning rate and the new one
SCHEDULE_GOAL, QUICK_GOAL, QUICK_SECONDS = 0.975, 0.97, 10.0
# (label, epochs, batch, schedule, augment, learning rate); the first is the old Quick start
QUICK_CANDIDATES = (
    ("old: 3 ep, constant", 3, 64, "constant", "off", 1e-3),
    ("3 ep, cosine", 3, 64, "cosine", "off", 3e-3),
    ("4 ep, cosine", 4, 64, "cosine", "off", 3e-3),
    ("5 ep, cosine", 5, 64, "cosine", "off", 3e-3),
    ("5 ep, cosine, light", 5, 64, "cosine", "light", 3e-3),
    ("6 ep, cosine, light", 6, 64, "cosine", "light", 3e-3),
)


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def train(data, settings: Hyperparameters) -> tuple[float, float, str]:
    """(test accuracy, training seconds, precision trained in) of one run of two-conv."""
    run = routine.train(presets.get(presets.DEFAULT_PRESET), data, settings)
    return run.test_accuracy, run.metrics.seconds, run.metrics.precision


def row(label: str, results: list[tuple[float, float, str]], goal: float,
        seconds_goal: float | None = None) -> str:
    accuracies = [r[0] for r in results]
    seconds = statistics.median(r[1] for r in results)
    met = min(accuracies) >= goal and (seconds_goal is None or seconds <= seconds_goal)
    return (f"{label:<24}  {' / '.join(f'{a:.4f}' for a in accuracies)}  "
            f"{min(accuracies):.4f}  {statistics.mean(accuracies):.4f}  {seconds:>6.1f}  "
            f"{'/'.join(sorted({r[2] for r in results}))}  {'yes' if met else 'NO'}")


def header(first: str) -> str:
    seeds = " / ".join(f"seed {s}" for s in SEEDS)
    return (f"{first:<24}  {seeds:<24}  {'min':<6}  {'mean':<6}  {'train s':>6}  precision  "
            "met?")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a quick check")
    parser.add_argument("--precision", default="auto", choices=precision.NAMES)
    parser.add_argument("--only", choices=("schedules", "quick"), default=None)
    args = parser.parse_args(argv)
    data = datasets.load_dataset("mnist-5k")
    schedule_epochs = 10
    if args.smoke:
        data = datasets.Dataset(refs.recorded("mnist-5k-smoke"), data.class_names,
                                data.x_train[:300], data.y_train[:300], data.x_test[:100],
                                data.y_test[:100])
        schedule_epochs = 1
    started = time.perf_counter()
    print(f"two-conv on {data.name}, {datetime.date.today().isoformat()}, {os.cpu_count()} "
          f"CPUs, precision asked: {args.precision}; load average {load_average()}")
    if args.only in (None, "schedules"):
        print(f"\nschedules: {schedule_epochs} epochs, light augmentation, batch 64, Adam; "
              f"goal >= {SCHEDULE_GOAL} for every seed")
        print(header("schedule, learning rate"))
        for schedule in optimizers.SCHEDULES:
            for rate in SCHEDULE_RATES:
                results = [train(data, Hyperparameters(
                    epochs=schedule_epochs, augment="light", lr_schedule=schedule, seed=seed,
                    learning_rate=rate, precision=args.precision)) for seed in SEEDS]
                print(row(f"{schedule}, {rate:g}", results, SCHEDULE_GOAL), flush=True)
        print(f"load average {load_average()}")
    if args.only in (None, "quick"):
        print(f"\nquick start: goal >= {QUICK_GOAL} for every seed in <= {QUICK_SECONDS:g} s "
              f"of training; chosen now: {recipes.describe(recipes.QUICK_START)}")
        print(header("recipe"))
        for label, epochs, batch, schedule, augment, rate in QUICK_CANDIDATES:
            results = [train(data, Hyperparameters(
                epochs=1 if args.smoke else epochs, batch_size=batch, lr_schedule=schedule,
                augment=augment, learning_rate=rate, seed=seed, precision=args.precision))
                for seed in SEEDS]
            print(row(label, results, QUICK_GOAL, QUICK_SECONDS), flush=True)
        print(f"load average {load_average()}")
    note = "  (smoke run (tiny sizes, not a verdict))" if args.smoke else ""
    print(f"all in {time.perf_counter() - started:.0f} s{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
