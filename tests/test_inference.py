"""The compiled predictor against Keras's own answers: predict, sub-models, set_weights."""

from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest

from cnnlab.architecture import presets, shapes, spec
from cnnlab.inspect import inference
from cnnlab.models import builder

MIXED = spec.Architecture("mixed", (
    spec.make_layer("conv2d", filters=8, kernel_size=3, padding="same"),
    spec.make_layer("batch_norm"),
    spec.make_layer("avg_pool2d", pool_size=2),
    spec.make_layer("dropout", rate=0.3),
    spec.make_layer("conv2d", filters=6, kernel_size=(3, 2), activation="tanh"),
    spec.make_layer("max_pool2d", pool_size=2),
    spec.make_layer("global_avg_pool2d"),
    spec.make_layer("dense", units=12),
    spec.make_layer("dropout", rate=0.5),
), input_shape=(20, 18, 3), num_classes=5)


def random_weights(model: keras.Model, seed: int) -> list[np.ndarray]:
    """Weights of the model's shapes; all positive so batch-norm variances stay valid."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.05, 0.3, size=w.shape).astype(np.float32) for w in model.get_weights()]


def image_for(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


@pytest.fixture(scope="module")
def two_conv():
    model = builder.build_model(presets.get("two-conv"), seed=0)
    return model, inference.Predictor(model)


@pytest.fixture(scope="module")
def mixed():
    model = builder.build_model(MIXED, seed=1)
    model.set_weights(random_weights(model, 5))  # non-trivial batch-norm statistics
    return model, inference.Predictor(model)


@pytest.fixture(params=["two_conv", "mixed"])
def case(request):
    return request.getfixturevalue(request.param)


def test_probabilities_equal_model_predict(case):
    model, predictor = case
    image = image_for(predictor.input_shape, 2)
    probabilities = predictor.probabilities(image)
    reference = model.predict(image[None].astype(np.float32), verbose=0)[0]
    assert probabilities.shape == (predictor.num_classes,)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(probabilities, reference, atol=1e-6)


def test_image_forms_give_the_same_answer(two_conv):
    _, predictor = two_conv
    image = image_for((28, 28), 3)
    expected = predictor.probabilities(image)
    for form in (image[..., None], image[None, ..., None], image.astype(np.float64),
                 image.astype(np.float32)[..., None]):
        np.testing.assert_allclose(predictor.probabilities(form), expected, atol=1e-6)


def test_one_trace_serves_every_call(two_conv):
    _, predictor = two_conv
    for seed in range(3):
        predictor.probabilities(image_for((28, 28), seed).astype(np.float32))
        predictor.feature_maps(image_for((28, 28, 1), seed))
    # private, but the point of the class: no retracing per image or per dtype
    assert predictor._engine.probabilities.experimental_get_tracing_count() == 1
    assert predictor._engine.maps.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("shape", [(27, 28), (28, 28, 3), (2, 28, 28, 1), (28, 28, 1, 1), (784,)])
def test_wrong_image_shapes_are_refused(two_conv, shape):
    _, predictor = two_conv
    with pytest.raises(ValueError, match=rf"received shape \({shape[0]},"):
        predictor.probabilities(np.zeros(shape, np.uint8))
    with pytest.raises(ValueError, match="must have shape"):
        predictor.feature_maps(np.zeros(shape, np.uint8))


def test_two_dimensional_image_needs_a_one_channel_model(mixed):
    _, predictor = mixed
    with pytest.raises(ValueError, match=r"\(20, 18, 3\) or \(1, 20, 18, 3\).*\(20, 18\)"):
        predictor.probabilities(np.zeros((20, 18), np.uint8))


@pytest.mark.parametrize("image, message", [
    (np.full((28, 28), 256.0), "from 256 to 256"),
    (np.full((28, 28), -1.0), "0..255"),
    (np.full((28, 28), np.nan), "0..255"),
    (np.zeros((28, 28), bool), "dtype bool"),
    (np.full((28, 28), "a"), "dtype <U1"),
])
def test_bad_values_are_refused(two_conv, image, message):
    _, predictor = two_conv
    with pytest.raises(ValueError, match=message):
        predictor.probabilities(image)


def test_feature_maps_follow_the_summary_rows(case):
    model, predictor = case
    maps = predictor.feature_maps(image_for(predictor.input_shape, 4))
    arch = presets.get("two-conv") if model.name == "two-conv" else MIXED
    rows = shapes.summarize(arch).rows
    assert [(m.name, m.type, m.output_shape) for m in maps] == [
        (row.name, row.type, row.output_shape) for row in rows]
    assert maps[-1].name == "output"
    for feature_map in maps:
        assert feature_map.values.dtype == np.float32
        assert feature_map.values.shape == feature_map.output_shape
        assert feature_map.spatial == (len(feature_map.output_shape) == 3)
        assert not feature_map.values.flags.writeable


@pytest.mark.parametrize("case_name, names", [
    ("two_conv", ["conv_1", "pool_2", "flatten_1", "dense_1", "output"]),
    ("mixed", ["bn_1", "pool_1", "dropout_1", "conv_2", "gpool_1", "dropout_2", "output"]),
])
def test_feature_map_values_equal_keras_sub_models(request, case_name, names):
    model, predictor = request.getfixturevalue(case_name)
    image = image_for(predictor.input_shape, 6)
    maps = {m.name: m.values for m in predictor.feature_maps(image)}
    probe = keras.Model(model.input, [model.get_layer(name).output for name in names])
    references = probe.predict(image[None].astype(np.float32), verbose=0)
    for name, reference in zip(names, references, strict=True):
        np.testing.assert_allclose(maps[name], reference[0], rtol=1e-5, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(maps["output"], predictor.probabilities(image), atol=1e-6)


def test_conv_filters_are_copies_of_each_conv_layer(case):
    model, predictor = case
    filters = predictor.conv_filters()
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [f.name for f in filters] == [layer.name for layer in convs]
    for found, layer in zip(filters, convs, strict=True):
        kernel, bias = layer.get_weights()
        assert found.kernel.shape == kernel.shape and found.bias.shape == (kernel.shape[-1],)
        np.testing.assert_array_equal(found.kernel, kernel)
        found.kernel[...] = 0
    np.testing.assert_array_equal(predictor.conv_filters()[0].kernel, convs[0].get_weights()[0])
    assert [f.kernel.shape for f in inference.Predictor(
        builder.build_model(presets.get("two-conv"))).conv_filters()] == [
        (3, 3, 1, 32), (3, 3, 32, 64)]


@pytest.fixture(scope="module")
def epochs(mixed):
    """Two weight sets for the mixed model, with a reference model holding each."""
    model, predictor = mixed
    sets = [random_weights(model, 10), random_weights(model, 11)]
    references = []
    for weights in sets:
        reference = keras.models.clone_model(model)
        reference.set_weights(weights)
        references.append(reference)
    return sets, references


def test_at_weights_answers_with_those_weights(mixed, epochs):
    model, predictor = mixed
    sets, references = epochs
    image = image_for(predictor.input_shape, 7)
    batch = image[None].astype(np.float32)
    views = [predictor.at_weights(weights) for weights in sets]
    for index in (0, 1, 0, 1, 1):  # alternating: a stale clone would show here
        view, reference = views[index], references[index]
        np.testing.assert_allclose(view.probabilities(image),
                                   reference.predict(batch, verbose=0)[0], atol=1e-6)
        maps = view.feature_maps(image)
        conv_2 = keras.Model(reference.input, reference.get_layer("conv_2").output)
        np.testing.assert_allclose(maps[4].values, conv_2.predict(batch, verbose=0)[0],
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(view.conv_filters()[0].kernel, sets[index][0])
    np.testing.assert_allclose(predictor.probabilities(image),
                               model.predict(batch, verbose=0)[0], atol=1e-6)
    assert views[1].at_weights(sets[0])._engine is views[0]._engine  # one shared clone


def test_at_weights_is_safe_across_threads(mixed, epochs):
    _, predictor = mixed
    sets, references = epochs
    image = image_for(predictor.input_shape, 8)
    expected = [r.predict(image[None].astype(np.float32), verbose=0)[0] for r in references]
    views = [predictor.at_weights(weights) for weights in sets]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda i: (i % 2, views[i % 2].probabilities(image)), range(40)))
    for index, probabilities in answers:
        np.testing.assert_allclose(probabilities, expected[index], atol=1e-6)


def test_at_weights_refuses_weights_of_another_model(mixed):
    model, predictor = mixed
    weights = model.get_weights()
    with pytest.raises(ValueError, match=f"must be {len(weights)} arrays.*received 3"):
        predictor.at_weights(weights[:3])
    bad = list(weights)
    bad[0] = np.zeros((5, 5, 3, 8), np.float32)
    with pytest.raises(ValueError, match=r"weights\[0\] \(conv_1/kernel\).*\(3, 3, 3, 8\)"):
        predictor.at_weights(bad)


def test_predict_batch_equals_model_predict(two_conv):
    model, _ = two_conv
    images = image_for((7, 28, 28, 1), 9)
    expected = model.predict(images.astype(np.float32), verbose=0)
    np.testing.assert_allclose(inference.predict_batch(model, images, batch_size=3), expected,
                               atol=1e-6)
    np.testing.assert_allclose(inference.predict_batch(model, images[..., 0]), expected,
                               atol=1e-6)
    assert inference.predict_batch(model, images[:0]).shape == (0, 10)
    with pytest.raises(ValueError, match=r"\(n, 28, 28, 1\).*received shape \(7, 28, 27, 1\)"):
        inference.predict_batch(model, images[:, :, :27])
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        inference.predict_batch(model, images, batch_size=0)


def test_feature_maps_carry_the_registry_type_of_every_layer():
    arch = spec.Architecture("dw", (
        spec.make_layer("depthwise_conv2d", kernel_size=3, depth_multiplier=2),
        spec.make_layer("conv2d", filters=3, kernel_size=3, dilation_rate=2),
        spec.make_layer("global_max_pool2d"),
    ), input_shape=(12, 12, 2), num_classes=3)
    predictor = inference.Predictor(builder.build_model(arch, seed=0))
    maps = predictor.feature_maps(image_for(predictor.input_shape, 0))
    rows = shapes.summarize(arch).rows
    assert [(m.name, m.type, m.output_shape) for m in maps] == [
        (row.name, row.type, row.output_shape) for row in rows]
