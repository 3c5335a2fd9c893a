"""The architecture format and the validator's messages."""

import dataclasses
import json
import pickle
from pathlib import Path

import pytest

from cnnlab.architecture import layer_types, presets, shapes, spec, spec_json

EXAMPLE = {
    "name": "two-conv",
    "input_shape": [28, 28, 1],
    "num_classes": 10,
    "layers": [
        {"type": "conv2d", "filters": 32, "kernel_size": 3, "strides": 1, "padding": "valid",
         "activation": "relu"},
        {"type": "max_pool2d", "pool_size": 2},
        {"type": "conv2d", "filters": 64, "kernel_size": [3, 3]},
        {"type": "avg_pool2d", "pool_size": 2, "strides": 2, "padding": "same"},
        {"type": "batch_norm"},
        {"type": "dropout", "rate": 0.25},
        {"type": "flatten"},
        {"type": "dense", "units": 128, "activation": "relu"},
    ],
}


def problems_of(data: dict) -> list[str]:
    """Every message for a spec: parse problems, else the summary's problems."""
    try:
        arch = spec_json.architecture_from_dict(data)
    except spec.SpecError as exc:
        return [p.message for p in exc.problems]
    return [p.message for p in shapes.summarize(arch).problems]


def with_layers(*layers: dict, **top) -> dict:
    return {"name": "t", "input_shape": [28, 28, 1], "num_classes": 10, "layers": list(layers),
            **top}


def test_documented_example_parses_with_defaults():
    arch = spec_json.architecture_from_dict(EXAMPLE)
    assert arch.input_shape == (28, 28, 1) and arch.num_classes == 10
    second = arch.layers[1]
    assert (second.pool_size, second.strides, second.padding) == ((2, 2), (2, 2), "valid")
    third = arch.layers[2]
    assert (third.strides, third.padding, third.activation) == ((1, 1), "valid", "relu")
    assert shapes.summarize(arch).ok


def test_json_round_trip(tmp_path):
    arch = spec_json.architecture_from_dict(EXAMPLE)
    path = tmp_path / "a.json"
    spec_json.save_architecture(arch, path)
    assert spec_json.load_architecture(path) == arch
    assert json.loads(path.read_text())["layers"][2]["kernel_size"] == 3


@pytest.mark.parametrize("name", presets.PRESET_NAMES)
def test_presets_round_trip(name):
    arch = presets.get(name)
    assert spec_json.architecture_from_json(spec_json.architecture_to_json(arch)) == arch


def test_rectangular_pairs_stay_lists():
    layer = spec.make_layer("conv2d", filters=4, kernel_size=[3, 5], strides=[1, 2])
    assert layer.to_dict()["kernel_size"] == [3, 5] and layer.to_dict()["strides"] == [1, 2]


def test_kernel_too_large_message_is_the_documented_one():
    data = with_layers({"type": "conv2d", "filters": 8, "kernel_size": 3},
                       {"type": "max_pool2d", "pool_size": 8},
                       {"type": "conv2d", "filters": 8, "kernel_size": 5},
                       input_shape=[28, 28, 1])
    assert problems_of(data) == [
        'layer 3 (conv2d): kernel_size 5 does not fit its 3x3 input with padding "valid"; '
        'use padding "same" or kernel_size <= 3'
    ]


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        ({"type": "conv3d"}, 'layer 1: unknown layer type "conv3d"; use one of conv2d, '),
        ({"filters": 3}, "layer 1: unknown layer no type"),
        ({"type": "conv2d", "kernel_size": 3}, "layer 1 (conv2d): missing field filters"),
        ({"type": "conv2d", "filters": 2.5, "kernel_size": 3},
         "layer 1 (conv2d): filters must be an integer; received 2.5"),
        ({"type": "conv2d", "filters": "8", "kernel_size": 3},
         'layer 1 (conv2d): filters must be an integer; received "8"'),
        ({"type": "conv2d", "filters": 8, "kernel_size": [3, 3, 3]},
         "layer 1 (conv2d): kernel_size must be an integer or [height, width] of integers; "
         "received [3, 3, 3]"),
        ({"type": "conv2d", "filters": 0, "kernel_size": 3},
         "layer 1 (conv2d): filters must be at least 1; received 0"),
        ({"type": "conv2d", "filters": 4, "kernel_size": 3, "strides": [0, 1]},
         "layer 1 (conv2d): strides must be at least 1; received [0, 1]"),
        ({"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "full"},
         'layer 1 (conv2d): unknown padding "full"; use "valid" or "same"'),
        ({"type": "dense", "units": 4, "activation": "relu6x"},
         'layer 1 (dense): unknown activation "relu6x"; use one of relu, tanh'),
        ({"type": "dropout", "rate": 1.0},
         "layer 1 (dropout): rate must be a number from 0 to 0.9, e.g. 0.25; received 1"),
        ({"type": "dropout", "rate": -0.1},
         "layer 1 (dropout): rate must be a number from 0 to 0.9, e.g. 0.25; received -0.1"),
        ({"type": "conv2d", "filters": 513, "kernel_size": 3},
         "layer 1 (conv2d): filters must be at most 512 (CNN Lab's cap); received 513"),
        ({"type": "conv2d", "filters": 8, "kernel_size": [3, 12]},
         "layer 1 (conv2d): kernel_size must be at most 11 (CNN Lab's cap); received [3, 12]"),
        ({"type": "max_pool2d", "strides": 9},
         "layer 1 (max_pool2d): strides must be at most 8 (CNN Lab's cap); received 9"),
        ({"type": "dense", "units": 4097},
         "layer 1 (dense): units must be at most 4096 (CNN Lab's cap); received 4097"),
        ({"type": "conv2d", "filters": 8, "kernel_size": 3, "strides": 2, "dilation_rate": 2},
         "layer 1 (conv2d): dilation_rate 2 with strides 2: Keras cannot combine a dilation "
         "above 1 with a stride above 1; use dilation_rate 1 or strides 1"),
        ({"type": "conv2d", "filters": 8, "kernel_size": 3, "dilation_rate": [1, 9]},
         "layer 1 (conv2d): dilation_rate must be at most 8 (CNN Lab's cap); received [1, 9]"),
        ({"type": "conv2d", "filters": 8, "kernel_size": 3, "dilation_rate": 0},
         "layer 1 (conv2d): dilation_rate must be at least 1; received 0"),
        ({"type": "dropout", "rate": "half"},
         'layer 1 (dropout): rate must be a number from 0 to 0.9; received "half"'),
        ({"type": "dense"}, "layer 1 (dense): missing field units"),
        ({"type": "flatten", "units": 3}, 'layer 1 (flatten): unknown field "units"; it takes no'),
        ({"type": "max_pool2d", "pool_size": 30},
         "layer 1 (max_pool2d): pool_size must be at most 8 (CNN Lab's cap); received 30"),
        ("conv2d", 'layer 1: must be an object like {"type": "conv2d", ...}; received "conv2d"'),
    ],
)
def test_layer_messages(layer, expected):
    messages = problems_of(with_layers(layer))
    assert messages and messages[0].startswith(expected), messages


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        ({"input_shape": [28, 28]}, "input_shape must be [height, width, channels] of integers"),
        ({"input_shape": [28, 0, 1]}, "input_shape must be [height, width, channels] of integers"
                                      " >= 1; received [28, 0, 1]"),
        ({"num_classes": 1}, "num_classes must be at least 2; received 1"),
        ({"num_classes": "ten"}, 'num_classes must be an integer >= 2; received "ten"'),
        ({"layers": "conv"}, 'layers must be a list of layer objects; received "conv"'),
        ({"colour": "red"}, 'unknown top-level field "colour"'),
    ],
)
def test_top_level_messages(top, expected):
    data = {**with_layers({"type": "flatten"}), **top}
    messages = problems_of(data)
    assert messages and messages[0].startswith(expected), messages


def test_every_problem_is_reported_with_its_position():
    data = with_layers({"type": "conv2d", "filters": 0, "kernel_size": 3},
                       {"type": "flatten"},
                       {"type": "dense", "units": -1},
                       {"type": "dropout", "rate": 2})
    summary = shapes.summarize(spec_json.architecture_from_dict(data))
    assert [(p.layer, p.field) for p in summary.problems] == [
        (1, "filters"), (3, "units"), (4, "rate")]


def test_conv_after_flatten_is_explained():
    messages = problems_of(with_layers({"type": "flatten"},
                                       {"type": "conv2d", "filters": 4, "kernel_size": 3}))
    assert messages == ["layer 2 (conv2d) needs a height×width×channels feature map but receives"
                        " a flat vector of 784 values; move it before the flatten, global "
                        "pooling and dense layers"]


def test_malformed_json():
    with pytest.raises(spec.SpecError, match="malformed JSON at line 1 column"):
        spec_json.architecture_from_json('{"layers": [')


def test_oversized_json_is_refused_before_parsing():
    with pytest.raises(spec.SpecError, match="the limit is"):
        spec_json.architecture_from_json(" " * (spec_json.MAX_JSON_BYTES + 1))


@pytest.mark.parametrize(
    ("input_shape", "layers", "expected"),
    [
        ([64, 64, 3], [{"type": "flatten"}, {"type": "dense", "units": 4096}],
         "layer 2 (dense): brings the network to 50,335,744 parameters"),
        ([28, 28, 64], [{"type": "conv2d", "filters": 512, "kernel_size": 7, "padding": "same"}],
         "layer 1 (conv2d): brings the network to 1,258,815,488 multiply-adds per image"),
        ([128, 128, 1], [{"type": "conv2d", "filters": 512, "kernel_size": 1}],
         "layer 1 (conv2d): the feature maps up to here take 4.0 GB per batch of 128"),
    ],
)
def test_resource_guard_names_the_layer(input_shape, layers, expected):
    messages = problems_of(with_layers(*layers, input_shape=input_shape))
    assert messages and messages[0].startswith(expected), messages


def test_resource_guard_names_the_automatic_head():
    data = with_layers({"type": "conv2d", "filters": 512, "kernel_size": 3, "padding": "same"},
                       input_shape=[56, 56, 1])
    messages = problems_of(data)
    assert messages and messages[0].startswith(
        "the output layer (added automatically): brings the network to 16,061,450 parameters"
    ), messages


def test_unknown_preset_lists_the_presets():
    with pytest.raises(spec.SpecError, match='unknown preset "vgg16"; use one of tutorial-1conv'):
        presets.get("vgg16")


def test_a_layer_is_a_type_and_field_values():
    layer = spec.Layer(type="dense", units=10, activation="softmax")
    assert (layer.units, layer.activation, layer.filters) == (10, "softmax", None)
    assert layer == spec.Layer(type="dense", activation="softmax", units=10)
    assert layer != spec.Layer(type="dense", units=11, activation="softmax")
    assert len({layer, spec.Layer(type="dense", units=10, activation="softmax")}) == 1
    assert layer.to_dict() == {"type": "dense", "units": 10, "activation": "softmax"}
    assert pickle.loads(pickle.dumps(layer)) == layer
    assert layer.replace(units=3).units == 3 and layer.units == 10
    with pytest.raises(AttributeError, match="no field 'colour'"):
        layer.colour  # noqa: B018
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer.units = 3


def test_pairs_are_stored_as_height_width():
    layer = spec.Layer(type="conv2d", filters=4, kernel_size=3, strides=[1, 2])
    assert (layer.kernel_size, layer.strides) == ((3, 3), (1, 2))
    assert spec.make_layer("avg_pool2d", pool_size=3).strides == (3, 3)  # defaults to pool_size


def test_readme_documents_every_field_with_the_validators_bounds():
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    for name, kind in layer_types.REGISTRY.items():
        row = next((r for r in rows if f"`{name}`" in r.split("|")[1]), None)
        assert row is not None, name
        for fld in kind.fields:
            documented = f"`{fld.name}`" if fld.kind == "choice" else (
                f"`{fld.name}` {fld.min:g}–{fld.max:g}")
            assert documented in row.split("|")[2], (name, documented)


def test_a_dilated_kernel_spans_k_minus_one_times_d_plus_one():
    data = with_layers({"type": "conv2d", "filters": 2, "kernel_size": 3, "dilation_rate": 5},
                       input_shape=[10, 12, 1])
    assert problems_of(data) == [
        'layer 1 (conv2d): kernel_size 3 (dilated, it spans 11) does not fit its 10x12 input '
        'with padding "valid"; use padding "same" or kernel_size <= 10']
    arch = spec_json.architecture_from_dict(with_layers(
        {"type": "conv2d", "filters": 2, "kernel_size": [3, 2], "dilation_rate": [2, 3]}))
    first = shapes.summarize(arch).rows[0]
    assert first.output_shape == (24, 25, 2) and first.receptive_field == (5, 4)
    assert first.formula == ("H: (28 − ((3 − 1)·2 + 1) + 2·0) / 1 + 1 = 24; "
                             "W: (28 − ((2 − 1)·3 + 1) + 2·0) / 1 + 1 = 25")
    assert arch.layers[0].to_dict()["dilation_rate"] == [2, 3]
    assert "dilation_rate" not in spec.make_layer("conv2d", filters=2, kernel_size=3).to_dict()
