"""Colour and any size on the pages (issue 16, item 4): Draw refuses the canvas for a colour
network and offers the upload, a 32×32 grey network takes drawings, Feature maps shows colour
input in colour and a colour network's first-layer filters as colour patches."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pictures
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnlab.views import render, rgb_filters
from tests.test_colour_runs import colour_dataset, train

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


@pytest.fixture(scope="module")
def colour_run():
    return train("two-conv-dropout", colour_dataset())


def page(path: str, run, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.session_state["cnnlab"].add_run(run)
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def test_draw_refuses_the_canvas_for_a_colour_network_and_offers_the_upload(colour_run):
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[40:240, 130:150, :3] = 255
    at = page("pages/draw.py", colour_run, draw_test_image=canvas)
    texts = [i.value for i in at.info]
    assert any("takes 16×16 colour images" in t and "Upload a colour image (PNG or JPEG) "
               "instead" in t for t in texts), texts
    assert not [s for s in at.slider if s.key == "draw_stroke"]  # no pen, no canvas
    assert not [h for h in at.subheader if h.value.startswith("Prediction")]
    assert any("Upload a colour image: it is resized to 16×16" in t for t in texts)


def test_draw_takes_a_drawing_for_a_32x32_grey_network(tiny_dataset):
    from cnnlab.data import datasets, refs

    big = np.kron(tiny_dataset.x_train[:64], np.ones((1, 8, 8, 1), np.uint8))[:, :32, :32]
    data = datasets.Dataset(ref=refs.recorded("bands32"), class_names=tiny_dataset.class_names,
                            x_train=big, y_train=tiny_dataset.y_train[:64],
                            x_test=big[:16], y_test=tiny_dataset.y_train[:16])
    run = train("tutorial-1conv", data)
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255
    canvas[40:240, 130:150, :3] = 255
    at = page("pages/draw.py", run, draw_test_image=canvas)
    assert [h.value for h in at.subheader if h.value.startswith("Prediction: ")]
    assert at.session_state["last_drawing"].shape == (32, 32, 1)


def test_feature_maps_of_a_colour_network_show_colour_filters(colour_run):
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 230
    at = page("pages/feature_maps.py", colour_run, last_drawing=red, fm_source="my drawing")
    headers = [m.value for m in at.markdown if m.value.startswith("**conv_1**")]
    assert headers and "· 14×14×32" in headers[0], headers
    assert any("as colour patches" in m.value for m in at.markdown)
    assert any(m.value.startswith("Prediction: **") for m in at.markdown)


def test_feature_maps_explain_a_drawing_made_for_another_model(colour_run):
    at = page("pages/feature_maps.py", colour_run,
              last_drawing=np.zeros((28, 28, 1), np.uint8), fm_source="my drawing")
    assert any("prepared for a 28×28×1 model" in i.value and "takes 16×16×3 images" in i.value
               for i in at.info)


def test_a_red_input_is_shown_red_and_a_grey_one_grey():
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 200
    picture = render.input_picture(red)
    assert picture.shape == (16 * 8, 16 * 8, 3)
    assert (picture[..., 0] == 200).all() and (picture[..., 1:] == 0).all()
    grey = np.arange(28 * 28, dtype=np.uint16).reshape(28, 28, 1) % 256
    picture = render.input_picture(grey.astype(np.uint8))
    assert picture.shape == (140, 140, 3)
    assert (picture[..., 0] == picture[..., 1]).all() and (picture[..., 1] == picture[..., 2]).all()
    np.testing.assert_array_equal(picture[::5, ::5, 0], grey[..., 0])


def test_colour_patches_are_each_filter_stretched_to_0_255():
    kernel = np.random.default_rng(0).normal(size=(3, 3, 3, 5))
    kernel[..., 4] = 0.25  # a flat filter
    patches = rgb_filters.rgb_patches(kernel)
    assert patches.shape == (5, 3, 3, 3) and patches.dtype == np.uint8
    for f in range(4):
        weights = kernel[..., f]
        expected = (weights - weights.min()) / (weights.max() - weights.min()) * 255
        np.testing.assert_allclose(patches[f], expected, atol=0.5)
        assert patches[f].min() == 0 and patches[f].max() == 255
    assert (patches[4] == 128).all()
    grid, description = rgb_filters.rgb_filter_grid(kernel, cols=5, pad=2, scale=4)
    assert grid.shape == (12, 5 * 12 + 4 * 2, 3)
    np.testing.assert_array_equal(grid[:12:4, 14:26:4], patches[1])
    assert description.startswith("5 filters of 3×3 as colour patches")
    with pytest.raises(ValueError, match=r"rgb input; received shape \(3, 3, 1, 5\)"):
        rgb_filters.rgb_patches(kernel[:, :, :1])


def test_the_diagram_draws_a_colour_input_as_red_green_and_blue_planes():
    import xml.etree.ElementTree as ET

    from cnnlab.architecture import presets, shapes
    from cnnlab.views import diagram

    svg = "{http://www.w3.org/2000/svg}"

    def input_block(shape):
        arch = presets.get("two-conv-dropout").with_data(shape, 10)
        root = ET.fromstring(diagram.network_svg(shapes.summarize(arch)))
        block = next(root.iter(f"{svg}g"))
        labels = [t.text for t in block.iter(f"{svg}text")]
        fills = [p.get("fill") for p in block.iter(f"{svg}polygon")]
        ys = [float(pt.split(",")[1]) for p in block.iter(f"{svg}polygon")
              for pt in p.get("points").split()]
        return labels, fills, max(ys) - min(ys)

    labels, fills, _ = input_block((32, 32, 3))
    assert labels == ["input (rgb)", "32×32×3"]
    assert fills == [c for c in diagram.RGB_PLANES for _ in range(3)]  # side, top, front each
    labels, fills, _ = input_block((16, 16, 1))
    assert labels == ["input", "16×16×1"] and len(set(fills)) == 1


def test_learn_convolves_a_colour_image_per_channel_or_in_grey():
    from cnnlab.learn import colour_image

    photo = np.zeros((20, 40, 3), np.uint8)
    photo[:, :20] = (230, 30, 0)  # red left half, blue right half
    photo[:, 20:] = (0, 40, 210)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="PNG")
    at = AppTest.from_file(str(ROOT / "pages" / "learn.py"), default_timeout=60)
    at.session_state["learn_test_upload"] = buffer.getvalue()
    at.run()
    at.segmented_control(key="learn_section").set_value("On a real image").run()
    at.radio(key="img_source").set_value("my own image").run()
    assert not at.exception, at.exception
    heads = [m.value for m in at.markdown if m.value.startswith("input **20×40**")]
    assert [h.rsplit("(", 1)[1] for h in heads] == [
        f"your colour image, 20×40: {c} channel)" for c in ("red", "green", "blue")]
    assert len(pictures.shown(at)) == 1 + 3 * 4  # the image, then four stages per channel
    at.radio(key="img_colour_mode").set_value("converted to grey").run()
    heads = [m.value for m in at.markdown if m.value.startswith("input **20×40**")]
    assert len(heads) == 1 and heads[0].endswith("converted to grey)")
    assert len(pictures.shown(at)) == 1 + 4
    assert any("Converted to grey" in c.value for c in at.caption)

    rgb = colour_image.learn_image(buffer.getvalue())
    np.testing.assert_array_equal(rgb, photo)  # small enough: unchanged
    (_, grey), = colour_image.planes(rgb, "grey")
    luma = photo.astype(float) @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(grey, luma, atol=1)
    channels = colour_image.planes(rgb, "channels")
    assert [title for title, _ in channels] == ["red channel", "green channel", "blue channel"]
    for i, (_, plane) in enumerate(channels):
        np.testing.assert_array_equal(plane, photo[..., i])
    big = np.zeros((300, 150, 3), np.uint8)
    big[..., 1] = 255
    Image.fromarray(big).save(buffer := io.BytesIO(), format="PNG")
    assert colour_image.learn_image(buffer.getvalue()).shape == (64, 32, 3)
