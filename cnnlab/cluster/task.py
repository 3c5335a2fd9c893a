"""What runs ON a Dask worker: load the data, build the model, train, publish, evaluate.

:func:`train` is the task :mod:`cnnlab.cluster.job` submits. It publishes every batch's
running means, every epoch's record and weights to the job's ``distributed.Queue`` (the
server replays them into a :class:`~cnnlab.training.progress.Progress`, so curves and rates
are the same as a local job's), checks the job's ``distributed.Event`` for a stop after every
batch, and keeps the last finished epoch's weights in the job's ``distributed.Variable``: if
the worker dies, Dask runs the task again on another worker, which resumes from there.

Queue and Variable values are msgpack, so weights travel as ``.npz`` bytes (read back with
``allow_pickle=False``). TensorFlow is imported when the task runs, not with this module.
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from cnnlab.training.progress import JobEvent, Progress, ProgressCallback


def pack_weights(weights: list[np.ndarray]) -> bytes:
    """``model.get_weights()`` as ``.npz`` bytes (msgpack carries bytes, not arrays)."""
    buffer = io.BytesIO()
    np.savez(buffer, *weights)
    return buffer.getvalue()


def unpack_weights(data: bytes) -> list[np.ndarray]:
    """The arrays :func:`pack_weights` packed, in order; never unpickles."""
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


def load_data(spec: dict[str, Any], worker: str) -> Any:
    """The job's data set on this worker (``spec`` from :func:`cnnlab.cluster.job.data_spec`):
    from the arrays sent, else loaded by its ref (a named set, or a folder at the same path).

    Raises:
        DatasetError: this worker lacks it; the message names the worker and the data set.
    """
    from cnnlab.data import datasets, refs

    ref = refs.DatasetRef.from_dict(spec["ref"])
    if "arrays" in spec:
        return datasets.Dataset(ref=ref, class_names=tuple(spec["class_names"]),
                                preparation=spec.get("preparation", ""), **spec["arrays"])
    try:
        return datasets.load(ref)
    except datasets.DatasetError as exc:
        hint = ("a folder data set over 100 MB must be at the same path on every worker"
                if ref.kind == refs.FOLDER else "a named data set is read from the worker's "
                "own Keras cache (~/.keras/datasets); copy its files there")
        raise datasets.DatasetError(f"worker {worker} cannot load the data set {ref.label}: "
                                    f"{exc} ({hint})") from None


class _StopFlag:
    """The job's ``distributed.Event`` behind the ``is_set()`` the callback asks per batch."""

    def __init__(self, event: Any) -> None:
        self.event, self.seen = event, False

    def is_set(self) -> bool:
        self.seen = self.seen or bool(self.event.is_set())
        return self.seen


class Publisher(ProgressCallback):
    """The engine's callback (a local Progress, the stop check), publishing what it sees."""

    def __init__(self, progress: Progress, stop: _StopFlag, events: Any, resume: Any) -> None:
        super().__init__(progress, stop, self._publish_epoch, self._hold)
        self.events, self.resume = events, resume
        self._weights: tuple[int, list[np.ndarray]] | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_begin(epoch, logs)
        self.events.put({"kind": "epoch_begin", "epoch": epoch + 1})

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.events.put({"kind": "batch", "batch": batch + 1,
                         "loss": float(logs.get("loss", math.nan)),
                         "accuracy": float(logs.get("accuracy", 0.0))})
        super().on_train_batch_end(batch, logs)

    def _hold(self, epoch: int, weights: list[np.ndarray]) -> None:
        self._weights = (epoch, weights)

    def _publish_epoch(self, event: JobEvent) -> None:
        if event.kind != "epoch" or self._weights is None:
            return
        packed = pack_weights(self._weights[1])
        self.events.put({"kind": "epoch", "record": event.record.to_dict(), "weights": packed})
        if event.record.complete:  # where a rerun on another worker starts
            self.resume.set({"epoch": event.epoch, "weights": packed})


def train(job: dict[str, Any]) -> dict[str, Any]:
    """Train one job on this worker; the Dask task :mod:`cnnlab.cluster.job` submits.

    Args:
        job: ``architecture`` (JSON text), ``hyperparameters`` (dict), ``data`` (see
            :func:`load_data`), and the names of its ``events`` Queue, ``stop`` Event and
            ``resume`` Variable.
    Returns:
        ``weights`` (the final ``get_weights()``), ``metrics`` and ``misclassified`` (from
        :func:`cnnlab.training.evaluation.evaluate`), ``train_samples``,
        ``validation_samples``.
    Raises:
        ValueError: the data are missing here (DatasetError), or training diverged.
    """
    import keras
    from distributed import Event, Queue, Variable, get_worker

    from cnnlab.architecture import spec_json
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import builder, evaluation, feeding, memory

    worker = get_worker().address
    events, resume = Queue(job["events"]), Variable(job["resume"])
    stop = _StopFlag(Event(job["stop"]))
    state = resume.get(timeout=30)  # the server's initial weights, later each epoch's
    start = int(state["epoch"])
    events.put({"kind": "started", "worker": worker, "resumed_from": start})
    data = load_data(job["data"], worker)
    arch = spec_json.architecture_from_json(job["architecture"])
    hp = Hyperparameters.from_dict(job["hyperparameters"])
    keras.utils.set_random_seed(hp.seed)  # one job per worker thread: nothing interleaves
    model = builder.build_model(arch, seed=hp.seed)
    builder.compile_model(model, hp.optimizer, hp.learning_rate)
    memory.create_training_variables(model, data.x_train[:1], data.y_train[:1])
    model.set_weights(unpack_weights(state["weights"]))  # the server's start, or an epoch's
    train_idx, val_idx = feeding.split(data.y_train, hp.validation_fraction, hp.seed)
    batches = math.ceil(len(train_idx) / hp.batch_size)
    progress = Progress(job["events"], hp.epochs)
    progress.configure(batches, hp.batch_size, len(train_idx))
    progress.set_status("running", "training")
    events.put({"kind": "configure", "batches": batches, "batch_size": hp.batch_size,
                "train_samples": len(train_idx),
                "weights": None if start else state["weights"]})
    callback = Publisher(progress, stop, events, resume)
    if not stop.is_set() and start < hp.epochs:
        validation = (data.x_train[val_idx], data.y_train[val_idx]) if len(val_idx) else None
        feed = feeding.training_batches(data.x_train, data.y_train, train_idx, hp.batch_size,
                                        hp.epochs, hp.seed, hp.augment).skip(start * batches)
        model.fit(feed, epochs=hp.epochs, initial_epoch=start, steps_per_epoch=batches,
                  validation_data=validation, validation_batch_size=evaluation.EVAL_BATCH_SIZE,
                  callbacks=[callback], verbose=0, shuffle=False)
    if callback.diverged_at is not None:
        epoch, batch = callback.diverged_at
        raise ValueError(f"training diverged: the loss became NaN or infinite at epoch "
                         f"{epoch}, batch {batch}; try a smaller learning rate")
    events.put({"kind": "evaluating"})
    metrics, misclassified = evaluation.evaluate(model, data.x_test, data.y_test)
    weights = model.get_weights()
    memory.release_training_state(model)
    del model
    memory.return_freed_memory()
    return {"weights": weights, "metrics": metrics, "misclassified": misclassified,
            "train_samples": len(train_idx), "validation_samples": len(val_idx)}
