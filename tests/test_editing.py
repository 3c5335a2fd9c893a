"""The Build page's list edits."""

import pytest

from cnnlab.architecture import editing, presets, spec


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
    for layer_type in spec.LAYER_TYPES:
        assert editing.new_layer(layer_type).type == layer_type
    pool = spec.make_layer("max_pool2d", pool_size=3, strides=1, padding="same")
    avg = editing.change_type(pool, "avg_pool2d")
    assert (avg.pool_size, avg.strides, avg.padding) == ((3, 3), (1, 1), "same")
    conv = editing.change_type(pool, "conv2d")
    assert conv.filters == 16 and conv.padding == "same" and conv.strides == (1, 1)
    with pytest.raises(ValueError, match="unknown layer type 'conv3d'"):
        editing.new_layer("conv3d")
