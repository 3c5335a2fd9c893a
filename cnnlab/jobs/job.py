"""A training job and its one lifecycle: one state, held here, one event to wait on.

Every job goes ``queued → running → stopping → saving → saved``, or ends ``failed`` or
``cancelled``::

    queued ──> running ──> stopping ──> saving ──> saved
      │           │  └──────────────────────^ │
      │           └──> failed <───────────────┘   (and stopping ──> failed)
      ├──> failed
      └──> cancelled

:class:`Job` holds the state (:attr:`Job.state`) and nothing else does: pages, the live feed,
the CLI and the tests read it, and :meth:`Job.wait` waits on its one ``threading.Event``, set
when the state becomes final (saved, failed or cancelled). A run stopped early is still
``saved`` (its message says where it stopped); a cluster job that lost its scheduler ends
``failed`` but first saves its finished epochs; a job stopped while it waits is ``cancelled``.
Saving is part of the job: it is given a ``save`` callable (the web app's workspace, the CLI's
folder), and once the run is saved the job lets go of it — the model, the epoch weights, the
data set — keeping a small record (name, state, message, where it was saved, the run's
metrics and the curves its pages draw).

How a job trains is its :class:`Runner`'s business (:mod:`cnnlab.jobs.local`, a thread of
this process; :mod:`cnnlab.jobs.cluster`, a Dask cluster): the runner feeds the job's public
pieces — :meth:`Job.begin`, :meth:`Job.handle`, :meth:`Job.stop_signal`,
:meth:`Job.set_message` — and returns the run. No TensorFlow here.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from cnnlab.training.progress import Progress, TrainingEvent

if TYPE_CHECKING:
    from cnnlab.architecture.spec import Architecture
    from cnnlab.runs.metrics import Metrics
    from cnnlab.runs.records import Curve, EpochRecord, Hyperparameters, Run

_log = logging.getLogger(__name__)


class State(enum.StrEnum):
    """Where a job is in its life; compares equal to its lower-case name."""

    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"
    SAVING = "saving"
    SAVED = "saved"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """Whether the job's life is over (saved, failed or cancelled)."""
        return not TRANSITIONS[self]


TRANSITIONS: dict[State, frozenset[State]] = {
    State.QUEUED: frozenset({State.RUNNING, State.CANCELLED, State.FAILED}),
    State.RUNNING: frozenset({State.STOPPING, State.SAVING, State.FAILED}),
    State.STOPPING: frozenset({State.SAVING, State.FAILED}),
    State.SAVING: frozenset({State.SAVED, State.FAILED}),
    State.SAVED: frozenset(),
    State.FAILED: frozenset(),
    State.CANCELLED: frozenset(),
}


class StateError(RuntimeError):
    """A transition the lifecycle does not have (a bug in a runner, never a user's doing)."""


def transition(current: State, to: State) -> State:
    """``to``, if the lifecycle goes from ``current`` to it; else :class:`StateError`.

    Example:
        >>> transition(State.RUNNING, State.STOPPING)
        <State.STOPPING: 'stopping'>
        >>> transition(State.SAVED, State.RUNNING)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        StateError: no transition from saved to running
    """
    if to not in TRANSITIONS[current]:
        raise StateError(f"no transition from {current} to {to}")
    return to


@dataclass(frozen=True)
class Snapshot:
    """A consistent copy of a job, safe to read from any thread.

    ``state`` is the job's :class:`State`; ``phase`` says what its training is doing:
    waiting, building, training or evaluating. ``epoch`` is the 1-based epoch in progress (or
    last run), ``batch`` the batches done in it. ``queue_position`` is 1 for the next job to
    start, None unless queued. ``seconds_left`` estimates the training time left (None until
    measurable).
    """

    name: str
    state: State
    message: str | None
    queue_position: int | None
    phase: str
    epoch: int
    epochs: int
    batch: int
    batches_per_epoch: int
    samples_per_second: float | None
    seconds_left: float | None
    elapsed: float
    history: tuple[EpochRecord, ...]
    curve: Curve

    @property
    def fraction(self) -> float:
        """How much of the planned training has run, 0..1."""
        total = self.epochs * self.batches_per_epoch
        done = max(self.epoch - 1, 0) * self.batches_per_epoch + self.batch
        return min(done / total, 1.0) if total else 0.0


@dataclass(frozen=True)
class JobEvent:
    """What a job's listener receives: ``kind`` is "state" (the state or its message
    changed), "batch" or "epoch" (``record`` is then the epoch's record)."""

    kind: str
    name: str
    state: State
    epoch: int
    batch: int
    record: EpochRecord | None = None
    message: str | None = None


Listener = Callable[[JobEvent], None]


@dataclass
class Outcome:
    """What a runner's training left: the run, and why the job failed if it did anyway (a
    lost scheduler's partial run is saved, then the job fails)."""

    run: Run | None
    failure: str | None = None


class Runner(Protocol):
    """How a job trains: in this process's queue (:mod:`cnnlab.jobs.local`) or on a Dask
    cluster (:mod:`cnnlab.jobs.cluster`)."""

    def submit(self, job: Job) -> None:
        """Queue or send the job; call ``job.launch()`` when its thread should start."""

    def run(self, job: Job) -> Outcome | None:
        """In the job's thread: train, feeding the job's progress; None if it was cancelled."""

    def cancel(self, job: Job) -> bool:
        """Cancel the job if it has not started yet; whether it was."""

    def stop(self, job: Job) -> None:
        """Pass a stop request on to wherever the job trains."""

    def queue_position(self, job: Job) -> int | None:
        """1 for the next job to start; None if not waiting (or not known)."""

    def release(self, job: Job) -> None:
        """Let go of the data set and whatever else the training held; the job is over."""


_KEEP: Any = object()  # "leave the message as it is"


def first_line(exc: BaseException) -> str:
    """An exception as one line for a person: its message's first line, or its type."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class Job:
    """One training job; make it with :func:`cnnlab.jobs.start.start_job`. Thread-safe.

    Attributes:
        name: the run's name, e.g. ``two-conv-1``.
        architecture: with the data set's shape filled in.
        hyperparameters: as given.
        owner: the workspace token it belongs to, if any.
        client: the address of the computer that asked for it, if known.
        progress: the training's numbers (:class:`cnnlab.training.progress.Progress`).
        saved_to: where its run was saved (a folder), once saved.
        save_error: why saving failed, if it did.
        metrics: the run's test metrics, once it has run.
        stop_reason: why it was stopped, if not by its user (e.g. no page open).
    """

    def __init__(self, name: str, architecture: Architecture, hyperparameters: Hyperparameters,
                 runner: Runner, save: Callable[[Run], Any], *, listeners: Iterable[Listener] = (),
                 owner: str | None = None, client: str | None = None) -> None:
        self.name, self.architecture, self.hyperparameters = name, architecture, hyperparameters
        self.owner, self.client = owner, client
        self.progress = Progress(hyperparameters.epochs)
        self.saved_to: str | None = None
        self.save_error: str | None = None
        self.metrics: Metrics | None = None
        self.stop_reason: str | None = None
        self._runner: Runner | None = runner
        self._save: Callable[[Run], Any] | None = save
        self._lock = threading.RLock()
        self._state, self._message = State.QUEUED, None
        self._stop = threading.Event()
        self._final = threading.Event()
        self._listeners_lock = threading.Lock()
        self._listeners: list[Listener] = list(listeners)

    # --- what everyone reads ----------------------------------------------------------------
    @property
    def state(self) -> State:
        """The job's one state."""
        return self._state

    @property
    def message(self) -> str | None:
        """What a person should know about the state (where it stopped, why it failed, the
        cluster's queue), or None."""
        return self._message

    @property
    def runner(self) -> Runner | None:
        """How the job trains (its :class:`Runner`); None once its state is final."""
        return self._runner

    def snapshot(self) -> Snapshot:
        """A consistent copy of the job and its progress, from any thread."""
        with self._lock:
            state, message, runner = self._state, self._message, self._runner
        position = runner.queue_position(self) if state is State.QUEUED and runner else None
        numbers = self.progress.numbers(training=state in (State.RUNNING, State.STOPPING))
        return Snapshot(name=self.name, state=state, message=message, queue_position=position,
                        **numbers)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the state is final (saved, failed or cancelled) or ``timeout`` seconds
        pass; whether it is final."""
        return self._final.wait(timeout)

    def stop(self, reason: str | None = None) -> None:
        """Cancel the job if it still waits; otherwise stop it after the current batch (its
        run is then evaluated and saved). Safe at any time, more than once.

        Args:
            reason: why, if not its user's choice; kept in :attr:`stop_reason` and the
                final message.
        """
        with self._lock:
            if self._state.final:
                return
            if reason and self.stop_reason is None:
                self.stop_reason = reason
            runner = self._runner
            if self._state is State.QUEUED and runner is not None and runner.cancel(self):
                cancelled = True
            else:
                cancelled = False
                self._stop.set()
        if cancelled:
            why = "cancelled before it started" + (f": {reason}" if reason else "")
            self._end(State.CANCELLED, why)
            return
        if runner is not None:
            runner.stop(self)
        self._move_and_tell(State.STOPPING, only_from=State.RUNNING)

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every :class:`JobEvent` from now on.

        Listeners run in the job's thread, so they must be quick; one that raises is logged
        and dropped.
        """
        with self._listeners_lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        with self._listeners_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # --- what runners use -------------------------------------------------------------------
    @property
    def stop_signal(self) -> threading.Event:
        """Set once a stop is asked for: the routine checks it after every call of the traced
        step (a few batches)."""
        return self._stop

    def launch(self) -> None:
        """Start the job's thread (its runner calls this once the job may train)."""
        threading.Thread(target=self._drive, name=f"cnnlab-job-{self.name}", daemon=True).start()

    def begin(self, message: str | None = None) -> bool:
        """The training starts: queued → running (→ stopping if a stop was asked for
        meanwhile). False if the job was cancelled or has ended."""
        with self._lock:
            if self._state is not State.QUEUED:
                return False
            self._move(State.RUNNING, message)
        self._tell()
        if self._stop.is_set():
            self._move_and_tell(State.STOPPING, only_from=State.RUNNING)
        return True

    def set_message(self, message: str | None) -> None:
        """Say something new about the current state (a cluster's queue, a resumed worker)."""
        with self._lock:
            if self._state.final or message == self._message:
                return
            self._message = message
        self._tell()

    def handle(self, event: TrainingEvent) -> bool:
        """Fold a training event into the progress and tell the listeners of batches and
        epochs; False for an epoch already recorded (a lost worker's, replayed), ignored."""
        if not self.progress.apply(event):
            return False
        if event.kind in ("batch", "epoch"):
            self._emit(JobEvent(event.kind, self.name, self._state, event.epoch, event.batch,
                                event.record))
        return True

    # --- the lifecycle ------------------------------------------------------------------------
    def _move(self, to: State, message: Any = _KEEP) -> None:
        """Change the state (the lock held); StateError for a transition the lifecycle lacks."""
        self._state = transition(self._state, to)
        if message is not _KEEP:
            self._message = message

    def _move_and_tell(self, to: State, only_from: State) -> None:
        with self._lock:
            if self._state is not only_from:
                return
            self._move(to)
        self._tell()

    def _tell(self) -> None:
        snap = self.snapshot()
        self._emit(JobEvent("state", self.name, snap.state, snap.epoch, snap.batch,
                            message=snap.message))

    def _emit(self, event: JobEvent) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                # Debug level: the default last-resort handler would print a traceback.
                _log.debug("job listener %r failed; dropping it", listener, exc_info=True)
                self.remove_listener(listener)

    def _drive(self) -> None:
        """The job's thread: its runner trains, then the run is saved."""
        outcome, failure = None, None
        try:
            outcome = self._runner.run(self)
        except Exception as exc:  # the job's failure is reported, never raised in a thread
            _log.debug("training job %s failed", self.name, exc_info=True)
            failure = first_line(exc)
        if outcome is not None and outcome.run is not None:
            self._save_and_end(outcome)
        else:
            self._end(State.FAILED, (outcome.failure if outcome else None) or failure
                      or "ended without a run")

    def _save_and_end(self, outcome: Outcome) -> None:
        """running/stopping → saving → saved (or failed); the run is let go before the end."""
        with self._lock:
            self._move(State.SAVING)
        self.progress.stop_clock()
        self._tell()
        run, outcome.run = outcome.run, None
        self.metrics = run.metrics
        at = run.metrics.stopped_at if run.metrics.stopped else None
        try:
            where = self._save(run)
            self.saved_to = None if where is None else str(where)
        except Exception as exc:  # a full disk, the workspace's quota: the page says so
            _log.debug("saving the run of %s failed", self.name, exc_info=True)
            self.save_error = first_line(exc)
        del run
        if self.save_error:
            self._end(State.FAILED, f"the run could not be saved: {self.save_error}")
        elif outcome.failure:
            self._end(State.FAILED, outcome.failure)
        else:
            where = "" if at is None else (
                "0 batches" if not at.get("epoch") else f"epoch {at['epoch']}, batch {at['batch']}")
            reason = f": {self.stop_reason}" if self.stop_reason else ""
            self._end(State.SAVED, f"stopped after {where}{reason}" if at is not None else None)

    def _end(self, state: State, message: str | None) -> None:
        """Let go of what training held, then take the final state and set the event."""
        with self._lock:
            if self._state.final:
                return
            runner, self._runner, self._save = self._runner, None, None
        try:
            if runner is not None:
                runner.release(self)
        except Exception:
            _log.debug("releasing job %s failed", self.name, exc_info=True)
        with self._lock:
            if self._state.final:
                return
            self._move(state, message)
        self.progress.stop_clock()
        self._final.set()
        self._tell()
