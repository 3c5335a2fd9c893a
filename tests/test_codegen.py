"""Code export: the generated script is valid and builds the builder's model."""

import ast
import random

import keras
import pytest
from random_specs import random_valid_arch

from cnnlab.architecture import codegen, presets, spec
from cnnlab.models import builder


def assert_generated_matches_builder(arch: spec.Architecture) -> None:
    source = codegen.script(arch)
    ast.parse(source)  # the whole script is valid Python
    namespace = {"keras": keras, "layers": keras.layers}
    exec(codegen.build_section(source), namespace)  # noqa: S102 - our own generated code
    generated, built = namespace["model"], builder.build_model(arch)
    described = lambda layers: [  # noqa: E731
        (lyr.name, tuple(lyr.output.shape), lyr.count_params()) for lyr in layers]
    assert described(generated.layers) == described(built.layers[1:])
    assert [layer_config(lyr) for lyr in generated.layers] == [
        layer_config(lyr) for lyr in built.layers[1:]]


@pytest.mark.parametrize("name", ["two-conv", "lenet-5", "two-conv-dropout"])
def test_generated_model_matches_builder(name):
    assert_generated_matches_builder(presets.get(name))


@pytest.mark.parametrize("seed", range(12))
def test_generated_random_model_matches_builder(seed):
    """Every layer type and field of the registry, as random specs draw them."""
    assert_generated_matches_builder(random_valid_arch(random.Random(seed)))


def layer_config(layer: keras.layers.Layer) -> dict:
    """Everything that defines the layer's computation (its dtype policy object aside)."""
    return {k: v for k, v in layer.get_config().items() if k != "dtype"}


def test_rectangular_and_automatic_flatten_are_exported():
    arch = spec.Architecture("r", (spec.make_layer("conv2d", filters=4, kernel_size=[3, 5],
                                                   strides=[1, 2]),
                                   spec.make_layer("dense", units=8)), (20, 30, 2), 5)
    source = codegen.model_code(arch)
    assert "layers.Conv2D(4, (3, 5), strides=(1, 2)" in source
    assert "layers.Flatten(name=\"flatten_1\"),  # inserted automatically" in source
    assert "keras.Input(shape=(20, 30, 2))" in source


def test_invalid_spec_is_refused():
    arch = spec.Architecture("bad", (spec.make_layer("dense", units=0),))
    with pytest.raises(spec.SpecError, match="units must be at least 1"):
        codegen.script(arch)
