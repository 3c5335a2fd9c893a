"""Training jobs belong to workspaces: one active job each, bounded queues, no orphans.

The web app starts jobs through :func:`start`, never :func:`cnnlab.jobs.start.start_job`
directly:

- at most one active (not final) job per workspace, checked here, on the server, whatever the
  page's buttons show;
- at most ``CNNLAB_MAX_QUEUE`` jobs wait for a slot server-wide, and at most
  ``CNNLAB_MAX_QUEUE_PER_CLIENT`` of them come from one client address (a student cannot fill
  the queue by opening many workspaces); past either :func:`start` says the server is busy
  and how many jobs wait;
- every script run of a workspace's page calls :func:`beat`, and each browser session of it
  may :func:`attach` a probe saying whether its connection is still open (a background tab
  whose timers the browser slows still counts as open); a watcher thread per job stops it (a
  queued job is cancelled, a running one ends after its current batch, is evaluated and
  saved) once no page of its workspace has beaten for ``CNNLAB_ORPHAN_GRACE_S`` seconds and
  no attached session is connected;
- the job saves its run to its workspace itself (and puts it in the process-wide model cache,
  :mod:`cnnlab.workspaces.models`): nothing depends on a page being open to keep it;
- two plain calls keep a class's board current, whether or not the workspace is in a class
  (outside one each costs a missing file): the save passes the saved run folder to
  :func:`cnnlab.classes.scoring.run_saved` (scored on the held-back split before the job's
  state becomes ``saved``, so a board polling the class's files shows the score as soon as the
  run is saved), and a listener on the job passes its states and epochs to
  :func:`cnnlab.classes.members.record_activity`. Neither can fail the job: an error is logged.

With ``CNNLAB_SCHEDULER`` set, jobs train on that Dask cluster (:mod:`cnnlab.jobs.cluster`)
and wait in its queue, not this server's. Jobs live in this process; a reload of a page finds
its workspace's job again by token (:func:`last`): after it ends, a small record (its state,
message, saved folder, metrics and curves), never its model. What this module remembers per
workspace (beats, attached sessions, that record) is swept once no page of it has run for a
while (:func:`sweep`): every visit draws a token, and a server that kept one entry per visit
forever would grow with every fresh tab. This module imports TensorFlow only when a job starts.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cnnlab.classes import members, scoring
from cnnlab.jobs.job import Job, JobEvent, Listener, State
from cnnlab.jobs.job_queue import JOBS
from cnnlab.workspaces import models, settings

if TYPE_CHECKING:
    from cnnlab.architecture.spec import Architecture
    from cnnlab.runs.records import Hyperparameters, Run
    from cnnlab.workspaces.store import Workspace


_log = logging.getLogger(__name__)


class BusyError(ValueError):
    """A job refused: the workspace has one already, or a queue is full."""


_LOCK = threading.Lock()
_JOBS: dict[str, Job] = {}  # the last job of each workspace, by token
_BEATS: dict[str, float] = {}
_PROBES: dict[str, dict[str, Callable[[], bool]]] = {}  # token -> {session id: connected?}
RECORD_SECONDS = 3600.0  # an ended job's record outlives its workspace's last page this long
SWEEP_EVERY = 256  # beats between sweeps (a sweep is one pass over these dicts)
_beats_since_sweep = 0


def beat(token: str) -> None:
    """A page of this workspace is open (called on every script and fragment run)."""
    global _beats_since_sweep
    _BEATS[token] = time.monotonic()
    _beats_since_sweep += 1
    if _beats_since_sweep >= SWEEP_EVERY:
        sweep()


def attach(token: str, session_id: str, connected: Callable[[], bool]) -> None:
    """Record a browser session of the workspace and how to ask if it is still connected."""
    with _LOCK:
        _PROBES.setdefault(token, {})[session_id] = connected


def sweep(now: float | None = None) -> None:
    """Forget the beats and attached sessions of workspaces with no active job whose pages
    have not run for ``CNNLAB_ORPHAN_GRACE_S`` (only a job's watcher reads them), and the
    record of an ended job once its workspace's pages have not run for
    :data:`RECORD_SECONDS` (its run is saved: that is what a later visit shows)."""
    global _beats_since_sweep
    now = time.monotonic() if now is None else now
    grace = settings.orphan_grace_s()
    with _LOCK:
        _beats_since_sweep = 0
        for token in set(_BEATS) | set(_PROBES) | set(_JOBS):
            job = _JOBS.get(token)
            if job is not None and not job.state.final:
                continue
            idle = now - _BEATS.get(token, float("-inf"))
            if idle > grace:
                _PROBES.pop(token, None)
                if job is None:
                    _BEATS.pop(token, None)
            if job is not None and idle > max(grace, RECORD_SECONDS):
                del _JOBS[token]
                _BEATS.pop(token, None)


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


def last(token: str) -> Job | None:
    """The workspace's last job in this process (active or ended), or None."""
    with _LOCK:
        return _JOBS.get(token)


def client_address(direct: str | None, headers: Mapping[str, str]) -> str | None:
    """The address of the computer a page is open on, for the per-client queue limit.

    Args:
        direct: the address the connection came from, None when it came from this machine
            (Streamlit's ``st.context.ip_address`` is None for 127.0.0.1 and ::1).
        headers: the request's headers (case-insensitive mapping).
    Returns:
        ``direct`` when set (then headers are not trusted: anyone can send them); from this
        machine — the nginx of ``deploy/`` — its ``X-Real-IP``, else the last address of its
        ``X-Forwarded-For`` (the one nginx itself saw); None if neither says, or if that is
        this machine too (a page opened on the server itself, like a direct local one).

    Example:
        >>> client_address(None, {"X-Forwarded-For": "6.6.6.6, 10.0.0.7"})
        '10.0.0.7'
        >>> client_address("10.0.0.8", {"X-Forwarded-For": "6.6.6.6"})
        '10.0.0.8'
    """
    if direct:
        return direct
    real = (headers.get("X-Real-IP") or "").strip()
    forwarded = [part.strip() for part in (headers.get("X-Forwarded-For") or "").split(",")]
    address = real or forwarded[-1]
    try:
        local = ipaddress.ip_address(address).is_loopback
    except ValueError:  # not an address: nothing to count by
        return None
    return None if local else address


def _check_queues(client: str | None, cluster: bool) -> None:
    """BusyError if the server's queue is full, or ``client`` has as many jobs waiting as
    one computer may (the lock held)."""
    if not cluster:
        running, waiting = JOBS.counts()
        queue = settings.max_queue()
        if running >= JOBS.limit() and waiting >= queue:
            raise BusyError(f"the server is busy: {waiting} jobs are waiting for its "
                            f"{JOBS.limit()} training slot(s) (at most {queue} may wait, "
                            "CNNLAB_MAX_QUEUE); try again in a few minutes")
    if client is None:  # a page on this machine with no proxy header: no address to count
        return
    mine = sum(1 for job in _JOBS.values() if job.client == client and job.state is State.QUEUED)
    limit = settings.max_queue_per_client()
    if mine >= limit:
        raise BusyError(f"this computer ({client}) already has {mine} training jobs waiting; "
                        f"at most {limit} may wait per computer (CNNLAB_MAX_QUEUE_PER_CLIENT): "
                        "stop one, or wait until one starts")


def start(workspace: Workspace, arch: Architecture, dataset: Any,
          hyperparameters: Hyperparameters, name: str, client: str | None = None) -> Job:
    """Queue a job for ``workspace``, if it has none active, the queues have room, and the
    workspace is within its limits; the job saves its run to the workspace.

    Args:
        workspace: whose job it is.
        arch, dataset, hyperparameters, name: what to train (see
            :func:`cnnlab.jobs.start.start_job`).
        client: the address of the computer asking (:func:`client_address`), if known.
    Raises:
        BusyError: the workspace has an active job, ``CNNLAB_MAX_QUEUE`` jobs wait, or this
            client has ``CNNLAB_MAX_QUEUE_PER_CLIENT`` jobs waiting.
        WorkspaceError: the workspace is at its run limit or disk quota (says what to delete).
        ValueError: the architecture does not fit the data set, or the memory budget.
    """
    from cnnlab.jobs import start as starting

    if hyperparameters.precision == "auto":  # the server's setting, unless the page chose
        hyperparameters = dataclasses.replace(hyperparameters, precision=settings.precision())
    address = settings.scheduler()
    if address:  # the cluster's queue, not this server's (cnnlab.jobs.cluster); Dask only then
        from cnnlab.cluster import client as cluster_client

        cluster_client.connect(address)  # an unreachable scheduler fails here, unlocked
    token = workspace.token

    def save(run: Run) -> str:
        folder = workspace.save_run(run)
        models.put(token, folder, run)
        scored(token, workspace.run_path(folder))
        return folder

    with _LOCK:
        current = _JOBS.get(token)
        if current is not None and not current.state.final:
            raise BusyError(f"this workspace is already training {current.name}; stop it "
                            "(or wait for it to end) before starting another")
        _check_queues(client, cluster=bool(address))
        workspace.check_room()
        noted(token, members.QUEUED)  # before the job's first event, which may come at once
        try:
            job = starting.start_job(arch, dataset, hyperparameters, name=name, save=save,
                                     scheduler=address, owner=token, client=client,
                                     listeners=[activity_listener(token,
                                                                  hyperparameters.epochs)])
        except BaseException:
            noted(token, members.IDLE)
            raise
        _JOBS[token] = job
    beat(token)
    sweep()  # also here: a quiet server may not beat 256 times in an hour
    threading.Thread(target=_watch, args=(job,), name=f"cnnlab-watch-{job.name}",
                     daemon=True).start()
    return job


def _watch(job: Job) -> None:
    """Stop the job once its workspace has no open page (it then saves what it has)."""
    grace = settings.orphan_grace_s()
    while not job.wait(min(1.0, grace / 4)):
        if job.stop_reason is None and not page_open(job.owner, grace):
            job.stop(reason=f"no page of its workspace was open for {grace:g} s")


def scored(token: str, folder: Any) -> None:
    """The saved-run hook of a class (:func:`cnnlab.classes.scoring.run_saved`), for every
    run saved into a workspace (a job's, an uploaded zip's); an error is logged, never raised:
    the run stays saved."""
    try:
        scoring.run_saved(token, folder)
    except Exception:
        _log.warning("scoring the run %s for its class failed", folder, exc_info=True)


def noted(token: str, state: str, epoch: int | None = None, epochs: int | None = None) -> None:
    """Tell the workspace's class, if any, what its student is doing
    (:func:`cnnlab.classes.members.record_activity`); an error is logged, never raised."""
    try:
        members.record_activity(token, state, epoch, epochs)
    except Exception:
        _log.warning("recording the activity of a class's student failed", exc_info=True)


def activity_listener(token: str, epochs: int) -> Listener:
    """A job listener that tells the workspace's class what the job does: from its start,
    ``training`` with the epochs done (stopping and saving keep the last); a final state
    ``idle``. Batches are not passed on: the class's file changes once an epoch at most."""

    def listen(event: JobEvent) -> None:
        if event.state.final:
            noted(token, members.IDLE)
        elif event.kind == "epoch":
            noted(token, members.TRAINING, min(max(event.epoch, 0), epochs), epochs)
        elif event.kind == "state" and event.state is State.RUNNING:
            noted(token, members.TRAINING, min(max(event.epoch - 1, 0), epochs), epochs)

    return listen
