"""Training jobs belong to workspaces: one active job each, a bounded queue, no orphans.

The web app starts jobs through :func:`start`, never the engine directly:

- at most one active (queued, running or stopping) job per workspace, checked here, on the
  server, whatever the page's buttons show;
- at most ``CNNLAB_MAX_QUEUE`` jobs wait for a slot; past it :func:`start` says the server
  is busy and how many jobs wait;
- every script run of a workspace's page calls :func:`beat`, and each browser session of it
  may :func:`attach` a probe saying whether its connection is still open (a background tab
  whose timers the browser slows still counts as open); a watcher thread per job stops it (a
  queued job is cancelled, a running one ends after its current batch and is evaluated) once
  no page of its workspace has beaten for ``CNNLAB_ORPHAN_GRACE_S`` seconds and no attached
  session is connected;
- whatever the job leaves (finished or stopped) is saved to its workspace by that thread,
  which then sets :attr:`OwnedJob.saved`: nothing depends on a page being open to keep it.

With ``CNNLAB_SCHEDULER`` set, jobs train on that Dask cluster (:mod:`cnnlab.cluster`) and
wait in its queue, not this server's. Jobs live in this process; a reload of a page finds its
workspace's job again by token (:func:`last`). This module imports the engine (TensorFlow)
only when a job starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnlab.training.job_queue import JOBS
from cnnlab.workspaces import models, settings

if TYPE_CHECKING:
    from cnnlab.architecture.spec import Architecture
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training.engine import TrainingJob
    from cnnlab.workspaces.store import Workspace


class BusyError(ValueError):
    """A job refused: the workspace has one already, or the server's queue is full."""


@dataclass
class OwnedJob:
    """A workspace's job and what became of its run.

    Attributes:
        job: the engine's job.
        workspace: the workspace it belongs to.
        saved: set once the job has ended and its run (if any) is saved, or saving failed.
        folder: the run's folder in the workspace once saved.
        error: why saving failed, if it did.
        orphaned: whether it was stopped because no page of its workspace was open.
    """

    job: TrainingJob
    workspace: Workspace
    saved: threading.Event = field(default_factory=threading.Event)
    folder: str | None = None
    error: str | None = None
    orphaned: bool = False

    @property
    def active(self) -> bool:
        """Queued, running, stopping, or ended with its run not saved yet."""
        return not self.saved.is_set()


_LOCK = threading.Lock()
_JOBS: dict[str, OwnedJob] = {}  # the last job of each workspace, by token
_BEATS: dict[str, float] = {}
_PROBES: dict[str, dict[str, Callable[[], bool]]] = {}  # token -> {session id: connected?}


def beat(token: str) -> None:
    """A page of this workspace is open (called on every script and fragment run)."""
    _BEATS[token] = time.monotonic()


def attach(token: str, session_id: str, connected: Callable[[], bool]) -> None:
    """Record a browser session of the workspace and how to ask if it is still connected."""
    with _LOCK:
        _PROBES.setdefault(token, {})[session_id] = connected


def page_open(token: str, grace: float) -> bool:
    """Whether a page of the workspace ran in the last ``grace`` seconds, or one of its
    attached sessions is still connected (sessions found closed are forgotten)."""
    if idle_seconds(token) <= grace:
        return True
    with _LOCK:
        probes = dict(_PROBES.get(token, {}))
    for session_id, connected in probes.items():
        try:
            if connected():
                return True
        except Exception:  # a probe that fails counts as a closed page
            pass
        with _LOCK:
            _PROBES.get(token, {}).pop(session_id, None)
    return False


def idle_seconds(token: str) -> float:
    """Seconds since a page of the workspace last ran (infinite if never)."""
    last_beat = _BEATS.get(token)
    return float("inf") if last_beat is None else time.monotonic() - last_beat


def last(token: str) -> OwnedJob | None:
    """The workspace's last job in this process (active or ended), or None."""
    with _LOCK:
        return _JOBS.get(token)


def start(workspace: Workspace, arch: Architecture, dataset: Any,
          hyperparameters: Hyperparameters, name: str) -> OwnedJob:
    """Queue a job for ``workspace``, if it has none active, the queue has room, and the
    workspace is within its limits.

    Raises:
        BusyError: the workspace has an active job, or ``CNNLAB_MAX_QUEUE`` jobs wait.
        WorkspaceError: the workspace is at its run limit or disk quota (says what to delete).
        ValueError: the architecture does not fit the data set.
    """
    from cnnlab.training import engine

    address = settings.scheduler()
    if address:  # the cluster's queue, not this server's (cnnlab.cluster); Dask only then
        from cnnlab.cluster import client as cluster_client
        from cnnlab.cluster import job as cluster_job

        cluster_client.connect(address)  # an unreachable scheduler fails here, unlocked
    with _LOCK:
        current = _JOBS.get(workspace.token)
        if current is not None and current.active:
            raise BusyError(f"this workspace is already training {current.job.name}; stop it "
                            "(or wait for it to end) before starting another")
        running, waiting = JOBS.counts()
        queue = settings.max_queue()
        if running >= JOBS.limit() and waiting >= queue:
            raise BusyError(f"the server is busy: {waiting} jobs are waiting for its "
                            f"{JOBS.limit()} training slot(s) (at most {queue} may wait, "
                            "CNNLAB_MAX_QUEUE); try again in a few minutes")
        workspace.check_room()
        if address:
            job = cluster_job.start_training(arch, dataset, hyperparameters, name=name,
                                             scheduler=address)
        else:
            job = engine.start_training(arch, dataset, hyperparameters, name=name)
        owned = OwnedJob(job, workspace)
        _JOBS[workspace.token] = owned
    beat(workspace.token)
    threading.Thread(target=_watch, args=(owned,), name=f"cnnlab-watch-{job.name}",
                     daemon=True).start()
    return owned


def _watch(owned: OwnedJob) -> None:
    """Stop the job once its workspace has no open page; save what it leaves."""
    job, token = owned.job, owned.workspace.token
    try:
        grace = settings.orphan_grace_s()
        while not job.wait(min(1.0, grace / 4)):
            if not owned.orphaned and not page_open(token, grace):
                owned.orphaned = True
                job.stop()  # a queued job is cancelled; a running one ends after its batch
        run = job.result()
        if run is not None:
            owned.folder = owned.workspace.save_run(run)
            models.put(token, owned.folder, run)
    except Exception as exc:  # reported to the page; a thread must not raise
        owned.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    finally:
        owned.saved.set()
