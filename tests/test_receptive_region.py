"""The region one unit sees (inspect.receptive) against Keras's gradients d unit / d input.

Random small networks with "same" and "valid" padding, strides, pooling and dilation: every
input pixel with a non-zero gradient lies inside the outline; with every weight one and
linear activations (no max pooling) the gradient's bounding box IS the outline; without
padding the outline's size is the receptive field.
"""

from __future__ import annotations

import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnnlab.architecture import presets, shapes, spec
from cnnlab.inspect import preprocess, receptive
from cnnlab.models import builder

SHAPE = (23, 21, 1)


def random_window_layer(rng: random.Random, padding: str, max_pool: bool) -> spec.Layer:
    kind = rng.choice(["conv2d", "conv2d", "depthwise_conv2d", "avg_pool2d"]
                      + (["max_pool2d"] if max_pool else []))
    if kind.endswith("pool2d"):
        size = (rng.randint(1, 3), rng.randint(1, 3))
        return spec.make_layer(kind, pool_size=size, padding=padding,
                               strides=(rng.randint(1, 2), rng.randint(1, 2)))
    dilated = rng.random() < 0.4
    strides = (1, 1) if dilated else (rng.randint(1, 2), rng.randint(1, 2))
    # TensorFlow's oneDNN CPU kernel can crash the process on the input gradient of a
    # 1-tap kernel with a stride above 1, so a strided axis gets 2 or 3 taps
    kernel = tuple(rng.randint(1 if s == 1 else 2, 3) for s in strides)
    values = dict(kernel_size=kernel, padding=padding, activation="linear", strides=strides,
                  dilation_rate=(rng.randint(1, 2), rng.randint(1, 2)) if dilated else (1, 1))
    if kind == "conv2d":
        values["filters"] = 2
    return spec.make_layer(kind, **values)


def random_arch(seed: int, padding: str | None, max_pool: bool) -> spec.Architecture:
    rng = random.Random(seed)
    while True:
        layers = tuple(random_window_layer(rng, padding or rng.choice(["same", "valid"]),
                                           max_pool) for _ in range(rng.randint(1, 4)))
        arch = spec.Architecture("rf", layers, SHAPE, 3)
        if shapes.summarize(arch).ok:
            return arch


def gradient_seen(model, layer_name: str, x: np.ndarray, row: int, col: int) -> np.ndarray:
    """(H, W) bool: the input pixels whose gradient of unit (row, col), summed over channels,
    is non-zero."""
    probe = keras.Model(model.inputs, model.get_layer(layer_name).output)
    x = tf.constant(x)
    with tf.GradientTape(watch_accessed_variables=False) as tape:  # d/d input only
        tape.watch(x)
        unit = tf.reduce_sum(probe(x)[0, row, col, :])
    return np.abs(tape.gradient(unit, x).numpy()[0].sum(axis=-1)) > 0


def units(row: shapes.Row, rng: random.Random, count: int = 4):
    h, w = row.output_shape[:2]
    corners = [(0, 0), (h - 1, w - 1), (0, w - 1), (h - 1, 0)]
    return corners + [(rng.randrange(h), rng.randrange(w)) for _ in range(count)]


@pytest.mark.parametrize("seed", range(8))
def test_random_weights_gradient_lies_inside_outline(seed):
    arch = random_arch(seed, None, max_pool=True)
    summary = shapes.summarize(arch)
    model = builder.build_model(arch, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (1, *SHAPE)).astype(np.float32)
    for row in receptive.unit_rows(summary):
        for r, c in units(row, random.Random(seed)):
            top, left, bottom, right = receptive.input_region(summary, row.name, r, c)
            seen = gradient_seen(model, row.name, x, r, c)
            outside = seen.copy()
            outside[top:bottom, left:right] = False
            assert not outside.any(), (row.name, r, c, arch.layers)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_ones_weights_gradient_box_is_the_outline(seed, padding):
    arch = random_arch(100 + seed, padding, max_pool=False)
    summary = shapes.summarize(arch)
    model = builder.build_model(arch)
    model.set_weights([np.ones_like(w) for w in model.get_weights()])
    x = np.ones((1, *SHAPE), np.float32)
    # a dilated kernel's outer taps can fall in the padding while the pixels between them
    # are in the image: then the outline is only an upper bound
    holes = padding == "same" and any(max(layer.dilation_rate or (1, 1)) > 1
                                      for layer in arch.layers)
    for row in receptive.unit_rows(summary):
        for r, c in units(row, random.Random(seed)):
            box = receptive.input_region(summary, row.name, r, c)
            rows, cols = np.nonzero(gradient_seen(model, row.name, x, r, c))
            measured = (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)
            if holes:
                assert box[0] <= measured[0] and box[1] <= measured[1]
                assert measured[2] <= box[2] and measured[3] <= box[3]
            else:
                assert measured == box, (row.name, r, c, arch.layers)
            if padding == "valid":
                assert (box[2] - box[0], box[3] - box[1]) == row.receptive_field


def test_bad_layer_and_position_are_refused_with_what_works():
    summary = shapes.summarize(presets.get("two-conv"))
    with pytest.raises(ValueError, match=r"no layer named 'conv_9'; use one of conv_1"):
        receptive.input_region(summary, "conv_9", 0, 0)
    with pytest.raises(ValueError, match=r"outside its 26×26 map; received row 26, col 0"):
        receptive.input_region(summary, "conv_1", 26, 0)
    with pytest.raises(ValueError, match=r"flat vector"):
        receptive.input_region(summary, "output", 0, 0)


def test_outline_maps_back_to_the_drawing_through_crop_scale_and_shift():
    canvas = np.zeros((280, 280), np.uint8)
    canvas[60:220, 100:140] = 255  # a bar 160 px tall, 40 px wide
    prepared = preprocess.preprocess_array(canvas, ink_is_light=True)
    p = prepared.placement
    assert (p.crop_top, p.crop_left) == (60, 100) and p.scale_y == pytest.approx(20 / 160)
    drawing = prepared.steps[0][1]
    # the whole field covers all of the ink
    whole = receptive.to_drawing((0, 0, 28, 28), p, drawing.shape)
    assert whole[0] <= 60 and whole[1] <= 100 and whole[2] >= 220 and whole[3] >= 140
    # the ink's box in the final image maps back to exactly the ink's box in the drawing
    final = prepared.image
    rows, cols = np.nonzero(final > 0)
    box = (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)
    assert receptive.to_drawing(box, p, drawing.shape) == (60, 100, 220, 140)
    # a column left of the ink maps to a strip of the drawing left of the ink
    top, left, bottom, right = receptive.to_drawing((0, 0, 28, 1), p, drawing.shape)
    assert right <= 100 and not drawing[top:bottom, left:right].any()
    assert receptive.to_drawing((0, 0, 28, 28), None, drawing.shape) is None
