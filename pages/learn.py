"""Learn: convolution, stride, padding and pooling, one output cell at a time."""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from cnnlab.learn import conv_explain, conv_steps, kernels
from cnnlab.views import grid_html
from ui import learn_image, numbers, patches, text

patches.use_app_navigation()  # opened first on a fresh server: see ui/patches.py
SECTIONS = ("Convolution", "Pooling", "On a real image")
POOL_MODES = {"max": "max pooling", "avg": "average pooling"}
PADDINGS = ("valid", "same", "explicit")
SOURCES = ("random integers", "patch of a real digit")
TYPED = "typed in"
BUTTONS = {"start": "first_page", "back": "chevron_left", "next": "chevron_right",
           "end": "last_page"}  # key suffix and label -> Material icon
PLAY_SECONDS = 1.0
KEEP = "session"  # widget values survive switching sections and pages
DEFAULTS = {
    "learn_section": SECTIONS[0], "learn_notes": ("", 0, ()),
    "conv_n": 6, "conv_k": 3, "conv_s": 1, "conv_pad": "valid", "conv_p": 1,
    "conv_kernel": "vertical edge", "conv_text": "1 0 -1\n2 0 -2\n1 0 -1",
    "conv_source": SOURCES[0], "conv_seed": 0, "conv_digit": 0,
    "pool_n": 6, "pool_k": 2, "pool_s": 2, "pool_pad": "valid", "pool_mode": "max",
    "pool_source": SOURCES[0], "pool_seed": 0, "pool_digit": 0,
    "img_digit": 0, "img_size": 3, "img_kernel": "vertical edge",
    "img_text": "1 0 -1\n2 0 -2\n1 0 -1", "img_pad": "valid",
}


def _init() -> None:
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value
    _apply_link()


def _apply_link() -> None:
    """Prefill from the Build page's link (query parameters op, n, k, s, pad), then drop it
    from the URL, so the same link applies again next time and the user's changes stick
    meanwhile."""
    link = {k: v for k, v in st.query_params.to_dict().items() if k in ("op", "n", "k", "s", "pad")}
    if not link:
        return
    for key in link:
        del st.query_params[key]
    request = conv_explain.parse_learn_params(link)
    prefix = "conv" if request.op == "conv" else "pool"
    st.session_state.learn_section = SECTIONS[0] if prefix == "conv" else SECTIONS[1]
    if prefix == "pool":
        st.session_state.pool_mode = request.op
    for name in ("n", "k", "s"):
        st.session_state[f"{prefix}_{name}"] = getattr(request, name)
    st.session_state[f"{prefix}_pad"] = request.padding
    st.session_state.learn_notes = (prefix, request.n, request.notes)


def _digits(instead: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The built-in test digits students may see (uint8 (n, 28, 28) and labels, without the
    held-back ones; cached), or None after saying what is shown ``instead``."""
    try:
        from cnnlab.data import refs
        from cnnlab.workspaces import data_roots

        data = data_roots.load(refs.named("mnist-5k"))
        return np.asarray(data.x_test)[..., 0], np.asarray(data.y_test)  # (n, 28, 28), (n,)
    except Exception as exc:  # noqa: BLE001 - whatever failed, say so and carry on
        st.info(f"The built-in digits could not be loaded (`{exc}`); {instead}.")
        return None


def _input_values(prefix: str, n: int, source_col, value_col) -> np.ndarray | None:
    """The explorer's n×n input: small random integers, or a digit's pixels scaled to 0–9;
    None (with the reason under the row) while its seed or digit is out of range."""
    source = source_col.radio("input values", SOURCES, key=f"{prefix}_source",
                              persist_state=KEEP)
    digits = _digits("showing random values instead") if source == SOURCES[1] else None
    if digits is None:
        seed = numbers.whole_number(value_col, "seed", 0, 9999, key=f"{prefix}_seed",
                                    answer=st, persist_state=KEEP)
        return None if seed is None else np.random.default_rng(seed).integers(
            0, 10, (n, n)).astype(float)
    images, labels = digits
    cols = st.columns(2)
    index = numbers.whole_number(value_col, "digit no.", 0, len(images) - 1,
                                 key=f"{prefix}_digit", answer=st, persist_state=KEEP)
    if index is None:
        return None
    top = cols[0].slider("patch row", 0, 28 - n, (28 - n) // 2, key=f"{prefix}_row_{n}")
    left = cols[1].slider("patch column", 0, 28 - n, (28 - n) // 2, key=f"{prefix}_col_{n}")
    st.caption(f"a {n}×{n} patch of digit no. {index} (a {labels[index]}), pixels scaled "
               "from 0–255 to 0–9 so the sums stay readable")
    return np.round(images[index, top:top + n, left:left + n] / 255 * 9)


def _kernel(prefix: str, size: int, col) -> np.ndarray | None:
    """The chosen preset or typed kernel; None (with an error shown) if the text is bad."""
    options = (*kernels.presets_for(size), TYPED)
    if st.session_state[f"{prefix}_kernel"] not in options:
        st.session_state[f"{prefix}_kernel"] = options[0]
    choice = col.selectbox("kernel", options, key=f"{prefix}_kernel", persist_state=KEEP,
                          help="classic hand-made filters, or type your own")
    if choice != TYPED:
        return kernels.kernel_preset(choice, size)
    typed = col.text_area("kernel values: one row per line", key=f"{prefix}_text", height=120,
                          persist_state=KEEP, help="numbers separated by spaces or commas; "
                          "fractions like 1/9 are fine")
    try:
        kernel = kernels.parse_kernel(typed)
    except ValueError as exc:
        st.error(text.md(f"Could not read the kernel: {exc}."))  # it quotes what was typed
        return None
    if kernel.shape[0] != kernel.shape[1]:
        st.error(f"The kernel must be square here; the text gives {kernel.shape[0]} rows of "
                 f"{kernel.shape[1]} values.")
        return None
    col.caption(f"typed: {kernel.shape[0]}×{kernel.shape[1]} (the size setting is ignored)")
    return kernel


def _controls(prefix: str) -> tuple[int, int, int, str | int] | None:
    """Input size, window size, stride and padding widgets; returns (n, k, s, padding), or
    None while a typed size is out of the explorer's range (the reason shown under the row)."""
    cols = st.columns(5)
    window = "kernel size" if prefix == "conv" else "pool size"
    sizes = [numbers.whole_number(col, label, *bounds, key=f"{prefix}_{name}", answer=st,
                                  note=note, persist_state=KEEP)
             for col, label, name, bounds, note in (
                 (cols[0], "input size", "n", conv_explain.INPUT_RANGE, "the explorer's grids"),
                 (cols[1], window, "k", conv_explain.WINDOW_RANGE, "the explorer's windows"),
                 (cols[2], "stride", "s", conv_explain.STRIDE_RANGE, "the explorer's steps"))]
    options = PADDINGS if prefix == "conv" else PADDINGS[:2]
    padding = cols[3].selectbox("padding", options, key=f"{prefix}_pad", persist_state=KEEP,
                                help="valid: none; same: Keras's rule, out = ⌈n / s⌉; "
                                     "explicit: that many zero rows/columns on every side")
    if padding == "explicit":
        padding = numbers.whole_number(cols[4], "zeros per side", 0, 3, key="conv_p", answer=st,
                                       persist_state=KEEP)
    if None in (*sizes, padding):
        return None
    n, k, s = sizes
    return n, k, s, padding


def _explain(n: int, k: int, s: int, padding: str | int) -> None:
    st.markdown(f"**Output size** (rows and columns alike): "
                f"{conv_explain.output_size_explanation(n, k, s, padding)}")
    for warning in conv_explain.fit_warnings(n, k, s, padding):
        st.warning(warning)


def _stepper(prefix: str, steps: list[conv_steps.Step], draw) -> None:
    """Back / next / play over ``steps``; ``draw(index)`` shows one step. Reruns only itself."""
    playing = st.session_state[f"{prefix}_playing"]

    @st.fragment(run_every=PLAY_SECONDS if playing else None)
    def body() -> None:
        last, key = len(steps) - 1, f"{prefix}_step"
        now = time.monotonic()
        due = now - st.session_state[f"{prefix}_tick"] >= PLAY_SECONDS * 0.8  # not on a click
        if st.session_state[f"{prefix}_playing"] and due:
            st.session_state[key] = min(st.session_state[key] + 1, last)
            st.session_state[f"{prefix}_tick"] = now
            if st.session_state[key] >= last:
                st.session_state[f"{prefix}_playing"] = False
        if st.session_state[f"{prefix}_playing"] != playing:
            st.rerun()  # the whole page, so the timer is switched on or off
        bar = st.container(horizontal=True, vertical_alignment="center")
        for name, icon in BUTTONS.items():
            bar.button(name, key=f"{prefix}_{name}", icon=f":material/{icon}:", on_click=_go,
                       args=(prefix, name, last), disabled=last == 0)
        bar.button("pause" if playing else "play", key=f"{prefix}_play",
                       icon=":material/pause:" if playing else ":material/play_arrow:",
                       on_click=_toggle_play, args=(prefix, last), disabled=last == 0)
        bar.caption(f"step {st.session_state[key] + 1} of {last + 1}")
        draw(st.session_state[key])

    body()


def _go(prefix: str, name: str, last: int) -> None:
    key = f"{prefix}_step"
    step = {"start": 0, "back": st.session_state[key] - 1, "next": st.session_state[key] + 1,
            "end": last}[name]
    st.session_state[key] = min(max(step, 0), last)
    st.session_state[f"{prefix}_playing"] = False


def _toggle_play(prefix: str, last: int) -> None:
    playing = not st.session_state[f"{prefix}_playing"]
    if playing and st.session_state[f"{prefix}_step"] >= last:
        st.session_state[f"{prefix}_step"] = 0
    st.session_state[f"{prefix}_playing"] = playing
    st.session_state[f"{prefix}_tick"] = time.monotonic()


def _reset_if_changed(prefix: str, *config) -> None:
    """Back to step 1, paused, whenever the explorer's set-up changes."""
    signature = repr([np.asarray(c).tolist() for c in config])
    if st.session_state.get(f"{prefix}_sig") != signature:
        st.session_state[f"{prefix}_sig"] = signature
        st.session_state[f"{prefix}_step"] = 0
        st.session_state[f"{prefix}_playing"] = False
        st.session_state[f"{prefix}_tick"] = 0.0


def _html(col, title: str, table: str) -> None:
    col.markdown(f"**{title}**")
    col.markdown(table, unsafe_allow_html=True)


def explorer(prefix: str) -> None:
    """The convolution ("conv") or pooling ("pool") explorer: set it up, then step through."""
    controls = _controls(prefix)
    if controls is None:
        return  # a size out of range: the reason is shown under the boxes
    n, k, s, padding = controls
    cols = st.columns([2, 1.5, 1])
    if prefix == "conv":
        mode, kernel = "conv", _kernel("conv", k, cols[0])
    else:
        mode, kernel = cols[0].radio("mode", tuple(POOL_MODES), key="pool_mode",
                                     format_func=POOL_MODES.get, persist_state=KEEP), None
    x = _input_values(prefix, n, cols[1], cols[2])
    if x is None or (mode == "conv" and kernel is None):
        return  # a seed or digit out of range, or a typed kernel unread: the error is shown
    k = kernel.shape[0] if mode == "conv" else k
    _explain(n, k, s, padding)
    padded = conv_steps.pad_input(x, k, s, padding, fill=0.0 if mode == "conv" else np.nan)
    steps = (conv_steps.conv_steps(x, kernel, s, padding) if mode == "conv" else
             conv_steps.pool_steps(x, k, s, padding, mode))
    _reset_if_changed(prefix, x, k if kernel is None else kernel, s, str(padding), mode)
    if not steps:
        _html(st, "Input", grid_html.grid_table(padded.grid, real=padded.real))
        return
    _stepper(prefix, steps, lambda index: _draw(steps, index, padded, x.shape))


def _draw(steps: list[conv_steps.Step], index: int, padded: conv_steps.Padded,
          shape: tuple[int, int]) -> None:
    """Input | kernel and products | output, then the step's arithmetic written out."""
    step, out = steps[index], conv_steps.output_grid(steps, index)
    k, conv = step.window.shape[0], step.mode == "conv"
    widths = [grid_html.grid_width(padded.grid.shape[1]),
              max(grid_html.grid_width(k, numbered=False), 8.0),
              max(grid_html.grid_width(out.shape[1]), 8.0)]
    cols = st.columns(widths if conv else widths[::2], gap="medium")
    winner = None if step.winner is None else (step.top + step.winner[0],
                                              step.left + step.winner[1])
    note = "" if padded.grid.shape == shape else (" (grey: zero padding)" if conv else
                                                  " (grey: padding, never used)")
    _html(cols[0], f"Input {padded.grid.shape[0]}×{padded.grid.shape[1]}{note}",
          grid_html.grid_table(padded.grid, real=padded.real, winner=winner,
                               window=(step.top, step.left, k, k)))
    if conv:
        _html(cols[1], f"Kernel {k}×{k}", grid_html.grid_table(step.kernel, base="kernel",
                                                               numbered=False))
        _html(cols[1], "Products", grid_html.grid_table(step.products, numbered=False))
    _html(cols[-1], f"Output {out.shape[0]}×{out.shape[1]}",
          grid_html.output_table(out, (step.out_row, step.out_col)))
    st.markdown(conv_explain.step_sentence(step, padded=padded.grid.shape != shape))
    st.code(conv_steps.step_formula(step), language=None, wrap_lines=True)


def real_image() -> None:
    chosen = learn_image.choose(_digits)  # a built-in digit, or an own image (colour too)
    if chosen is None:
        return
    planes, what = chosen
    cols = st.columns(3)
    size = cols[0].radio("kernel size", (3, 5), key="img_size", horizontal=True,
                         persist_state=KEEP)
    padding = cols[1].selectbox("padding", PADDINGS[:2], key="img_pad", persist_state=KEEP)
    kernel = _kernel("img", size, cols[2])
    if kernel is None:
        return
    for title, plane in planes:
        learn_image.stages_row(plane, kernel, padding,
                               what if title == "input" else f"{what}: {title}")


def render() -> None:
    _init()
    st.title("Learn: convolution, stride, padding and pooling")
    section = st.segmented_control("explore", SECTIONS, key="learn_section", required=True,
                                   persist_state=KEEP, label_visibility="collapsed")
    prefix, n, notes = st.session_state.learn_notes  # from the last link, until n changes
    linked_section = SECTIONS[0] if prefix == "conv" else SECTIONS[1]
    if section == linked_section and st.session_state.get(f"{prefix}_n") == n:
        for note in notes:
            st.info(f"From your network: {text.md(note)}.")  # notes quote the link
    if section == SECTIONS[2]:
        real_image()
    else:
        explorer("conv" if section == SECTIONS[0] else "pool")


render()
