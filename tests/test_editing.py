"""The Build page's list edits."""

import pytest

from cnnlab.architecture import editing, presets, shapes, spec


@pytest.fixture
def arch():
    return presets.get("two-conv")


def types(arch):
    return [layer.type for layer in arch.layers]


def test_insert_remove_move(arch):
    edited = editing.insert_layer(arch, 1, editing.new_layer("batch_norm"))
    assert types(edited)[:3] == ["conv2d", "batch_norm", "max_pool2d"]
    assert types(editing.remove_layer(edited, 1)) == types(arch)
    moved = editing.move_layer(arch, 0, 1)
    assert types(moved)[:2] == ["max_pool2d", "conv2d"]
    assert types(editing.move_layer(arch, 0, -1)) == types(arch)  # clamped at the top
    assert types(editing.insert_layer(arch, 99, editing.new_layer("dropout")))[-1] == "dropout"


def test_new_layers_are_valid_and_change_type_keeps_shared_fields():
    for position, layer_type in enumerate(spec.LAYER_TYPES, start=1):
        layer = editing.new_layer(layer_type)
        assert layer.type == layer_type
        assert shapes.field_problems(position, layer) == []  # within every widget's bounds
    pool = spec.make_layer("max_pool2d", pool_size=3, strides=1, padding="same")
    avg = editing.change_type(pool, "avg_pool2d")
    assert (avg.pool_size, avg.strides, avg.padding) == ((3, 3), (1, 1), "same")
    conv = editing.change_type(pool, "conv2d")
    assert conv.filters == 16 and conv.padding == "same" and conv.strides == (1, 1)
    with pytest.raises(ValueError, match="unknown layer type 'conv3d'"):
        editing.new_layer("conv3d")


@pytest.mark.parametrize(("index", "offset"), [(0, 1), (3, -2), (0, -1), (5, 5), (2, 0)])
def test_widget_ids_move_like_the_layers(arch, index, offset):
    ids = [f"id{i}" for i in range(len(arch.layers))]
    moved_ids = editing.move_id(ids, index, offset)
    moved = editing.move_layer(arch, index, offset)
    assert [arch.layers[int(i[2:])] for i in moved_ids] == list(moved.layers)
    assert ids == [f"id{i}" for i in range(len(arch.layers))]  # the list given is not changed


def test_a_conv_turned_depthwise_keeps_its_window():
    conv = spec.make_layer("conv2d", filters=8, kernel_size=[3, 5], dilation_rate=2,
                           padding="same", activation="tanh")
    depthwise = editing.change_type(conv, "depthwise_conv2d")
    assert depthwise.to_dict() == {"type": "depthwise_conv2d", "kernel_size": [3, 5],
                                   "strides": 1, "dilation_rate": 2, "padding": "same",
                                   "activation": "tanh"}
    assert depthwise.filters is None and depthwise.depth_multiplier == 1
