"""Jobs belong to workspaces (cnnlab.training.ownership): one active job each, checked on the
server; a bounded queue; a job whose workspace has no open page ends and is saved."""

from __future__ import annotations

import pytest

from cnnlab.architecture import presets
from cnnlab.runs.records import Hyperparameters
from cnnlab.training import engine, ownership
from cnnlab.workspaces import store

TIMEOUT = 120
LONG = Hyperparameters(epochs=100, batch_size=8, validation_fraction=0.0, seed=1)


@pytest.fixture()
def one_slot(monkeypatch, tmp_path):
    """One training slot, a private CNNLAB_HOME; every job started is stopped afterwards."""
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path / "home"))
    engine.set_max_jobs(1)
    started: list[ownership.OwnedJob] = []
    yield started
    for owned in started:
        owned.job.stop()
    for owned in started:
        assert owned.saved.wait(TIMEOUT)
    engine.set_max_jobs(None)


def start(started, workspace, dataset, name="long"):
    owned = ownership.start(workspace, presets.get("tutorial-1conv"), dataset, LONG, name)
    started.append(owned)
    return owned


def test_a_second_job_of_a_workspace_is_refused_on_the_server(one_slot, tiny_dataset):
    workspace = store.create()
    first = start(one_slot, workspace, tiny_dataset)
    with pytest.raises(ownership.BusyError, match="already training long; stop it"):
        start(one_slot, workspace, tiny_dataset, "again")
    assert ownership.last(workspace.token) is first
    first.job.stop()
    assert first.saved.wait(TIMEOUT)
    start(one_slot, workspace, tiny_dataset, "again")  # allowed once the first has ended


def test_a_full_queue_says_the_server_is_busy_and_how_many_wait(one_slot, tiny_dataset,
                                                                 monkeypatch):
    monkeypatch.setenv("CNNLAB_MAX_QUEUE", "1")
    start(one_slot, store.create(), tiny_dataset)
    queued = start(one_slot, store.create(), tiny_dataset)
    assert queued.job.snapshot().status == "queued"
    with pytest.raises(ownership.BusyError, match="server is busy: 1 jobs are waiting for its "
                                                  "1 training slot"):
        start(one_slot, store.create(), tiny_dataset)


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
    running = start(one_slot, running_ws, tiny_dataset)
    queued = start(one_slot, queued_ws, tiny_dataset)
    # Nobody calls ownership.beat(): after a second both workspaces have no open page.
    assert queued.saved.wait(TIMEOUT) and running.saved.wait(TIMEOUT)
    assert queued.orphaned and queued.job.snapshot().status == "stopped"
    assert queued.job.result() is None and queued_ws.runs() == []
    assert running.orphaned and running.error is None
    assert running.job.snapshot().status == "stopped"
    saved = store.open_workspace(running_ws.token).runs()
    assert [info.name for info in saved] == ["long"] and saved[0].stopped
    assert saved[0].epochs_completed < LONG.epochs
    assert store.open_workspace(running_ws.token).current() == running.folder


def test_a_beating_page_keeps_its_job_training(one_slot, tiny_dataset, monkeypatch):
    monkeypatch.setenv("CNNLAB_ORPHAN_GRACE_S", "1")
    workspace = store.create()
    owned = start(one_slot, workspace, tiny_dataset)
    snap = owned.job.snapshot()
    while snap.epoch < 3:  # about a second per epoch or less; the page keeps beating
        ownership.beat(workspace.token)
        owned.job.wait(0.2)
        snap = owned.job.snapshot()
        assert not snap.done, snap.message
    assert not owned.orphaned


def test_a_connected_session_keeps_its_job_without_heartbeats_until_it_closes(
        one_slot, tiny_dataset, monkeypatch):
    """A background tab (the browser slows its refreshes) is still connected: its job goes on;
    once the connection closes the job is stopped and saved."""
    monkeypatch.setenv("CNNLAB_ORPHAN_GRACE_S", "1")
    workspace = store.create()
    connected = {"open": True}
    ownership.attach(workspace.token, "session-1", lambda: connected["open"])
    owned = start(one_slot, workspace, tiny_dataset)
    while ownership.idle_seconds(workspace.token) < 3:  # three grace periods without a beat
        assert not owned.job.wait(0.2), owned.job.snapshot().message
    assert not owned.orphaned
    connected["open"] = False
    assert owned.saved.wait(TIMEOUT) and owned.orphaned
    assert [info.name for info in workspace.runs()] == ["long"]
