"""The live training feed: per-job unguessable ids, only the points after an index, no leaks.

Snapshots come from the engine's own :class:`Progress`, fed batch by batch as Keras does; the
route is called as Starlette calls it (its HTTP side is in tests/e2e/test_live_feed.py).
"""

from __future__ import annotations

import asyncio
import gc
import json
import math

import pytest
from starlette.requests import Request

from cnnlab.runs.records import EpochRecord
from cnnlab.training import live_feed
from cnnlab.training.progress import Progress
from ui import live_routes, text


class FakeJob:
    """What the feed needs of a job: a name and snapshot() (TrainingJob's interface)."""

    def __init__(self, name: str, batches: int = 0) -> None:
        self.progress = Progress(name, epochs=2)
        self.progress.configure(batches_per_epoch=10, batch_size=4, train_samples=40)
        self.progress.set_status("running", "training")
        self.progress.epoch_begin(1)
        self.add(batches)

    def add(self, batches: int) -> None:
        for _ in range(batches):
            b = self.progress.batch + 1
            self.progress.batch_end(b, 2.0 / b, min(0.1 * b, 1.0))

    def snapshot(self):
        return self.progress.snapshot()


def call(path_id: str, query: str = "") -> tuple[int, dict]:
    scope = {"type": "http", "method": "GET", "path": f"{live_feed.ROUTE}/{path_id}",
             "path_params": {"feed_id": path_id}, "query_string": query.encode(),
             "headers": []}
    response = asyncio.run(live_routes.feed(Request(scope)))
    return response.status_code, json.loads(response.body)


def test_ids_are_unguessable_per_job_and_stable():
    feeds = live_feed.FeedRegistry()
    a, b = FakeJob("a"), FakeJob("b")
    id_a = feeds.feed_id(a, lambda: False)
    assert feeds.feed_id(a, lambda: False) == id_a  # the same job keeps its id
    id_b = feeds.feed_id(b, lambda: False)
    assert id_a != id_b
    assert len(id_a) >= 32 and "a" not in (id_a, id_b)
    assert feeds.lookup(id_a)[0] is a and feeds.lookup(id_b)[0] is b
    assert feeds.lookup("not-an-id") is None


def test_a_job_gone_from_memory_has_no_feed():
    feeds = live_feed.FeedRegistry()
    job = FakeJob("gone")
    feed_id = feeds.feed_id(job, lambda: True)
    del job
    gc.collect()
    assert feeds.lookup(feed_id) is None


def test_the_oldest_ids_go_beyond_the_limit():
    feeds = live_feed.FeedRegistry(limit=2)
    jobs = [FakeJob(str(i)) for i in range(3)]
    ids = [feeds.feed_id(job, lambda: False) for job in jobs]
    assert feeds.lookup(ids[0]) is None and feeds.lookup(ids[2])[0] is jobs[2]
    assert len(feeds) == 2


def test_payload_sends_the_points_from_the_last_one_the_page_holds():
    job = FakeJob("run", batches=4)
    snap = job.snapshot()
    whole = live_feed.payload(snap, 0, 1, False, "t")
    assert whole["start"] == 0 and not whole["reset"]
    assert [p[0] for p in whole["points"]] == list(snap.curve.steps) == [1, 2, 3, 4]
    assert whole["points"][2][1] == pytest.approx(snap.curve.loss[2])
    job.add(3)
    snap = job.snapshot()
    later = live_feed.payload(snap, 4, 1, False, "t")
    assert later["start"] == 3  # the page's last point is sent again: it may have grown
    assert [p[0] for p in later["points"]] == [4, 5, 6, 7]
    held = whole["points"][:later["start"]] + later["points"]
    assert [p[0] for p in held] == list(snap.curve.steps)


def test_payload_starts_again_when_the_curve_merged_its_points():
    job = FakeJob("run")
    job.progress._builder.max_points = 4  # a small curve: merging starts at the 5th batch
    job.add(5)
    snap = job.snapshot()
    assert snap.curve.batches_per_point == 2
    answer = live_feed.payload(snap, 4, 1, False, "t")
    assert answer["reset"] and answer["start"] == 0
    assert [p[0] for p in answer["points"]] == list(snap.curve.steps)
    assert answer["per_point"] == 2


def test_payload_progress_history_and_end():
    job = FakeJob("run", batches=10)
    job.progress.epoch_end(EpochRecord(1, math.nan, 0.5, 0.4, 0.6, 1.0, 10, True))
    snap = job.snapshot()
    answer = live_feed.payload(snap, 0, 1, True, text.progress_text(snap))
    assert answer["fraction"] == pytest.approx(snap.fraction) == 0.5
    assert (answer["epoch"], answer["epochs"], answer["batch"]) == (1, 2, 10)
    assert answer["text"] == text.progress_text(snap) and "epoch 1/2" in answer["text"]
    assert answer["history"][0]["loss"] is None  # NaN is not JSON: sent as null
    assert answer["history"][0]["val_accuracy"] == 0.6
    assert not answer["ended"]  # running: not ended even if saved were true
    job.progress.set_status("finished")
    assert live_feed.payload(job.snapshot(), 0, 1, True, "t")["ended"]
    assert not live_feed.payload(job.snapshot(), 0, 1, False, "t")["ended"]
    json.dumps(answer, allow_nan=False)


def test_the_route_answers_only_for_known_ids_and_only_that_job():
    mine, other = FakeJob("mine-1", batches=3), FakeJob("other-1", batches=6)
    mine_id = live_feed.FEEDS.feed_id(mine, lambda: False)
    live_feed.FEEDS.feed_id(other, lambda: False)
    status, body = call(mine_id, "after=1&per=1")
    assert status == 200 and body["name"] == "mine-1"
    assert [p[0] for p in body["points"]] == [1, 2, 3] and "other-1" not in json.dumps(body)
    status, body = call("x" * 32)
    assert status == 404 and "no training job" in body["error"]
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
