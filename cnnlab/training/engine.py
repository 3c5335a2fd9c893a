"""Train a model live: jobs in background threads, a process-wide queue, snapshots, stop.

A job (:func:`start_training`) runs Keras ``fit`` in a daemon thread that never touches the
UI. Any thread may call :meth:`TrainingJob.snapshot` for a consistent copy of its progress,
:meth:`TrainingJob.stop` to end it after the current batch, or subscribe a listener. At most
:func:`max_jobs` jobs train at once (``CNNLAB_MAX_JOBS``, default the CPU count); the rest
wait in a first-in, first-out queue. The result is a :class:`cnnlab.runs.records.Run`.

Data stay uint8 (see :mod:`cnnlab.training.feeding`): no float copy of a data set is ever made.

Reproducibility: a job seeds Keras (``keras.utils.set_random_seed``) and builds its model
under a process-wide lock, so weight initialisers and dropout draw the same seeds even when
other jobs start at the same time; the validation split and the per-epoch shuffle come from
the job's own seed (NumPy and ``tf.random.experimental.stateless_shuffle``), not from global
state. With the same seed and settings, a run on this CPU repeats its history exactly, as
long as TensorFlow's CPU kernels do (they do here; tested). Op determinism
(``tf.config.experimental.enable_op_determinism``) is not switched on: it is process-wide
and slows every user's training.

Memory: see :mod:`cnnlab.training.memory`.

Example (what the Train page does: start, poll, stop):
    >>> job = start_training(presets.get("two-conv"), datasets.load_dataset("mnist-5k"),
    ...                      Hyperparameters(epochs=4))  # doctest: +SKIP
    >>> snap = job.snapshot(); snap.status, snap.epoch, snap.curve.loss  # doctest: +SKIP
    >>> job.stop(); job.wait(); run = job.result()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from typing import Any

import keras
import numpy as np

from cnnlab.architecture.spec import Architecture
from cnnlab.runs.metrics import Metrics
from cnnlab.runs.records import Hyperparameters, Run
from cnnlab.training import builder, evaluation, feeding, memory
from cnnlab.training.job_queue import JOBS, max_jobs, set_max_jobs
from cnnlab.training.progress import FINAL_STATUSES, JobEvent, Progress, ProgressCallback, Snapshot

Listener = Callable[[JobEvent], None]
EPOCH_WEIGHTS_BUDGET = 100 * 2**20  # bytes of per-epoch weight copies kept per run
_log = logging.getLogger(__name__)
_BUILD_LOCK = threading.Lock()  # seeding + building must not interleave between jobs


def prepare_architecture(arch: Architecture, dataset: Any) -> Architecture:
    """``arch`` with the data set's input shape and class count, checked to fit and valid.

    Args:
        arch: the architecture; an omitted input shape or class count comes from the data.
        dataset: a :class:`cnnlab.data.datasets.Dataset`.
    Returns:
        The architecture with ``input_shape`` and ``num_classes`` filled in.
    Raises:
        ValueError: the architecture's shape or class count differs from the data set's.
        SpecError: the architecture is invalid for that shape.
    """
    shape, classes = tuple(dataset.image_shape), int(dataset.num_classes)
    if arch.input_shape is not None and tuple(arch.input_shape) != shape:
        raise ValueError(f"the architecture's input_shape {tuple(arch.input_shape)} does not "
                         f"fit the data set {dataset.name}, whose images are {shape}")
    if arch.num_classes is not None and arch.num_classes != classes:
        raise ValueError(f"the architecture's num_classes {arch.num_classes} does not fit the "
                         f"data set {dataset.name}, which has {classes} classes")
    filled = arch.with_data(shape, classes)
    builder.checked_summary(filled)
    return filled


class TrainingJob:
    """One training job; create with :func:`start_training`. Thread-safe.

    Attributes:
        name: the run's name, e.g. ``two-conv-1``.
        architecture: with the data set's shape filled in.
        hyperparameters: as given.
    """

    def __init__(self, name: str, arch: Architecture, dataset: Any,
                 hyperparameters: Hyperparameters, listeners: Iterable[Listener] = ()) -> None:
        self.name, self.architecture, self.hyperparameters = name, arch, hyperparameters
        self._dataset = dataset
        self._progress = Progress(name, hyperparameters.epochs)
        self._stop = threading.Event()
        self._done = threading.Event()
        self._listeners_lock = threading.Lock()
        self._listeners: list[Listener] = list(listeners)
        self._result: Run | None = None
        self._epoch_weights: dict[int, list[np.ndarray]] = {}

    def snapshot(self) -> Snapshot:
        """A consistent copy of the progress, from any thread."""
        return self._progress.snapshot(JOBS.position(self))

    @property
    def done(self) -> bool:
        """Whether the job has ended (its snapshot's status is final)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends or ``timeout`` seconds pass; returns :attr:`done`."""
        return self._done.wait(timeout)

    def result(self) -> Run | None:
        """The run once finished or stopped after it started; None before, if cancelled
        while queued, or if it failed."""
        return self._result

    def stop(self) -> None:
        """Stop after the current batch (the run is then evaluated and kept), or cancel the
        job if it is still queued. Safe to call at any time, more than once."""
        self._stop.set()
        if JOBS.cancel(self):
            self._progress.set_status("stopped", message="cancelled before it started")
            self._emit(JobEvent("status", self.name, "stopped", 0, 0,
                                message="cancelled before it started"))
            self._dataset = None
            self._done.set()
            return
        self._announce_stopping()

    def _announce_stopping(self) -> None:
        """Mark the progress "stopping" and tell the listeners, once (a running job)."""
        if self._progress.mark_stopping():
            snap = self._progress.snapshot()
            self._emit(JobEvent("status", self.name, "stopping", snap.epoch, snap.batch))

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every :class:`JobEvent` from now on.

        Listeners run in the training thread, so they must be quick; one that raises is
        logged and dropped. "status" events come on every status change, "batch" after every
        batch, "epoch" after every epoch (with its record).
        """
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _emit(self, event: JobEvent) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                # Debug level: the default last-resort handler would print a traceback.
                _log.debug("training listener %r failed; dropping it", listener, exc_info=True)
                self.remove_listener(listener)

    def _set_status(self, status: str, phase: str | None = None,
                    message: str | None = None) -> None:
        self._progress.set_status(status, phase, message)
        snap = self._progress.snapshot()
        self._emit(JobEvent("status", self.name, status, snap.epoch, snap.batch,
                            message=message))

    def _launch(self) -> None:
        threading.Thread(target=self._run, name=f"cnnlab-train-{self.name}", daemon=True).start()

    def _keep_weights(self, epoch: int, weights: list[np.ndarray]) -> None:
        kept = self._epoch_weights
        kept[epoch] = weights
        while len(kept) > 2 and sum(w.nbytes for ws in kept.values() for w in ws) > (
                EPOCH_WEIGHTS_BUDGET):
            for key in list(kept)[1:-1:2]:
                del kept[key]

    def _run(self) -> None:
        try:
            self._set_status("running", "building")
            if self._stop.is_set():  # stop() may have come between admission and now
                self._progress.mark_stopping()
            run = self._train()
            if run is not None:
                self._result = run
                final = "stopped" if run.stopped else "finished"
                self._set_status(final, message=None if final == "finished" else
                                 f"stopped after {_where(run)}")
        except Exception as exc:  # the job's failure is reported, never raised in a thread
            _log.debug("training job %s failed", self.name, exc_info=True)
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._set_status("failed", message=text)
        finally:
            self._dataset = None
            memory.return_freed_memory()
            JOBS.finished()
            self._done.set()

    def _train(self) -> Run | None:
        hp, data, arch = self.hyperparameters, self._dataset, self.architecture
        with _BUILD_LOCK:
            keras.utils.set_random_seed(hp.seed)
            model = builder.build_model(arch, seed=hp.seed)
        builder.compile_model(model, hp.optimizer, hp.learning_rate)
        memory.create_training_variables(model, data.x_train[:1], data.y_train[:1])
        train_idx, val_idx = feeding.split(data.y_train, hp.validation_fraction, hp.seed)
        batches = math.ceil(len(train_idx) / hp.batch_size)
        self._progress.configure(batches, hp.batch_size, len(train_idx))
        self._keep_weights(0, model.get_weights())
        callback = ProgressCallback(self._progress, self._stop, self._emit, self._keep_weights)
        if not self._stop.is_set():
            self._progress.set_phase("training")
            validation = (data.x_train[val_idx], data.y_train[val_idx]) if len(val_idx) else None
            model.fit(feeding.training_batches(data.x_train, data.y_train, train_idx,
                                               hp.batch_size, hp.epochs, hp.seed, hp.augment),
                      epochs=hp.epochs, steps_per_epoch=batches, validation_data=validation,
                      validation_batch_size=evaluation.EVAL_BATCH_SIZE, callbacks=[callback],
                      verbose=0, shuffle=False)
        if callback.diverged_at is not None:
            epoch, batch = callback.diverged_at
            raise ValueError(f"training diverged: the loss became NaN or infinite at epoch "
                             f"{epoch}, batch {batch}; try a smaller learning rate")
        self._progress.set_phase("evaluating")
        metrics, misclassified = evaluation.evaluate(model, data.x_test, data.y_test)
        snap = self._progress.snapshot()
        completed = sum(1 for record in snap.history if record.complete)
        stopped = completed < hp.epochs
        metrics = Metrics(
            **metrics, train_samples=len(train_idx), validation_samples=len(val_idx),
            epochs_completed=completed, stopped=stopped,
            stopped_at={"epoch": snap.epoch, "batch": snap.batch} if stopped else None,
            seconds=snap.elapsed,
        )
        memory.release_training_state(model)
        return Run(name=self.name, architecture=arch, model=model, hyperparameters=hp,
                   dataset=data.ref, class_names=tuple(data.class_names),
                   history=snap.history, metrics=metrics, misclassified=misclassified,
                   curve=snap.curve, epoch_weights=dict(self._epoch_weights),
                   input_preparation=data.preparation)


def _where(run: Run) -> str:
    at = run.metrics.stopped_at or {}
    if not at or at.get("epoch", 0) == 0:
        return "0 batches"
    return f"epoch {at['epoch']}, batch {at['batch']}"


def start_training(arch: Architecture, dataset: Any,
                   hyperparameters: Hyperparameters | None = None, *, name: str | None = None,
                   listeners: Iterable[Listener] = ()) -> TrainingJob:
    """Check everything, then queue a training job (it starts at once if a slot is free).

    Args:
        arch: the architecture; its input shape and class count may be omitted.
        dataset: a :class:`cnnlab.data.datasets.Dataset` (uint8 images, integer labels).
        hyperparameters: default ``Hyperparameters()``.
        name: the run's name; default ``<arch name>-<n>``, unique in this process.
        listeners: called with every :class:`JobEvent`, from the first one on.
    Returns:
        The :class:`TrainingJob`; poll ``job.snapshot()`` or ``job.wait()``.
    Raises:
        ValueError: the architecture does not fit the data set (SpecError: it is invalid).

    Example:
        >>> job = start_training(presets.get("two-conv"), load_dataset("mnist-5k"),
        ...                      Hyperparameters(epochs=2))  # doctest: +SKIP
        >>> job.wait(); job.result().test_accuracy  # doctest: +SKIP
        0.96
    """
    hyperparameters = hyperparameters or Hyperparameters()
    if not isinstance(hyperparameters, Hyperparameters):
        raise ValueError("hyperparameters must be a cnnlab.runs.records.Hyperparameters")
    filled = prepare_architecture(arch, dataset)
    name = JOBS.reserve_name(arch.name, name)
    job = TrainingJob(name, filled, dataset, hyperparameters, listeners)
    JOBS.submit(job)
    return job


__all__ = ["EPOCH_WEIGHTS_BUDGET", "FINAL_STATUSES", "JobEvent", "Listener", "Snapshot",
           "TrainingJob", "max_jobs", "prepare_architecture", "set_max_jobs", "start_training"]
