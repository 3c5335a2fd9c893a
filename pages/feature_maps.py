"""Feature maps: what every layer of the current model sees, and how its filters look."""

from __future__ import annotations

import numpy as np
import streamlit as st

from cnnlab.inspect import for_run
from cnnlab.views import charts, render, rgb_filters
from cnnlab.workspaces import data_roots
from ui import (
    chart_specs,
    dream,
    explain,
    images,
    layout,
    numbers,
    occlude,
    patches,
    state,
    text,
    widgets,
)

patches.use_app_navigation()  # opened first on a fresh server: see ui/patches.py

INPUTS = ("a test image", "my drawing")
NOTE = "fm_filter_note"  # what a change of class or index did to the other, said once


def choose_input(run) -> tuple[np.ndarray, str] | None:
    """The image to look at (uint8, model-shaped) and a caption, from a test image or a drawing."""
    drawing = st.session_state.get("last_drawing")
    if st.query_params.get("input") == "drawing" and drawing is not None:
        st.session_state.fm_source = INPUTS[1]
        del st.query_params["input"]
    source = st.radio("input", INPUTS, key="fm_source", horizontal=True)
    if source == INPUTS[1]:
        if drawing is None:
            st.info(f"Nothing drawn yet: draw "
                    f"{text.md(for_run.drawing_subject(run.class_names))} on the Draw page, "
                    "then come back.")
            st.page_link("pages/draw.py", label="Go to Draw", icon=":material/draw:")
            return None
        return fitting_drawing(run, drawing)
    workspace = state.session().workspace
    try:  # only a run trained here; never a download, never a set a run zip names
        data = data_roots.run_data(workspace, workspace.current(), run.dataset,
                                   run.class_names, run.name)
    except data_roots.NotHere as exc:
        st.info(text.md(f"The test images are not here: {exc}. Pick “{INPUTS[1]}” to look "
                        f"inside {run.name} with your own drawing or image."))
        return None
    except ValueError as exc:
        st.error(text.md(f"The test images of {run.dataset.label} cannot be loaded: {exc}"))
        return None
    count = len(data.y_test)
    cols = st.columns([2, 2, 1], vertical_alignment="bottom")
    label = cols[0].selectbox("class", ["any", *data.class_names], key="fm_class",
                              on_change=_class_picked, args=(data,))
    if cols[2].button("random", key="fm_random", icon=":material/casino:"):
        pool = np.arange(count) if label == "any" else np.flatnonzero(
            data.y_test == data.class_names.index(label))
        st.session_state.fm_index = int(np.random.default_rng().choice(pool))
    index = numbers.whole_number(cols[1], f"test image (0–{count - 1})", 0, count - 1,
                                 key="fm_index", name="test image", answer=st,
                                 on_change=_index_typed, args=(data,))
    note = st.session_state.pop(NOTE, None)
    if note:
        st.info(text.md(note), icon=":material/filter_alt:")
    if index is None:
        return None
    name = data.class_names[data.y_test[index]]
    return data.x_test[index], f"test image {index}: {name}"  # plain text (ui.images escapes)


def _class_picked(data) -> None:
    """A class was picked: show its first test image unless the one shown is of it already."""
    label, index = st.session_state.fm_class, st.session_state.get("fm_index", 0)
    usable = numbers.out_of_range("test image", index, 0, len(data.y_test) - 1) is None
    if label == "any" or (usable and data.class_names[data.y_test[int(index)]] == label):
        return
    first = int(np.flatnonzero(data.y_test == data.class_names.index(label))[0])
    st.session_state.fm_index = first
    was = (f" (test image {int(index)} is of class {data.class_names[data.y_test[int(index)]]})"
           if usable else "")
    st.session_state[NOTE] = f"Showing test image {first}, the first of class {label}{was}."


def _index_typed(data) -> None:
    """An index was typed: the image it names is shown, and a class filter it does not match
    goes back to "any" (said in words, not silently undone)."""
    label, index = st.session_state.get("fm_class", "any"), st.session_state.fm_index
    if label == "any" or numbers.out_of_range("test image", index, 0, len(data.y_test) - 1):
        return  # out of range: answered under the box
    index = int(index)
    if data.class_names[data.y_test[index]] == label:
        return
    st.session_state.fm_class = "any"
    st.session_state[NOTE] = (f"Test image {index} is of class "
                              f"{data.class_names[data.y_test[index]]}, not {label}: the class "
                              "filter is back to “any”.")


def fitting_drawing(run, drawing: np.ndarray) -> tuple[np.ndarray, str] | None:
    """The last drawing if it was prepared for this model's input shape; else why not."""
    shape = tuple(run.architecture.input_shape or ())
    if tuple(np.shape(drawing)) == shape:
        return drawing, "your drawing"
    st.info(f"Your last drawing or upload was prepared for a "
            f"{'×'.join(map(str, np.shape(drawing)))} model; {text.md(run.name)} takes "
            f"{'×'.join(map(str, shape))} images. Draw or upload it again on the Draw page.")
    st.page_link("pages/draw.py", label="Go to Draw", icon=":material/draw:")
    return None


def colour_filters(conv) -> None:
    """A first layer on rgb input: colour patches, then each input channel's weights."""
    rgb, description = rgb_filters.rgb_filter_grid(conv.kernel)
    st.markdown(f"**{conv.name}** — {description}")
    count = conv.kernel.shape[-1]
    images.picture(rgb, alt=f"{conv.name}'s {count} filters as colour patches",
                   caption="colour patches: what colour and edge each filter answers most")
    for channel, name in enumerate(("red", "green", "blue")):
        rgb, vmin, vmax, text = render.filter_grid(conv.kernel, mode="channel", channel=channel)
        images.picture(rgb, alt=f"{conv.name}'s {count} filters on the {name} input channel, "
                                f"one tile each, blue below 0 and red above",
                       caption=f"{name} channel: {text}; blue < 0 < red, from {vmin:.3g} to "
                               f"{vmax:.3g}")


def layer_grid(fmap) -> None:
    """One layer: its name, type, shape, all channels on one colour scale, and the legend."""
    shape = "×".join(map(str, fmap.output_shape))
    st.markdown(f"**{fmap.name}** · {fmap.type} · {shape}")
    if fmap.spatial:
        rgb, vmin, vmax = render.channel_grid(fmap.values)
        what = (f"its {fmap.output_shape[-1]} feature maps of {fmap.output_shape[0]}×"
                f"{fmap.output_shape[1]}")
    else:
        rgb, vmin, vmax = render.vector_strip(fmap.values)
        what = f"its {fmap.values.size} values as coloured cells"
    scale = f"dark purple {vmin:.3g} to yellow {vmax:.3g}"
    images.picture(rgb, alt=f"{fmap.name}: {what}, on one colour scale from {scale}")
    images.picture(render.colorbar_image(vmin, vmax, width=220),
                   alt=f"{fmap.name}'s colour scale: {scale}", caption=f"{vmin:.3g} … {vmax:.3g}")


def filters_section(pred) -> None:
    convs = pred.conv_filters()
    if not convs:
        return
    with st.expander("Filters (the learned kernels) of every conv layer"):
        mode = st.radio("deeper layers", ["averaged over input channels",
                                          "input channel 0 only"], key="fm_filter_mode",
                        horizontal=True)
        for conv in convs:
            if conv.kernel.shape[2] == 3 and conv is convs[0]:
                colour_filters(conv)
                continue
            rgb, vmin, vmax, description = render.filter_grid(
                conv.kernel, mode="mean" if mode.startswith("averaged") else "channel")
            st.markdown(f"**{conv.name}** — {description}")
            images.picture(rgb, alt=f"{conv.name}'s {conv.kernel.shape[-1]} learned kernels, "
                                    f"one tile each: {description}",
                           caption=f"blue < 0 < red, from {vmin:.3g} to {vmax:.3g}")


def zoom(maps) -> None:
    spatial = [m for m in maps if m.spatial]
    if not spatial:
        return
    with st.expander("Look at one feature map up close"):
        cols = st.columns(2)
        names = [m.name for m in spatial]
        chosen = spatial[names.index(cols[0].selectbox("layer", names, key="fm_zoom_layer"))]
        channel = numbers.whole_number(cols[1], "channel", 0, chosen.output_shape[2] - 1,
                                       key=f"fm_zoom_channel_{chosen.name}", value=0, answer=st)
        if channel is None:
            return
        values = chosen.values[..., channel]
        rgb, vmin, vmax = render.channel_grid(values[..., None], scale=max(
            1, 280 // values.shape[0]))
        images.picture(rgb, alt=f"{chosen.name}, channel {channel}: its {values.shape[0]}×"
                                f"{values.shape[1]} feature map, enlarged",
                       caption=f"{chosen.name}, channel {channel}: values from {vmin:.4g} to "
                               f"{vmax:.4g}")


def inside_the_decision(run, image: np.ndarray, epoch: int | None) -> None:
    """Saliency, Grad-CAM and a unit's region for this image; computed only while open."""
    box = st.expander("Why this answer? What does a unit see?", key="fm_inside",
                      on_change="rerun", icon=":material/visibility:")
    if not box.open:
        return
    with box:
        final = state.predictor(run)  # the maps are taken with the final weights
        if epoch is not None and epoch != max(run.epoch_weights, default=epoch):
            st.caption(f"Shown with the final weights, not those after epoch {epoch}.")
        explain.decision_tabs(run, final, image, final.probabilities(image), key="fm")


def render_page() -> None:
    st.title("Feature maps")
    run = widgets.model_or_offer("fm")
    if run is None:
        return
    chosen = choose_input(run)
    epochs = sorted(run.epoch_weights)
    epoch = epochs[-1] if epochs else None
    if len(epochs) > 1:
        epoch = st.select_slider("weights after epoch (0 = before training)", epochs,
                                 epochs[-1], key="fm_epoch")
    if chosen is None:
        dream.section(run, "fm")  # it needs no picture
        return
    image, caption = chosen
    pred = state.predictor(run, epoch)
    maps = pred.feature_maps(image)
    inside_the_decision(run, image, epoch)
    occlude.section(run, image, None, key="fm")  # the final weights, as the section above
    left, right = st.columns([1, 3])
    probs = maps[-1].values
    top = int(np.argmax(probs))
    with left:  # colour input in colour
        images.picture(render.input_picture(image), caption=caption,
                       alt=f"{caption}, predicted {run.class_names[top]} ({probs[top]:.0%})")
    left.markdown(f"Prediction: **{text.md(run.class_names[top])}** ({probs[top]:.0%})")
    chart_specs.show(left, charts.class_bar_chart, probs, run.class_names, "probability", top,
                     layout.presentation(), key="fm_probs",
                     description=text.bars_description("probability", probs, run.class_names))
    with right:
        for fmap in maps[:-1]:
            with st.container(border=True, key=f"fm_layer_{fmap.name}"):
                layer_grid(fmap)
    zoom(maps)
    filters_section(pred)
    dream.section(run, "fm", final_only=epoch is not None and epoch != max(epochs))


render_page()
