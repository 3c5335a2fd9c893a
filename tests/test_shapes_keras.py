"""The pure shape arithmetic against the Keras model that is actually built."""

import random

import keras
import pytest
from random_specs import random_valid_arch

from cnnlab.architecture import layer_types, presets, shapes, spec, spec_json
from cnnlab.models import builder, optimizers


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
                if layer.dilation_rate and max(layer.dilation_rate) > 1:
                    seen.add("dilated")
                if layer.depth_multiplier and layer.depth_multiplier > 1:
                    seen.add("depth-multiplied")
            if row.auto and row.type == "flatten":
                seen.add("auto-flatten")
    for feature in ("conv2d", "max_pool2d", "avg_pool2d", "batch_norm", "dropout", "dense",
                    "dilated", "depthwise_conv2d", "depth-multiplied",
                    "rect", "pad-same", "pad-valid", "strided", "auto-flatten"):
        assert feature in seen, feature


def test_builder_rejects_invalid_spec():
    arch = spec.Architecture("bad", (spec.make_layer("conv2d", filters=0, kernel_size=3),))
    with pytest.raises(spec.SpecError, match="filters must be at least 1"):
        builder.build_model(arch)


@pytest.mark.parametrize("optimizer", optimizers.NAMES)
def test_compile_helper(optimizer):
    model = builder.compile_model(builder.build_model(presets.get("tutorial-1conv")),
                                  optimizer, 0.01)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    assert model.loss == "sparse_categorical_crossentropy"


def test_compile_helper_rejects_unknown_optimizer():
    model = builder.build_model(presets.get("tutorial-1conv"))
    with pytest.raises(ValueError, match="received 'adagrad'"):
        builder.compile_model(model, "adagrad")


@pytest.mark.parametrize("layer_type", [name for name, kind in layer_types.REGISTRY.items()
                                        if "dilation_rate" in kind.field_names])
def test_validator_refuses_exactly_what_keras_refuses(layer_type):
    """Every strides × dilation_rate combination: refused by the validator iff Keras refuses it
    (Conv2D: a stride above 1 with a dilation above 1)."""
    kind = layer_types.REGISTRY[layer_type]
    combos = [((sh, sw), (dh, dw)) for sh in (1, 2) for sw in (1, 3) for dh in (1, 2)
              for dw in (1, 3)]
    refused_somewhere = False
    for strides, dilation in combos:
        layer = spec.make_layer(layer_type, **{**kind.start, "strides": strides,
                                               "dilation_rate": dilation})
        arch = spec.Architecture("d", (layer,), (20, 20, 2), 3)
        problems = shapes.summarize(arch).problems
        try:
            _keras_only(layer)
            keras_ok = True
        except ValueError:
            keras_ok = False
        assert (not problems) == keras_ok, (strides, dilation, problems)
        refused_somewhere |= bool(problems)
        if problems:
            assert [p.field for p in problems] == ["dilation_rate"]
    assert refused_somewhere == (layer_type == "conv2d")


def _keras_only(layer: spec.Layer) -> None:
    """Build the Keras layer the spec describes, bypassing our validator."""
    cls, args, kwargs = layer_types.keras_call(layer.type, layer)
    keras.Sequential([keras.Input((20, 20, 2)), getattr(keras.layers, cls)(*args, **kwargs)])


def test_depthwise_parameters_and_multiply_adds():
    """k_h·k_w·C·m weights and C·m biases (Keras counts them); every output value costs
    k_h·k_w multiply-adds."""
    layer = spec.make_layer("depthwise_conv2d", kernel_size=[3, 5], depth_multiplier=4,
                            strides=[1, 2], padding="same")
    arch = spec.Architecture("dw", (layer,), (9, 10, 3), 2)
    row = shapes.summarize(arch).rows[0]
    built = builder.build_model(arch).get_layer(row.name)
    assert row.output_shape == (9, 5, 12) == tuple(built.output.shape[1:])
    assert row.params == 3 * 5 * 3 * 4 + 3 * 4 == built.count_params()
    assert row.macs == 9 * 5 * 12 * 3 * 5
