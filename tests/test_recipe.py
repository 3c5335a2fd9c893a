"""Issue 24: the precision a training computes in (chosen by the machine, overridden by the
run, the CLI and CNNLAB_PRECISION), learning-rate schedules, kept compiled models, the
warm-up, and run folders from before these fields existed."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np
import pytest

from cnnlab.architecture import presets
from cnnlab.cli import main as cli
from cnnlab.inspect import inference
from cnnlab.models import builder, optimizers, precision
from cnnlab.runs import recipes, run_files
from cnnlab.runs.metrics import Metrics
from cnnlab.runs.records import Hyperparameters
from cnnlab.training import compiled, routine
from cnnlab.workspaces import run_info
from tests.conftest import make_tiny_dataset

TINY = presets.get("tutorial-1conv")
DROPOUT = presets.get("two-conv-dropout")


# --- the calibration ---------------------------------------------------------------------------
@pytest.fixture
def calibration(monkeypatch):
    """The calibration with made-up flags and matmul times, measured afresh; ``timed`` counts
    the times the matmuls were timed."""
    state = {"flags": {"avx512f", "avx512_bf16"}, "times": (1.0e-3, 0.5e-3), "timed": 0}

    def times():
        state["timed"] += 1
        return state["times"]

    monkeypatch.setattr(precision, "cpu_flags", lambda path="": frozenset(state["flags"]))
    monkeypatch.setattr(precision, "time_matmuls", times)
    precision.forget_calibration()
    yield state
    precision.forget_calibration()


def test_auto_is_bfloat16_where_it_is_native_and_faster(calibration):
    assert precision.calibrate().choice == "bfloat16"
    assert precision.resolve("auto", TINY) == "bfloat16"
    assert precision.calibrate().speedup == pytest.approx(2.0)
    precision.calibrate()
    assert calibration["timed"] == 1  # measured once per process


def test_the_calibration_falls_back_to_float32_when_bfloat16_is_slower(calibration):
    calibration["times"] = (1.0e-3, 1.4e-3)  # emulated bfloat16: slower
    found = precision.calibrate()
    assert found.native and found.choice == "float32" and "0.71×" in found.reason
    assert precision.resolve("auto", TINY) == "float32"
    assert precision.resolve("bfloat16", TINY) == "bfloat16"  # asked for: as asked


def test_the_calibration_needs_a_clear_margin(calibration):
    calibration["times"] = (1.0e-3, 1.0e-3 / (precision.SPEEDUP_NEEDED - 0.05))
    assert precision.calibrate().choice == "float32"


def test_without_native_bfloat16_auto_is_float32_and_nothing_is_timed(calibration):
    calibration["flags"] = {"avx2", "fma"}
    found = precision.calibrate()
    assert found.choice == "float32" and not found.native and calibration["timed"] == 0


def test_a_preset_of_the_float32_list_trains_in_float32_under_auto(calibration, monkeypatch):
    monkeypatch.setattr(precision, "FLOAT32_PRESETS", frozenset({"tutorial-1conv"}))
    assert precision.preset_of(TINY.with_data((28, 28, 1), 10)) == "tutorial-1conv"
    assert precision.resolve("auto", TINY) == "float32"
    assert precision.resolve("auto", DROPOUT) == "bfloat16"
    assert precision.resolve("bfloat16", TINY) == "bfloat16"


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\n"
                    "flags\t\t: fpu\n")
    assert precision.cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert precision.native_bfloat16(precision.cpu_flags(info))
    assert precision.cpu_flags(tmp_path / "missing") == frozenset()


def test_the_matmuls_are_timed_in_both_precisions():
    float32_s, bfloat16_s = precision.time_matmuls(side=64, rounds=2)
    assert 0 < float32_s < 1 and 0 < bfloat16_s < 1


@pytest.mark.parametrize("bad", ["half", "", None, "Float32"])
def test_a_bad_precision_is_refused_with_the_names(bad):
    with pytest.raises(ValueError, match=r"precision must be one of auto, float32, bfloat16; "
                                         r"received"):
        Hyperparameters(precision=bad)


# --- a bfloat16 run is a float32 run once trained ---------------------------------------------
@pytest.fixture(scope="module")
def data():
    return make_tiny_dataset(train=200, test=60, name="tiny-recipe")


@pytest.fixture(scope="module")
def bfloat16_run(data):
    return routine.train(TINY, data, Hyperparameters(epochs=2, batch_size=32, seed=4,
                                                     precision="bfloat16"))


def test_the_model_trains_in_bfloat16_with_a_float32_head():
    model = builder.build_model(TINY, precision="bfloat16")
    policies = [layer.dtype_policy.name for layer in model.layers[1:]]
    assert policies == ["mixed_bfloat16"] * (len(policies) - 1) + ["float32"]
    assert model.output.dtype == "float32"
    assert {w.dtype for w in model.get_weights()} == {np.dtype("float32")}
    with pytest.raises(ValueError, match="precision must be one of float32, bfloat16"):
        builder.build_model(TINY, precision="auto")


def test_a_bfloat16_run_saves_float32_weights_that_predict_the_same_when_loaded(
        bfloat16_run, data, tmp_path):
    run = bfloat16_run
    assert run.metrics.precision == "bfloat16" and run.hyperparameters.precision == "bfloat16"
    assert {layer.dtype_policy.name for layer in run.model.layers} == {"float32"}
    folder = run_files.save_run(run, tmp_path / "run")
    with h5py.File(folder / run_files.WEIGHTS) as store:
        dtypes = set()
        store.visititems(lambda _, item: dtypes.add(item.dtype) if isinstance(
            item, h5py.Dataset) else None)
    assert dtypes == {np.dtype("float32")}
    loaded = run_files.load_run(folder)
    assert loaded.metrics.precision == "bfloat16"
    # as Draw loads it: a Predictor of the loaded model, against the model that trained
    # (its weights in a bfloat16 build) and the run's own float32 model
    trained = builder.build_model(loaded.architecture, precision="bfloat16")
    trained.set_weights(run.model.get_weights())
    predictor = inference.Predictor(loaded.model)
    for image in data.x_test[:8]:
        drawn = predictor.probabilities(image)
        np.testing.assert_allclose(drawn, np.asarray(trained(image[None].astype(np.float32)))[0],
                                   atol=1e-2)
        np.testing.assert_allclose(drawn, inference.Predictor(run.model).probabilities(image),
                                   atol=1e-6)
    assert loaded.test_accuracy == run.test_accuracy  # evaluated in float32 either way


# --- learning-rate schedules -------------------------------------------------------------------
@pytest.mark.parametrize("schedule", optimizers.SCHEDULES)
def test_the_keras_schedule_follows_the_reference(schedule):
    rate = optimizers.make_schedule(schedule, 0.01, 40)
    for step in (0, 1, 19, 20, 29, 30, 39, 40, 55):
        assert float(rate(step)) == pytest.approx(
            optimizers.learning_rate_at(schedule, 0.01, step, 40), rel=1e-5, abs=1e-9)
    rate.set(0.5, 10)  # a kept model's schedule, pointed at another training
    assert float(rate(5)) == pytest.approx(optimizers.learning_rate_at(schedule, 0.5, 5, 10))


@pytest.mark.parametrize("bad", ["linear", "", 3, None])
def test_a_bad_schedule_is_refused_with_the_names(bad):
    with pytest.raises(ValueError, match=r"learning-rate schedule must be one of constant, "
                                         r"cosine, step; received"):
        Hyperparameters(lr_schedule=bad)


def test_a_run_records_its_recipe(tmp_path, data):
    settings = Hyperparameters(epochs=1, batch_size=64, lr_schedule="step", precision="float32")
    run = routine.train(TINY, data, settings)
    folder = run_files.save_run(run, tmp_path / "run")
    written = json.loads((folder / run_files.HYPERPARAMETERS).read_text())
    assert written["lr_schedule"] == "step" and written["precision"] == "float32"
    assert json.loads((folder / run_files.METRICS).read_text())["precision"] == "float32"
    assert run_files.load_run(folder).hyperparameters == settings
    assert run_info.read(folder).hyperparameters == settings


def test_older_run_folders_read_as_the_recipe_they_trained_with(tiny_run, tmp_path):
    folder = run_files.save_run(tiny_run, tmp_path / "old")
    for name, keys in ((run_files.HYPERPARAMETERS, ("lr_schedule", "precision", "augment")),
                       (run_files.METRICS, ("precision",))):
        record = json.loads((folder / name).read_text())
        for key in keys:
            record.pop(key)
        (folder / name).write_text(json.dumps(record))
    for run in (run_files.load_run(folder), run_info.read(folder)):
        hp = run.hyperparameters
        assert (hp.lr_schedule, hp.precision, hp.augment) == ("constant", "float32", "off")
        assert run.metrics.precision == "float32"
    assert Hyperparameters().lr_schedule == optimizers.DEFAULT_SCHEDULE  # new runs: today's


def test_a_run_file_with_a_precision_it_cannot_have_trained_in_is_refused(tiny_run, tmp_path):
    folder = run_files.save_run(tiny_run, tmp_path / "bad")
    record = json.loads((folder / run_files.METRICS).read_text())
    (folder / run_files.METRICS).write_text(json.dumps({**record, "precision": "auto"}))
    with pytest.raises(ValueError, match="precision must be one of float32, bfloat16"):
        run_files.load_run(folder)
    with pytest.raises(ValueError):
        Metrics.from_dict({**record, "precision": "float16"})


# --- kept compiled models ----------------------------------------------------------------------
def history(run) -> list[tuple[float, float]]:
    return [(r.loss, r.val_accuracy) for r in run.history]


def same_weights(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.model.get_weights(),
                                                    b.model.get_weights(), strict=True))


def test_a_kept_model_trains_exactly_as_a_new_one_would(data):
    """Reuse is only safe if it cannot be seen: a second training of the same network (another
    seed, learning rate, length and batch size; dropout's seed generators included) takes
    the kept model and gives the very run a new model gives."""
    first = Hyperparameters(epochs=1, batch_size=32, seed=1, learning_rate=2e-3,
                            precision="float32")
    second = Hyperparameters(epochs=2, batch_size=16, seed=2, learning_rate=1e-3,
                             precision="float32")
    compiled.clear()
    routine.train(DROPOUT, data, first)
    wanted = compiled.key(DROPOUT.with_data(data.image_shape, data.num_classes), second,
                          "float32")
    assert compiled.idle_count() == 1
    reused = routine.train(DROPOUT, data, second)
    assert compiled.idle_count() == 1  # taken, then given back
    compiled.clear()
    fresh = routine.train(DROPOUT, data, second)
    assert history(reused) == history(fresh) and same_weights(reused, fresh)
    assert compiled.take(wanted) is not None and compiled.take(wanted) is None


def test_a_training_that_raised_gives_no_model_back(data, monkeypatch):
    compiled.clear()

    def broken(*args, **kwargs):
        raise RuntimeError("the feed broke")

    monkeypatch.setattr(routine.feeding, "training_batches", broken)
    with pytest.raises(RuntimeError):
        routine.train(TINY, data, Hyperparameters(epochs=1, precision="float32"))
    assert compiled.idle_count() == 0


def test_different_networks_recipes_or_precisions_do_not_share_a_model(data):
    arch = TINY.with_data(data.image_shape, data.num_classes)
    base = Hyperparameters()
    keys = {compiled.key(arch, base, "float32"), compiled.key(arch, base, "bfloat16"),
            compiled.key(arch, Hyperparameters(lr_schedule="step"), "float32"),
            compiled.key(arch, Hyperparameters(optimizer="sgd"), "float32"),
            compiled.key(DROPOUT.with_data(data.image_shape, data.num_classes), base, "float32"),
            compiled.key(arch.with_data((28, 28, 3), 4), base, "float32")}
    assert len(keys) == 6
    assert compiled.key(arch, Hyperparameters(learning_rate=0.1, epochs=9, batch_size=8,
                                              seed=3), "float32") == compiled.key(
        arch, base, "float32")


def test_the_warm_up_leaves_the_quick_starts_training_traced(monkeypatch):
    from cnnlab.training import warmup

    monkeypatch.setattr(warmup.gc, "freeze", lambda: None)  # not in the test process
    compiled.clear()
    timings = warmup.warm()
    assert set(timings) == {"import", "calibrate", "trace", "freeze"}
    quick = recipes.QUICK_START
    arch = presets.get(recipes.QUICK_START_ARCH).with_data((28, 28, 1), 10)
    wanted = compiled.key(arch, quick, precision.resolve(quick.precision, arch))
    assert compiled.take(wanted) is not None
    compiled.clear()


def test_a_dask_worker_preload_warms_it_up(monkeypatch):
    import asyncio

    from cnnlab.cluster import warm
    from cnnlab.training import warmup

    called = []
    monkeypatch.setattr(warmup, "warm", lambda: called.append(1) or {"import": 0.0})
    asyncio.run(warm.dask_setup(type("Worker", (), {"name": "w"})()))
    assert called == [1]


# --- the command line -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits_folder(tmp_path_factory, band_image_maker):
    from tests.test_cli_run import write_idx

    folder = tmp_path_factory.mktemp("recipe-idx")
    for prefix, n, seed in (("train", 120, 1), ("t10k", 40, 2)):
        labels = np.arange(n) % 4
        write_idx(folder / f"{prefix}-images-idx3-ubyte", band_image_maker(labels, seed)[..., 0])
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return folder


def cli_train(capsys, folder, out, *extra):
    code = cli.main(["train", "tutorial-1conv", "--dataset", str(folder), "--out", str(out),
                     "--epochs", "1", "--batch-size", "32", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("flag", "env", "expected"), [
    (["--precision", "bfloat16"], None, "bfloat16"),
    ([], "bfloat16", "bfloat16"),
    (["--precision", "float32"], "bfloat16", "float32"),  # the flag overrides the setting
    ([], "float32", "float32"),
])
def test_train_honours_precision_and_the_setting(capsys, monkeypatch, digits_folder, tmp_path,
                                                  flag, env, expected):
    if env is None:
        monkeypatch.delenv("CNNLAB_PRECISION", raising=False)
    else:
        monkeypatch.setenv("CNNLAB_PRECISION", env)
    code, out, err = cli_train(capsys, digits_folder, tmp_path / "run", *flag,
                               "--lr-schedule", "step")
    assert code == 0, err
    assert f"trained in {expected}; run saved to" in out
    run = run_files.load_run(tmp_path / "run")
    assert run.metrics.precision == expected and run.hyperparameters.lr_schedule == "step"
    assert run.hyperparameters.precision == (flag[1] if flag else env)


@pytest.mark.parametrize(("flag", "env", "message"), [
    (["--precision", "half"], None, "precision must be one of auto, float32, bfloat16; "
                                    "received 'half'"),
    ([], "fp16", "CNNLAB_PRECISION must be one of auto, float32, bfloat16; received 'fp16'"),
    (["--lr-schedule", "linear"], None, "learning-rate schedule must be one of constant, "
                                        "cosine, step; received 'linear'"),
])
def test_a_bad_precision_or_schedule_is_one_error_line(capsys, monkeypatch, digits_folder,
                                                        tmp_path, flag, env, message):
    if env is None:
        monkeypatch.delenv("CNNLAB_PRECISION", raising=False)
    else:
        monkeypatch.setenv("CNNLAB_PRECISION", env)
    code, out, err = cli_train(capsys, digits_folder, tmp_path / "run", *flag)
    assert code == 2 and err == f"error: {message}\n" and out == ""
    assert not (tmp_path / "run").exists()


def test_the_quick_start_recipe_is_a_valid_short_training():
    quick = recipes.QUICK_START
    assert quick.epochs <= 10 and quick.precision == "auto"
    assert recipes.describe(quick).startswith(f"{quick.epochs} epochs, batch {quick.batch_size}")
    assert math.isclose(optimizers.learning_rate_at("cosine", 1.0, 0, 10), 1.0)


def test_a_seeded_build_does_not_read_pythons_shared_random(monkeypatch):
    """Other threads (a Dask client's event loop) draw from Python's ``random`` at any time:
    a seeded model's weights and dropout seeds must not depend on it."""
    import random

    built = []
    for disturbance in (1, 2):
        random.seed(disturbance)
        model = builder.build_model(DROPOUT, seed=3)
        built.append([v.numpy() for v in model.variables])
    assert all(np.array_equal(a, b) for a, b in zip(*built, strict=True))
    random.seed(1)
    other = builder.build_model(DROPOUT, seed=4)
    assert not np.array_equal(other.variables[0].numpy(), built[0][0])


def test_a_training_sets_no_global_seed(monkeypatch, data):
    """Setting TensorFlow's global seed clears the process's kernel cache, slowing the next
    call of every traced function, any user's: builds and trainings seed each layer instead
    (and still repeat, see the tests above)."""
    import tensorflow as tf

    def refuse(seed):
        raise AssertionError(f"a global seed was set ({seed})")

    monkeypatch.setattr(tf.random, "set_seed", refuse)
    monkeypatch.setattr(builder.keras.utils, "set_random_seed", refuse)
    run = routine.train(DROPOUT, data, Hyperparameters(epochs=1, batch_size=32))
    assert run.metrics.epochs_completed == 1
