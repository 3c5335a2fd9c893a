"""The live training feed: per-job unguessable ids, only the points after an index, no leaks,
and 404 once the job's run is saved.

Snapshots come from a real :class:`~cnnlab.jobs.job.Job` whose progress is fed batch by batch
as the training routine feeds it; the route is called as Starlette calls it (its HTTP side is
in tests/e2e/test_live_feed.py).
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import threading

import pytest
from starlette.requests import Request

from cnnlab.architecture import presets
from cnnlab.jobs import live_feed, start
from cnnlab.jobs.job import Job
from cnnlab.runs.records import EpochRecord, Hyperparameters
from cnnlab.training.progress import TrainingEvent
from ui import live_routes, text


class Waiting:
    """A runner that never trains: the test feeds the job's progress itself."""

    def submit(self, job): ...
    def run(self, job): ...
    def cancel(self, job): return True
    def stop(self, job): ...
    def queue_position(self, job): return None
    def release(self, job): ...


def fake_job(name: str, batches: int = 0) -> Job:
    """A running job two epochs of ten batches long, ``batches`` of them done."""
    job = Job(name, presets.get("tutorial-1conv"), Hyperparameters(epochs=2), Waiting(),
              save=lambda run: None)
    job.begin()
    job.handle(TrainingEvent("phase", phase="building"))
    job.handle(TrainingEvent("configure", batches=10, batch_size=4, train_samples=40))
    job.handle(TrainingEvent("phase", phase="training"))
    job.handle(TrainingEvent("epoch_begin", epoch=1))
    add(job, batches)
    return job


def add(job: Job, batches: int) -> None:
    for _ in range(batches):
        b = job.snapshot().batch + 1
        job.handle(TrainingEvent("batch", epoch=1, batch=b, loss=2.0 / b,
                                 accuracy=min(0.1 * b, 1.0)))


def call(path_id: str, query: str = "") -> tuple[int, dict]:
    scope = {"type": "http", "method": "GET", "path": f"{live_feed.ROUTE}/{path_id}",
             "path_params": {"feed_id": path_id}, "query_string": query.encode(),
             "headers": []}
    response = asyncio.run(live_routes.feed(Request(scope)))
    return response.status_code, json.loads(response.body)


def test_ids_are_unguessable_per_job_and_stable():
    feeds = live_feed.FeedRegistry()
    a, b = fake_job("a"), fake_job("b")
    id_a = feeds.feed_id(a)
    assert feeds.feed_id(a) == id_a  # the same job keeps its id
    id_b = feeds.feed_id(b)
    assert id_a != id_b
    assert len(id_a) >= 32 and "a" not in (id_a, id_b)
    assert feeds.lookup(id_a) is a and feeds.lookup(id_b) is b
    assert feeds.lookup("not-an-id") is None


def test_a_job_gone_from_memory_has_no_feed():
    feeds = live_feed.FeedRegistry()
    job = fake_job("gone")
    feed_id = feeds.feed_id(job)
    del job
    gc.collect()
    assert feeds.lookup(feed_id) is None


def test_the_oldest_ids_go_beyond_the_limit():
    feeds = live_feed.FeedRegistry(limit=2)
    jobs = [fake_job(str(i)) for i in range(3)]
    ids = [feeds.feed_id(job) for job in jobs]
    assert feeds.lookup(ids[0]) is None and feeds.lookup(ids[2]) is jobs[2]
    assert len(feeds) == 2


def test_payload_sends_the_points_from_the_last_one_the_page_holds():
    job = fake_job("run", batches=4)
    snap = job.snapshot()
    whole = live_feed.payload(snap, 0, 1, "t")
    assert whole["start"] == 0 and not whole["reset"]
    assert [p[0] for p in whole["points"]] == list(snap.curve.steps) == [1, 2, 3, 4]
    assert whole["points"][2][1] == pytest.approx(snap.curve.loss[2])
    add(job, 3)
    snap = job.snapshot()
    later = live_feed.payload(snap, 4, 1, "t")
    assert later["start"] == 3  # the page's last point is sent again: it may have grown
    assert [p[0] for p in later["points"]] == [4, 5, 6, 7]
    held = whole["points"][:later["start"]] + later["points"]
    assert [p[0] for p in held] == list(snap.curve.steps)


def test_payload_starts_again_when_the_curve_merged_its_points():
    job = fake_job("run")
    job.progress._builder.max_points = 4  # a small curve: merging starts at the 5th batch
    add(job, 5)
    snap = job.snapshot()
    assert snap.curve.batches_per_point == 2
    answer = live_feed.payload(snap, 4, 1, "t")
    assert answer["reset"] and answer["start"] == 0
    assert [p[0] for p in answer["points"]] == list(snap.curve.steps)
    assert answer["per_point"] == 2


def test_payload_progress_and_history():
    job = fake_job("run", batches=10)
    job.handle(TrainingEvent("epoch", epoch=1, batch=10, record=EpochRecord(
        1, math.nan, 0.5, 0.4, 0.6, 1.0, 10, True)))
    snap = job.snapshot()
    answer = live_feed.payload(snap, 0, 1, text.progress_text(snap))
    assert answer["fraction"] == pytest.approx(snap.fraction) == 0.5
    assert (answer["epoch"], answer["epochs"], answer["batch"]) == (1, 2, 10)
    assert answer["text"] == text.progress_text(snap) and "epoch 1/2" in answer["text"]
    assert answer["history"][0]["loss"] is None  # NaN is not JSON: sent as null
    assert answer["history"][0]["val_accuracy"] == 0.6
    assert answer["state"] == "running"
    json.dumps(answer, allow_nan=False)


def test_payload_says_what_a_stopped_jobs_partial_epoch_was():
    job = fake_job("run", batches=10)
    job.handle(TrainingEvent("epoch", epoch=1, batch=10, record=EpochRecord(
        1, 0.5, 0.5, 0.4, 0.6, 1.0, 10, True)))
    assert live_feed.payload(job.snapshot(), 0, 1, "t")["partial"] is None
    job.handle(TrainingEvent("epoch_begin", epoch=2))
    job.handle(TrainingEvent("epoch", epoch=2, batch=4, record=EpochRecord(
        2, 0.4, 0.6, 0.3, 0.7, 1.0, 4, False)))  # stopped after 4 of its 10 batches
    answer = live_feed.payload(job.snapshot(), 0, 1, "t")
    assert answer["partial"] == "epoch 2: 4 of 10 batches (stopped)"
    assert [r["complete"] for r in answer["history"]] == [True, False]


def test_the_route_answers_only_for_known_ids_and_only_that_job():
    mine, other = fake_job("mine-1", batches=3), fake_job("other-1", batches=6)
    mine_id = live_feed.FEEDS.feed_id(mine)
    live_feed.FEEDS.feed_id(other)
    status, body = call(mine_id, "after=1&per=1")
    assert status == 200 and body["name"] == "mine-1"
    assert [p[0] for p in body["points"]] == [1, 2, 3] and "other-1" not in json.dumps(body)
    status, body = call("x" * 32)
    assert status == 404 and "no training job with this id is running" in body["error"]
    status, body = call(mine_id, "after=-1")
    assert status == 400 and "after" in body["error"] and "'-1'" in body["error"]


def test_query_numbers_are_checked():
    assert live_feed.query_int(None, "after") == 0
    assert live_feed.query_int("12", "after") == 12
    with pytest.raises(ValueError, match="per must be a whole number.*'1e9'"):
        live_feed.query_int("1e9", "per")


def test_the_feed_is_on_only_when_served_and_not_turned_off(monkeypatch):
    monkeypatch.setattr(live_feed.FEEDS, "serving", False)
    assert not live_feed.enabled()
    monkeypatch.setattr(live_feed.FEEDS, "serving", True)
    monkeypatch.setenv("CNNLAB_LIVE_FEED", "1")
    assert live_feed.enabled()
    monkeypatch.setenv("CNNLAB_LIVE_FEED", "0")
    assert not live_feed.enabled()


def test_the_feed_answers_404_once_its_jobs_run_is_saved(tiny_dataset):
    """While the job trains its feed answers; once its run is saved (the job's state is
    final) the same id is 404, and the page reruns to show the result."""
    feed_ids, answers, ready = [], [], threading.Event()

    def poll(event):  # in the job's thread, while it trains
        if event.kind == "epoch" and event.epoch == 1:
            assert ready.wait(60)
            answers.append(call(feed_ids[0], "after=0&per=1"))

    job = start.start_job(presets.get("tutorial-1conv"), tiny_dataset,
                          Hyperparameters(epochs=2, batch_size=64), save=lambda run: None,
                          listeners=[poll])
    feed_ids.append(live_feed.FEEDS.feed_id(job))
    ready.set()
    assert job.wait(120) and job.state == "saved"
    [(status, body)] = answers
    assert status == 200 and body["state"] == "running" and body["points"]
    status, body = call(feed_ids[0], "after=0&per=1")
    assert status == 404 and "its run is saved" in body["error"]
    assert live_feed.FEEDS.feed_id(job) == feed_ids[0]  # still known: ended, not forgotten
