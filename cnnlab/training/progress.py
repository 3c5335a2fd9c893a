"""A training's progress as numbers: the events training sends, and what they add up to.

:func:`cnnlab.training.routine.train` tells its listener what happens as
:class:`TrainingEvent` values (plain data: the Dask task sends them over the wire as they are,
see :mod:`cnnlab.cluster.task`); a :class:`Progress` folds them into the epoch, batch, rate,
history and curve that snapshots copy. The routine keeps one for the run it returns, a job
keeps one for its pages (fed by the same events, in its thread or replayed from a worker).

Per-batch values: in Keras 3 the ``loss`` and ``accuracy`` a batch callback receives are
running means over the epoch so far, weighted by samples. The routine reports them after
every call of the traced step, which trains a few batches (see :mod:`cnnlab.training.routine`).
:class:`Progress` turns them back into those batches' own mean,
``b_i = (S_i·m_i − S_(i−1)·m_(i−1)) / n_i`` (``S`` samples so far, ``m`` the running mean,
``n_i`` the samples since the last report), and the curve shows those, weighted by their
batches and averaged into at most :data:`MAX_CURVE_POINTS` points. Per-epoch values are
Keras's epoch means.

No TensorFlow here.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnlab.runs.records import Curve, EpochRecord

MAX_CURVE_POINTS = 500
RATE_WINDOW = 50  # reports (of a call's batches) the samples-per-second estimate looks back over
PHASES = ("waiting", "building", "training", "evaluating")


@dataclass(frozen=True)
class TrainingEvent:
    """One thing that happened in a training, by ``kind``:

    - ``phase``: ``phase`` (building, training or evaluating) begins.
    - ``configure``: the split is known: ``batches`` per epoch of ``batch_size`` images,
      ``train_samples`` and ``validation_samples``; ``epoch`` is the epoch training starts
      after (0, or where a rerun resumes) and ``weights`` the weights it starts from.
    - ``epoch_begin``: epoch ``epoch`` (1-based) starts.
    - ``batch``: batch ``batch`` of epoch ``epoch`` ended; ``loss`` and ``accuracy`` are
      Keras's running means over the epoch so far.
    - ``epoch``: epoch ``epoch`` ended with ``record``; ``weights`` are the model's after it.
    """

    kind: str
    epoch: int = 0
    batch: int = 0
    phase: str | None = None
    loss: float | None = None
    accuracy: float | None = None
    record: EpochRecord | None = None
    weights: list[np.ndarray] | None = None
    batches: int = 0
    batch_size: int = 0
    train_samples: int = 0
    validation_samples: int = 0

    def to_wire(self, pack: Any) -> dict[str, Any]:
        """Plain data (msgpack: no arrays, no dataclasses); ``pack(weights)`` makes bytes."""
        data = {k: v for k, v in vars(self).items() if v is not None}
        if self.record is not None:
            data["record"] = self.record.to_dict()
        if self.weights is not None:
            data["weights"] = pack(self.weights)
        return data

    @classmethod
    def from_wire(cls, data: dict[str, Any], unpack: Any) -> TrainingEvent:
        """The event :meth:`to_wire` made; ``unpack(bytes)`` gives the weights back."""
        values = dict(data)
        if "record" in values:
            values["record"] = EpochRecord.from_dict(values["record"])
        if "weights" in values:
            values["weights"] = unpack(values["weights"])
        return cls(**values)


class CurveBuilder:
    """Averages per-batch values into at most ``max_points`` points, doubling the bucket: a
    point takes values until it holds at least ``per_point`` batches."""

    def __init__(self, max_points: int = MAX_CURVE_POINTS) -> None:
        self.max_points = max(2, max_points)
        self.per_point = 1
        self._points: list[list[float]] = []  # [step, loss sum, accuracy sum, count]

    def add(self, step: int, loss: float, accuracy: float, batches: int = 1) -> None:
        """Add the own mean loss and accuracy of ``batches`` batches ending at ``step``."""
        last = self._points[-1] if self._points else None
        if last is not None and last[3] < self.per_point:
            last[0] = step
            last[1] += loss * batches
            last[2] += accuracy * batches
            last[3] += batches
        else:
            self._points.append([step, loss * batches, accuracy * batches, batches])
        if len(self._points) > self.max_points:
            merged = []
            for i in range(0, len(self._points) - 1, 2):
                a, b = self._points[i], self._points[i + 1]
                merged.append([b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]])
            if len(self._points) % 2:
                merged.append(self._points[-1])
            self._points = merged
            self.per_point *= 2

    def curve(self, batches_per_epoch: int) -> Curve:
        """The frozen :class:`Curve` of the points so far."""
        points = self._points
        return Curve(tuple(int(p[0]) for p in points), tuple(p[1] / p[3] for p in points),
                     tuple(p[2] / p[3] for p in points), self.per_point, batches_per_epoch)


class Progress:
    """The numbers of one training, fed by :class:`TrainingEvent` values; thread-safe.

    Args:
        epochs: the epochs planned.
    """

    def __init__(self, epochs: int) -> None:
        self._lock = threading.Lock()
        self.epochs = epochs
        self.phase = "waiting"
        self.batches_per_epoch = 0
        self.train_samples = self.validation_samples = 0
        self._full_batch = self._last_batch = 1
        self.epoch = self.batch = 0
        self._samples_seen = 0  # over the whole run
        self._epoch_samples = 0
        self._prev_means = (0.0, 0.0)
        self._started: float | None = None
        self._ended: float | None = None
        self._rate: collections.deque[tuple[float, int]] = collections.deque(maxlen=RATE_WINDOW)
        self._builder = CurveBuilder()
        self._curve_cache: Curve | None = None
        self.history: list[EpochRecord] = []

    def apply(self, event: TrainingEvent) -> bool:
        """Fold ``event`` in; False if it changed nothing (an epoch already recorded: a lost
        worker's, published again by the rerun that resumed it)."""
        kind = event.kind
        if kind == "phase":
            self.set_phase(event.phase or "waiting")
        elif kind == "configure":
            self.configure(event.batches, event.batch_size, event.train_samples,
                           event.validation_samples)
        elif kind == "epoch_begin":
            self.epoch_begin(event.epoch)
        elif kind == "batch":
            self.batch_end(event.batch, float(event.loss), float(event.accuracy))
        elif kind == "epoch":
            return self.epoch_end(event.record)
        else:
            raise ValueError(f"unknown training event {kind!r}")
        return True

    def configure(self, batches_per_epoch: int, batch_size: int, train_samples: int,
                  validation_samples: int = 0) -> None:
        """Set the epoch's shape once the data split is known."""
        with self._lock:
            self.batches_per_epoch = batches_per_epoch
            self.train_samples, self.validation_samples = train_samples, validation_samples
            last = train_samples - (batches_per_epoch - 1) * batch_size
            self._full_batch, self._last_batch = batch_size, last

    def set_phase(self, phase: str) -> None:
        """What the training is doing now (building, training, evaluating); the clock starts
        with the first phase."""
        with self._lock:
            self.phase = phase
            if self._started is None:
                self._started = time.monotonic()

    def stop_clock(self) -> None:
        """Training is over: the elapsed time stops here (the first call counts)."""
        with self._lock:
            if self._ended is None:
                self._ended = time.monotonic()

    def epoch_begin(self, epoch: int) -> None:
        """Epoch ``epoch`` (1-based) starts."""
        with self._lock:
            self.epoch, self.batch = epoch, 0
            self._epoch_samples = 0
            self._prev_means = (0.0, 0.0)
            self._rate.clear()

    def batch_end(self, batch: int, mean_loss: float, mean_accuracy: float) -> None:
        """Batch ``batch`` (1-based in the epoch) ended with these running epoch means; the
        batches since the last report (one, or a call's few) count together."""
        with self._lock:
            if batch <= self.batch:
                return  # reported already
            before = self._epoch_samples
            if self.batches_per_epoch and batch >= self.batches_per_epoch:
                after = (self.batches_per_epoch - 1) * self._full_batch + self._last_batch
            else:
                after = batch * self._full_batch
            size = after - before
            loss = (after * mean_loss - before * self._prev_means[0]) / size
            accuracy = (after * mean_accuracy - before * self._prev_means[1]) / size
            self._prev_means = (mean_loss, mean_accuracy)
            self._epoch_samples = after
            self._samples_seen += size
            batches, self.batch = batch - self.batch, batch
            step = (self.epoch - 1) * self.batches_per_epoch + batch
            self._builder.add(step, loss, min(max(accuracy, 0.0), 1.0), batches)
            self._curve_cache = None
            self._rate.append((time.monotonic(), self._samples_seen))

    def epoch_end(self, record: EpochRecord) -> bool:
        """Append an epoch's record to the history, unless that epoch is there already."""
        with self._lock:
            if any(kept.epoch == record.epoch for kept in self.history):
                return False
            self.history.append(record)
            return True

    def _samples_per_second(self) -> float | None:
        if len(self._rate) < 2:
            return None
        (t0, s0), (t1, s1) = self._rate[0], self._rate[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else None

    def numbers(self, training: bool = True) -> dict[str, Any]:
        """A consistent copy of the numbers: phase, epoch, epochs, batch, batches_per_epoch,
        samples_per_second and seconds_left (None unless ``training`` and measurable),
        elapsed, history and curve."""
        with self._lock:
            rate = self._samples_per_second() if training and self._ended is None else None
            seconds_left = None
            if rate and self.phase == "training":
                per_epoch = (self.batches_per_epoch - 1) * self._full_batch + self._last_batch
                remaining = max(self.epochs * per_epoch - self._samples_seen, 0)
                seconds_left = remaining / rate
            now = self._ended if self._ended is not None else time.monotonic()
            if self._curve_cache is None:
                self._curve_cache = self._builder.curve(max(self.batches_per_epoch, 1))
            return {
                "phase": self.phase, "epoch": self.epoch, "epochs": self.epochs,
                "batch": self.batch, "batches_per_epoch": self.batches_per_epoch,
                "samples_per_second": rate, "seconds_left": seconds_left,
                "elapsed": 0.0 if self._started is None else now - self._started,
                "history": tuple(self.history), "curve": self._curve_cache,
            }
