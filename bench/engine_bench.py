"""Benchmark training jobs against a plain ``model.fit``, and their memory over many runs.

Prints, from one process:

* throughput: images per second of a training job (:func:`cnnlab.jobs.start.start_job`: the
  training routine in a job's thread, its run handed to ``save``) and of a plain
  ``model.fit`` of the same
  model, data and batch size, alternated several times; the median ratio (target >= 0.95).
  Both are timed per epoch, leaving out the first epoch (which traces the train step).
* memory: resident set size (VmRSS) after one warm-up training, then after 10 trainings in
  a row whose runs are dropped, and the growth.

Usage: ``python bench/engine_bench.py [--smoke]`` (``--smoke``: tiny sizes, a few seconds).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402

from cnnlab.architecture import presets  # noqa: E402
from cnnlab.data import datasets, refs  # noqa: E402
from cnnlab.jobs import start  # noqa: E402
from cnnlab.models import builder  # noqa: E402
from cnnlab.runs.records import Hyperparameters  # noqa: E402


def discard(run) -> None:
    """A job's ``save`` that keeps the run nowhere (the memory rows measure what is left)."""


def rss_mb() -> float:
    """This process's resident set size in MB, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch of a plain fit."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def plain_rate(arch, data, settings: Hyperparameters) -> float:
    """Images per second of ``model.fit`` on the uint8 arrays, epochs 2.. only."""
    model = builder.build_model(arch, seed=settings.seed)
    builder.compile_model(model, settings.optimizer, settings.learning_rate)
    timer = EpochTimer()
    model.fit(data.x_train, data.y_train, batch_size=settings.batch_size,
              epochs=settings.epochs, verbose=0, shuffle=True, callbacks=[timer])
    return len(data.y_train) * (settings.epochs - 1) / sum(timer.seconds[1:])


def engine_rate(arch, data, settings: Hyperparameters) -> float:
    """Images per second of a training job (no validation split), epochs 2.. only."""
    kept = []
    job = start.start_job(arch, data, settings, save=kept.append)
    job.wait()
    assert job.state == "saved", job.message
    run = kept.pop()
    return run.metrics.train_samples * (settings.epochs - 1) / sum(
        r.seconds for r in run.history[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: a few seconds")
    args = parser.parse_args(argv)
    full = datasets.load_dataset("mnist-5k")
    if args.smoke:
        n, pairs, trainings, arch_name, epochs = 256, 1, 2, "tutorial-1conv", 2
    else:
        n, pairs, trainings, arch_name, epochs = len(full.y_train), 5, 10, "two-conv", 3
    data = datasets.Dataset(refs.recorded("bench"), full.class_names, full.x_train[:n],
                            full.y_train[:n], full.x_test[:200], full.y_test[:200])
    arch = presets.get(arch_name).with_data(data.image_shape, data.num_classes)
    settings = Hyperparameters(epochs=epochs, batch_size=64, validation_fraction=0.0)
    print(f"{arch_name} on {n:,} mnist-5k images, batch size {settings.batch_size}, "
          f"{epochs} epochs per measurement, {os.cpu_count()} CPUs")

    ratios, engine_rates, plain_rates = [], [], []
    for pair in range(pairs):
        order = (plain_rate, engine_rate) if pair % 2 == 0 else (engine_rate, plain_rate)
        rates = {f.__name__: f(arch, data, settings) for f in order}
        engine_rates.append(rates["engine_rate"])
        plain_rates.append(rates["plain_rate"])
        ratios.append(rates["engine_rate"] / rates["plain_rate"])
    print(f"throughput: engine {statistics.median(engine_rates):,.0f} img/s, plain fit "
          f"{statistics.median(plain_rates):,.0f} img/s; ratio {statistics.median(ratios):.3f} "
          f"(median of {pairs}: {' '.join(f'{r:.3f}' for r in ratios)}; target >= 0.95)")

    small = Hyperparameters(epochs=1, batch_size=64, validation_fraction=0.1)
    job = start.start_job(arch, data, small, save=discard)  # warm-up: TensorFlow's buffers
    job.wait()
    del job
    gc.collect()
    before = rss_mb()
    for _ in range(trainings):
        job = start.start_job(arch, data, small, save=discard)
        job.wait()
        assert job.state == "saved", job.message
        del job
        gc.collect()
    after = rss_mb()
    print(f"memory: RSS {before:,.1f} MB after a warm-up training, {after:,.1f} MB after "
          f"{trainings} more in a row; growth {after - before:+.1f} MB "
          f"({(after - before) / trainings:+.2f} MB per training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
