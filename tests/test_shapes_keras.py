"""The pure shape arithmetic against the Keras model that is actually built."""

import random

import keras
import pytest

from cnnlab.architecture import presets, shapes, spec, spec_json
from cnnlab.training import builder


def keras_rows(model: keras.Model) -> list[tuple[str, tuple, int]]:
    """(name, output shape without batch, params) of every layer after the rescaling."""
    out = []
    for layer in model.layers:
        if isinstance(layer, (keras.layers.InputLayer, keras.layers.Rescaling)):
            continue
        out.append((layer.name, tuple(layer.output.shape[1:]), layer.count_params()))
    return out


def our_rows(summary: shapes.Summary) -> list[tuple[str, tuple, int]]:
    return [(row.name, row.output_shape, row.params) for row in summary.rows]


@pytest.mark.parametrize("name", presets.PRESET_NAMES)
def test_presets_match_keras(name):
    arch = presets.get(name)
    summary = shapes.summarize(arch)
    model = builder.build_model(arch)
    assert summary.ok
    assert our_rows(summary) == keras_rows(model)
    assert summary.total_params == model.count_params()


def random_layer(rng: random.Random, flat: bool) -> spec.Layer:
    pair = lambda lo, hi: (rng.randint(lo, hi), rng.randint(lo, hi))  # noqa: E731
    if flat:
        kind = rng.choice(["dense", "dense", "dropout", "batch_norm", "flatten"])
    else:
        kind = rng.choice(["conv2d", "conv2d", "conv2d", "max_pool2d", "avg_pool2d",
                           "batch_norm", "dropout", "global_avg_pool2d", "global_max_pool2d",
                           "flatten", "dense"])
    padding = rng.choice(spec.PADDINGS)
    if kind == "conv2d":
        kernel = pair(1, 5) if rng.random() < 0.5 else (rng.randint(1, 5),) * 2
        return spec.make_layer(kind, filters=rng.randint(1, 12), kernel_size=kernel,
                               strides=pair(1, 3), padding=padding,
                               activation=rng.choice(spec.ACTIVATIONS))
    if kind in spec.POOL_TYPES:
        strides = pair(1, 3) if rng.random() < 0.5 else None
        return spec.make_layer(kind, pool_size=pair(1, 3), strides=strides, padding=padding)
    if kind == "dense":
        return spec.make_layer(kind, units=rng.randint(1, 40),
                               activation=rng.choice(spec.ACTIVATIONS))
    if kind == "dropout":
        return spec.make_layer(kind, rate=round(rng.random() * 0.9, 2))
    return spec.make_layer(kind)


def random_valid_arch(rng: random.Random) -> spec.Architecture:
    while True:
        input_shape = (rng.randint(5, 32), rng.randint(5, 32), rng.randint(1, 4))
        layers, flat = [], False
        for _ in range(rng.randint(1, 7)):
            layer = random_layer(rng, flat)
            layers.append(layer)
            flat = flat or layer.type in ("flatten", "dense") or layer.type.startswith("global")
        arch = spec.Architecture("random", tuple(layers), input_shape, rng.randint(2, 12))
        if shapes.summarize(arch).ok:
            return arch


@pytest.mark.parametrize("seed", range(60))
def test_random_specs_match_keras(seed):
    arch = random_valid_arch(random.Random(seed))
    summary = shapes.summarize(arch)
    model = builder.build_model(arch)
    assert our_rows(summary) == keras_rows(model), spec_json.architecture_to_json(arch)
    assert summary.total_params == model.count_params()


def test_random_generator_covers_the_features():
    """The random specs above really exercise rectangular, strided, same-padded layers."""
    seen = set()
    for seed in range(40):
        for row in shapes.summarize(random_valid_arch(random.Random(seed))).rows:
            layer = row.layer
            seen.add(row.type)
            if row.type in spec.SPATIAL_TYPES:
                k = layer.kernel_size or layer.pool_size
                seen.add("rect" if k[0] != k[1] else "square")
                seen.add(f"pad-{layer.padding}")
                seen.add("strided" if max(layer.strides) > 1 else "unit-stride")
            if row.auto and row.type == "flatten":
                seen.add("auto-flatten")
    for feature in ("conv2d", "max_pool2d", "avg_pool2d", "batch_norm", "dropout", "dense",
                    "rect", "pad-same", "pad-valid", "strided", "auto-flatten"):
        assert feature in seen, feature


def test_builder_rejects_invalid_spec():
    arch = spec.Architecture("bad", (spec.make_layer("conv2d", filters=0, kernel_size=3),))
    with pytest.raises(spec.SpecError, match="filters must be at least 1"):
        builder.build_model(arch)


@pytest.mark.parametrize("optimizer", builder.OPTIMIZERS)
def test_compile_helper(optimizer):
    model = builder.compile_model(builder.build_model(presets.get("tutorial-1conv")),
                                  optimizer, 0.01)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    assert model.loss == "sparse_categorical_crossentropy"


def test_compile_helper_rejects_unknown_optimizer():
    model = builder.build_model(presets.get("tutorial-1conv"))
    with pytest.raises(ValueError, match="received 'adagrad'"):
        builder.compile_model(model, "adagrad")
