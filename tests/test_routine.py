"""The one training routine: the run it returns, its events, stop, resume, divergence, seeds,
and what a trained model keeps; progress arithmetic; the checks done up front."""

import math
import re
import threading
import types

import keras
import numpy as np
import pytest

from cnnlab.architecture import presets, spec, spec_json
from cnnlab.models import builder
from cnnlab.runs.records import EpochRecord, Hyperparameters
from cnnlab.training import compiled, evaluation, feeding, memory, routine
from cnnlab.training.progress import CurveBuilder, Progress, TrainingEvent

TINY = presets.get("tutorial-1conv")
WITH_DROPOUT = spec_json.architecture_from_dict({"name": "dropout", "layers": [
    {"type": "conv2d", "filters": 8, "kernel_size": 3}, {"type": "max_pool2d"},
    {"type": "dropout", "rate": 0.5}, {"type": "dense", "units": 16}]})
DIVERGING = spec_json.architecture_from_dict({"name": "linear", "layers": [
    {"type": "dense", "units": 64, "activation": "linear"},
    {"type": "dense", "units": 64, "activation": "linear"}]})


def test_finished_run(tiny_run, tiny_dataset):
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
    assert tiny_run.name == "tutorial-1conv"  # no name given: the architecture's


def test_epoch_weights_start_before_training_and_end_with_the_model(tiny_run):
    weights = tiny_run.epoch_weights
    assert list(weights) == [0, 1, 2]
    final = tiny_run.model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(weights[2], final, strict=True))
    assert not np.array_equal(weights[0][0], weights[2][0])


def test_curve_is_the_batches_own_values(tiny_run):
    """A point per call of the traced step (its batches' own mean loss), and the epoch's mean
    loss is the sample-weighted mean of them."""
    curve = tiny_run.curve
    per_epoch = curve.batches_per_epoch
    per_call = compiled.batches_per_call(tiny_run.architecture, 32)
    assert per_epoch == -(-tiny_run.metrics.train_samples // 32)
    ends = [*range(per_call, per_epoch, per_call), per_epoch]
    assert curve.steps == tuple(ends + [per_epoch + end for end in ends])
    assert curve.loss[-1] < curve.loss[0]
    samples = np.minimum(np.array([0, *ends]) * 32, tiny_run.metrics.train_samples)
    first_epoch = np.average(curve.loss[:len(ends)], weights=np.diff(samples))
    assert first_epoch == pytest.approx(tiny_run.history[0].loss, rel=1e-4)


def test_progress_turns_a_calls_running_means_into_its_batches_mean():
    """Reports after batches 2 and 3 of 3 (4, 4 and 2 images): the first covers two batches,
    the curve weighs it so, and the epoch's samples add up."""
    progress = Progress(epochs=1)
    progress.configure(batches_per_epoch=3, batch_size=4, train_samples=10)
    progress.epoch_begin(1)
    progress.batch_end(2, 2.0, 0.5)  # batches 1-2: 8 images, mean 2
    progress.batch_end(3, (8 * 2.0 + 2 * 7.0) / 10, 0.5)  # batch 3: 2 images of 7
    progress.batch_end(3, 0.0, 0.0)  # a report repeated changes nothing
    curve = progress.numbers()["curve"]
    assert curve.steps == (2, 3) and curve.loss == pytest.approx((2.0, 7.0))
    assert progress.numbers()["batch"] == 3


def test_curve_builder_weighs_a_point_by_its_batches():
    curve = CurveBuilder(max_points=2)
    for step, value in ((8, 1.0), (16, 2.0), (17, 5.0)):  # 8, 8 and 1 batches
        curve.add(step, value, 0.5, batches=8 if step < 17 else 1)
    points = curve.curve(batches_per_epoch=17)
    assert points.steps == (16, 17) and points.loss == pytest.approx((1.5, 5.0))


def keras_schedule(name: str, rate: float, total: int):
    """Keras's own schedule for each of ours: the reference the routine's is held against."""
    if name == "cosine":
        return keras.optimizers.schedules.CosineDecay(rate, decay_steps=total)
    if name == "step":  # Keras moves on after a boundary; ours from 1/2 and 3/4 of the steps
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            [math.ceil(total / 2) - 1, math.ceil(3 * total / 4) - 1],
            [rate, rate * 0.1, rate * 0.01])
    return rate


@pytest.mark.parametrize(("schedule", "precision"), [
    ("constant", "float32"), ("cosine", "float32"), ("step", "float32"),
    ("cosine", "bfloat16")])
def test_the_history_is_a_plain_keras_fit_of_the_same_seed(tiny_dataset, schedule, precision):
    """The trusted reference: Keras's own ``fit`` on the same model, seed, split and batches,
    with Keras's own learning-rate schedule and no callback of ours, gives the routine's
    history, in either precision."""
    # batch 12: 27 batches an epoch (the last of 8 images), two calls of the traced step (16, 11)
    hp = Hyperparameters(epochs=2, batch_size=12, validation_fraction=0.2, seed=7,
                         learning_rate=3e-3, lr_schedule=schedule, precision=precision)
    run = routine.train(TINY, tiny_dataset, hp)
    assert run.metrics.precision == precision
    data = tiny_dataset
    arch = TINY.with_data(data.image_shape, data.num_classes)
    keras.utils.set_random_seed(hp.seed)
    model = builder.build_model(arch, seed=hp.seed, precision=precision)
    train_idx, val_idx = feeding.split(data.y_train, hp.validation_fraction, hp.seed)
    steps = math.ceil(len(train_idx) / hp.batch_size)
    builder.compile_model(model, hp.optimizer, hp.learning_rate,
                          keras_schedule(schedule, hp.learning_rate, hp.epochs * steps))
    assert compiled.batches_per_call(arch, hp.batch_size) > 1  # the routine: several per call
    plain = model.fit(feeding.training_batches(data.x_train, data.y_train, train_idx,
                                               hp.batch_size, hp.epochs, hp.seed),
                      epochs=hp.epochs, steps_per_epoch=steps, verbose=0, shuffle=False,
                      validation_data=(data.x_train[val_idx], data.y_train[val_idx]),
                      validation_batch_size=evaluation.EVAL_BATCH_SIZE)
    tolerance = 1e-5 if precision == "float32" else 1e-3  # bfloat16 rounds a tiny rate apart
    assert [r.loss for r in run.history] == pytest.approx(plain.history["loss"], rel=tolerance)
    assert [r.val_accuracy for r in run.history] == pytest.approx(
        plain.history["val_accuracy"], rel=tolerance)
    for ours, theirs in zip(run.model.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance / 10)


def test_events_tell_the_phases_the_split_every_batch_and_every_epoch(tiny_dataset):
    events = []
    run = routine.train(TINY, tiny_dataset, Hyperparameters(epochs=1, batch_size=64),
                        listener=events.append, name="mine")
    kinds = [e.kind for e in events]
    configure = events[kinds.index("configure")]
    assert [e.phase for e in events if e.kind == "phase"] == ["building", "training",
                                                             "evaluating"]
    per_call = compiled.batches_per_call(run.architecture, 64)
    reported = [e.batch for e in events if e.kind == "batch"]
    assert configure.batches == run.curve.batches_per_epoch == reported[-1]
    assert reported == [*range(per_call, configure.batches, per_call), configure.batches]
    assert configure.train_samples == run.metrics.train_samples
    [epoch] = [e for e in events if e.kind == "epoch"]
    assert epoch.record == run.history[0] and run.name == "mine"
    np.testing.assert_array_equal(epoch.weights[0], run.epoch_weights[1][0])


def test_a_stop_takes_effect_within_one_call_of_a_few_batches(tiny_dataset):
    stop = threading.Event()
    per_call = compiled.batches_per_call(TINY.with_data(tiny_dataset.image_shape,
                                                        tiny_dataset.num_classes), 4)

    def stop_at_the_second_report(event):
        if event.kind == "batch" and event.batch == 2 * per_call:
            stop.set()

    run = routine.train(TINY, tiny_dataset, Hyperparameters(epochs=3, batch_size=4),
                        listener=stop_at_the_second_report, stop=stop)
    assert 1 < per_call and 2 * per_call < run.curve.batches_per_epoch
    assert run.metrics.stopped is True and run.metrics.epochs_completed == 0
    assert run.metrics.stopped_at == {"epoch": 1, "batch": 2 * per_call}
    assert run.history[-1].complete is False and run.history[-1].batches == 2 * per_call
    assert list(run.epoch_weights) == [0, 1]
    assert run.model.predict(tiny_dataset.x_test[:3], verbose=0).shape == (3, 4)


def test_stopped_before_it_starts_the_model_is_evaluated_untrained(tiny_dataset):
    stop = threading.Event()
    stop.set()
    run = routine.train(TINY, tiny_dataset, Hyperparameters(epochs=2), stop=stop)
    assert run.history == () and run.metrics.stopped
    assert run.metrics.stopped_at == {"epoch": 0, "batch": 0}


def test_resuming_from_an_epoch_trains_the_remaining_epochs(tiny_dataset):
    hp = Hyperparameters(epochs=3, batch_size=32, validation_fraction=0, seed=2)
    whole = routine.train(TINY, tiny_dataset, hp)
    events = []
    resumed = routine.train(TINY, tiny_dataset, hp, listener=events.append, start_epoch=2,
                            start_weights=whole.epoch_weights[2])
    assert [r.epoch for r in resumed.history] == [3]
    assert [e.epoch for e in events if e.kind == "epoch_begin"] == [3]
    np.testing.assert_array_equal(resumed.epoch_weights[2][0], whole.epoch_weights[2][0])
    # it goes on from the second epoch's weights, not from scratch (the optimizer's moments
    # start afresh, so the loss is close to, not equal to, the uninterrupted run's)
    assert resumed.history[0].loss < whole.history[0].loss / 2


def test_a_diverging_run_is_a_value_error_saying_where(tiny_dataset):
    with pytest.raises(ValueError) as info:
        routine.train(DIVERGING, tiny_dataset, Hyperparameters(
            epochs=2, batch_size=16, optimizer="sgd", learning_rate=1.0, validation_fraction=0))
    # the call of the traced step it happened in: "batch 3" or "batches 1-16"
    assert re.match(r"training diverged: the loss became NaN or infinite at epoch 1, "
                    r"(batch \d+|batches \d+-\d+);", str(info.value))
    assert "smaller learning rate" in str(info.value)


def test_same_seed_same_run_even_when_trained_at_the_same_time(tiny_dataset):
    settings = Hyperparameters(epochs=2, batch_size=32, seed=11)
    runs = [None, None]

    def train(i):
        runs[i] = routine.train(WITH_DROPOUT, tiny_dataset, settings)

    threads = [threading.Thread(target=train, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [r.loss for r in runs[0].history] == [r.loss for r in runs[1].history]
    assert runs[0].curve == runs[1].curve
    for a, b in zip(runs[0].model.get_weights(), runs[1].model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


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
        routine.prepare_architecture(arch, tiny_dataset)
    assert str(info.value).startswith(message)


def test_the_feature_maps_are_checked_at_the_batch_size_chosen():
    """The Train page offers batches up to 512: the guard checks the one chosen, not 128."""
    wide = spec_json.architecture_from_dict({"name": "wide", "layers": [
        {"type": "conv2d", "filters": 512, "kernel_size": 3, "padding": "same"},
        {"type": "global_avg_pool2d"}]})
    photos = types.SimpleNamespace(name="photos", image_shape=(64, 64, 1), num_classes=4)
    routine.prepare_architecture(wide, photos, batch_size=128)  # 1.0 GB of feature maps: fine
    with pytest.raises(ValueError) as info:
        routine.prepare_architecture(wide, photos, batch_size=512)
    assert str(info.value).startswith(
        "layer 1 (conv2d): the feature maps up to here take 4.0 GB per batch of 512; CNN Lab "
        "allows up to 2 GB (a batch size of at most 255 would fit)"), str(info.value)


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
    progress = Progress(epochs=1)
    progress.configure(batches_per_epoch=3, batch_size=4, train_samples=10)  # 4, 4, 2
    progress.epoch_begin(1)
    own = [1.0, 3.0, 6.0]
    seen = 0
    total = 0.0
    for batch, (value, size) in enumerate(zip(own, [4, 4, 2], strict=True), start=1):
        seen, total = seen + size, total + value * size
        progress.batch_end(batch, total / seen, 0.5)
    assert progress.numbers()["curve"].loss == pytest.approx(own)


def test_an_epoch_recorded_twice_counts_once_and_events_cross_the_wire():
    progress = Progress(epochs=2)
    record = EpochRecord(1, 0.5, 0.8, None, None, 1.0, 3, True)
    weights = [np.arange(4, dtype=np.float32)]
    event = TrainingEvent("epoch", epoch=1, batch=3, record=record, weights=weights)
    wire = event.to_wire(lambda ws: [w.tolist() for w in ws])
    back = TrainingEvent.from_wire(wire, lambda data: [np.asarray(w, np.float32) for w in data])
    assert back.record == record and back.epoch == 1
    np.testing.assert_array_equal(back.weights[0], weights[0])
    assert progress.apply(back) and not progress.apply(back)  # a replayed epoch is ignored
    assert len(progress.numbers()["history"]) == 1
    batch = TrainingEvent("batch", epoch=1, batch=1, loss=0.0, accuracy=0.0)
    assert TrainingEvent.from_wire(batch.to_wire(None), None) == batch  # zeros survive


def test_a_finished_run_keeps_its_weights_but_not_its_training_state(tiny_run, tiny_dataset):
    model = tiny_run.model
    assert not model.compiled and getattr(model, "optimizer", None) is None  # no slots
    assert getattr(model, "train_function", None) is None  # no traces
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    images = tiny_dataset.x_test[:4]
    probabilities = np.asarray(model(images, training=False))
    assert probabilities.shape == (4, tiny_dataset.num_classes)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    final = tiny_run.epoch_weights[max(tiny_run.epoch_weights)]
    for kept, now in zip(final, model.get_weights(), strict=True):
        np.testing.assert_array_equal(kept, now)


def test_the_memory_estimate_grows_with_the_batch_and_the_optimizer(tiny_dataset):
    arch = TINY.with_data(tiny_dataset.image_shape, tiny_dataset.num_classes)
    small = memory.training_bytes(arch, Hyperparameters(batch_size=8, optimizer="sgd"))
    assert memory.training_bytes(arch, Hyperparameters(batch_size=8)) > small  # Adam: 2 slots
    big = memory.training_bytes(arch, Hyperparameters(batch_size=512, optimizer="sgd"))
    per_image = sum(np.prod(row.output_shape) * 4 for row in
                    builder.checked_summary(arch).rows)
    assert big - small == 2 * (512 - 8) * per_image  # kept for backward, and their gradients
    assert memory.largest_batch_within(arch, Hyperparameters(batch_size=512), big) == 256
