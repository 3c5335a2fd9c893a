"""Training through a Dask cluster, the edges (issue 14): an unreachable or lost scheduler, no
Dask at all without one, and where a worker finds its data. Each test that needs a cluster
starts its own and stops it. Deselect with ``-m "not cluster"``."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import threading

import numpy as np
import pytest

from cnnlab.architecture import presets
from cnnlab.runs.records import Hyperparameters
from tests.conftest import make_tiny_dataset

pytestmark = pytest.mark.cluster
distributed = pytest.importorskip("distributed")
from cnnlab.cluster import client as cluster_client  # noqa: E402  (after the skip)
from cnnlab.cluster import task  # noqa: E402
from cnnlab.jobs import start as starting  # noqa: E402
from cnnlab.jobs.job import State  # noqa: E402

TINY = presets.get("tutorial-1conv")
WAIT = 180


@pytest.fixture(scope="module")
def data():
    return make_tiny_dataset(train=200, test=60, name="tiny-cluster")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_named_and_nothing_trains_locally():
    address = f"tcp://127.0.0.1:{closed_port()}"
    with pytest.raises(cluster_client.ClusterError, match=f"cannot reach the Dask scheduler at "
                                                          f"{address}"):
        cluster_client.connect(address, timeout=1)
    with pytest.raises(cluster_client.ClusterError, match="must look like tcp://HOST:PORT"):
        cluster_client.connect("localhost:8786")


def test_the_cli_with_an_unreachable_scheduler_exits_2_with_one_error_line(tmp_path):
    address = f"tcp://127.0.0.1:{closed_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "cnnlab.cli.main", "train", "tutorial-1conv", "--epochs", "1",
         "--out", str(tmp_path / "run"), "--scheduler", address],
        capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Dask scheduler at "
                                                   + address), done.stderr
    assert not (tmp_path / "run").exists()


def test_a_lost_scheduler_fails_the_job_and_keeps_its_finished_epochs(data):
    # A cluster of its own (threads of this process: quick), whose scheduler this test closes.
    local = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                     protocol="tcp://", host="127.0.0.1", dashboard_address=None)
    address = local.scheduler_address
    try:
        in_epoch_two = threading.Event()

        def watch(event):
            if event.kind == "batch" and event.epoch == 2:
                in_epoch_two.set()

        kept = []
        job = starting.start_job(TINY, data, Hyperparameters(epochs=50, batch_size=4),
                                 save=kept.append, listeners=[watch], scheduler=address)
        assert in_epoch_two.wait(WAIT)
        local.sync(local.scheduler.close)
        assert job.wait(WAIT)
        snap, [run] = job.snapshot(), kept  # failed, but its finished epochs are saved
        assert snap.state is State.FAILED
        assert snap.message.startswith(f"lost the Dask scheduler at {address}"), snap.message
        # the scheduler closes while the worker trains on: epoch 2 (or a later one) may end
        # before the server notices, and those finished epochs are kept too
        assert run.stopped and run.history, snap.message
        kept = len(run.history)
        assert snap.message.endswith(f"the run of its first {kept} epoch(s) is kept"), snap.message
        assert [r.epoch for r in run.history] == list(range(1, kept + 1)) and kept < 50
        np.testing.assert_array_equal(run.model.get_weights()[0], run.epoch_weights[kept][0])
        assert run.metrics.test_samples == len(data.y_test)
    finally:
        cluster_client.close(address)
        local.close()


def test_without_a_scheduler_nothing_imports_dask():
    code = ("import sys, cnnlab, cnnlab.jobs.ownership, cnnlab.jobs.start, cnnlab.cli.main, "
            "cnnlab.workspaces.settings as s\n"
            "assert s.scheduler() is None\n"
            "dask = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')"
            " or m.startswith('cnnlab.cluster'))\n"
            "sys.exit(f'imported {dask}' if dask else 0)")
    env = {k: v for k, v in os.environ.items() if k != "CNNLAB_SCHEDULER"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=WAIT, env=env)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_where_a_worker_finds_the_data(data, monkeypatch, tmp_path):
    from cnnlab.data import datasets, refs

    named = task.data_spec(datasets.load_dataset("mnist-5k"))
    assert named == {"ref": {"kind": "named", "name": "mnist-5k", "image_size": None,
                             "colour": None}}
    assert task.load_data(named, "tcp://w:1").ref == refs.named("mnist-5k")
    sent = task.data_spec(data)
    rebuilt = task.load_data(sent, "tcp://w:1")
    np.testing.assert_array_equal(rebuilt.x_train, data.x_train)
    assert rebuilt.class_names == data.class_names and rebuilt.ref == data.ref
    monkeypatch.setattr(task, "SEND_LIMIT_BYTES", 0)  # too big to send: by its path
    folder = refs.folder("/nowhere/digits", (20, 20), "grey")
    missing = {"ref": folder.to_dict()}
    assert task.data_spec(datasets.Dataset(
        ref=folder, class_names=data.class_names, x_train=data.x_train,
        y_train=data.y_train, x_test=data.x_test, y_test=data.y_test)) == missing
    with pytest.raises(datasets.DatasetError, match="worker tcp://w:1 cannot load the data set "
                                                    "/nowhere/digits .*same path on every"):
        task.load_data(missing, "tcp://w:1")
    with pytest.raises(datasets.DatasetError, match="my drawings holds .* MB, more than"):
        task.data_spec(dataclasses.replace(data, ref=refs.drawn()))  # only here
    weights = [np.arange(6, dtype=np.float32).reshape(2, 3), np.zeros(0, np.float32)]
    for got, expected in zip(task.unpack_weights(task.pack_weights(weights)), weights,
                             strict=True):
        np.testing.assert_array_equal(got, expected)
