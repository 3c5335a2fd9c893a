"""A job's one lifecycle: the state machine, its one event, saving as part of the job, what
stays in memory afterwards, the process-wide queue, and the memory budget it reserves."""

from __future__ import annotations

import gc
import itertools
import threading
import weakref

import numpy as np
import pytest

from cnnlab.architecture import presets, spec_json
from cnnlab.jobs import job_queue, start
from cnnlab.jobs.job import TRANSITIONS, Job, Outcome, State, StateError, transition
from cnnlab.jobs.job_queue import JobQueue
from cnnlab.memory import budget
from cnnlab.runs import run_files
from cnnlab.runs.metrics import Metrics
from cnnlab.runs.records import Hyperparameters
from cnnlab.training import routine

TINY = presets.get("tutorial-1conv")
DIVERGING = spec_json.architecture_from_dict({"name": "linear", "layers": [
    {"type": "dense", "units": 64, "activation": "linear"},
    {"type": "dense", "units": 64, "activation": "linear"}]})
TIMEOUT = 120


def discard(run):
    """A job's ``save`` that keeps the run nowhere."""
    return None


def states(events):
    return [e.state for e in events if e.kind == "state"]


# --- the state machine, without training ---------------------------------------------------

LEGAL = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]
ILLEGAL = [(a, b) for a, b in itertools.product(State, State) if (a, b) not in LEGAL]


@pytest.mark.parametrize(("current", "to"), LEGAL)
def test_every_legal_transition_is_allowed(current, to):
    assert transition(current, to) is to


@pytest.mark.parametrize(("current", "to"), ILLEGAL)
def test_every_other_transition_is_refused(current, to):
    with pytest.raises(StateError, match=f"no transition from {current} to {to}"):
        transition(current, to)


def test_the_lifecycle_is_the_documented_one():
    assert LEGAL and len(LEGAL) + len(ILLEGAL) == len(State) ** 2
    assert {s for s in State if s.final} == {State.SAVED, State.FAILED, State.CANCELLED}
    path = [State.QUEUED, State.RUNNING, State.STOPPING, State.SAVING, State.SAVED]
    assert all(b in TRANSITIONS[a] for a, b in itertools.pairwise(path))
    assert State.SAVING not in TRANSITIONS[State.QUEUED]  # nothing is saved before it ran
    assert State.SAVED == "saved"  # pages and JSON read it as text


class StubRunner:
    """A runner whose training is a given outcome: the lifecycle without TensorFlow."""

    def __init__(self, outcome=None, error=None, cancellable=True):
        self.outcome, self.error, self.cancellable = outcome, error, cancellable
        self.started = threading.Event()
        self.go = threading.Event()
        self.released = False

    def submit(self, job):
        pass  # the test launches it

    def run(self, job):
        job.begin()
        self.started.set()
        assert self.go.wait(TIMEOUT)
        if self.error:
            raise self.error
        return self.outcome

    def cancel(self, job):
        return self.cancellable

    def stop(self, job):
        self.go.set()

    def queue_position(self, job):
        return 1

    def release(self, job):
        self.released = True


class FakeRun:
    def __init__(self, stopped_at=None):
        self.metrics = Metrics(0.1, 0.9, 10, [[9, 1], [0, 0]], [0.9, None],
                               stopped=stopped_at is not None, stopped_at=stopped_at)


def stub_job(runner, save=discard):
    events = []
    job = Job("stub-1", TINY, Hyperparameters(epochs=1), runner, save,
              listeners=[events.append])
    return job, events


def run_to_the_end(job, runner):
    """Launch a stub job, let its training end, and wait for its final state."""
    job.launch()
    assert runner.started.wait(TIMEOUT)
    runner.go.set()
    assert job.wait(TIMEOUT)


def test_the_event_is_set_only_when_the_run_is_saved():
    saving = threading.Event()
    release = threading.Event()

    def slow_save(run):
        saving.set()
        assert release.wait(TIMEOUT)
        return "folder-1"

    runner = StubRunner(Outcome(FakeRun()))
    job, events = stub_job(runner, slow_save)
    assert job.state is State.QUEUED and job.snapshot().queue_position == 1
    job.launch()
    runner.go.set()
    assert saving.wait(TIMEOUT)
    assert job.state is State.SAVING and not job.wait(0)  # saving is not the end
    release.set()
    assert job.wait(TIMEOUT)
    assert (job.state, job.message, job.saved_to) == (State.SAVED, None, "folder-1")
    assert states(events) == ["running", "saving", "saved"] and runner.released
    assert job.metrics.test_accuracy == 0.9


def test_a_run_stopped_early_is_saved_and_says_where():
    runner = StubRunner(Outcome(FakeRun(stopped_at={"epoch": 2, "batch": 7})))
    job, events = stub_job(runner)
    job.launch()
    assert runner.started.wait(TIMEOUT)
    job.stop()  # the stub's training then ends
    assert job.wait(TIMEOUT)
    assert states(events) == ["running", "stopping", "saving", "saved"]
    assert job.message == "stopped after epoch 2, batch 7"


def test_stopped_while_queued_is_cancelled_and_never_runs():
    runner = StubRunner(Outcome(FakeRun()))
    job, events = stub_job(runner)
    job.stop(reason="no page was open")
    assert job.wait(0) and job.state is State.CANCELLED
    assert job.message == "cancelled before it started: no page was open"
    job.stop()  # a second stop changes nothing
    assert states(events) == ["cancelled"] and runner.released


def test_a_failing_save_fails_the_job_with_its_reason():
    def full_disk(run):
        raise OSError("cannot save to runs/stub-1: the disk is full")

    runner = StubRunner(Outcome(FakeRun()))
    job, _ = stub_job(runner, full_disk)
    run_to_the_end(job, runner)
    assert job.state is State.FAILED
    assert job.save_error == "cannot save to runs/stub-1: the disk is full"
    assert job.message == "the run could not be saved: " + job.save_error


def test_a_failure_after_a_kept_run_saves_it_then_fails():
    runner = StubRunner(Outcome(FakeRun(), failure="lost the scheduler"))
    job, events = stub_job(runner, lambda run: "kept")
    run_to_the_end(job, runner)
    assert (job.state, job.message, job.saved_to) == (State.FAILED, "lost the scheduler", "kept")
    assert states(events)[-2:] == ["saving", "failed"]


def test_an_error_in_training_fails_the_job_and_a_bad_listener_is_dropped():
    calls = []

    def bad(event):
        calls.append(event)
        raise RuntimeError("listener bug")

    runner = StubRunner(error=RuntimeError("evaluation exploded\nmore"))
    job, _ = stub_job(runner)
    job.add_listener(bad)
    run_to_the_end(job, runner)
    assert (job.state, job.message) == (State.FAILED, "evaluation exploded")
    assert len(calls) == 1  # dropped after its first failure


# --- jobs that train ----------------------------------------------------------------------------

@pytest.fixture
def one_job_at_a_time():
    job_queue.set_max_jobs(1)
    yield
    job_queue.set_max_jobs(None)


def test_a_job_trains_saves_and_lets_go_of_its_run(tiny_dataset, tmp_path):
    kept = []

    def save(run):
        kept.extend([weakref.ref(run), weakref.ref(run.model),
                     weakref.ref(run.epoch_weights[1][0])])
        return run_files.save_run(run, tmp_path / "run")

    events = []
    hp = Hyperparameters(epochs=2, batch_size=32, validation_fraction=0.2, seed=3)
    job = start.start_job(TINY, tiny_dataset, hp, save=save, listeners=[events.append])
    assert job.wait(TIMEOUT) and job.state is State.SAVED, job.message
    assert states(events) == ["running", "saving", "saved"]
    assert [e.epoch for e in events if e.kind == "epoch"] == [1, 2]
    reported = [e.batch for e in events if e.kind == "batch"]  # after each call of a few
    assert reported.count(job.snapshot().batches_per_epoch) == 2  # each epoch's last batch
    # what remains is a small record; the run, its model and epoch weights are gone
    gc.collect()
    assert [ref() is None for ref in kept] == [True, True, True]
    assert job.saved_to == str(tmp_path / "run") and job.metrics.epochs_completed == 2
    snap = job.snapshot()
    assert len(snap.history) == 2 and snap.curve.steps and snap.fraction == 1.0
    # the job's run is the routine's run: same seed, same history and weights
    saved, direct = run_files.load_run(tmp_path / "run"), routine.train(TINY, tiny_dataset, hp)
    assert [r.loss for r in saved.history] == [r.loss for r in direct.history]
    for a, b in zip(saved.model.get_weights(), direct.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_stop_takes_effect_within_one_call_and_the_run_is_saved(tiny_dataset):
    box, kept, reported = [], [], []

    def stop_at_the_first_report(event):
        if event.kind == "batch":
            reported.append(event.batch)
            box[0].stop()

    job = start.start_job(TINY, tiny_dataset, Hyperparameters(epochs=3, batch_size=4),
                          save=kept.append, listeners=[stop_at_the_first_report])
    box.append(job)
    assert job.wait(TIMEOUT)
    snap, first = job.snapshot(), reported[0]
    assert reported == [first] and first < snap.batches_per_epoch  # one call of a few batches
    assert (snap.state, snap.batch) == (State.SAVED, first)
    assert snap.message == f"stopped after epoch 1, batch {first}"
    assert kept[0].metrics.stopped_at == {"epoch": 1, "batch": first}


def test_queue_with_a_limit_of_one(tiny_dataset, one_job_at_a_time):
    release = threading.Event()
    first = start.start_job(TINY, tiny_dataset, Hyperparameters(epochs=1, batch_size=8),
                            save=discard, listeners=[lambda e: release.wait(30)])
    events = []
    second = start.start_job(TINY, tiny_dataset, Hyperparameters(epochs=1), save=discard,
                             listeners=[events.append])
    third = start.start_job(TINY, tiny_dataset, Hyperparameters(epochs=1), save=discard)
    snap = second.snapshot()
    assert (snap.state, snap.queue_position, snap.phase) == (State.QUEUED, 1, "waiting")
    assert third.snapshot().queue_position == 2
    third.stop()  # cancelled while queued: no model is trained
    assert third.wait(0) and third.state is State.CANCELLED
    assert third.message == "cancelled before it started" and third.metrics is None
    assert second.snapshot().queue_position == 1
    release.set()
    assert first.wait(TIMEOUT) and second.wait(TIMEOUT)
    assert states(events) == ["running", "saving", "saved"]
    assert second.snapshot().queue_position is None and second.state is State.SAVED


def test_snapshots_stay_consistent_while_training(tiny_dataset):
    job = start.start_job(TINY, tiny_dataset, Hyperparameters(epochs=3, batch_size=8),
                          save=discard)
    seen = []
    while not job.wait(0.005):
        seen.append(job.snapshot())
    seen.append(job.snapshot())
    fractions = [s.fraction for s in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    for snap in seen:
        assert len(snap.curve.steps) == len(snap.curve.loss) == len(snap.curve.accuracy)
        assert [r.epoch for r in snap.history] == list(range(1, len(snap.history) + 1))
        assert 0 <= snap.batch <= snap.batches_per_epoch and snap.epoch <= snap.epochs
        if snap.curve.steps:
            assert snap.curve.steps[-1] == (snap.epoch - 1) * snap.batches_per_epoch + snap.batch
    assert any(s.samples_per_second and s.seconds_left is not None for s in seen)
    assert seen[-1].state is State.SAVED and seen[-1].elapsed > 0
    assert seen[-1].samples_per_second is None  # no rate once it is over


def test_a_diverging_job_fails_with_a_message(tiny_dataset):
    job = start.start_job(DIVERGING, tiny_dataset, Hyperparameters(
        epochs=2, batch_size=16, optimizer="sgd", learning_rate=1.0, validation_fraction=0),
        save=discard)
    assert job.wait(TIMEOUT) and job.state is State.FAILED and job.saved_to is None
    assert job.message.startswith("training diverged: the loss became NaN or infinite at "
                                  "epoch 1, batch")  # "batch 3" or "batches 1-16"


def test_a_job_reserves_its_memory_while_it_trains(tiny_dataset, monkeypatch):
    monkeypatch.setattr(budget, "BUDGET", budget.Budget(limit_bytes=2**30))
    from cnnlab.jobs import local

    monkeypatch.setattr(local, "BUDGET", budget.BUDGET)
    held = []
    job = start.start_job(TINY, tiny_dataset, Hyperparameters(epochs=1, batch_size=64),
                          save=discard,
                          listeners=[lambda e: held.append(budget.BUDGET.reserved_bytes())])
    assert job.wait(TIMEOUT) and job.state is State.SAVED
    from cnnlab.training import memory

    assert set(held[1:-2]) == {memory.training_bytes(job.architecture, job.hyperparameters)}
    assert budget.BUDGET.reserved_bytes() == 0


def test_a_job_that_cannot_fit_the_memory_budget_is_refused_before_it_starts(tiny_dataset,
                                                                            monkeypatch):
    from cnnlab.jobs import start as starting

    tiny = budget.Budget(limit_bytes=2 * 2**20)  # 2 MB
    monkeypatch.setattr(starting, "BUDGET", tiny)
    hp = Hyperparameters(epochs=1, batch_size=512)
    with pytest.raises(budget.MemoryBudgetError) as info:
        start.start_job(TINY, tiny_dataset, hp, save=discard, name="big-1")
    message = str(info.value)
    assert message.startswith("training big-1 at batch size 512 needs ")
    assert "of its 2 MB (CNNLAB_MEMORY_MB); a batch size of " in message
    fits = int(message.rsplit("a batch size of ", 1)[1].split()[0])
    from cnnlab.training import memory

    arch = TINY.with_data(tiny_dataset.image_shape, tiny_dataset.num_classes)
    assert memory.training_bytes(arch, hp, fits) <= 2 * 2**20
    assert memory.training_bytes(arch, hp, 2 * fits) > 2 * 2**20


def test_job_queue_is_first_in_first_out():
    started = []

    class Entry:
        def __init__(self, name):
            self.name = name

        def launch(self):
            started.append(self.name)

    queue = JobQueue(limit=1)
    entries = [Entry(n) for n in "abc"]
    for entry in entries:
        queue.submit(entry)
    assert started == ["a"] and queue.position(entries[2]) == 2
    queue.finished()
    assert started == ["a", "b"] and queue.position(entries[2]) == 1
    queue.set_limit(3)
    assert started == ["a", "b", "c"] and queue.counts() == (2, 0)


def test_job_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("CNNLAB_MAX_JOBS", "3")
    assert JobQueue().limit() == 3
    monkeypatch.setenv("CNNLAB_MAX_JOBS", "many")
    with pytest.raises(ValueError, match="CNNLAB_MAX_JOBS must be a whole number >= 1"):
        JobQueue().limit()


def test_names_are_unique_in_the_process():
    first, second = start.reserve_name("net"), start.reserve_name("net")
    assert first != second and first.startswith("net-") and second.startswith("net-")
    assert start.reserve_name("net", "mine") == "mine"


def test_a_job_on_a_server_warming_up_waits_for_the_warm_up_then_trains(tiny_dataset,
                                                                        monkeypatch):
    """The warm-up traces the Quick start's model and leaves it for the first job: a job
    started meanwhile waits for it (instead of tracing the same on the same cores)."""
    from cnnlab.training import warmup

    class Warming(threading.Event):
        def __init__(self):
            super().__init__()
            self.waited_on = threading.Event()

        def wait(self, timeout=None):
            self.waited_on.set()
            return super().wait(timeout)

    warming, batches = Warming(), []
    monkeypatch.setattr(warmup, "_thread", threading.current_thread())  # one is under way
    monkeypatch.setattr(warmup, "finished", warming)
    job = start.start_job(TINY, tiny_dataset, Hyperparameters(epochs=1, batch_size=32),
                          save=discard, listeners=[lambda e: batches.append(e)
                                                   if e.kind == "batch" else None])
    assert warming.waited_on.wait(TIMEOUT)  # the job's thread waits for the warm-up ...
    assert batches == [] and job.state is State.RUNNING  # ... before it trains
    warming.set()
    assert job.wait(TIMEOUT) and job.state is State.SAVED, job.message
    assert batches
