"""Build: compose the network layer by layer and see every shape, live."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cnnlab.architecture import (
    codegen,
    editing,
    fields,
    layer_types,
    presets,
    shapes,
    spec,
    spec_json,
)
from cnnlab.classes import challenge
from cnnlab.views import diagram
from ui import classroom, layout, patches, quiz, state, text

patches.use_app_navigation()  # opened first on a fresh server: see ui/patches.py

# A layer's widgets flow in a row that wraps (st.container(horizontal=True, wrap=True)), each
# at its own width: fields go on more rows in a narrow column instead of squeezing their labels
# ("kern el h") and values ("3:") as fixed columns did at 1024 px.
NUMBER_WIDTH = 96  # px: a label like "dilation h", and a value up to 5 digits
CHOICE_WIDTH = 150  # px: a select box of activations
RATE_WIDTH = 260  # px: a slider from 0 to 1


def _lock(locked: bool) -> dict:
    """A locked field's widget is disabled and says why (a class challenge's lock)."""
    return {"disabled": True, "help": classroom.LOCKED_HELP} if locked else {}


def _number(box, fld: fields.Field, label: str, key: str, value: int | float,
            locked: bool = False):
    """A number input without bounds in the browser: whatever is typed (or imported) goes into
    the network as it is, never refused or clamped, and the validator's message under the
    layer says what to use (a bounded box kept a typed 600 with a hover-only "!", and the page
    went on with the old value; ui/numbers.py)."""
    current = st.session_state.get(key, value)  # what the widget returns on this run
    cast = float if fld.kind == "rate" else int
    # No help icon (but a locked field's): it would take room from the label.
    return box.number_input(label, value=current, step=cast(fld.step or 1), key=key,
                            width=NUMBER_WIDTH, **_lock(locked))


def _pair(box, fld: fields.Field, key: str, value: tuple[int, int],
          locked: bool = False) -> tuple[int, int]:
    h = _number(box, fld, f"{fld.widget_label} h", f"{key}_h", value[0], locked)
    w = _number(box, fld, f"{fld.widget_label} w", f"{key}_w", value[1], locked)
    return (int(h), int(w))


def _choice(box, fld: fields.Field, key: str, value: str, locked: bool = False) -> str:
    """Two or three choices as a segmented control, more as a select box; a value that is not
    a choice (an imported file's) as text, so the validator's message can name it."""
    if value not in fld.choices:
        value = st.session_state.get(f"{key}_text", value)  # typed in on this run
    helped = {"help": fld.help or None, **_lock(locked)}
    if value not in fld.choices:
        return box.text_input(fld.widget_label, value, key=f"{key}_text", width=CHOICE_WIDTH,
                              **helped)
    if len(fld.choices) <= 3:
        chosen = box.segmented_control(fld.widget_label, fld.choices, default=value, key=key,
                                       width="content", **helped)
        return chosen or value  # clicking the selected option again deselects it: keep it
    return box.selectbox(fld.widget_label, fld.choices, fld.choices.index(value), key=key,
                         width=CHOICE_WIDTH, **helped)


def _rate(box, fld: fields.Field, key: str, value: float, locked: bool = False) -> float:
    value = st.session_state.get(f"{key}_out", value)  # typed in on this run
    if not fields.in_bounds(fld, value):
        return float(_number(box, fld, fld.widget_label, f"{key}_out", value, locked))
    rate = box.slider(fld.widget_label, float(fld.min), float(fld.max), float(value),
                      float(fld.step), key=key, width=RATE_WIDTH,
                      **{"help": fld.help or None, **_lock(locked)})
    return round(rate, 6)  # a float step's sums (0.30000000000000004) read as typed


def layer_fields(layer: spec.Layer, key: str, editable: tuple[str, ...] | None = None
                 ) -> spec.Layer:
    """The widgets of one layer's fields, from its type's registry entry, in one row that
    wraps; returns the layer as the widgets now say. With ``editable`` (a class challenge's
    lock) every other field is disabled."""
    box = st.container(horizontal=True, wrap=True, vertical_alignment="bottom", gap="xsmall")
    values = {}
    for fld in layer_types.get(layer.type).fields:
        value, field_key = getattr(layer, fld.name), f"{key}_{fld.widget_key}"
        locked = editable is not None and fld.name not in editable
        if fld.kind == "pair":
            values[fld.name] = _pair(box, fld, field_key, value, locked)
        elif fld.kind == "int":
            values[fld.name] = int(_number(box, fld, fld.widget_label, field_key, value,
                                           locked))
        elif fld.kind == "choice":
            values[fld.name] = _choice(box, fld, field_key, value, locked)
        else:
            values[fld.name] = _rate(box, fld, field_key, value, locked)
    return spec.make_layer(layer.type, **values)


def _move(index: int, offset: int) -> None:
    ids = editing.move_id(state.layer_ids(), index, offset)
    state.update_arch(editing.move_layer(state.get_arch(), index, offset), ids)


def _remove(index: int) -> None:
    ids = state.layer_ids()
    del ids[index]
    state.update_arch(editing.remove_layer(state.get_arch(), index), ids)


def _change_type(index: int, key: str) -> None:
    arch, ids = state.get_arch(), state.layer_ids()
    layer = editing.change_type(arch.layers[index], st.session_state[key])
    ids[index] = state.new_id()
    state.update_arch(editing.replace_layer(arch, index, layer), ids)


def _add() -> None:
    arch, ids = state.get_arch(), state.layer_ids()
    if len(arch.layers) >= spec.MAX_LAYERS:  # the button is disabled then; a stale click too
        return
    where = st.session_state.build_add_where
    index = len(arch.layers) if where == 0 else where
    ids.insert(index, state.new_id())
    layer = editing.new_layer(st.session_state.build_add_type)
    state.update_arch(editing.insert_layer(arch, index, layer), ids)


def _load_preset() -> None:
    name = st.session_state.build_preset
    state.set_arch(presets.get(name) if name != "(empty)" else spec.Architecture("my-cnn"))


def _label(layer_type: str) -> str:
    return layer_types.get(layer_type).label


def layer_editor(arch: spec.Architecture, editable: tuple[str, ...] | None = None
                 ) -> tuple[list[spec.Layer], dict[int, st.empty]]:
    """One bordered row per layer; returns the edited layers and a message slot per layer.
    With ``editable`` (a class challenge's lock) the layers and their order are locked too."""
    locked = editable is not None
    layers, slots, ids = [], {}, state.layer_ids()
    types = list(layer_types.LAYER_TYPES)
    for index, (layer, lid) in enumerate(zip(arch.layers, ids, strict=True)):
        key = f"layer{lid}"
        with st.container(border=True):
            head = st.container(horizontal=True, vertical_alignment="center", gap="xsmall",
                                wrap=False)
            head.markdown(f"**{index + 1}**", width="content")
            head.selectbox("type", types, types.index(layer.type), key=f"{key}_type",
                           format_func=_label, label_visibility="collapsed",
                           on_change=_change_type, args=(index, f"{key}_type"), width=130,
                           disabled=locked)
            head.space("stretch")
            head.button(":material/arrow_upward:", key=f"{key}_up", on_click=_move,
                        args=(index, -1), disabled=index == 0 or locked, help="move up")
            head.button(":material/arrow_downward:", key=f"{key}_down", on_click=_move,
                        args=(index, 1), disabled=index == len(ids) - 1 or locked,
                        help="move down")
            head.button(":material/delete:", key=f"{key}_remove", on_click=_remove,
                        args=(index,), help="remove this layer", disabled=locked)
            layers.append(layer_fields(layer, key, editable))
            slots[index + 1] = st.empty()  # the layer's result, or the validator's message
    return layers, slots


def add_controls(count: int, locked: bool = False) -> None:
    cols = st.columns([2, 2, 1], vertical_alignment="bottom")
    cols[0].selectbox("add a layer", layer_types.LAYER_TYPES, key="build_add_type",
                      format_func=_label, disabled=locked)
    cols[1].selectbox("where", range(count + 1), key="build_add_where", disabled=locked,
                      format_func=lambda i: "at the end" if i == 0 else f"before layer {i}")
    full = count >= spec.MAX_LAYERS
    cols[2].button("Add", icon=":material/add:", key="build_add", on_click=_add, width="stretch",
                   disabled=full or locked, help=classroom.LOCKED_HELP if locked else
                   f"at most {spec.MAX_LAYERS} layers; remove one first" if full else None)


def render() -> None:
    st.title("Build")
    rules = classroom.my_challenge()
    classroom.offer_starting_network(rules, "build")
    editable = classroom.locked(rules)
    if editable is not None:
        st.info(text.md(f"The teacher locked this network for the class challenge: only "
                        f"{', '.join(editable)} can change; every other field, the layers and "
                        f"their order say \"{classroom.LOCKED_HELP}\"."),
                icon=":material/lock:")
    quizzing = quiz.toggle()
    arch = state.get_arch()
    top = st.columns([2, 1, 3], vertical_alignment="bottom")
    top[0].selectbox("start from a preset", ["(empty)", *presets.PRESET_NAMES],
                     index=1 + presets.PRESET_NAMES.index(presets.DEFAULT_PRESET),
                     key="build_preset", help="\n\n".join(
                         f"**{n}**: {presets.describe(n)}" for n in presets.PRESET_NAMES),
                     disabled=editable is not None)
    top[1].button("Load", key="build_load", on_click=_load_preset, width="stretch",
                  disabled=editable is not None)
    top[2].caption(f"Input {'×'.join(map(str, arch.input_shape or spec.DEFAULT_INPUT_SHAPE))}"
                   " (the data set sets it when training). The softmax output layer is added "
                   "automatically; so is a Flatten wherever a dense layer meets a feature map.")
    left, right = st.columns([11, 10], gap="large")
    with left:
        layers, slots = layer_editor(arch, editable)
        add_controls(len(layers), editable is not None)
    session = state.session()
    session.chosen_name = right.text_input(
        "network name", session.chosen_name, 40, key=f"build_name_{session.loads}",
        placeholder=state.name_for(tuple(layers)), help="names its runs; if empty, the loaded "
        "network's name, with \"(edited)\" once a layer differs from it").strip()
    arch = spec.Architecture(state.name_for(tuple(layers), session.chosen_name), tuple(layers),
                             arch.input_shape, arch.num_classes)
    state.update_arch(arch, state.layer_ids())
    summary = state.current_summary()
    messages: dict[int | None, list[str]] = {}
    for problem in summary.problems:
        messages.setdefault(problem.layer, []).append(problem.message)
    for message in challenge.locked_changes(rules, arch) if rules else ():
        messages.setdefault(None, []).append(message)  # kept from before the lock
    for position, texts in messages.items():  # every message of a layer under it
        place = slots[position].container() if position in slots else right
        for message in texts:  # they quote what was typed or imported
            place.error(text.md(message), icon=":material/warning:")
    marked = {problem.layer for problem in summary.problems}
    for row in summary.rows:
        if row.position in slots and row.position not in marked and not quizzing:
            slots[row.position].caption(row_result(row))
    with right:
        if quizzing:  # the answers stay hidden until guessed
            quiz.panel(arch, summary)
        else:
            shapes_panel(summary)
        actions(arch, summary, editable is not None)


def row_result(row: shapes.Row) -> str:
    """What a layer's settings give, under its fields: shape, formula, parameters."""
    parts = [f"→ **{'×'.join(map(str, row.output_shape))}**"]
    if row.formula:
        parts.append(row.formula)
    if "params" not in row.formula:  # a dense layer's formula is its parameter count
        parts.append(f"{row.params:,} parameters")
    return " · ".join(parts)


def shapes_panel(summary) -> None:
    st.markdown(diagram.network_html(summary, layout.presentation()), unsafe_allow_html=True)
    # A static table of short columns, whose cells wrap, and the formulas as lines under it:
    # in a data frame's fixed columns the right half of a 1280 px screen cut "output
    # (automatic)" and the formulas (issue 22); a 1024 px screen leaves it about 330 px.
    rows = [{"layer": row.name + (" (automatic)" if row.auto else ""),
             "output": "×".join(map(str, row.output_shape)), "params": f"{row.params:,}",
             "MACs": f"{row.macs:,}",
             "RF": "×".join(map(str, row.receptive_field)) if row.receptive_field else ""}
            for row in summary.rows]
    styled = pd.DataFrame(rows).style.set_table_styles(
        [{"selector": "td, th", "props": "padding: 0.3rem 0.3rem"}])
    st.container(key="build_table").table(
        styled, hide_index=True, border="horizontal",
        alt="the network's layers: output shape, parameters, multiply-adds and receptive field "
            "of each")
    st.caption("MACs: multiply-adds per image · RF: receptive field, the input pixels one "
               "output pixel sees")
    st.container(key="build_formulas").markdown("  \n".join(
        f"**{row.name}**: {row.formula}" for row in summary.rows if row.formula))
    totals = st.container(horizontal=True, wrap=True)  # side by side where they fit in full
    totals.metric("parameters", f"{summary.total_params:,}", width="content")
    totals.metric("multiply-adds per image", f"{summary.total_macs:,}", width="content")
    links = [(row, layer_types.learn_settings(row.type, row.layer)) for row in summary.rows]
    links = [(row, settings) for row, settings in links if settings]
    if links:
        with st.expander("How does each conv and pooling layer compute? Step through it"):
            for row, settings in links:
                st.page_link("pages/learn.py", label=f"{row.name}: {row.formula}",
                             icon=":material/calculate:",
                             query_params={**settings, "n": row.input_shape[0]})


def actions(arch: spec.Architecture, summary, locked: bool = False) -> None:
    if summary.ok:
        st.page_link("pages/train.py", label="Train this network →",
                     icon=":material/model_training:")
    else:
        st.button("Train this network →", key="build_train_disabled", disabled=True,
                  help="fix the marked layers first")
        st.warning(f"{len(summary.problems)} problem(s) to fix before training.")
    cols = st.columns(2)
    cols[0].download_button("architecture JSON", spec_json.architecture_to_json(arch),
                            f"{codegen.file_stem(arch.name)}.json", "application/json",
                            key="build_dl_json", icon=":material/download:")
    upload = cols[1].file_uploader("import JSON", type=["json"], key="build_upload",
                                   max_upload_size=1, disabled=locked,
                                   help=classroom.LOCKED_HELP if locked else None)
    if upload is not None and st.session_state.get("build_uploaded") != upload.file_id:
        try:
            state.set_arch(spec_json.architecture_from_json(upload.getvalue()))
            st.session_state.build_uploaded = upload.file_id
            st.rerun()
        except spec.SpecError as exc:
            st.error(text.md(f"{upload.name}: {exc}" + (f" (and {len(exc.problems) - 1} more)"
                                                        if len(exc.problems) > 1 else "")))
    if not summary.ok:
        return
    # Made and drawn only while open: a page switch does not pay for the highlighted code.
    box = st.expander("Keras code for this network", key="build_code", on_change="rerun")
    if box.open:
        code = codegen.script(arch)
        with box:
            st.download_button("Python script", code, f"{codegen.file_stem(arch.name)}.py",
                               "text/x-python", key="build_dl_code",
                               icon=":material/download:")
            st.code(code, language="python")


render()
