"""A job trained on a Dask cluster (``CNNLAB_SCHEDULER``, ``--scheduler``): the server's side.

:class:`ClusterRunner` submits :func:`cnnlab.cluster.task.train` (the cluster's queue, not the
server's :mod:`~cnnlab.jobs.job_queue`), and the job's thread replays the task's events into
the job's public pieces: the first "started" begins it, every
:class:`~cnnlab.training.progress.TrainingEvent` goes to :meth:`Job.handle`, the cluster's
queue ahead of a waiting job becomes its message. When the task is done the run is rebuilt
here from the weights that came back (:func:`cnnlab.training.routine.run_from_weights`), for
inference, and the job saves it like any other.

Faults: a worker lost mid-job makes Dask run the task again elsewhere, from the last finished
epoch (see :mod:`cnnlab.cluster.task`); the job's message then says so. A lost scheduler (or
workers dying again and again) fails the job with a message, after saving a run of its last
finished epoch, evaluated here, if one had finished. Imports Dask and TensorFlow.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from distributed import Event, Queue, Variable

from cnnlab.architecture import spec_json
from cnnlab.cluster import client as cluster_client
from cnnlab.cluster import task
from cnnlab.jobs.job import Outcome
from cnnlab.training import routine
from cnnlab.training.progress import TrainingEvent

if TYPE_CHECKING:
    from cnnlab.jobs.job import Job

POLL_S = 0.2  # seconds between two reads of the job's event queue when it was empty
AHEAD_EVERY_S = 1.0  # how often a waiting job asks the scheduler for its place
_log = logging.getLogger(__name__)


class ClusterRunner:
    """Trains one job on the cluster at ``address`` (a :class:`cnnlab.jobs.job.Runner`).

    Args:
        address: the scheduler's address; connecting fails here (``ClusterError``) if no
            scheduler answers.
        dataset: the data set (sent along if small, see :func:`cnnlab.cluster.task.data_spec`,
            and used here to evaluate a partial run); DatasetError if the workers could not
            get it.

    Attributes:
        key: the Dask task's key.
        worker: the worker running it (None until it starts).
        resumed_from: the epoch a rerun after a lost worker started from, else None.
        precision: what the worker trains in (it resolves ``auto`` for its own CPU).
    """

    def __init__(self, address: str, dataset: Any) -> None:
        self._spec = task.data_spec(dataset)  # a set too large to take along fails here
        self.address = address
        self._client = cluster_client.connect(address)
        self.key = f"{cluster_client.TASK_PREFIX}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        self._events = Queue(f"{self.key}-events", client=self._client)
        self._stop_flag = Event(f"{self.key}-stop", client=self._client)
        self._resume = Variable(f"{self.key}-resume", client=self._client)
        self._dataset = dataset
        self._weights = routine.EpochWeights()
        self._future: Any = None
        self._starts, self._ahead = 0, None
        self.worker: str | None = None
        self.resumed_from: int | None = None
        self.precision = "float32"  # what the worker trains in: its "started" event says

    def submit(self, job: Job) -> None:
        message = {"name": job.name,
                   "architecture": spec_json.architecture_to_json(job.architecture),
                   "hyperparameters": job.hyperparameters.to_dict(),
                   "data": self._spec, "events": f"{self.key}-events",
                   "stop": f"{self.key}-stop", "resume": f"{self.key}-resume"}
        self._resume.set({"epoch": 0, "weights": None})  # a rerun resumes from what is here
        self._future = self._client.submit(task.train, message, key=self.key, retries=0)
        job.set_message(self._waiting())
        job.launch()  # the job's thread follows the task from now on

    def _waiting(self) -> str:
        where = {None: "", 0: " (next in line)"}.get(self._ahead, f" ({self._ahead} ahead)")
        return "waiting for a free worker" + where

    def run(self, job: Job) -> Outcome | None:
        try:
            lost = self._follow(job)
            future = self._future
            if lost is None and future.status == "cancelled":
                return None
            if lost is None and future.status == "finished":
                result = future.result()
                job.begin()  # no-op once started (its "started" event always comes first)
                return Outcome(routine.run_from_weights(
                    job.name, job.architecture, job.hyperparameters, self._dataset,
                    result["weights"], job.progress, self._weights.kept, test=result["test"],
                    misclassified=result["misclassified"], trained_in=result["precision"]))
            if lost is None:
                exc = future.exception()
                if type(exc).__name__ != "KilledWorker":
                    raise exc
                lost = f"the workers running it died again and again ({exc})"
            return self._keeping_epochs(job, lost)
        finally:
            self._forget()

    def cancel(self, job: Job) -> bool:
        """Cancel the task while it waits for a worker."""
        if self._starts == 0 and self._future is not None:
            self._future.cancel()
            return True
        return False

    def stop(self, job: Job) -> None:
        try:
            self._stop_flag.set()
        except Exception:  # the scheduler is gone: the job's thread fails the job anyway
            _log.debug("could not set the stop event of %s", self.key, exc_info=True)

    def queue_position(self, job: Job) -> int | None:
        return None if self._ahead is None else self._ahead + 1

    def release(self, job: Job) -> None:
        self._dataset, self._spec, self._weights = None, None, routine.EpochWeights()

    def _follow(self, job: Job) -> str | None:
        """Replay the task's events until it ends; a message if the scheduler was lost."""
        asked = 0.0
        while True:
            finished = self._future.done()  # before reading: its last events are queued first
            try:
                items = self._events.get(batch=True, callback_timeout=30)
            except Exception as exc:  # closed comm, or no answer for 30 s
                return self._lost(exc)
            for item in items:
                self._handle(job, item)
            if self._client.status != "running":
                return self._lost("the connection closed")
            if finished:
                return None
            if self._starts == 0 and time.monotonic() - asked >= AHEAD_EVERY_S:
                asked = time.monotonic()
                ahead = cluster_client.waiting_ahead(self._client, self.key)
                if ahead != self._ahead and self._starts == 0:
                    self._ahead = ahead
                    job.set_message(self._waiting())
            if not items:
                time.sleep(POLL_S)

    def _lost(self, reason: object) -> str:
        first = str(reason).splitlines()[0] if str(reason) else type(reason).__name__
        return f"lost the Dask scheduler at {self.address} ({first})"

    def _handle(self, job: Job, item: dict[str, Any]) -> None:
        if item["kind"] == "started":
            self._starts += 1
            self.worker, self._ahead = item["worker"], None
            self.precision = item.get("precision", self.precision)
            if self._starts == 1:
                job.begin()
                return
            self.resumed_from = start = int(item["resumed_from"])
            job.set_message(f"a worker was lost; resumed from epoch {start}" if start else
                            "a worker was lost; started again from the first epoch")
            return
        event = TrainingEvent.from_wire(item, task.unpack_weights)
        if job.handle(event) and event.weights is not None:  # a replayed epoch keeps the first
            self._weights.keep(event.epoch, event.weights)

    def _keeping_epochs(self, job: Job, message: str) -> Outcome:
        """The job fails with ``message``; first a run of its last finished epoch, evaluated
        here, if one finished."""
        done = [r for r in job.progress.numbers(training=False)["history"] if r.complete]
        if not done or done[-1].epoch not in self._weights.kept:
            return Outcome(None, message)
        job.progress.set_phase("evaluating")
        run = routine.run_from_weights(
            job.name, job.architecture, job.hyperparameters, self._dataset,
            self._weights.kept[done[-1].epoch], job.progress, self._weights.kept,
            history=done, stopped=True, trained_in=self.precision)
        return Outcome(run, f"{message}; the run of its first {done[-1].epoch} epoch(s) is kept")

    def _forget(self) -> None:
        """Release the task's result and its queue and variable on the scheduler."""
        try:
            if self._client.status == "running":
                self._events.close()
                self._resume.delete()
        except Exception:
            _log.debug("could not clean up %s on the scheduler", self.key, exc_info=True)
        self._future = None
