"""A training job's live progress: what the Keras callback records and what snapshots copy.

Per-batch values: in Keras 3 the ``loss`` and ``accuracy`` a batch callback receives are
running means over the epoch so far, weighted by samples. :class:`Progress` turns them back
into each batch's own value, ``b_i = (S_i·m_i − S_(i−1)·m_(i−1)) / n_i`` (``S`` samples so far,
``m`` the running mean, ``n_i`` the batch's samples), and the curve shows those, averaged
into at most :data:`MAX_CURVE_POINTS` points. Per-epoch values are Keras's epoch means.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from cnnlab.runs.records import Curve, EpochRecord

MAX_CURVE_POINTS = 500
RATE_WINDOW = 50  # batches the samples-per-second estimate looks back over
FINAL_STATUSES = ("stopped", "finished", "failed")


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a job's progress, safe to read from any thread.

    ``status`` is one of queued, running, stopping, stopped, finished, failed; ``phase``
    says what a running job is doing: waiting, building, training, evaluating or done.
    ``epoch`` is the 1-based epoch in progress (or last run), ``batch`` the batches done in
    it. ``queue_position`` is 1 for the next job to start, None unless queued.
    ``seconds_left`` is an estimate of the training time left (None until measurable).
    """

    name: str
    status: str
    phase: str
    message: str | None
    queue_position: int | None
    epoch: int
    epochs: int
    batch: int
    batches_per_epoch: int
    samples_per_second: float | None
    seconds_left: float | None
    elapsed: float
    history: tuple[EpochRecord, ...]
    curve: Curve

    @property
    def done(self) -> bool:
        """Whether the job has ended (stopped, finished or failed)."""
        return self.status in FINAL_STATUSES

    @property
    def fraction(self) -> float:
        """How much of the planned training has run, 0..1."""
        total = self.epochs * self.batches_per_epoch
        done = max(self.epoch - 1, 0) * self.batches_per_epoch + self.batch
        return min(done / total, 1.0) if total else 0.0


@dataclass(frozen=True)
class JobEvent:
    """What a listener receives: ``kind`` is "status", "batch" or "epoch".

    ``record`` is the epoch's :class:`EpochRecord` for "epoch" events, else None.
    """

    kind: str
    name: str
    status: str
    epoch: int
    batch: int
    record: EpochRecord | None = None
    message: str | None = None


class CurveBuilder:
    """Averages per-batch values into at most ``max_points`` points, doubling the bucket."""

    def __init__(self, max_points: int = MAX_CURVE_POINTS) -> None:
        self.max_points = max(2, max_points)
        self.per_point = 1
        self._points: list[list[float]] = []  # [step, loss sum, accuracy sum, count]

    def add(self, step: int, loss: float, accuracy: float) -> None:
        """Add batch ``step``'s own loss and accuracy."""
        last = self._points[-1] if self._points else None
        if last is not None and last[3] < self.per_point:
            last[0] = step
            last[1] += loss
            last[2] += accuracy
            last[3] += 1
        else:
            self._points.append([step, loss, accuracy, 1])
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
    """The mutable, lock-guarded progress of one job; the engine and callback write it."""

    def __init__(self, name: str, epochs: int, batches_per_epoch: int = 0,
                 batch_sizes: tuple[int, int] = (1, 1)) -> None:
        self._lock = threading.Lock()
        self.name = name
        self.status, self.phase, self.message = "queued", "waiting", None
        self.epochs, self.batches_per_epoch = epochs, batches_per_epoch
        self._full_batch, self._last_batch = batch_sizes
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

    def configure(self, batches_per_epoch: int, batch_size: int, train_samples: int) -> None:
        """Set the epoch's shape once the data split is known."""
        with self._lock:
            self.batches_per_epoch = batches_per_epoch
            last = train_samples - (batches_per_epoch - 1) * batch_size
            self._full_batch, self._last_batch = batch_size, last

    def set_status(self, status: str, phase: str | None = None,
                   message: str | None = None) -> None:
        """Change status (and phase, message); starts and stops the clock."""
        with self._lock:
            self.status = status
            if phase is not None:
                self.phase = phase
            if message is not None:
                self.message = message
            now = time.monotonic()
            if status == "running" and self._started is None:
                self._started = now
            if status in FINAL_STATUSES:
                self._ended = now
                self.phase = "done"

    def set_phase(self, phase: str) -> None:
        """What a running job is doing now (building, training, evaluating)."""
        with self._lock:
            self.phase = phase

    def mark_stopping(self) -> bool:
        """Running → stopping, atomically; False if the job was not running."""
        with self._lock:
            if self.status != "running":
                return False
            self.status = "stopping"
            return True

    def epoch_begin(self, epoch: int) -> None:
        """Epoch ``epoch`` (1-based) starts."""
        with self._lock:
            self.epoch, self.batch = epoch, 0
            self._epoch_samples = 0
            self._prev_means = (0.0, 0.0)
            self._rate.clear()

    def batch_end(self, batch: int, mean_loss: float, mean_accuracy: float) -> None:
        """Batch ``batch`` (1-based in the epoch) ended with these running epoch means."""
        with self._lock:
            size = self._last_batch if batch == self.batches_per_epoch else self._full_batch
            before, after = self._epoch_samples, self._epoch_samples + size
            loss = (after * mean_loss - before * self._prev_means[0]) / size
            accuracy = (after * mean_accuracy - before * self._prev_means[1]) / size
            self._prev_means = (mean_loss, mean_accuracy)
            self._epoch_samples = after
            self._samples_seen += size
            self.batch = batch
            step = (self.epoch - 1) * self.batches_per_epoch + batch
            self._builder.add(step, loss, min(max(accuracy, 0.0), 1.0))
            self._curve_cache = None
            self._rate.append((time.monotonic(), self._samples_seen))

    def epoch_end(self, record: EpochRecord) -> None:
        """Append an epoch's record to the history."""
        with self._lock:
            self.history.append(record)

    def _samples_per_second(self) -> float | None:
        if len(self._rate) < 2:
            return None
        (t0, s0), (t1, s1) = self._rate[0], self._rate[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else None

    def snapshot(self, queue_position: int | None = None) -> Snapshot:
        """A frozen, consistent copy of the progress."""
        with self._lock:
            rate = self._samples_per_second() if self.status in ("running", "stopping") else None
            seconds_left = None
            if rate and self.phase == "training" and self.status == "running":
                per_epoch = (self.batches_per_epoch - 1) * self._full_batch + self._last_batch
                remaining = max(self.epochs * per_epoch - self._samples_seen, 0)
                seconds_left = remaining / rate
            now = self._ended if self._ended is not None else time.monotonic()
            if self._curve_cache is None:
                self._curve_cache = self._builder.curve(max(self.batches_per_epoch, 1))
            return Snapshot(
                name=self.name, status=self.status, phase=self.phase, message=self.message,
                queue_position=queue_position if self.status == "queued" else None,
                epoch=self.epoch, epochs=self.epochs, batch=self.batch,
                batches_per_epoch=self.batches_per_epoch, samples_per_second=rate,
                seconds_left=seconds_left,
                elapsed=0.0 if self._started is None else now - self._started,
                history=tuple(self.history), curve=self._curve_cache,
            )



class ProgressCallback(keras.callbacks.Callback):
    """Feeds a job's :class:`Progress` from Keras and stops training within one batch.

    Keras 3.15's TensorFlow ``fit`` loop checks ``model.stop_training`` after every batch
    (and then still validates and ends the epoch), so setting it here is enough.

    Args:
        progress: where to record.
        stop: set by another thread to ask for a stop.
        emit: called with each :class:`JobEvent` (in the training thread).
        keep_weights: called with (epoch, ``model.get_weights()``) after each epoch.
    """

    def __init__(self, progress: Progress, stop: threading.Event,
                 emit: Callable[[JobEvent], None],
                 keep_weights: Callable[[int, list[np.ndarray]], None]) -> None:
        super().__init__()
        self.progress, self.stop, self.emit, self.keep_weights = progress, stop, emit, keep_weights
        self.diverged_at: tuple[int, int] | None = None
        self._epoch_started = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.diverged_at = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_started = time.perf_counter()
        self.progress.epoch_begin(epoch + 1)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        loss, accuracy = float(logs.get("loss", math.nan)), float(logs.get("accuracy", 0.0))
        self.progress.batch_end(batch + 1, loss, accuracy)
        if not math.isfinite(loss) and self.diverged_at is None:
            self.diverged_at = (self.progress.epoch, batch + 1)
        self.emit(JobEvent("batch", self.progress.name, self.progress.status,
                           self.progress.epoch, batch + 1))
        # Checked after the listeners, so a stop asked for in one takes effect at once.
        if self.stop.is_set() or self.diverged_at is not None:
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        val_loss, val_accuracy = logs.get("val_loss"), logs.get("val_accuracy")
        batches = self.progress.batch
        record = EpochRecord(
            epoch=epoch + 1, loss=float(logs.get("loss", math.nan)),
            accuracy=float(logs.get("accuracy", math.nan)),
            val_loss=None if val_loss is None else float(val_loss),
            val_accuracy=None if val_accuracy is None else float(val_accuracy),
            seconds=time.perf_counter() - self._epoch_started, batches=batches,
            complete=batches >= self.progress.batches_per_epoch,
        )
        self.keep_weights(epoch + 1, self.model.get_weights())
        self.progress.epoch_end(record)
        self.emit(JobEvent("epoch", self.progress.name, self.progress.status, epoch + 1,
                           batches, record))
