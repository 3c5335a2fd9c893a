"""The pure shape arithmetic against the Keras model that is actually built."""

import random

import keras
import pytest
from random_specs import random_valid_arch

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
            k = layer and (layer.kernel_size or layer.pool_size)
            if k:
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
