"""Build: compose the network layer by layer and see every shape, live."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import ui_session
from cnnlab.architecture import codegen, editing, presets, shapes, spec, spec_json
from cnnlab.views import diagram

ACTIVATION_HELP = "relu is the usual choice; tanh and sigmoid squash; linear does nothing"
TYPE_LABELS = {
    "conv2d": "conv", "max_pool2d": "max pool", "avg_pool2d": "avg pool",
    "global_avg_pool2d": "global avg pool", "global_max_pool2d": "global max pool",
    "batch_norm": "batch norm", "dropout": "dropout", "flatten": "flatten", "dense": "dense",
}


def _pair(col_h, col_w, label: str, key: str, value: tuple[int, int], top: int):
    h = col_h.number_input(f"{label} h", 1, top, int(min(value[0], top)), key=f"{key}_h")
    w = col_w.number_input(f"{label} w", 1, top, int(min(value[1], top)), key=f"{key}_w")
    return (int(h), int(w))


def _padding(col, key: str, value: str) -> str:
    chosen = col.segmented_control("padding", spec.PADDINGS, default=value, key=key,
                                   help='"valid": no padding, the map shrinks; "same": zeros '
                                        "around the edge keep the size (at stride 1)")
    return chosen or value  # clicking the selected option again deselects it: keep the value


def _activation(col, key: str, value: str) -> str:
    options = list(spec.ACTIVATIONS)
    return col.selectbox("activation", options, options.index(value) if value in options else 0,
                         key=key, help=ACTIVATION_HELP)


def layer_fields(layer: spec.Layer, key: str) -> spec.Layer:
    """The widgets of one layer's fields; returns the layer as the widgets now say."""
    kind = layer.type
    if kind == "conv2d":
        cols = st.columns(5)
        filters = cols[0].number_input("filters", 1, 512, min(layer.filters, 512),
                                       key=f"{key}_filters")
        kernel = _pair(cols[1], cols[2], "kernel", f"{key}_kernel", layer.kernel_size, 11)
        strides = _pair(cols[3], cols[4], "stride", f"{key}_stride", layer.strides, 5)
        cols = st.columns([2, 3])
        return spec.make_layer(kind, filters=int(filters), kernel_size=kernel, strides=strides,
                               padding=_padding(cols[0], f"{key}_padding", layer.padding),
                               activation=_activation(cols[1], f"{key}_act", layer.activation))
    if kind in spec.POOL_TYPES:
        cols = st.columns([1, 1, 1, 1, 2.4])
        pool = _pair(cols[0], cols[1], "size", f"{key}_pool", layer.pool_size, 8)
        strides = _pair(cols[2], cols[3], "stride", f"{key}_stride", layer.strides, 8)
        return spec.make_layer(kind, pool_size=pool, strides=strides,
                               padding=_padding(cols[4], f"{key}_padding", layer.padding))
    if kind == "dropout":
        rate = st.slider("rate (share of values dropped while training)", 0.0, 0.9,
                         float(layer.rate) if layer.rate is not None else 0.25, 0.05,
                         key=f"{key}_rate")
        return spec.make_layer(kind, rate=round(rate, 2))
    if kind == "dense":
        cols = st.columns([1, 1, 3])
        units = cols[0].number_input("units", 1, 4096, min(layer.units, 4096), key=f"{key}_units")
        return spec.make_layer(kind, units=int(units),
                               activation=_activation(cols[1], f"{key}_act", layer.activation))
    return layer


def _move(index: int, offset: int) -> None:
    ids = ui_session.layer_ids()
    target = max(0, min(index + offset, len(ids) - 1))
    ids.insert(target, ids.pop(index))
    ui_session.update_arch(editing.move_layer(ui_session.get_arch(), index, offset), ids)


def _remove(index: int) -> None:
    ids = ui_session.layer_ids()
    del ids[index]
    ui_session.update_arch(editing.remove_layer(ui_session.get_arch(), index), ids)


def _change_type(index: int, key: str) -> None:
    arch, ids = ui_session.get_arch(), ui_session.layer_ids()
    layer = editing.change_type(arch.layers[index], st.session_state[key])
    ids[index] = ui_session.new_id()
    ui_session.update_arch(editing.replace_layer(arch, index, layer), ids)


def _add() -> None:
    arch, ids = ui_session.get_arch(), ui_session.layer_ids()
    where = st.session_state.build_add_where
    index = len(arch.layers) if where == 0 else where
    ids.insert(index, ui_session.new_id())
    layer = editing.new_layer(st.session_state.build_add_type)
    ui_session.update_arch(editing.insert_layer(arch, index, layer), ids)


def _load_preset() -> None:
    name = st.session_state.build_preset
    ui_session.set_arch(presets.get(name) if name != "(empty)" else spec.Architecture("my-cnn"))


def layer_editor(arch: spec.Architecture) -> tuple[list[spec.Layer], dict[int, st.empty]]:
    """One bordered row per layer; returns the edited layers and a message slot per layer."""
    layers, slots, ids = [], {}, ui_session.layer_ids()
    types = list(spec.LAYER_TYPES)
    for index, (layer, lid) in enumerate(zip(arch.layers, ids, strict=True)):
        key = f"layer{lid}"
        with st.container(border=True):
            head = st.columns([0.3, 1.8, 2.4], vertical_alignment="center")
            head[0].markdown(f"**{index + 1}**")
            head[1].selectbox("type", types, types.index(layer.type), key=f"{key}_type",
                              format_func=TYPE_LABELS.get, label_visibility="collapsed",
                              on_change=_change_type, args=(index, f"{key}_type"))
            buttons = head[2].container(horizontal=True, horizontal_alignment="right",
                                        wrap=False)
            buttons.button(":material/arrow_upward:", key=f"{key}_up", on_click=_move,
                           args=(index, -1), disabled=index == 0, help="move up")
            buttons.button(":material/arrow_downward:", key=f"{key}_down", on_click=_move,
                           args=(index, 1), disabled=index == len(ids) - 1, help="move down")
            buttons.button(":material/delete:", key=f"{key}_remove", on_click=_remove,
                           args=(index,), help="remove this layer")
            layers.append(layer_fields(layer, key))
            slots[index + 1] = st.empty()  # the layer's result, or the validator's message
    return layers, slots


def add_controls(count: int) -> None:
    cols = st.columns([2, 2, 1], vertical_alignment="bottom")
    cols[0].selectbox("add a layer", spec.LAYER_TYPES, key="build_add_type",
                      format_func=TYPE_LABELS.get)
    cols[1].selectbox("where", range(count + 1), key="build_add_where",
                      format_func=lambda i: "at the end" if i == 0 else f"before layer {i}")
    cols[2].button("Add", icon=":material/add:", key="build_add", on_click=_add, width="stretch")


def render() -> None:
    st.title("Build")
    arch = ui_session.get_arch()
    top = st.columns([2, 1, 3], vertical_alignment="bottom")
    top[0].selectbox("start from a preset", ["(empty)", *presets.PRESET_NAMES],
                     index=1 + presets.PRESET_NAMES.index(presets.DEFAULT_PRESET),
                     key="build_preset", help="\n\n".join(
                         f"**{n}**: {presets.describe(n)}" for n in presets.PRESET_NAMES))
    top[1].button("Load", key="build_load", on_click=_load_preset, width="stretch")
    top[2].caption(f"Input {'×'.join(map(str, arch.input_shape or spec.DEFAULT_INPUT_SHAPE))}"
                   " (the data set sets it when training). The softmax output layer is added "
                   "automatically; so is a Flatten wherever a dense layer meets a feature map.")
    left, right = st.columns([11, 10], gap="large")
    with left:
        layers, slots = layer_editor(arch)
        add_controls(len(layers))
    arch = spec.Architecture(arch.name, tuple(layers), arch.input_shape, arch.num_classes)
    ui_session.update_arch(arch, ui_session.layer_ids())
    summary = ui_session.current_summary()
    for problem in summary.problems:
        (slots.get(problem.layer) or right).error(problem.message, icon=":material/warning:")
    marked = {problem.layer for problem in summary.problems}
    for row in summary.rows:
        if row.position in slots and row.position not in marked:
            slots[row.position].caption(row_result(row))
    with right:
        shapes_panel(summary)
        actions(arch, summary)


def row_result(row: shapes.Row) -> str:
    """What a layer's settings give, under its fields: shape, formula, parameters."""
    parts = [f"→ **{'×'.join(map(str, row.output_shape))}**"]
    if row.formula:
        parts.append(row.formula)
    if "params" not in row.formula:  # a dense layer's formula is its parameter count
        parts.append(f"{row.params:,} parameters")
    return " · ".join(parts)


def shapes_panel(summary) -> None:
    st.markdown(diagram.network_svg(summary), unsafe_allow_html=True)
    rows = [{"#": str(row.position or ""),
             "layer": row.name + (" (automatic)" if row.auto else ""),
             "output": "×".join(map(str, row.output_shape)), "params": row.params,
             "MACs": row.macs,
             "receptive field": "×".join(map(str, row.receptive_field))
             if row.receptive_field else "", "formula": row.formula} for row in summary.rows]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="build_table",
                 column_config={
                     "#": st.column_config.TextColumn(width=30),
                     "layer": st.column_config.TextColumn(width=80),
                     "output": st.column_config.TextColumn(width=80),
                     "params": st.column_config.NumberColumn(format="localized", width=70),
                     "MACs": st.column_config.NumberColumn(format="localized", width=80,
                                                           help="multiply-adds per image"),
                     "receptive field": st.column_config.TextColumn(
                         "RF", width=50, help="receptive field: the input pixels one output "
                         "pixel sees"),
                     "formula": st.column_config.TextColumn(width="large")})
    cols = st.columns(2)
    cols[0].metric("parameters", f"{summary.total_params:,}")
    cols[1].metric("multiply-adds per image", f"{summary.total_macs:,}")
    spatial = [row for row in summary.rows if row.type in spec.SPATIAL_TYPES]
    if spatial:
        with st.expander("How does each conv and pooling layer compute? Step through it"):
            for row in spatial:
                k = row.layer.kernel_size or row.layer.pool_size
                op = {"conv2d": "conv", "max_pool2d": "max", "avg_pool2d": "avg"}[row.type]
                st.page_link("pages/learn.py", label=f"{row.name}: {row.formula}",
                             icon=":material/calculate:",
                             query_params={"op": op, "n": row.input_shape[0], "k": k[0],
                                           "s": row.layer.strides[0], "pad": row.layer.padding})


def actions(arch: spec.Architecture, summary) -> None:
    if summary.ok:
        st.page_link("pages/train.py", label="Train this network →",
                     icon=":material/model_training:")
    else:
        st.button("Train this network →", key="build_train_disabled", disabled=True,
                  help="fix the marked layers first")
        st.warning(f"{len(summary.problems)} problem(s) to fix before training.")
    cols = st.columns(2)
    cols[0].download_button("⬇ architecture JSON", spec_json.architecture_to_json(arch),
                            f"{arch.name}.json", "application/json", key="build_dl_json")
    upload = cols[1].file_uploader("import JSON", type=["json"], key="build_upload",
                                   max_upload_size=1)
    if upload is not None and st.session_state.get("build_uploaded") != upload.file_id:
        try:
            ui_session.set_arch(spec_json.architecture_from_json(upload.getvalue()))
            st.session_state.build_uploaded = upload.file_id
            st.rerun()
        except spec.SpecError as exc:
            st.error(f"{upload.name}: {exc}" + (f" (and {len(exc.problems) - 1} more)"
                                                if len(exc.problems) > 1 else ""))
    if summary.ok:
        code = codegen.script(arch)
        with st.expander("Keras code for this network"):
            st.download_button("⬇ Python script", code, f"{arch.name}.py", "text/x-python",
                               key="build_dl_code")
            st.code(code, language="python")


render()
