"""The layer registry itself: every entry names a real Keras class, its defaults lie within its
bounds, and the Learn page's step-through is offered only where it shows the layer's arithmetic."""

import keras
import pytest

from cnnlab.architecture import fields, layer_types, spec


@pytest.mark.parametrize("name", layer_types.LAYER_TYPES)
def test_entry_is_complete_and_consistent(name):
    kind = layer_types.REGISTRY[name]
    assert kind.name == name and kind.label and kind.prefix
    assert kind.colour.startswith("#") and len(kind.colour) == 7
    assert isinstance(getattr(keras.layers, kind.keras_class), type)
    assert set(kind.keras_args) <= set(kind.field_names)
    for fld in kind.fields:
        if fld.default is not None:
            assert fields.in_bounds(fld, fld.default), (name, fld.name)
        if fld.kind != "choice":
            assert fld.min is not None and fld.max is not None and fld.min <= fld.max
    assert kind.size_field is None or kind.size_field in kind.field_names


@pytest.mark.parametrize(("layer", "expected"), [
    (spec.make_layer("conv2d", filters=2, kernel_size=[5, 3], strides=2, padding="same"),
     {"op": "conv", "k": 5, "s": 2, "pad": "same"}),
    (spec.make_layer("depthwise_conv2d", kernel_size=3),  # per channel, a one-channel conv
     {"op": "conv", "k": 3, "s": 1, "pad": "valid"}),
    (spec.make_layer("avg_pool2d", pool_size=3), {"op": "avg", "k": 3, "s": 3, "pad": "valid"}),
    (spec.make_layer("conv2d", filters=2, kernel_size=3, dilation_rate=2), None),  # no dilation
    (spec.make_layer("dense", units=3), None),
])
def test_learn_settings(layer, expected):
    assert layer_types.learn_settings(layer.type, layer) == expected


def test_unknown_type_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown layer type 'conv3d'; use one of conv2d, "):
        layer_types.get("conv3d")
