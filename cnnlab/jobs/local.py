"""A job trained in this process: it waits in the process-wide queue, then a thread of its own
runs :func:`cnnlab.training.routine.train`.

While it trains it holds a reservation of the server's memory budget
(:data:`cnnlab.memory.budget.BUDGET`) of what the training is estimated to hold
(:func:`cnnlab.training.memory.training_bytes`): if the budget cannot give it, the job fails
with the budget's message instead of training. Its slot in the queue is freed as soon as its
training ends (saving the run does not need it). Imports TensorFlow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnnlab.jobs.job import Outcome
from cnnlab.jobs.job_queue import JOBS
from cnnlab.memory.budget import BUDGET
from cnnlab.training import memory, routine, warmup

if TYPE_CHECKING:
    from cnnlab.jobs.job import Job


class LocalRunner:
    """Trains one job in this process (a :class:`cnnlab.jobs.job.Runner`).

    Args:
        dataset: the data set to train on (let go of when the job ends).
    """

    def __init__(self, dataset: Any) -> None:
        self._dataset = dataset
        self._job: Job | None = None

    def submit(self, job: Job) -> None:
        self._job = job
        JOBS.submit(self)

    def launch(self) -> None:
        """Admitted by the queue: start the job's thread."""
        self._job.launch()

    def run(self, job: Job) -> Outcome | None:
        try:
            if not job.begin():
                return None
            warmup.wait_for_it()  # a fresh server's: its kept model is this job's to take
            hp = job.hyperparameters
            need = memory.training_bytes(job.architecture, hp)
            with BUDGET.reserve(need, f"training {job.name} at batch size {hp.batch_size}"):
                return Outcome(routine.train(job.architecture, self._dataset, hp,
                                             listener=job.handle, stop=job.stop_signal,
                                             name=job.name))
        finally:
            JOBS.finished()

    def cancel(self, job: Job) -> bool:
        return JOBS.cancel(self)

    def stop(self, job: Job) -> None:
        """Nothing to pass on: the routine reads the job's stop signal itself."""

    def queue_position(self, job: Job) -> int | None:
        return JOBS.position(self)

    def release(self, job: Job) -> None:
        self._dataset, self._job = None, None
        memory.return_freed_memory()
