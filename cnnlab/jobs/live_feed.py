"""The live feed of a training job: what a watching page polls instead of rerunning its script.

A page that watches its workspace's job asks :data:`FEEDS` for the job's feed id, an
unguessable token (``secrets.token_urlsafe``) made once per job and known only to the sessions
of the workspace that owns it; the id names the job and nothing else (no workspace token).
The server's route (``ui/live_routes.py``) answers ``GET /cnnlab-live/<id>?after=N&per=P``
with :func:`payload`: the progress in numbers and words, and only the curve's points from
``N - 1`` on (the last point the page holds may still be filling, see
:class:`~cnnlab.training.progress.CurveBuilder`). When the curve has merged its points
(its ``per_point`` is no longer the page's ``P``) the answer starts again from 0 with
``reset`` set. Unknown ids, and the ids of jobs whose state is final (the run saved, or the
job failed or was cancelled), get nothing: the route answers 404, and the page reruns once to
show the result.

``CNNLAB_LIVE_FEED=0`` turns the feed off: pages then rerun a fragment every second as before.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import weakref
from typing import TYPE_CHECKING, Any

from cnnlab.runs import records

if TYPE_CHECKING:
    from cnnlab.jobs.job import Job, Snapshot

ID_BYTES = 24  # 32 URL-safe characters, 192 random bits
MAX_FEEDS = 512  # ids kept; the oldest go first (their pages fall back to reruns)
ROUTE = "/cnnlab-live"


def enabled() -> bool:
    """Whether pages should use the feed: the server serves its route (``serve.py``) and
    ``CNNLAB_LIVE_FEED`` is not ``0``."""
    return FEEDS.serving and os.environ.get("CNNLAB_LIVE_FEED", "1").strip() != "0"


class FeedRegistry:
    """Feed ids of jobs, process-wide and thread-safe; jobs are held weakly."""

    def __init__(self, limit: int = MAX_FEEDS) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._feeds: dict[str, weakref.ref[Job]] = {}  # insertion order: oldest first
        self._ids: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self.serving = False  # set by the server's route when it is mounted

    def feed_id(self, job: Job) -> str:
        """The job's feed id, made on first use."""
        with self._lock:
            known = self._ids.get(job)
            if known is not None and known in self._feeds:
                return known
            new = secrets.token_urlsafe(ID_BYTES)
            self._feeds[new] = weakref.ref(job)
            self._ids[job] = new
            for old in [k for k, ref in self._feeds.items() if ref() is None]:
                del self._feeds[old]
            while len(self._feeds) > self._limit:
                del self._feeds[next(iter(self._feeds))]
            return new

    def lookup(self, feed_id: str) -> Job | None:
        """The job of a known id while it exists and its state is not final, else None."""
        with self._lock:
            ref = self._feeds.get(feed_id)
        job = ref() if ref is not None else None
        return None if job is None or job.state.final else job

    def __len__(self) -> int:
        with self._lock:
            return len(self._feeds)


FEEDS = FeedRegistry()


def query_int(value: str | None, name: str) -> int:
    """A non-negative integer query parameter (missing: 0).

    Raises ValueError naming the parameter and the value received.
    """
    if value is None or value == "":
        return 0
    if not value.isdigit() or len(value) > 9:
        raise ValueError(f"{name} must be a whole number from 0 to 999999999, got {value[:20]!r}")
    return int(value)


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: a diverged loss is sent as null."""
    return None if value is None or not math.isfinite(value) else float(value)


def payload(snap: Snapshot, after: int, per_point: int, text: str) -> dict:
    """The feed's answer for a page holding ``after`` curve points made ``per_point`` batches
    each: the job's state, ``text`` (its progress in words), the epochs so far (``partial``:
    what a partial last epoch was, in words), and the curve's points from ``start`` on as
    ``[step, loss, accuracy]``."""
    curve = snap.curve
    reset = per_point != curve.batches_per_point or after > len(curve.steps)
    start = 0 if reset else max(after - 1, 0)
    points = [[step, _number(loss), _number(acc)] for step, loss, acc in
              zip(curve.steps[start:], curve.loss[start:], curve.accuracy[start:], strict=True)]
    part = records.partial_epoch(snap.history)  # a stopped job's last epoch, drawn hollow
    history = [{"epoch": r.epoch, "batches": r.batches, "complete": r.complete,
                "loss": _number(r.loss), "accuracy": _number(r.accuracy),
                "val_loss": _number(r.val_loss), "val_accuracy": _number(r.val_accuracy)}
               for r in snap.history]
    return {
        "name": snap.name, "state": str(snap.state), "phase": snap.phase, "text": text,
        "message": snap.message,
        "fraction": snap.fraction, "epoch": snap.epoch, "epochs": snap.epochs,
        "batch": snap.batch, "batches_per_epoch": snap.batches_per_epoch,
        "queue_position": snap.queue_position,
        "samples_per_second": _number(snap.samples_per_second),
        "seconds_left": _number(snap.seconds_left),
        "per_point": curve.batches_per_point, "reset": reset, "start": start, "points": points,
        "curve_batches_per_epoch": curve.batches_per_epoch, "history": history,
        "partial": None if part is None else records.partial_note(part, curve.batches_per_epoch),
    }
