"""My classes: name your own classes, draw examples of each, train your network on them."""

from __future__ import annotations

import streamlit as st

from cnnlab.architecture import shapes
from cnnlab.data import drawn, refs
from cnnlab.views import charts
from cnnlab.workspaces import drawn_sets
from ui import chart_specs, jobs, layout, numbers, patches, state, text, widgets
from ui import drawn as mine

patches.use_app_navigation()  # opened first on a fresh server: see ui/patches.py

CANVAS_COLUMN_PX = 290
EXAMPLE_NAMES = "circle\ncross\nline"
MAX_EPOCHS = 50


def naming() -> None:
    st.markdown("Teach **your own network** classes you make up: name 2 to "
                f"{drawn_sets.max_classes()} classes (one per line), draw at least "
                f"{drawn.MIN_PER_CLASS} examples of each, then train.")
    typed = st.text_area("class names, one per line", EXAMPLE_NAMES, key="mine_names",
                         height=120, max_chars=400)
    st.button("Create my classes", key="mine_create", type="primary", disabled=not typed.strip(),
              on_click=mine.name_classes)
    mine.upload()


def drawing(drawn_set: drawn.DrawnSet) -> None:
    counts = drawn_set.counts()
    # The options' labels stay the names alone: a label that changed with each count would
    # make Streamlit see a new widget and jump back to the first class.
    index = st.radio("draw an example of", range(len(drawn_set.names)), key="mine_class",
                     horizontal=True, format_func=lambda i: text.md(drawn_set.names[i]))
    st.container(key="mine_counts").markdown("examples: " + " · ".join(
        f"**{text.md(name)}** {count}/{drawn.MIN_PER_CLASS}"
        + (" :material/check:" if count >= drawn.MIN_PER_CLASS else "")
        for name, count in zip(drawn_set.names, counts, strict=True)))
    row = st.container(horizontal=True, gap="large")
    left, right = row.container(width=CANVAS_COLUMN_PX), row.container()
    with left:
        stroke = st.slider("pen width", 8, 40, 22, 2, key="mine_stroke")
        mine.canvas(stroke, drawn_set, index)
        st.button("Undo last example", key="mine_undo", icon=":material/undo:",
                  disabled=not len(drawn_set.labels), on_click=mine.change,
                  args=(lambda s: s.undo(),))
    with right:
        st.markdown(f"**{text.md(drawn_set.names[index])}**: {counts[index]} example(s)")
        mine.thumbnails(drawn_set, index)


def _state(key: str):
    """A widget's value when a callback runs (the value the click came with)."""
    return st.session_state.get(key)


def classes_editor(drawn_set: drawn.DrawnSet) -> None:
    with st.expander("Rename, add or remove classes; download or upload the set"):
        cols = st.columns([2, 2, 1], vertical_alignment="bottom")
        which = cols[0].selectbox("class", range(len(drawn_set.names)), key="mine_edit_class",
                                  format_func=lambda i: drawn_set.names[i])
        cols[1].text_input("new name", key="mine_new_name", max_chars=drawn.NAME_CHARS)
        cols[2].button("Rename", key="mine_rename", on_click=mine.change,
                       args=(lambda s: s.rename(_state("mine_edit_class"),
                                                _state("mine_new_name")),))
        cols = st.columns([2, 1, 1], vertical_alignment="bottom")
        cols[0].text_input("another class", key="mine_added_name",
                                   max_chars=drawn.NAME_CHARS)
        cols[1].button("Add class", key="mine_add_class", on_click=mine.change,
                       args=(lambda s: s.add_class(_state("mine_added_name")),))
        cols[2].button(f"Remove {text.md(drawn_set.names[which])}", key="mine_remove",
                       on_click=mine.change,
                       args=(lambda s: s.remove_class(_state("mine_edit_class")),))
        mine.download(drawn_set)
        mine.upload()
        st.button("Start over (delete every class and drawing)", key="mine_forget",
                  on_click=mine.save, args=(None,))


def training(drawn_set: drawn.DrawnSet) -> None:
    st.subheader("Train your network on them")
    arch = state.get_arch()
    cols = st.columns(3, vertical_alignment="bottom")
    copies = cols[0].slider("copies of each drawing", 0, 8, 4, key="mine_copies",
                            help="small random shifts, rotations, zoom and pen-width changes")
    strength = cols[1].selectbox("how far copies move", ["light", "strong"], key="mine_strength")
    epochs = numbers.whole_number(cols[2], "epochs", 1, MAX_EPOCHS, key="mine_epochs",
                                  value=15, answer=st)
    if copies and st.toggle("show copies", key="mine_preview"):
        mine.preview(drawn_set, copies, strength)
    problems = [p.message for p in shapes.summarize(
        arch, (drawn.SIDE, drawn.SIDE, 1), len(drawn_set.names)).problems] + (
        [f"Draw at least {drawn.MIN_PER_CLASS} examples of each class first; still short: "
         + ", ".join(drawn_set.missing())] if drawn_set.missing() else [])
    for problem in problems:
        st.warning(text.md(problem))
    st.markdown(f"Network: **{text.md(arch.name)}** ([change it on the Build page](/build?"
                f"{state.TOKEN_PARAM}={state.session().workspace.token}))")
    running = jobs.active() is not None
    if running:
        st.button("Stop", key="mine_stop", icon=":material/stop:", on_click=jobs.stop)
    elif st.button("Train on my drawings", key="mine_train", type="primary",
                   icon=":material/play_arrow:", disabled=bool(problems) or epochs is None):
        error = mine.train(drawn_set, int(epochs), int(copies), strength, mine.TRAIN_SEED)
        if error:
            st.error(text.md(error))
        else:
            st.rerun()
    st.fragment(run_every=1.0 if running else None)(progress)()


def progress() -> None:
    job = jobs.job()
    if job is None:
        return
    snap = job.snapshot()
    if snap.state.final:
        jobs.rerun_when_final()
        if snap.state == "failed":
            st.error(text.md(f"Training {snap.name} failed: {snap.message}"))
        return
    widgets.show_progress(snap)


def results() -> None:
    run = state.current_run()
    if run is None or run.dataset.kind != refs.DRAWN or jobs.active() is not None:
        return
    st.subheader(f"{text.md(run.name)}: {run.metrics.test_accuracy:.0%} of the held-out "
                 "drawings right")
    chart_specs.show(st, charts.confusion_chart, run.metrics.confusion_matrix, run.class_names,
                     layout.presentation(), key="mine_confusion",
                     description=text.confusion_description(run.metrics.confusion_matrix,
                                                            run.class_names, run.name))
    st.page_link("pages/draw.py", label="Test it: draw on the Draw page", icon=":material/draw:")
    st.page_link("pages/feature_maps.py", label="See its feature maps",
                 icon=":material/layers:")


def render_page() -> None:
    st.title("My classes")
    mine.show_message()
    drawn_set = mine.current()
    if drawn_set is None:
        naming()
        return
    drawing(drawn_set)
    classes_editor(drawn_set)
    training(drawn_set)
    results()


render_page()
