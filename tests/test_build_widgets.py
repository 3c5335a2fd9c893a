"""The Build page's widgets come from the layer registry; a number typed or imported out of the
validator's bounds is shown as it is, with the validator's message under its layer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnlab.architecture import editing, layer_types, shapes, spec, spec_json
from ui import text

ROOT = Path(__file__).resolve().parent.parent


def build_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/build.py").run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, data: dict) -> AppTest:
    content = json.dumps(data).encode()
    at.file_uploader(key="build_upload").set_value(("arch.json", content, "application/json"))
    at.run()
    assert not at.exception, at.exception
    return at


def layer_prefixes(at: AppTest) -> list[tuple[str, str]]:
    """(widget key prefix, layer type) of every layer row, top to bottom."""
    labels = {kind.label: name for name, kind in layer_types.REGISTRY.items()}
    return [(box.key[:-len("_type")], labels.get(box.value, box.value))
            for box in at.selectbox if box.key and box.key.startswith("layer")
            and box.key.endswith("_type")]


def widget(elements, key: str):
    found = [e for e in elements if e.key == key]
    assert len(found) == 1, key
    return found[0]


@pytest.fixture(scope="module")
def every_type() -> AppTest:
    """The Build page holding one freshly added layer of every registry type."""
    arch = spec.Architecture("all", tuple(editing.new_layer(t) for t in layer_types.LAYER_TYPES))
    return upload(build_page(), json.loads(spec_json.architecture_to_json(arch)))


def test_every_field_has_a_widget_and_numbers_carry_no_bounds_to_the_browser(every_type):
    """A bounded box refused a typed 600 in the browser, with a hover-only "!", and the page
    went on with the old value (issue 22): numbers go to the validator instead."""
    at, checked = every_type, 0
    prefixes = layer_prefixes(at)
    assert [t for _, t in prefixes] == list(layer_types.LAYER_TYPES)
    for prefix, layer_type in prefixes:
        for fld in layer_types.REGISTRY[layer_type].fields:
            key = f"{prefix}_{fld.widget_key}"
            if fld.kind in ("int", "pair"):
                keys = [f"{key}_h", f"{key}_w"] if fld.kind == "pair" else [key]
                for box in (widget(at.number_input, k) for k in keys):
                    assert (box.min, box.max) == (None, None), (layer_type, fld.name)
            elif fld.kind == "rate":
                slider = widget(at.slider, key)
                assert (slider.min, slider.max, slider.step) == (fld.min, fld.max, fld.step)
            else:
                box = widget([*at.selectbox, *at.get("button_group")], key)
                assert list(box.options) == list(fld.choices), (layer_type, fld.name)
            checked += 1
    assert checked == sum(len(kind.fields) for kind in layer_types.REGISTRY.values())
    assert not [e.value for e in at.error if "must be" in e.value]  # (the order is no network)


def test_a_typed_number_out_of_bounds_is_answered_under_its_layer_in_the_validators_words():
    at = build_page()
    conv = layer_prefixes(at)[0][0]
    for name, typed, expected in (
            ("filters", 600, "layer 1 (conv2d): filters must be at most 512 (CNN Lab's cap); "
                             "received 600"),
            ("kernel_h", 0, "layer 1 (conv2d): kernel_size must be at least 1; received [0, 3]")):
        widget(at.number_input, f"{conv}_{name}").set_value(typed).run()
        assert not at.exception, at.exception
        assert widget(at.number_input, f"{conv}_{name}").value == typed  # kept as typed
        assert text.md(expected) in [e.value for e in at.error]  # shown as text, as typed
        # no result of the old value under the layer: (3·3·1 + 1)·32 = 320 parameters
        assert not [c.value for c in at.caption if "320 parameters" in c.value]
        widget(at.number_input, f"{conv}_{name}").set_value(32 if name == "filters" else 3)
        at.run()
        assert not [e.value for e in at.error if "layer 1" in e.value]
        assert [c.value for c in at.caption if "320 parameters" in c.value]


BAD = {"name": "bad", "layers": [
    {"type": "conv2d", "filters": 0, "kernel_size": 40, "padding": "full"},
    {"type": "dropout", "rate": 0.95},
    {"type": "dense", "units": 5000, "activation": "relu6"},
]}


def test_imported_values_the_widgets_cannot_show_are_shown_with_the_messages():
    at = upload(build_page(), BAD)
    (conv, _), (drop, _), (dense, _) = layer_prefixes(at)
    assert widget(at.number_input, f"{conv}_filters").value == 0  # not clamped to 1
    assert widget(at.number_input, f"{conv}_kernel_h").value == 40  # not clamped to 11
    assert widget(at.number_input, f"{drop}_rate_out").value == 0.95
    assert widget(at.number_input, f"{dense}_units").value == 5000
    assert widget(at.text_input, f"{conv}_padding_text").value == "full"
    assert widget(at.text_input, f"{dense}_act_text").value == "relu6"
    expected = [p.message for p in shapes.summarize(spec_json.architecture_from_dict(BAD)).problems]
    assert len(expected) == 6
    assert [e.value for e in at.error] == expected
    assert at.button(key="build_train_disabled").disabled


def test_fixing_an_imported_value_clears_its_message():
    at = upload(build_page(), BAD)
    conv = layer_prefixes(at)[0][0]
    widget(at.number_input, f"{conv}_filters").set_value(16).run()
    box = widget(at.number_input, f"{conv}_filters")
    assert box.value == 16
    assert not any("filters" in e.value for e in at.error)
    assert any("kernel_size must be at most 11" in e.value for e in at.error)


def test_a_valid_value_is_kept_as_imported():
    data = {"name": "ok", "layers": [{"type": "dropout", "rate": 0.33},
                                     {"type": "conv2d", "filters": 3, "kernel_size": [2, 7]}]}
    at = upload(build_page(), data)
    (drop, _), (conv, _) = layer_prefixes(at)
    assert widget(at.slider, f"{drop}_rate").value == pytest.approx(0.33)
    assert widget(at.number_input, f"{conv}_kernel_w").value == 7
    assert not at.error
    assert any(m.value.startswith("**dropout_1**: drops 33% of values while training")
               for m in at.markdown)


def test_dilation_shows_its_span_and_refuses_a_stride():
    data = {"name": "d", "layers": [{"type": "conv2d", "filters": 4, "kernel_size": 3,
                                     "dilation_rate": 2}]}
    at = upload(build_page(), data)
    conv = layer_prefixes(at)[0][0]
    assert widget(at.number_input, f"{conv}_dilation_h").value == 2
    assert any("(28 − ((3 − 1)·2 + 1) + 2·0) / 1 + 1 = 24" in c.value for c in at.caption)
    widget(at.number_input, f"{conv}_stride_h").set_value(2).run()
    assert not at.exception
    assert [e.value for e in at.error] == [text.md(  # shown as text, not Markdown
        "layer 1 (conv2d): dilation_rate 2 with strides [2, 1]: Keras cannot combine a dilation "
        "above 1 with a stride above 1; use dilation_rate 1 or strides 1")]
    assert at.button(key="build_train_disabled").disabled


def test_at_the_layer_limit_add_is_disabled_and_says_why():
    layers = [{"type": "dense", "units": 4}] * spec.MAX_LAYERS
    at = upload(build_page(), {"name": "deep", "layers": layers})
    add = widget(at.button, "build_add")
    assert add.disabled and str(spec.MAX_LAYERS) in add.help
    at.selectbox(key="build_add_type").set_value("dense").run()
    assert not at.exception
    assert len(layer_prefixes(at)) == spec.MAX_LAYERS
    fewer = upload(build_page(), {"name": "deep", "layers": layers[1:]})
    assert not widget(fewer.button, "build_add").disabled
