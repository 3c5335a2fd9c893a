"""Jobs belong to workspaces (cnnlab.jobs.ownership): one active job each, checked on the
server; bounded queues, server-wide and per client address; a job whose workspace has no open
page ends and is saved."""

from __future__ import annotations

import pytest

from cnnlab.architecture import presets
from cnnlab.jobs import job_queue, ownership
from cnnlab.jobs.job import State
from cnnlab.runs.records import Hyperparameters
from cnnlab.workspaces import models, store

TIMEOUT = 120
LONG = Hyperparameters(epochs=100, batch_size=8, validation_fraction=0.0, seed=1)


@pytest.fixture()
def one_slot(monkeypatch, tmp_path):
    """One training slot, a private CNNLAB_HOME; every job started is stopped afterwards."""
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path / "home"))
    job_queue.set_max_jobs(1)
    started = []
    yield started
    for job in started:
        job.stop()
    for job in started:
        assert job.wait(TIMEOUT)
    job_queue.set_max_jobs(None)


def start(started, workspace, dataset, name="long", client=None):
    job = ownership.start(workspace, presets.get("tutorial-1conv"), dataset, LONG, name,
                          client=client)
    started.append(job)
    return job


def test_a_second_job_of_a_workspace_is_refused_on_the_server(one_slot, tiny_dataset):
    workspace = store.create()
    first = start(one_slot, workspace, tiny_dataset)
    with pytest.raises(ownership.BusyError, match="already training long; stop it"):
        start(one_slot, workspace, tiny_dataset, "again")
    assert ownership.last(workspace.token) is first and first.owner == workspace.token
    first.stop()
    assert first.wait(TIMEOUT) and first.state is State.SAVED
    start(one_slot, workspace, tiny_dataset, "again")  # allowed once the first has ended


def test_a_full_queue_says_the_server_is_busy_and_how_many_wait(one_slot, tiny_dataset,
                                                                 monkeypatch):
    monkeypatch.setenv("CNNLAB_MAX_QUEUE", "1")
    start(one_slot, store.create(), tiny_dataset)
    queued = start(one_slot, store.create(), tiny_dataset)
    assert queued.state is State.QUEUED
    with pytest.raises(ownership.BusyError, match="server is busy: 1 jobs are waiting for its "
                                                  "1 training slot"):
        start(one_slot, store.create(), tiny_dataset)


def test_one_client_address_may_have_only_so_many_jobs_waiting(one_slot, tiny_dataset,
                                                               monkeypatch):
    """Workspaces are free to make: the limit on waiting jobs counts the computer, not the
    workspace."""
    monkeypatch.setenv("CNNLAB_MAX_QUEUE_PER_CLIENT", "2")
    start(one_slot, store.create(), tiny_dataset, client="10.0.0.9")  # trains: not waiting
    waiting = [start(one_slot, store.create(), tiny_dataset, client="10.0.0.7")
               for _ in range(2)]
    assert [job.state for job in waiting] == [State.QUEUED, State.QUEUED]
    third = store.create()
    with pytest.raises(ownership.BusyError, match=r"this computer \(10.0.0.7\) already has 2 "
                                                  "training jobs waiting; at most 2 may wait "
                                                  "per computer"):
        start(one_slot, third, tiny_dataset, client="10.0.0.7")
    assert ownership.last(third.token) is None
    start(one_slot, store.create(), tiny_dataset, client="10.0.0.8")  # another computer
    waiting[0].stop()  # cancelled: one fewer waits
    assert waiting[0].wait(TIMEOUT) and waiting[0].state is State.CANCELLED
    start(one_slot, third, tiny_dataset, client="10.0.0.7")


def test_the_client_address_trusts_proxy_headers_only_from_this_machine(monkeypatch):
    assert ownership.client_address("192.168.1.4", {"X-Forwarded-For": "1.2.3.4"}) \
        == "192.168.1.4"
    assert ownership.client_address(None, {"X-Forwarded-For": "6.6.6.6, 10.1.2.3"}) \
        == "10.1.2.3"  # nginx appends the address it saw: the last
    assert ownership.client_address(None, {"X-Real-IP": "10.9.9.9",
                                           "X-Forwarded-For": "10.1.2.3"}) == "10.9.9.9"
    assert ownership.client_address(None, {}) is None
    assert ownership.client_address(None, {"X-Forwarded-For": "127.0.0.1"}) is None  # local
    assert ownership.client_address(None, {"X-Real-IP": "not an address"}) is None
    monkeypatch.setenv("CNNLAB_MAX_QUEUE_PER_CLIENT", "0")
    from cnnlab.workspaces import settings

    with pytest.raises(ValueError, match="CNNLAB_MAX_QUEUE_PER_CLIENT must be a whole number"):
        settings.max_queue_per_client()


def test_a_workspace_over_its_run_limit_cannot_start_a_job(one_slot, tiny_dataset, tiny_run,
                                                           monkeypatch):
    monkeypatch.setenv("CNNLAB_MAX_RUNS", "1")
    workspace = store.create()
    workspace.save_run(tiny_run)
    with pytest.raises(store.WorkspaceError, match="CNNLAB_MAX_RUNS"):
        start(one_slot, workspace, tiny_dataset)
    assert ownership.last(workspace.token) is None


def test_without_an_open_page_a_queued_job_is_cancelled_and_a_running_one_saved(
        one_slot, tiny_dataset, monkeypatch):
    monkeypatch.setenv("CNNLAB_ORPHAN_GRACE_S", "1")
    running_ws, queued_ws = store.create(), store.create()
    connected = {"open": True}  # the running job's page stays open until the queued one ends
    ownership.attach(running_ws.token, "session-1", lambda: connected["open"])
    running = start(one_slot, running_ws, tiny_dataset)
    queued = start(one_slot, queued_ws, tiny_dataset)
    # Nobody beats: after a second the queued job's workspace has no open page and it is
    # cancelled (it cannot get the slot first: the running job's page is still open).
    assert queued.wait(TIMEOUT) and running.state is State.RUNNING
    connected["open"] = False  # then the running job's page closes: it stops and is saved
    assert running.wait(TIMEOUT)
    assert queued.state is State.CANCELLED and queued_ws.runs() == []
    assert queued.message == ("cancelled before it started: no page of its workspace was open "
                              "for 1 s")
    assert running.state is State.SAVED and running.stop_reason.startswith("no page")
    assert running.message.startswith("stopped after epoch ")
    saved = store.open_workspace(running_ws.token).runs()
    assert [info.name for info in saved] == ["long"] and saved[0].stopped
    assert saved[0].epochs_completed < LONG.epochs
    assert store.open_workspace(running_ws.token).current() == running.saved_to
    assert (running_ws.token, running.saved_to) in models.loaded()  # the pages read it there


def test_a_beating_page_keeps_its_job_training(one_slot, tiny_dataset, monkeypatch):
    monkeypatch.setenv("CNNLAB_ORPHAN_GRACE_S", "1")
    workspace = store.create()
    job = start(one_slot, workspace, tiny_dataset)
    snap = job.snapshot()
    while snap.epoch < 3:  # about a second per epoch or less; the page keeps beating
        ownership.beat(workspace.token)
        job.wait(0.2)
        snap = job.snapshot()
        assert not snap.state.final, snap.message
    assert job.stop_reason is None


def test_a_connected_session_keeps_its_job_without_heartbeats_until_it_closes(
        one_slot, tiny_dataset, monkeypatch):
    """A background tab (the browser slows its refreshes) is still connected: its job goes on;
    once the connection closes the job is stopped and saved."""
    monkeypatch.setenv("CNNLAB_ORPHAN_GRACE_S", "1")
    workspace = store.create()
    connected = {"open": True}
    ownership.attach(workspace.token, "session-1", lambda: connected["open"])
    job = start(one_slot, workspace, tiny_dataset)
    while ownership.idle_seconds(workspace.token) < 3:  # three grace periods without a beat
        assert not job.wait(0.2), job.message
    assert job.stop_reason is None
    connected["open"] = False
    assert job.wait(TIMEOUT) and job.stop_reason is not None
    assert [info.name for info in workspace.runs()] == ["long"]


def test_what_pages_leave_behind_is_swept_once_they_are_gone(one_slot, tiny_dataset,
                                                             monkeypatch):
    """Every visit beats under a fresh token; a server must not keep one entry per visit
    forever. Active jobs keep theirs; an ended job's record goes after RECORD_SECONDS."""
    import time

    monkeypatch.setenv("CNNLAB_ORPHAN_GRACE_S", "60")
    visits = [store.new().token for _ in range(3)]  # fresh tabs: nothing on disk
    for token in visits:
        ownership.beat(token)
        ownership.attach(token, f"session-{token[:4]}", lambda: True)
    busy, done = store.create(), store.create()
    ended = start(one_slot, done, tiny_dataset)
    ended.stop()
    assert ended.wait(TIMEOUT)
    running = start(one_slot, busy, tiny_dataset)
    now = time.monotonic()
    ownership.sweep(now)  # nothing is old yet
    assert all(ownership.idle_seconds(t) < 60 for t in visits)
    ownership.sweep(now + 61)  # the visits' pages are gone; the ended job's record stays
    assert [t for t in visits if t in ownership._BEATS or t in ownership._PROBES] == []
    assert ownership.last(done.token) is ended and ownership.last(busy.token) is running
    ownership.sweep(now + ownership.RECORD_SECONDS + 1)
    assert ownership.last(done.token) is None
    assert ownership.last(busy.token) is running and busy.token in ownership._BEATS
