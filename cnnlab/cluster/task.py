"""What runs ON a Dask worker: the training routine, its events published, its run sent back.

:func:`train` is the task :mod:`cnnlab.jobs.cluster` submits. It loads the data
(:func:`load_data`; :func:`data_spec` is the server's side: how the worker finds them), then
calls :func:`cnnlab.training.routine.train` — the same routine a job in the server's own
process runs — with a listener that publishes every
:class:`~cnnlab.training.progress.TrainingEvent` to the job's ``distributed.Queue`` (the
server replays them into the job's progress, so curves and rates are the same as a local
job's), a stop signal that reads the job's ``distributed.Event`` after every call of a few
batches, and keeps the last finished epoch's weights in the job's ``distributed.Variable``: if
the worker dies, Dask runs the task again on another worker, which resumes from there
(``start_epoch``, ``start_weights``). The run comes back as plain data: its final weights,
test metrics and mistakes (the server holds the history, the curve and the epoch weights from
the events).

Queue and Variable values are msgpack, so weights travel as ``.npz`` bytes (read back with
``allow_pickle=False``). TensorFlow is imported when the task runs, not with this module.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import replace
from typing import Any

import numpy as np

SEND_LIMIT_BYTES = 100 * 2**20  # a data set the workers cannot load by name travels with the job


def pack_weights(weights: list[np.ndarray]) -> bytes:
    """``model.get_weights()`` as ``.npz`` bytes (msgpack carries bytes, not arrays)."""
    buffer = io.BytesIO()
    np.savez(buffer, *weights)
    return buffer.getvalue()


def unpack_weights(data: bytes) -> list[np.ndarray]:
    """The arrays :func:`pack_weights` packed, in order; never unpickles."""
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return [arrays[f"arr_{i}"] for i in range(len(arrays.files))]


def data_spec(dataset: Any) -> dict[str, Any]:
    """How a worker finds the data: its ref (:meth:`cnnlab.data.refs.DatasetRef.to_dict`), and
    unless it is a named set, its arrays when they are small (up to :data:`SEND_LIMIT_BYTES`);
    a larger folder set is read from the same path on the worker. A named set whose test split
    is cut (the web app's, without the held-back images: ``Dataset.test_indices``) sends the
    indices kept, so the worker tests on the same images.

    Raises:
        DatasetError: a larger set that only this server has (an upload, drawings, one made
            in memory), which the job cannot take along.
    """
    from cnnlab.data import datasets, refs

    ref = dataset.ref
    spec: dict[str, Any] = {"ref": ref.to_dict()}
    if ref.kind == refs.NAMED:
        if dataset.test_indices is not None:
            spec["test_indices"] = [int(i) for i in dataset.test_indices]
        return spec
    arrays = {k: getattr(dataset, k) for k in ("x_train", "y_train", "x_test", "y_test")}
    size = sum(a.nbytes for a in arrays.values())
    if size <= SEND_LIMIT_BYTES:
        return spec | {"class_names": list(dataset.class_names), "arrays": arrays,
                       "preparation": dataset.preparation}
    if ref.kind == refs.FOLDER:
        return spec
    raise datasets.DatasetError(
        f"the data set {ref.label} holds {size / 2**20:,.0f} MB, more than the "
        f"{SEND_LIMIT_BYTES / 2**20:.0f} MB a job takes to the cluster; a larger set must be a "
        "named one or a folder at the same path on every worker")


def load_data(spec: dict[str, Any], worker: str) -> Any:
    """The job's data set on this worker (``spec`` from :func:`data_spec`):
    from the arrays sent, else loaded by its ref (a named set, or a folder at the same path),
    its test split cut to the ``test_indices`` sent, if any.

    Raises:
        DatasetError: this worker lacks it; the message names the worker and the data set.
    """
    from cnnlab.data import datasets, refs

    ref = refs.DatasetRef.from_dict(spec["ref"])
    if "arrays" in spec:
        return datasets.Dataset(ref=ref, class_names=tuple(spec["class_names"]),
                                preparation=spec.get("preparation", ""), **spec["arrays"])
    try:
        data = datasets.load(ref)
    except datasets.DatasetError as exc:
        hint = ("a folder data set over 100 MB must be at the same path on every worker"
                if ref.kind == refs.FOLDER else "a named data set is read from the worker's "
                "own Keras cache (~/.keras/datasets); copy its files there")
        raise datasets.DatasetError(f"worker {worker} cannot load the data set {ref.label}: "
                                    f"{exc} ({hint})") from None
    kept = spec.get("test_indices")
    if kept is None:
        return data
    kept = np.asarray(kept, dtype=np.int64)
    if kept.ndim != 1 or not len(kept) or kept.min() < 0 or kept.max() >= len(data.y_test):
        raise datasets.DatasetError(f"worker {worker}: the test indices sent do not fit the "
                                    f"{len(data.y_test):,} test images of {ref.label}")
    return dataclasses.replace(data, x_test=data.x_test[kept], y_test=data.y_test[kept],
                               test_indices=kept)


class _StopFlag:
    """The job's ``distributed.Event`` behind the ``is_set()`` the routine asks every few
    batches."""

    def __init__(self, event: Any) -> None:
        self.event, self.seen = event, False

    def is_set(self) -> bool:
        self.seen = self.seen or bool(self.event.is_set())
        return self.seen


def train(job: dict[str, Any]) -> dict[str, Any]:
    """Train one job on this worker; the Dask task :mod:`cnnlab.jobs.cluster` submits.

    Args:
        job: ``name``, ``architecture`` (JSON text), ``hyperparameters`` (dict), ``data``
            (see :func:`load_data`), and the names of its ``events`` Queue, ``stop`` Event
            and ``resume`` Variable.
    Returns:
        The run as plain data: ``weights`` (the final ``get_weights()``), ``precision`` (what
        it trained in: the job's, ``auto`` resolved for this worker's CPU and told in the
        "started" event), ``test`` (the test metrics of
        :func:`cnnlab.training.evaluation.evaluate`) and ``misclassified``.
    Raises:
        ValueError: the data are missing here (DatasetError), or training diverged.
    """
    from distributed import Event, Queue, Variable, get_worker

    from cnnlab.architecture import spec_json
    from cnnlab.models import precision
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import evaluation, memory, routine

    worker = get_worker().address
    events, resume = Queue(job["events"]), Variable(job["resume"])
    state = resume.get(timeout=30)  # nothing at first, later each finished epoch's weights
    start = int(state["epoch"])
    arch = spec_json.architecture_from_json(job["architecture"])
    hp = Hyperparameters.from_dict(job["hyperparameters"])
    hp = replace(hp, precision=precision.resolve(hp.precision, arch))  # auto: for this CPU
    events.put({"kind": "started", "worker": worker, "resumed_from": start,
                "precision": hp.precision})
    data = load_data(job["data"], worker)

    def publish(event: Any) -> None:
        item = event.to_wire(pack_weights)
        events.put(item)
        if event.kind == "epoch" and event.record.complete:  # where a rerun starts
            resume.set({"epoch": event.epoch, "weights": item["weights"]})

    run = routine.train(arch, data, hp, listener=publish,
                        stop=_StopFlag(Event(job["stop"])), start_epoch=start,
                        start_weights=None if state["weights"] is None
                        else unpack_weights(state["weights"]), name=job["name"])
    result = {"weights": run.model.get_weights(), "precision": run.metrics.precision,
              "test": {key: getattr(run.metrics, key) for key in evaluation.TEST_METRICS},
              "misclassified": run.misclassified}
    del run
    memory.return_freed_memory()
    return result
