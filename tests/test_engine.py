"""The training engine: states, stop within a batch, the queue, snapshots, weights, seeds."""

import threading

import numpy as np
import pytest

from cnnlab.architecture import presets, spec, spec_json
from cnnlab.runs.records import Hyperparameters
from cnnlab.training import engine
from cnnlab.training.job_queue import JobQueue
from cnnlab.training.progress import CurveBuilder, Progress

TINY = presets.get("tutorial-1conv")
WITH_DROPOUT = spec_json.architecture_from_dict({"name": "dropout", "layers": [
    {"type": "conv2d", "filters": 8, "kernel_size": 3}, {"type": "max_pool2d"},
    {"type": "dropout", "rate": 0.5}, {"type": "dense", "units": 16}]})
DIVERGING = spec_json.architecture_from_dict({"name": "linear", "layers": [
    {"type": "dense", "units": 64, "activation": "linear"},
    {"type": "dense", "units": 64, "activation": "linear"}]})


@pytest.fixture
def one_job_at_a_time():
    engine.set_max_jobs(1)
    yield
    engine.set_max_jobs(None)


def statuses(events):
    return [e.status for e in events if e.kind == "status"]


def test_finished_job_and_its_run(tiny_run, tiny_dataset):
    assert [r.epoch for r in tiny_run.history] == [1, 2]
    assert all(r.complete and r.val_loss is not None for r in tiny_run.history)
    metrics = tiny_run.metrics
    assert metrics.epochs_completed == 2 and metrics.stopped is False
    assert metrics.stopped_at is None
    assert metrics.train_samples + metrics.validation_samples == len(tiny_dataset.y_train)
    assert np.sum(metrics.confusion_matrix) == metrics.test_samples == 100
    assert metrics.test_accuracy > 0.9  # bands are easy
    matrix = np.array(metrics.confusion_matrix)
    assert metrics.per_class_accuracy == pytest.approx(list(matrix.diagonal() / matrix.sum(1)))
    assert tiny_run.architecture.input_shape == (28, 28, 1)
    assert tiny_run.architecture.num_classes == 4
    assert tiny_run.class_names == ("top", "upper", "lower", "bottom")


def test_epoch_weights_start_before_training_and_end_with_the_model(tiny_run):
    weights = tiny_run.epoch_weights
    assert list(weights) == [0, 1, 2]
    final = tiny_run.model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(weights[2], final, strict=True))
    assert not np.array_equal(weights[0][0], weights[2][0])


def test_curve_is_the_batches_own_values(tiny_run):
    curve = tiny_run.curve
    per_epoch = curve.batches_per_epoch
    assert per_epoch == -(-tiny_run.metrics.train_samples // 32)
    assert curve.steps == tuple(range(1, 2 * per_epoch + 1))
    assert curve.loss[-1] < curve.loss[0]
    # The epoch's mean loss is the sample-weighted mean of its batches' own losses.
    last = tiny_run.metrics.train_samples - (per_epoch - 1) * 32
    sizes = np.array([32] * (per_epoch - 1) + [last])
    first_epoch = np.average(curve.loss[:per_epoch], weights=sizes)
    assert first_epoch == pytest.approx(tiny_run.history[0].loss, rel=1e-4)


def test_listener_sees_states_and_epochs(tiny_dataset):
    events = []
    job = engine.start_training(TINY, tiny_dataset, Hyperparameters(epochs=1, batch_size=64),
                                listeners=[events.append])
    job.wait(60)
    assert statuses(events) == ["running", "finished"]
    assert [e.epoch for e in events if e.kind == "epoch"] == [1]
    assert sum(e.kind == "batch" for e in events) == job.snapshot().batches_per_epoch


def test_stop_takes_effect_within_one_batch(tiny_dataset):
    job_box = []

    def stop_at_batch_5(event):
        if event.kind == "batch" and event.batch == 5:
            job_box[0].stop()

    job = engine.start_training(TINY, tiny_dataset, Hyperparameters(epochs=3, batch_size=4))
    job_box.append(job)
    job.add_listener(stop_at_batch_5)
    job.wait(60)
    snap, run = job.snapshot(), job.result()
    assert snap.status == "stopped" and snap.batch == 5
    assert run.metrics.stopped is True and run.metrics.epochs_completed == 0
    assert run.metrics.stopped_at == {"epoch": 1, "batch": 5}
    assert run.history[-1].complete is False and run.history[-1].batches == 5
    assert list(run.epoch_weights) == [0, 1]
    assert run.model.predict(tiny_dataset.x_test[:3], verbose=0).shape == (3, 4)


def test_queue_with_a_limit_of_one(tiny_dataset, one_job_at_a_time):
    release = threading.Event()
    first = engine.start_training(TINY, tiny_dataset, Hyperparameters(epochs=1, batch_size=8),
                                  listeners=[lambda e: release.wait(30)])
    events = []
    second = engine.start_training(TINY, tiny_dataset, Hyperparameters(epochs=1),
                                   listeners=[events.append])
    third = engine.start_training(TINY, tiny_dataset, Hyperparameters(epochs=1))
    snap = second.snapshot()
    assert (snap.status, snap.queue_position, snap.phase) == ("queued", 1, "waiting")
    assert third.snapshot().queue_position == 2
    third.stop()  # cancelled while queued: no model is trained
    assert third.done and third.snapshot().status == "stopped" and third.result() is None
    assert second.snapshot().queue_position == 1
    release.set()
    assert first.wait(60) and second.wait(60)
    assert statuses(events) == ["running", "finished"]
    assert second.snapshot().queue_position is None and second.result() is not None


def test_snapshots_stay_consistent_while_training(tiny_dataset):
    job = engine.start_training(TINY, tiny_dataset, Hyperparameters(epochs=3, batch_size=8))
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
    assert seen[-1].status == "finished" and seen[-1].elapsed > 0


def test_a_diverging_run_fails_with_a_message(tiny_dataset):
    job = engine.start_training(DIVERGING, tiny_dataset, Hyperparameters(
        epochs=2, batch_size=16, optimizer="sgd", learning_rate=1.0, validation_fraction=0))
    job.wait(60)
    snap = job.snapshot()
    assert snap.status == "failed" and job.result() is None
    assert snap.message.startswith("training diverged: the loss became NaN or infinite at "
                                   "epoch 1, batch ")
    assert "smaller learning rate" in snap.message


def test_an_error_inside_the_job_fails_it(tiny_dataset, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("evaluation exploded")

    monkeypatch.setattr(engine.evaluation, "evaluate", broken)
    job = engine.start_training(TINY, tiny_dataset, Hyperparameters(epochs=1, batch_size=64))
    job.wait(60)
    assert job.snapshot().status == "failed"
    assert job.snapshot().message == "evaluation exploded"


def test_a_failing_listener_is_dropped_not_fatal(tiny_dataset):
    def bad(event):
        raise RuntimeError("listener bug")

    job = engine.start_training(TINY, tiny_dataset, Hyperparameters(epochs=1, batch_size=64),
                                listeners=[bad])
    job.wait(60)
    assert job.snapshot().status == "finished"


def test_same_seed_same_run_even_when_trained_at_the_same_time(tiny_dataset):
    settings = Hyperparameters(epochs=2, batch_size=32, seed=11)
    engine.set_max_jobs(2)
    try:
        jobs = [engine.start_training(WITH_DROPOUT, tiny_dataset, settings) for _ in range(2)]
        assert all(job.wait(60) for job in jobs)
    finally:
        engine.set_max_jobs(None)
    runs = [job.result() for job in jobs]
    assert [r.loss for r in runs[0].history] == [r.loss for r in runs[1].history]
    assert runs[0].curve == runs[1].curve
    for a, b in zip(runs[0].model.get_weights(), runs[1].model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert runs[0].name != runs[1].name


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        (spec.Architecture("rgb", TINY.layers, input_shape=(32, 32, 3)),
         "the architecture's input_shape (32, 32, 3) does not fit the data set tiny, whose "
         "images are (28, 28, 1)"),
        (spec.Architecture("ten", TINY.layers, num_classes=10),
         "the architecture's num_classes 10 does not fit the data set tiny, which has 4"),
        (spec_json.architecture_from_dict({"layers": [
            {"type": "conv2d", "filters": 4, "kernel_size": 40}]}),
         "layer 1 (conv2d): kernel_size must be at most 11 (CNN Lab's cap); received 40"),
    ],
)
def test_architectures_that_do_not_fit_are_refused_up_front(tiny_dataset, arch, message):
    with pytest.raises(ValueError) as info:
        engine.start_training(arch, tiny_dataset)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, "epochs must be an integer from 1 to 100; received 0"),
        ("epochs", 101, "epochs must be an integer from 1 to 100; received 101"),
        ("batch_size", 0, "batch size must be an integer from 1 to 4096; received 0"),
        ("batch_size", 5000, "batch size must be an integer from 1 to 4096; received 5000"),
        ("optimizer", "adagrad", "optimizer must be one of adam, sgd, rmsprop; received"),
        ("learning_rate", 0.0, "learning rate must be a number > 0 and <= 1; received 0.0"),
        ("learning_rate", 2.0, "learning rate must be a number > 0 and <= 1; received 2.0"),
        ("validation_fraction", 0.95, "validation fraction must be a number from 0 to 0.9"),
        ("seed", -1, "seed must be an integer from 0 to"),
    ],
)
def test_hyperparameters_are_checked(field, value, message):
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        Hyperparameters(**{field: value})


def test_curve_builder_thins_by_averaging():
    curve = CurveBuilder(max_points=8)
    values = np.arange(100, dtype=float)
    for step, value in enumerate(values, start=1):
        curve.add(step, value, value / 100)
    points = curve.curve(batches_per_epoch=10)
    assert len(points.steps) <= 8 and points.batches_per_point == 16
    assert points.steps[-1] == 100 and points.loss[0] == pytest.approx(values[:16].mean())


def test_progress_turns_running_means_into_batch_values():
    progress = Progress("p", epochs=1)
    progress.configure(batches_per_epoch=3, batch_size=4, train_samples=10)  # 4, 4, 2
    progress.epoch_begin(1)
    own = [1.0, 3.0, 6.0]
    seen = 0
    total = 0.0
    for batch, (value, size) in enumerate(zip(own, [4, 4, 2], strict=True), start=1):
        seen, total = seen + size, total + value * size
        progress.batch_end(batch, total / seen, 0.5)
    assert progress.snapshot().curve.loss == pytest.approx(own)


def test_job_queue_is_first_in_first_out():
    started = []

    class Job:
        def __init__(self, name):
            self.name = name

        def _launch(self):
            started.append(self.name)

    queue = JobQueue(limit=1)
    jobs = [Job(n) for n in "abc"]
    for job in jobs:
        queue.submit(job)
    assert started == ["a"] and queue.position(jobs[2]) == 2
    queue.finished()
    assert started == ["a", "b"] and queue.position(jobs[2]) == 1
    queue.set_limit(3)
    assert started == ["a", "b", "c"] and queue.counts() == (2, 0)


def test_job_limit_from_the_environment(monkeypatch):
    monkeypatch.setenv("CNNLAB_MAX_JOBS", "3")
    assert JobQueue().limit() == 3
    monkeypatch.setenv("CNNLAB_MAX_JOBS", "many")
    with pytest.raises(ValueError, match="CNNLAB_MAX_JOBS must be a whole number >= 1"):
        JobQueue().limit()


def test_a_finished_run_keeps_its_weights_but_not_its_training_state(tiny_run, tiny_dataset):
    model = tiny_run.model
    assert model.optimizer is None and model.train_function is None  # slots and traces freed
    images = tiny_dataset.x_test[:4]
    probabilities = np.asarray(model(images, training=False))
    assert probabilities.shape == (4, tiny_dataset.num_classes)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    final = tiny_run.epoch_weights[max(tiny_run.epoch_weights)]
    for kept, now in zip(final, model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)
