"""A background task (inspect.background): one state, progress as the work reports it, a stop
request that keeps what was finished, a failure said in words, and the finished event the
tests (and pages) wait on."""

from __future__ import annotations

import threading

from cnnlab.inspect import background

WAIT = 30  # seconds: a bound for a stuck thread, never a pace


def test_a_task_reports_progress_then_its_result():
    release = threading.Event()
    reported = threading.Event()

    def work(progress, stop):
        progress(3, 10)
        reported.set()
        release.wait(WAIT)
        return "pictures"

    task = background.Task(work)
    assert reported.wait(WAIT)
    snap = task.snapshot()
    assert (snap.state, snap.done, snap.total, snap.fraction) == ("running", 3, 10, 0.3)
    assert not task.finished.is_set() and snap.result is None
    release.set()
    assert task.finished.wait(WAIT)
    assert (task.snapshot().state, task.snapshot().result) == ("done", "pictures")


def test_a_stopped_task_keeps_what_it_finished():
    def work(progress, stop):
        finished = []
        for step in range(1000):
            if stop.wait(WAIT):  # a step: returns at once once stop is set
                break
            finished.append(step)
        return finished

    task = background.Task(work)
    task.cancel()
    assert task.finished.wait(WAIT)
    snap = task.snapshot()
    assert snap.state == "cancelled" and snap.result == [] and snap.error == ""


def test_a_failing_task_says_why():
    def work(progress, stop):
        raise ValueError("layer conv_9 is not here")

    task = background.Task(work)
    assert task.finished.wait(WAIT)
    snap = task.snapshot()
    assert snap.state == "failed" and snap.error == "ValueError: layer conv_9 is not here"
    assert snap.result is None and snap.fraction == 0.0
