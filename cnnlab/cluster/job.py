"""The server's side of a training job run on a Dask cluster: the engine's job interface.

:class:`ClusterJob` is a :class:`cnnlab.training.engine.TrainingJob` (the same ``snapshot``,
``done``, ``wait``, ``result``, ``stop``, listeners), so ownership, the pages and the CLI
use it unchanged. It submits :func:`cnnlab.cluster.task.train` (the cluster's queue, not the
server's :mod:`~cnnlab.training.job_queue`) and a thread of this process replays the task's
events into the job's :class:`~cnnlab.training.progress.Progress`. When the task is done the
thread rebuilds the model from the architecture and the weights that came back, for
inference, and makes the :class:`~cnnlab.runs.records.Run`.

Faults: a worker lost mid-job makes Dask run the task again elsewhere, from the last finished
epoch (see :mod:`cnnlab.cluster.task`); the snapshot's message then says so. A lost scheduler
(or workers dying again and again) fails the job with a message, keeping a partial run
evaluated here if an epoch had finished.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

from distributed import Event, Queue, Variable

from cnnlab.architecture import spec_json
from cnnlab.architecture.spec import Architecture
from cnnlab.cluster import client as cluster_client
from cnnlab.cluster import task
from cnnlab.runs.metrics import Metrics
from cnnlab.runs.records import EpochRecord, Hyperparameters, Run
from cnnlab.training import builder, engine, evaluation
from cnnlab.training.job_queue import JOBS
from cnnlab.training.progress import JobEvent

SEND_LIMIT_BYTES = 100 * 2**20  # a data set the workers cannot load by name travels with the job
POLL_S = 0.2  # seconds between two reads of the job's event queue when it was empty
AHEAD_EVERY_S = 1.0  # how often a waiting job asks the scheduler for its place
_log = logging.getLogger(__name__)


def data_spec(dataset: Any) -> dict[str, Any]:
    """How a worker finds the data: its ref (:meth:`cnnlab.data.refs.DatasetRef.to_dict`), and
    unless it is a named set, its arrays when they are small (up to :data:`SEND_LIMIT_BYTES`);
    a larger folder set is read from the same path on the worker.

    Raises:
        DatasetError: a larger set that only this server has (an upload, drawings, one made
            in memory), which the job cannot take along.
    """
    from cnnlab.data import datasets, refs

    ref = dataset.ref
    spec: dict[str, Any] = {"ref": ref.to_dict()}
    if ref.kind == refs.NAMED:
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


class ClusterJob(engine.TrainingJob):
    """One training job on the cluster at ``address``; create with :func:`start`.

    Attributes (besides the engine job's):
        address: the scheduler's address.
        key: the Dask task's key.
        worker: the worker running it (None until it starts).
        resumed_from: the epoch a rerun after a lost worker started from, else None.
    """

    def __init__(self, name: str, arch: Any, dataset: Any, hyperparameters: Hyperparameters,
                 listeners: Iterable[engine.Listener], client: Any, address: str) -> None:
        super().__init__(name, arch, dataset, hyperparameters, listeners)
        self.address, self._client = address, client
        self.key = f"{cluster_client.TASK_PREFIX}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        self._events = Queue(f"{self.key}-events", client=client)
        self._stop_flag = Event(f"{self.key}-stop", client=client)
        self._resume = Variable(f"{self.key}-resume", client=client)
        self._future: Any = None
        self._starts, self._ahead = 0, None
        self._train_samples = 0
        self.worker: str | None = None
        self.resumed_from: int | None = None

    def snapshot(self) -> engine.Snapshot:
        """A consistent copy of the progress; while waiting, its place in the cluster's queue."""
        return self._progress.snapshot(None if self._ahead is None else self._ahead + 1)

    def stop(self) -> None:
        """Stop after the current batch, or cancel the task while it waits for a worker."""
        self._stop.set()
        try:
            self._stop_flag.set()
        except Exception:  # the scheduler is gone: the thread fails the job anyway
            _log.debug("could not set the stop event of %s", self.key, exc_info=True)
        if self._starts == 0 and self._future is not None:
            self._future.cancel()
            return
        self._announce_stopping()

    def _submit(self, dataset: Any) -> None:
        job = {"architecture": spec_json.architecture_to_json(self.architecture),
               "hyperparameters": self.hyperparameters.to_dict(), "data": data_spec(dataset),
               "events": f"{self.key}-events", "stop": f"{self.key}-stop",
               "resume": f"{self.key}-resume"}
        with engine._BUILD_LOCK:  # the start a local job would have, whatever the worker's state
            first = builder.build_model(self.architecture, seed=self.hyperparameters.seed)
        self._resume.set({"epoch": 0, "weights": task.pack_weights(first.get_weights())})
        self._future = self._client.submit(task.train, job, key=self.key, retries=0)
        self._set_waiting()

    def _set_waiting(self) -> None:
        ahead = self._ahead
        where = {None: "", 0: " (next in line)"}.get(ahead, f" ({ahead} ahead)")
        text = "waiting for a free worker" + where
        self._set_status("queued", message=text)

    def _run(self) -> None:
        try:
            lost = self._follow()
            if lost is None and self._future.status == "cancelled":
                self._set_status("stopped", message="cancelled before it started")
            elif lost is None and self._future.status == "finished":
                self._result = self._finish(self._future.result())
                final = "stopped" if self._result.stopped else "finished"
                snap = self._progress.snapshot()
                self._set_status(final, message=None if final == "finished" else
                                 f"stopped after epoch {snap.epoch}, batch {snap.batch}")
            elif lost is None:
                exc = self._future.exception()
                if type(exc).__name__ != "KilledWorker":
                    raise exc
                self._fail_keeping_epochs(f"the workers running it died again and again ({exc})")
            else:
                self._fail_keeping_epochs(lost)
        except Exception as exc:  # the job's failure is reported, never raised in a thread
            _log.debug("cluster job %s failed", self.name, exc_info=True)
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._set_status("failed", message=text)
        finally:
            self._dataset = None
            self._forget()
            self._done.set()

    def _follow(self) -> str | None:
        """Replay the task's events until it ends; a message if the scheduler was lost."""
        asked = 0.0
        while True:
            finished = self._future.done()  # before reading: its last events are queued first
            try:
                items = self._events.get(batch=True, callback_timeout=30)
            except Exception as exc:  # closed comm, or no answer for 30 s
                return self._lost_message(exc)
            for item in items:
                self._handle(item)
            if self._client.status != "running":
                return self._lost_message("the connection closed")
            if finished:
                return None
            if self._starts == 0 and time.monotonic() - asked >= AHEAD_EVERY_S:
                asked = time.monotonic()
                ahead = cluster_client.waiting_ahead(self._client, self.key)
                if ahead != self._ahead and self._starts == 0:
                    self._ahead = ahead
                    self._set_waiting()
            if not items:
                time.sleep(POLL_S)

    def _lost_message(self, reason: object) -> str:
        first = str(reason).splitlines()[0] if str(reason) else type(reason).__name__
        return f"lost the Dask scheduler at {self.address} ({first})"

    def _handle(self, item: dict[str, Any]) -> None:
        kind, progress = item["kind"], self._progress
        if kind == "started":
            self._starts += 1
            self.worker, self._ahead = item["worker"], None
            status = "stopping" if self._stop.is_set() else "running"
            message = ""
            if self._starts > 1:
                self.resumed_from = start = int(item["resumed_from"])
                message = (f"a worker was lost; resumed from epoch {start}" if start else
                           "a worker was lost; started again from the first epoch")
            self._set_status(status, "building", message=message)
        elif kind == "configure":
            self._train_samples = int(item["train_samples"])
            progress.configure(int(item["batches"]), int(item["batch_size"]),
                               self._train_samples)
            if item["weights"] is not None:
                self._keep_weights(0, task.unpack_weights(item["weights"]))
            progress.set_phase("training")
        elif kind == "epoch_begin":
            progress.epoch_begin(int(item["epoch"]))
        elif kind == "batch":
            progress.batch_end(int(item["batch"]), item["loss"], item["accuracy"])
            self._emit(JobEvent("batch", self.name, progress.status, progress.epoch,
                                int(item["batch"])))
        elif kind == "epoch":
            record = EpochRecord.from_dict(item["record"])
            if any(r.epoch == record.epoch for r in progress.snapshot().history):
                return  # a lost worker's epoch, published again by the rerun
            self._keep_weights(record.epoch, task.unpack_weights(item["weights"]))
            progress.epoch_end(record)
            self._emit(JobEvent("epoch", self.name, progress.status, record.epoch,
                                record.batches, record))
        elif kind == "evaluating":
            progress.set_phase("evaluating")

    def _finish(self, result: dict[str, Any]) -> Run:
        return self._make_run(result["weights"], result["metrics"], result["misclassified"],
                              self._progress.snapshot().history, result["validation_samples"])

    def _fail_keeping_epochs(self, message: str) -> None:
        """Fail the job; first keep a run of its last finished epoch, evaluated here."""
        done = [r for r in self._progress.snapshot().history if r.complete]
        if done and done[-1].epoch in self._epoch_weights:
            self._progress.set_phase("evaluating")
            model = self._model(self._epoch_weights[done[-1].epoch])
            data = self._dataset
            metrics, misclassified = evaluation.evaluate(model, data.x_test, data.y_test)
            self._result = self._make_run(
                model, metrics, misclassified, tuple(done),
                len(data.y_train) - self._train_samples, stopped=True)
            message += f"; the run of its first {done[-1].epoch} epoch(s) is kept"
        self._set_status("failed", message=message)

    def _model(self, weights: list) -> Any:
        model = builder.build_model(self.architecture, seed=self.hyperparameters.seed)
        model.set_weights(weights)
        return model

    def _make_run(self, weights: Any, metrics: dict, misclassified: Any,
                  history: tuple[EpochRecord, ...], validation_samples: int,
                  stopped: bool | None = None) -> Run:
        hp, snap, data = self.hyperparameters, self._progress.snapshot(), self._dataset
        model = weights if not isinstance(weights, list) else self._model(weights)
        completed = sum(1 for record in history if record.complete)
        stopped = completed < hp.epochs if stopped is None else stopped
        at = history[-1] if history else None
        metrics = Metrics(
            **metrics, train_samples=self._train_samples, validation_samples=validation_samples,
            epochs_completed=completed, stopped=stopped,
            stopped_at=({"epoch": at.epoch if at else 0, "batch": at.batches if at else 0}
                        if stopped else None),
            seconds=snap.elapsed)
        return Run(name=self.name, architecture=self.architecture, model=model,
                   hyperparameters=hp, dataset=data.ref, class_names=tuple(data.class_names),
                   history=tuple(history), metrics=metrics, misclassified=tuple(misclassified),
                   curve=snap.curve, epoch_weights=dict(self._epoch_weights),
                   input_preparation=data.preparation)

    def _forget(self) -> None:
        """Release the task's result and its queue, event and variable on the scheduler."""
        try:
            if self._client.status == "running":
                self._events.close()
                self._resume.delete()
        except Exception:
            _log.debug("could not clean up %s on the scheduler", self.key, exc_info=True)
        self._future = None


def start_training(arch: Architecture, dataset: Any,
                   hyperparameters: Hyperparameters | None = None, *, name: str | None = None,
                   listeners: Iterable[engine.Listener] = (), scheduler: str) -> ClusterJob:
    """:func:`cnnlab.training.engine.start_training`, on the cluster at ``scheduler``: check
    everything, connect, submit; the job waits there for a free worker thread.

    Raises:
        ValueError: the architecture does not fit the data set (SpecError: it is invalid).
        ClusterError: the scheduler is unreachable (the message names its address).
    """
    hyperparameters = hyperparameters or Hyperparameters()
    filled = engine.prepare_architecture(arch, dataset)
    client = cluster_client.connect(scheduler)
    name = JOBS.reserve_name(arch.name, name)
    job = ClusterJob(name, filled, dataset, hyperparameters, listeners, client, scheduler)
    job._submit(dataset)
    job._launch()
    return job
