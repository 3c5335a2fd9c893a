"""The receptive field the summary reports against the one Keras's model really has.

With every weight set to one and linear activations, an output pixel depends on exactly the
input pixels of its receptive field: the gradient of the top-left output pixel is non-zero on
the top-left rf_h × rf_w block of the input (padding "valid").
"""

import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnnlab.architecture import layer_types, shapes, spec
from cnnlab.models import builder

# Window layers whose gradient reaches every input pixel they see (max pooling picks one).
WINDOW_TYPES = [name for name, kind in layer_types.REGISTRY.items()
                if kind.needs_map and any(f.kind == "pair" for f in kind.fields)
                and name != "max_pool2d"]


def random_window_layer(rng: random.Random, layer_type: str) -> spec.Layer:
    kind = layer_types.REGISTRY[layer_type]
    values = {}
    for fld in kind.fields:
        if fld.kind == "pair":
            top = 3 if fld.name != "dilation_rate" else 2
            values[fld.name] = (rng.randint(1, top), rng.randint(1, top))
        elif fld.kind == "int":
            values[fld.name] = rng.randint(1, 3)
    values.update(padding="valid", **({"activation": "linear"} if "activation" in
                                      kind.field_names else {}))
    layer = spec.make_layer(layer_type, **values)
    if kind.checks(layer):  # a combination Keras refuses: the stride wins
        layer = layer.replace(dilation_rate=(1, 1))
    return layer


def measured_receptive_field(model, layer_name: str, input_shape) -> tuple[int, int]:
    probe = keras.Model(model.inputs, model.get_layer(layer_name).output)
    x = tf.ones((1, *input_shape))
    with tf.GradientTape() as tape:
        tape.watch(x)
        top_left = tf.reduce_sum(probe(x)[0, 0, 0, :])
    seen = np.abs(tape.gradient(top_left, x).numpy()[0].sum(axis=-1)) > 0
    rows, cols = np.nonzero(seen)
    assert rows.min() == 0 and cols.min() == 0
    return int(rows.max()) + 1, int(cols.max()) + 1


@pytest.mark.parametrize("seed", range(16))
def test_receptive_field_matches_keras(seed):
    rng = random.Random(seed)
    layers = tuple(random_window_layer(rng, rng.choice(WINDOW_TYPES))
                   for _ in range(rng.randint(1, 3)))
    arch = spec.Architecture("rf", layers, (40, 40, 2), 3)
    summary = shapes.summarize(arch)
    assert summary.ok, summary.problems
    model = builder.build_model(arch)
    model.set_weights([np.ones_like(w) for w in model.get_weights()])
    for row in summary.rows:
        if row.receptive_field:
            assert measured_receptive_field(model, row.name, (40, 40, 2)) == \
                row.receptive_field, (row.name, layers)
