"""The one training routine: build, compile, feed, fit for N epochs, evaluate, return the Run.

:func:`train` is the only place a model is trained. A job's thread calls it
(:mod:`cnnlab.jobs.local`), a Dask worker calls it (:mod:`cnnlab.cluster.task`), and the CLI
through a job. It tells its ``listener`` what happens as
:class:`~cnnlab.training.progress.TrainingEvent` values (phases, the split, the running means
after every call of the traced step, every epoch's record and weights), checks its ``stop``
signal after every call, and returns a :class:`cnnlab.runs.records.Run`; a loss that becomes
NaN or infinite is a ``ValueError`` saying where and what to try. ``start_epoch`` and
``start_weights`` resume a training part-way (a Dask worker taking over from a lost one).

Data stay uint8 (see :mod:`cnnlab.training.feeding`): no float copy of a data set is ever made.

A call of the traced step trains a few batches, about 0.1 s of work
(:func:`cnnlab.training.compiled.batches_per_call`): the events come, and a stop takes effect,
after each call; the batches and their order, and so the run, are those of one batch per call.

Reproducibility: every random part of the model (weight initialisers, dropout) gets its own
seed drawn from the run's (:func:`cnnlab.models.builder.seeded_arguments`), and builds happen
one at a time under a process-wide lock; no global seed is set.
(``keras.utils.set_random_seed`` also sets TensorFlow's global seed, which clears the process's
whole kernel cache: the first call of every traced function afterwards, any user's, took ~0.15
s longer here.) The validation split and the per-epoch shuffle come from the run's own seed
(NumPy and ``tf.random.experimental.stateless_shuffle``), not from global state. With the same
seed and settings, a run on this CPU repeats its history exactly, as long as TensorFlow's CPU
kernels do (they do here; tested). Op determinism
(``tf.config.experimental.enable_op_determinism``) is not switched on: it is process-wide and
slows every user's training.

Memory: see :mod:`cnnlab.training.memory`.

Example:
    >>> run = train(presets.get("two-conv"), datasets.load_dataset("mnist-5k"),
    ...             Hyperparameters(epochs=2), listener=print)  # doctest: +SKIP
    >>> run.test_accuracy  # doctest: +SKIP
    0.96
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import keras
import numpy as np

from cnnlab.architecture import shapes
from cnnlab.architecture.spec import Architecture
from cnnlab.models import builder, optimizers, precision
from cnnlab.runs.metrics import Metrics
from cnnlab.runs.records import EpochRecord, Hyperparameters, Misclassified, Run
from cnnlab.training import compiled, evaluation, feeding, memory
from cnnlab.training.progress import Progress, TrainingEvent

Listener = Callable[[TrainingEvent], None]
_BUILD_LOCK = threading.Lock()  # seeding + building must not interleave between trainings


class StopSignal(Protocol):
    """What the routine asks after every call of the traced step (a few batches): a
    ``threading.Event``, or a Dask worker's view of the job's ``distributed.Event``."""

    def is_set(self) -> bool: ...


def prepare_architecture(arch: Architecture, dataset: Any,
                         batch_size: int = shapes.GUARD_BATCH) -> Architecture:
    """``arch`` with the data set's input shape and class count, checked to fit and valid at
    ``batch_size`` (the resource guard's feature-map memory per batch).

    Args:
        arch: the architecture; an omitted input shape or class count comes from the data.
        dataset: a :class:`cnnlab.data.datasets.Dataset`.
        batch_size: the batch size training will use.
    Returns:
        The architecture with ``input_shape`` and ``num_classes`` filled in.
    Raises:
        ValueError: the architecture's shape or class count differs from the data set's.
        SpecError: the architecture is invalid for that shape (or too large at that batch).
    """
    shape, classes = tuple(dataset.image_shape), int(dataset.num_classes)
    if arch.input_shape is not None and tuple(arch.input_shape) != shape:
        raise ValueError(f"the architecture's input_shape {tuple(arch.input_shape)} does not "
                         f"fit the data set {dataset.name}, whose images are {shape}")
    if arch.num_classes is not None and arch.num_classes != classes:
        raise ValueError(f"the architecture's num_classes {arch.num_classes} does not fit the "
                         f"data set {dataset.name}, which has {classes} classes")
    filled = arch.with_data(shape, classes)
    shapes.checked_summary(filled, batch_size=batch_size)
    return filled


class EpochWeights:
    """``model.get_weights()`` copies by epoch (0: before training), at most ``budget`` bytes:
    past it, every other epoch between the first and the last is dropped."""

    def __init__(self, budget: int = memory.EPOCH_WEIGHTS_BUDGET) -> None:
        self.budget = budget
        self.kept: dict[int, list[np.ndarray]] = {}

    def keep(self, epoch: int, weights: list[np.ndarray]) -> None:
        kept = self.kept
        kept[epoch] = weights
        while len(kept) > 2 and sum(w.nbytes for ws in kept.values() for w in ws) > self.budget:
            for key in sorted(kept)[1:-1:2]:
                del kept[key]


class _Callback(keras.callbacks.Callback):
    """Tells the listener what Keras does, keeps each epoch's weights, and stops training
    within one call of the traced step.

    Keras 3.15's TensorFlow ``fit`` loop calls ``on_train_batch_end`` after every call, with
    the call's last batch index (past the epoch's end when its last call ran short), and checks
    ``model.stop_training`` after it (and then still validates and ends the epoch), so setting
    it here is enough.
    """

    def __init__(self, emit: Listener, stop: StopSignal, batches_per_epoch: int,
                 keep_weights: Callable[[int, list[np.ndarray]], None]) -> None:
        super().__init__()
        self.emit, self.stop, self.keep_weights = emit, stop, keep_weights
        self.batches_per_epoch = batches_per_epoch
        self.diverged_at: tuple[int, int, int] | None = None  # epoch, first and last batch
        self._epoch = self._batch = 0
        self._epoch_started = 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.diverged_at = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_started = time.perf_counter()
        self._epoch, self._batch = epoch + 1, 0
        self.emit(TrainingEvent("epoch_begin", epoch=epoch + 1))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        loss, accuracy = float(logs.get("loss", math.nan)), float(logs.get("accuracy", 0.0))
        first, self._batch = self._batch + 1, min(batch + 1, self.batches_per_epoch)
        if not math.isfinite(loss) and self.diverged_at is None:
            self.diverged_at = (self._epoch, first, self._batch)
        self.emit(TrainingEvent("batch", epoch=self._epoch, batch=self._batch, loss=loss,
                                accuracy=accuracy))
        # Checked after the listener, so a stop asked for in it takes effect at once.
        if self.stop.is_set() or self.diverged_at is not None:
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        val_loss, val_accuracy = logs.get("val_loss"), logs.get("val_accuracy")
        record = EpochRecord(
            epoch=epoch + 1, loss=float(logs.get("loss", math.nan)),
            accuracy=float(logs.get("accuracy", math.nan)),
            val_loss=None if val_loss is None else float(val_loss),
            val_accuracy=None if val_accuracy is None else float(val_accuracy),
            seconds=time.perf_counter() - self._epoch_started, batches=self._batch,
            complete=self._batch >= self.batches_per_epoch,
        )
        weights = self.model.get_weights()
        self.keep_weights(epoch + 1, weights)
        self.emit(TrainingEvent("epoch", epoch=epoch + 1, batch=self._batch, record=record,
                                weights=weights))


def _seeded_model(arch: Architecture, seed: int, precision: str = "float32") -> keras.Model:
    """A fresh model of ``arch``, its weights drawn from ``seed`` whatever else is building."""
    with _BUILD_LOCK:
        return builder.build_model(arch, seed=seed, precision=precision)


def _trainer(arch: Architecture, hp: Hyperparameters, trained_in: str, total_steps: int,
             ) -> tuple[str, compiled.Compiled]:
    """A compiled model to train ``arch`` in ``trained_in``: a kept one of the same network
    (its traced steps reused), else a new one; with its :func:`compiled.key`."""
    wanted = compiled.key(arch, hp, trained_in)
    kept = compiled.take(wanted)
    if kept is not None:
        return wanted, kept
    model = _seeded_model(arch, hp.seed, trained_in)
    schedule = optimizers.make_schedule(hp.lr_schedule, hp.learning_rate, total_steps)
    builder.compile_model(model, hp.optimizer, hp.learning_rate, schedule,
                          compiled.batches_per_call(arch, hp.batch_size))
    memory.create_training_variables(model, np.zeros((1, *arch.input_shape), np.uint8),
                                     np.zeros(1, np.int64))
    return wanted, compiled.remember_start(model, schedule)


def train(arch: Architecture, data: Any, hyperparameters: Hyperparameters, *,
          listener: Listener | None = None, stop: StopSignal | None = None,
          start_epoch: int = 0, start_weights: list[np.ndarray] | None = None,
          name: str | None = None) -> Run:
    """Train ``arch`` on ``data`` for ``hyperparameters.epochs`` epochs and evaluate it.

    The training computes in the precision :func:`cnnlab.models.precision.resolve` gives for
    ``hyperparameters.precision`` on this machine (recorded as ``run.metrics.precision``);
    the run's model is float32 either way, and the test evaluation uses it. The training
    model is a kept compiled one of the same network when one is idle
    (:mod:`cnnlab.training.compiled`), reset to this run's seed.

    Args:
        arch: the architecture; an omitted input shape or class count comes from the data.
        data: a :class:`cnnlab.data.datasets.Dataset` (uint8 images, integer labels).
        hyperparameters: how to train.
        listener: called with every :class:`TrainingEvent`, in this thread: keep it quick.
        stop: asked after every call of the traced step (a few batches, see the module);
            once set, training ends after that call and the model trained so far is
            evaluated (the run says it stopped).
        start_epoch: epochs already trained (a resumed training starts after them).
        start_weights: the weights to start from (those after ``start_epoch``); default the
            seeded initial weights.
        name: the run's name (default the architecture's).
    Returns:
        The :class:`Run`: its model (float32, no training state), history, curve, per-epoch
        weights, test metrics and mistakes.
    Raises:
        ValueError: the architecture does not fit the data (SpecError: it is invalid), or
            the loss became NaN or infinite (the message names the epoch and batch).
    """
    hp = hyperparameters
    arch = prepare_architecture(arch, data, hp.batch_size)
    stop = stop if stop is not None else threading.Event()
    progress = Progress(hp.epochs)

    def emit(event: TrainingEvent) -> None:
        progress.apply(event)
        if listener is not None:
            listener(event)

    emit(TrainingEvent("phase", phase="building"))
    trained_in = precision.resolve(hp.precision, arch)
    train_idx, val_idx = feeding.split(data.y_train, hp.validation_fraction, hp.seed)
    batches = math.ceil(len(train_idx) / hp.batch_size)
    model = _seeded_model(arch, hp.seed)  # float32: the run's model, and the start state
    wanted, trainer = _trainer(arch, hp, trained_in, hp.epochs * batches)
    compiled.reset(trainer, model, hp.learning_rate, hp.epochs * batches, batches,
                   iteration=start_epoch * batches)
    if start_weights is not None:
        trainer.model.set_weights(start_weights)
    kept = EpochWeights()
    first = trainer.model.get_weights()  # float32 in either precision
    kept.keep(start_epoch, first)
    emit(TrainingEvent("configure", epoch=start_epoch, weights=first, batches=batches,
                       batch_size=hp.batch_size, train_samples=len(train_idx),
                       validation_samples=len(val_idx)))
    callback = _Callback(emit, stop, batches, kept.keep)
    if not stop.is_set() and start_epoch < hp.epochs:
        emit(TrainingEvent("phase", phase="training"))
        validation = (data.x_train[val_idx], data.y_train[val_idx]) if len(val_idx) else None
        feed = feeding.training_batches(data.x_train, data.y_train, train_idx, hp.batch_size,
                                        hp.epochs, hp.seed, hp.augment)
        if start_epoch:
            feed = feed.skip(start_epoch * batches)  # the same shuffles as the first worker's
        trainer.model.fit(feed, epochs=hp.epochs, initial_epoch=start_epoch,
                          steps_per_epoch=batches, validation_data=validation,
                          validation_batch_size=evaluation.EVAL_BATCH_SIZE,
                          callbacks=[trainer.calls, callback], verbose=0, shuffle=False)
    model.set_weights(trainer.model.get_weights())
    compiled.give(wanted, trainer)  # only after a fit that returned: its state is known
    if callback.diverged_at is not None:
        epoch, first, last = callback.diverged_at
        where = f"batch {last}" if first == last else f"batches {first}-{last}"
        raise ValueError(f"training diverged: the loss became NaN or infinite at epoch "
                         f"{epoch}, {where}; try a smaller learning rate")
    emit(TrainingEvent("phase", phase="evaluating"))
    test, misclassified = evaluation.evaluate(model, data.x_test, data.y_test)
    return make_run(name or arch.name, arch, hp, data, model, progress, kept.kept, test,
                    misclassified, trained_in=trained_in)


def make_run(name: str, arch: Architecture, hyperparameters: Hyperparameters, data: Any,
             model: keras.Model, progress: Progress, epoch_weights: dict[int, list[np.ndarray]],
             test: dict[str, Any], misclassified: Sequence[Misclassified],
             history: Sequence[EpochRecord] | None = None, stopped: bool | None = None,
             trained_in: str = "float32") -> Run:
    """The :class:`Run` of a training whose numbers ``progress`` holds.

    Args:
        name, arch, hyperparameters, data: the run's name, architecture (filled in),
            hyperparameters and data set.
        model: the trained model.
        progress: the training's progress (history, curve, split, time).
        epoch_weights: ``get_weights()`` copies by epoch.
        test, misclassified: :func:`cnnlab.training.evaluation.evaluate`'s results.
        history: the epochs to keep (default all of ``progress``'s).
        stopped: whether it stopped early (default: fewer whole epochs than planned).
        trained_in: the precision it trained in (``float32`` or ``bfloat16``).
    """
    numbers = progress.numbers(training=False)
    history = tuple(numbers["history"] if history is None else history)
    completed = sum(1 for record in history if record.complete)
    stopped = completed < hyperparameters.epochs if stopped is None else stopped
    last = history[-1] if history else None
    at = {"epoch": last.epoch, "batch": last.batches} if last else {"epoch": 0, "batch": 0}
    metrics = Metrics(**test, train_samples=progress.train_samples,
                      validation_samples=progress.validation_samples,
                      epochs_completed=completed, stopped=stopped,
                      stopped_at=at if stopped else None, seconds=numbers["elapsed"],
                      precision=trained_in)
    return Run(name=name, architecture=arch, model=model, hyperparameters=hyperparameters,
               dataset=data.ref, class_names=tuple(data.class_names), history=history,
               metrics=metrics, misclassified=tuple(misclassified), curve=numbers["curve"],
               epoch_weights=dict(epoch_weights), input_preparation=data.preparation)


def run_from_weights(name: str, arch: Architecture, hyperparameters: Hyperparameters,
                     data: Any, weights: list[np.ndarray], progress: Progress,
                     epoch_weights: dict[int, list[np.ndarray]],
                     test: dict[str, Any] | None = None,
                     misclassified: Sequence[Misclassified] = (),
                     history: Sequence[EpochRecord] | None = None,
                     stopped: bool | None = None, trained_in: str = "float32") -> Run:
    """The :class:`Run` of ``weights`` trained elsewhere (a Dask worker), whose events
    ``progress`` replayed: the model is rebuilt here for inference, and evaluated here when
    ``test`` is None (a job that lost its scheduler keeps its last finished epoch so).
    Arguments as :func:`make_run` (``trained_in``: what the worker reported)."""
    model = _seeded_model(arch, hyperparameters.seed)
    model.set_weights(weights)
    if test is None:
        test, misclassified = evaluation.evaluate(model, data.x_test, data.y_test)
    return make_run(name, arch, hyperparameters, data, model, progress, epoch_weights, test,
                    misclassified, history, stopped, trained_in)
