"""Words for what a training job is doing, as a learner reads them at a glance."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnlab.jobs.job import Snapshot


def progress_text(snap: Snapshot) -> str:
    """One line: where a job is (queued, building, compiling, training, testing, saving)."""
    if snap.state == "queued" and snap.message:  # a Dask cluster's queue (cnnlab.jobs.cluster)
        return f"⏳ {snap.name}: {snap.message}"
    if snap.state == "queued":
        return (f"⏳ {snap.name}: waiting, place {snap.queue_position} in the queue "
                f"(other users are training)")
    if snap.state == "saving":
        return f"💾 {snap.name}: saving the run…"
    if snap.phase in ("waiting", "building"):
        return f"⚙️ {snap.name}: building the model…"
    if snap.phase == "training" and snap.epoch <= 1 and snap.batch == 0:
        return f"⚙️ {snap.name}: preparing the first batch (TensorFlow compiles the model)…"
    if snap.phase == "evaluating":
        return f"🧮 {snap.name}: testing on the test images…"
    parts = [f"{snap.name}: epoch {snap.epoch}/{snap.epochs}, batch {snap.batch}/"
             f"{snap.batches_per_epoch}"]
    if snap.samples_per_second:
        parts.append(f"{snap.samples_per_second:,.0f} images/s")
    if snap.seconds_left is not None:
        parts.append(f"about {snap.seconds_left:.0f} s left")
    if snap.state == "stopping":
        parts.append("stopping after this batch")
    if snap.message:  # e.g. a cluster job's "a worker was lost; resumed from epoch 2"
        parts.append(snap.message)
    return "🟢 " + " · ".join(parts)
