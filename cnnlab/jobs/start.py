"""The one way to start a training job, in this process or on a Dask cluster.

:func:`start_job` checks everything first (the architecture against the data set and the
batch size, the server's memory budget for a job trained here, the scheduler for one trained
there), then queues the job: in this process's queue (``CNNLAB_MAX_JOBS`` slots,
:mod:`cnnlab.jobs.local`) or on the cluster whose scheduler ``scheduler`` names
(:mod:`cnnlab.jobs.cluster`). Saving is part of the job: ``save`` persists its run (the web
app: the workspace; the CLI: the ``--out`` folder). The web app (:mod:`cnnlab.jobs.ownership`)
and the CLI (``cnnlab train``) both start jobs here. TensorFlow (and Dask, for a cluster) is
imported when a job starts, not with this module.

Example:
    >>> job = start_job(presets.get("two-conv"), datasets.load_dataset("mnist-5k"),
    ...                 Hyperparameters(epochs=2), save=lambda run: run_files.save_run(
    ...                     run, "two-conv-run"))  # doctest: +SKIP
    >>> job.wait(); job.state, job.saved_to  # doctest: +SKIP
    (<State.SAVED: 'saved'>, 'two-conv-run')
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from cnnlab.jobs.job import Job, Listener
from cnnlab.memory.budget import BUDGET, MemoryBudgetError

if TYPE_CHECKING:
    from cnnlab.architecture.spec import Architecture
    from cnnlab.runs.records import Hyperparameters, Run

_NAMES_LOCK = threading.Lock()
_NAMES: set[str] = set()


def reserve_name(base: str, name: str | None = None) -> str:
    """``name`` if given, else ``base-<n>`` with the first n not used in this process."""
    with _NAMES_LOCK:
        if name is None:
            number = 1
            while f"{base}-{number}" in _NAMES:
                number += 1
            name = f"{base}-{number}"
        _NAMES.add(name)
        return name


def check_memory(arch: Architecture, hyperparameters: Hyperparameters, name: str) -> None:
    """Refuse a training that could not fit in the server's memory budget beside the jobs
    training now, saying what it needs, what is left and which batch size would fit.

    Raises:
        MemoryBudgetError: it cannot fit (nothing was allocated).
    """
    from cnnlab.training import memory

    need = memory.training_bytes(arch, hyperparameters)
    try:
        BUDGET.check(need, f"training {name} at batch size {hyperparameters.batch_size}")
    except MemoryBudgetError as exc:
        fits = memory.largest_batch_within(arch, hyperparameters, BUDGET.room_bytes())
        hint = (f"; a batch size of {fits} would fit" if fits else
                "; even a batch of one would not fit: use a smaller network")
        raise MemoryBudgetError(f"{exc}{hint}") from None


def start_job(arch: Architecture, dataset: Any, hyperparameters: Hyperparameters, *,
              save: Callable[[Run], Any], name: str | None = None, scheduler: str | None = None,
              owner: str | None = None, client: str | None = None,
              listeners: Iterable[Listener] = ()) -> Job:
    """Check everything, then queue a training job here or on the Dask cluster.

    Args:
        arch: the architecture; its input shape and class count may be omitted.
        dataset: a :class:`cnnlab.data.datasets.Dataset` (uint8 images, integer labels).
        hyperparameters: how to train.
        save: persists the run once trained, in the job's thread; returns where (kept as
            ``job.saved_to``). A failure to save fails the job with its message.
        name: the run's name; default ``<arch name>-<n>``, unique in this process.
        scheduler: a Dask scheduler's address to train there; None trains in this process.
        owner: the workspace token it belongs to, if any (read by the job's owners).
        client: the address of the computer that asked for it, if known.
        listeners: called with every :class:`cnnlab.jobs.job.JobEvent`, from the first on.
    Returns:
        The :class:`cnnlab.jobs.job.Job`, queued (it starts at once if a slot is free); read
        ``job.state`` or ``job.snapshot()``, wait with ``job.wait()``.
    Raises:
        ValueError: the architecture does not fit the data set (SpecError: it is invalid or
            too large at this batch size); MemoryBudgetError: it cannot fit in this server's
            memory budget; ClusterError: the scheduler is unreachable.
    """
    from cnnlab.training import routine

    filled = routine.prepare_architecture(arch, dataset, hyperparameters.batch_size)
    if scheduler:  # the workers hold the training; this server only its events and the run
        from cnnlab.jobs.cluster import ClusterRunner

        runner = ClusterRunner(scheduler, dataset)
    else:
        from cnnlab.jobs.local import LocalRunner

        check_memory(filled, hyperparameters, name or arch.name)
        runner = LocalRunner(dataset)
    job = Job(reserve_name(arch.name, name), filled, hyperparameters, runner, save,
              listeners=listeners, owner=owner, client=client)
    runner.submit(job)
    return job
