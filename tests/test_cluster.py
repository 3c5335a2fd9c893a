"""Training through a Dask cluster (issue 14): a LocalCluster of two worker processes, one
thread each, on 127.0.0.1, started once for the module and stopped with every process it
started. Deselect with ``-m "not cluster"``."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import psutil
import pytest

from cnnlab.architecture import presets
from cnnlab.runs.records import Hyperparameters
from tests.conftest import make_tiny_dataset

pytestmark = pytest.mark.cluster
distributed = pytest.importorskip("distributed")
from cnnlab.cluster import client as cluster_client  # noqa: E402  (after the skip)
from cnnlab.jobs import start as starting  # noqa: E402
from cnnlab.jobs.job import State  # noqa: E402
from cnnlab.training import compiled  # noqa: E402

TINY = presets.get("tutorial-1conv")
WAIT = 180


@pytest.fixture(scope="module")
def cluster():
    """Scheduler + two single-thread worker processes; afterwards none of them is left."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     host="127.0.0.1", dashboard_address=None)
    try:
        yield local
    finally:
        started = [p for p in me.children(recursive=True)
                   if p.pid not in before and not tracker(p)]
        cluster_client.close()
        local.close()
        deadline = time.monotonic() + 30
        while any(running(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        for process in started:
            if running(process):
                process.kill()
        time.sleep(1)
        left = [p for p in started if running(p)]
        assert not left, f"the cluster left processes running: {left}"


def tracker(process: psutil.Process) -> bool:
    """Python's multiprocessing resource tracker: one per test process, not the cluster's."""
    try:
        return "resource_tracker" in " ".join(process.cmdline())
    except psutil.Error:
        return False


def running(process: psutil.Process) -> bool:
    """Alive and not a zombie (a zombie has ended; only its exit status waits to be read)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def data():
    return make_tiny_dataset(train=200, test=60, name="tiny-cluster")


def until(condition, timeout: float = WAIT) -> bool:
    """Whether ``condition()`` became true within ``timeout`` seconds (polled)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def start(cluster, data, listeners=(), kept=None, **hp):
    """A job on the cluster; its saved run goes to ``kept`` (a list), if given."""
    save = kept.append if kept is not None else (lambda run: None)
    return starting.start_job(TINY, data, Hyperparameters(**hp), save=save,
                              listeners=listeners, scheduler=cluster.scheduler_address)


def test_a_job_trains_on_the_cluster_like_a_local_one(cluster, data):
    from cnnlab.training import routine

    events, kept = [], []
    hp = dict(epochs=2, batch_size=32, validation_fraction=0.2, seed=5)
    job = start(cluster, data, [events.append], kept, **hp)
    assert job.wait(WAIT)
    snap = job.snapshot()
    assert snap.state is State.SAVED and snap.message is None, snap.message
    [run] = kept
    # every report (after each call of a few batches) of every epoch arrived, in order, each
    # epoch's record after its reports
    per_call = compiled.batches_per_call(run.architecture, 32)
    ends = [*range(per_call, 5, per_call), 5]  # 5 batches an epoch
    steps = [(e.epoch, e.batch) for e in events if e.kind == "batch"]
    assert steps == [(epoch, batch) for epoch in (1, 2) for batch in ends]
    kinds = [e.kind for e in events if e.kind != "state"]
    assert [e.state for e in events if e.kind == "state"][-3:] == ["running", "saving", "saved"]
    assert kinds == (["batch"] * len(ends) + ["epoch"]) * 2
    assert [r.epoch for r in run.history] == [1, 2] and all(r.complete for r in run.history)
    assert sorted(run.epoch_weights) == [0, 1, 2]
    assert run.metrics.epochs_completed == 2 and not run.stopped
    assert run.metrics.train_samples == 160 and run.metrics.validation_samples == 40
    assert run.curve.steps == tuple(5 * (epoch - 1) + end for epoch, end in steps)
    expected = routine.train(TINY, data, Hyperparameters(**hp))  # the same routine, here
    probabilities = run.model.predict(data.x_test, verbose=0)
    np.testing.assert_allclose(probabilities, expected.model.predict(data.x_test, verbose=0),
                               atol=1e-4)
    assert run.test_accuracy == pytest.approx(expected.test_accuracy, abs=1e-9)
    np.testing.assert_allclose(run.epoch_weights[1][0], expected.epoch_weights[1][0], atol=1e-5)
    assert [r.loss for r in run.history] == pytest.approx([r.loss for r in expected.history],
                                                          rel=1e-4)


@pytest.mark.parametrize("named", ["bfloat16", "float32"])
def test_the_cluster_trains_in_the_precision_the_job_names(cluster, data, named):
    """The worker trains in the job's precision, says so, and the run records it; the run
    it sends back is float32 and predicts as the same training here does."""
    from cnnlab.training import routine

    kept = []
    hp = dict(epochs=1, batch_size=32, validation_fraction=0.0, seed=2, precision=named)
    job = start(cluster, data, (), kept, **hp)
    assert job.wait(WAIT) and job.state is State.SAVED, job.message
    [run] = kept
    assert run.metrics.precision == named and run.hyperparameters.precision == named
    assert {layer.dtype_policy.name for layer in run.model.layers} == {"float32"}
    expected = routine.train(TINY, data, Hyperparameters(**hp))
    assert expected.metrics.precision == named
    np.testing.assert_allclose(run.model.predict(data.x_test, verbose=0),
                               expected.model.predict(data.x_test, verbose=0), atol=1e-4)


def test_stop_ends_a_cluster_job_mid_epoch_and_keeps_the_run(cluster, data):
    stop_at = threading.Event()

    def stop_after_third_batch(event):
        if event.kind == "batch" and event.batch >= 3:
            stop_at.set()

    kept = []
    job = start(cluster, data, [stop_after_third_batch], kept, epochs=50, batch_size=1)
    assert stop_at.wait(WAIT)
    job.stop()
    assert job.wait(WAIT)
    snap, [run] = job.snapshot(), kept
    assert snap.state is State.SAVED and snap.message.startswith("stopped after epoch ")
    assert run.stopped and run.metrics.epochs_completed < 50
    # the worker checks the stop event after every call of a few batches, so it ends soon
    # after the server saw batch 3 (the server reads progress up to 0.2 s behind the worker:
    # with calls of 16 one-image batches that may be in the second epoch); mid-epoch unless
    # that call happened to be the epoch's last
    last = run.history[-1]
    assert last.epoch == run.metrics.stopped_at["epoch"] == snap.epoch
    assert 3 <= last.batches == snap.batch <= snap.batches_per_epoch == 180
    assert last.complete is (snap.batch == 180)
    assert run.curve.steps[-1] == 180 * (last.epoch - 1) + snap.batch


def test_waiting_for_a_free_worker_then_cancelled(cluster, data):
    busy = [start(cluster, data, epochs=100, batch_size=1) for _ in range(2)]
    try:
        assert until(lambda: all(job.state is State.RUNNING for job in busy))
        waiting = start(cluster, data, epochs=1)
        assert until(lambda: waiting.snapshot().message == "waiting for a free worker (next in "
                                                          "line)")
        second = start(cluster, data, epochs=1)  # the scheduler counts the first one ahead
        assert until(lambda: second.snapshot().message == "waiting for a free worker (1 ahead)")
        assert second.snapshot().queue_position == 2
        for job in (waiting, second):
            job.stop()
            assert job.wait(WAIT)
            assert (job.state, job.message) == (State.CANCELLED, "cancelled before it started")
            assert job.metrics is None and job.saved_to is None
    finally:
        for job in busy:
            job.stop()
        assert all(job.wait(WAIT) for job in busy)


def test_a_lost_worker_is_replaced_and_the_job_resumes_from_its_last_epoch(cluster, data):
    killed, said, kept, runners = [], [], [], []

    def kill_worker_in_epoch_two(event):
        if event.kind == "state" and event.message:
            said.append(event.message)
        if event.kind == "batch" and event.epoch == 2 and not killed:
            client = cluster_client.connect(cluster.scheduler_address)
            worker = runners[0].worker
            pid = client.run(os.getpid, workers=[worker])[worker]
            os.kill(pid, signal.SIGKILL)
            killed.append(worker)

    # batch 2: 100 batches an epoch (reported every few), so the kill (sent on the server,
    # which reads progress up to 0.2 s behind the worker) lands in epoch 2, or a little later
    job = start(cluster, data, [kill_worker_in_epoch_two], kept, epochs=4, batch_size=2,
                validation_fraction=0)
    runners.append(job.runner)
    assert job.wait(WAIT)
    snap, [run], runner = job.snapshot(), kept, runners[0]
    assert killed and snap.state is State.SAVED, snap.message
    assert 1 <= runner.resumed_from <= 3 and runner.worker != killed[0]  # not from scratch
    said_resumed = f"a worker was lost; resumed from epoch {runner.resumed_from}"
    assert said_resumed in said  # what the page and the CLI show while it trains on
    assert snap.message is None  # saved, not stopped: nothing more to say
    assert [r.epoch for r in run.history] == [1, 2, 3, 4] and all(r.complete for r in run.history)
    assert sorted(run.epoch_weights) == [0, 1, 2, 3, 4]
    assert run.metrics.epochs_completed == 4 and not run.stopped


def page_texts(at) -> str:
    """Every progress bar's text and every markdown/caption of the page, in one string."""
    texts = [element.proto.text for element in at.get("progress")]
    texts += [m.value for m in at.markdown] + [c.value for c in at.caption]
    return " | ".join(texts)


def test_the_train_page_trains_through_the_cluster_and_shows_its_queue(cluster, data,
                                                                       monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CNNLAB_SCHEDULER", cluster.scheduler_address)
    busy = [start(cluster, data, epochs=100, batch_size=1) for _ in range(2)]
    try:
        app = Path(__file__).resolve().parent.parent / "app.py"
        at = AppTest.from_file(str(app), default_timeout=WAIT).run()
        at.switch_page("pages/train.py").run()
        at.number_input(key="train_epochs").set_value(1).run()
        at.button(key="train_start").click().run()
        assert not at.exception, at.exception
        job = at.session_state["cnnlab"].job
        assert job.state is State.QUEUED and job.message.startswith("waiting for a free worker")
        at.run()
        assert "waiting for a free worker" in page_texts(at)
    finally:
        for other in busy:
            other.stop()
    assert all(other.wait(WAIT) for other in busy)
    assert job.wait(WAIT) and job.state is State.SAVED, job.message  # its run is saved
    from cnnlab.jobs import ownership

    assert ownership.last(at.session_state["cnnlab"].workspace.token) is job
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics.get("epochs trained") == "1 of 1", (metrics, page_texts(at))
    assert at.session_state["cnnlab"].runs  # saved to the workspace, like a local run
