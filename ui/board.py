"""The teacher's board (the teacher link): the live table and curves on the projector, the
spotlight on one student's network, the challenge, joins open or closed, and the CSV.

The table and curves are a Components-v2 element (``static/board.js``) that polls the board's
live route (``/cnnlab-board/<code>``, :mod:`ui.live_routes`) once a second and redraws itself:
no script rerun per watching board. Without the route (``streamlit run app.py``) a fragment
refreshes it every two seconds instead. Everything here reads the class's files
(:mod:`cnnlab.classes.board`); the spotlight loads the kept copy of a student's best run,
read-only, and never opens a student's workspace. The board changes no student's work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from cnnlab.architecture import presets, spec_json
from cnnlab.classes import board, challenge, store
from cnnlab.data import datasets
from cnnlab.jobs import live_feed
from cnnlab.workspaces import data_roots
from ui import classroom, images, layout, live_routes, state, text

SCRIPT = Path(__file__).with_name("static") / "board.js"
OPENED = "class_board"  # (code, key) of the board this session opened with its teacher link
SPOT = "board_spotlight"  # the spotlit student's id, kept by the element's state
FALLBACK_REFRESH_S = 2.0
NO_START, BUILD_START, UPLOAD_START = "no starting network", "the network on my Build page", \
    "an architecture JSON file"

_component = st.components.v2.component("cnnlab_board", js=SCRIPT.read_text(encoding="utf-8"))


def opened() -> tuple[str, str] | None:
    """The (code, key) this session opened the board with, if any."""
    return st.session_state.get(OPENED)


def forget() -> None:
    st.session_state.pop(OPENED, None)


def page(code: str, key: str) -> None:
    """The board of the teacher link ``code``/``key``; the caller has checked the key."""
    info = store.open_board(code, key)
    st.session_state[OPENED] = (code, key)  # this session only: a page switch keeps the board
    st.query_params[classroom.CLASS_PARAM] = code  # the teacher link again: reload, bookmark
    st.query_params[classroom.KEY_PARAM] = key
    st.subheader(f"Board of {text.md(info.name)}")
    links = store.links(code, key, classroom.base_url())  # a checked URL and code: no user text
    st.markdown(f"Students join at `{links.student}` and pick a name.")
    spot = live(code, key)
    cols = st.columns([3, 2, 2], vertical_alignment="center")
    cols[0].download_button("Download results (CSV)", lambda: board.results_csv(code, key),
                            f"class-{code}-results.csv", "text/csv", key="board_csv",
                            icon=":material/download:")
    cols[1].toggle("Open to new students", info.open, key=f"board_open_{info.open}",
                   on_change=_set_open, args=(code, key, not info.open))
    if spot:
        spotlight(code, key, spot)
    with st.expander("Set the challenge", expanded=info.challenge is None):
        challenge_form(info)


def _set_open(code: str, key: str, is_open: bool) -> None:
    store.set_open(store.open_board(code, key), is_open)


def live(code: str, key: str) -> str | None:
    """The live table and curves; the student the teacher clicked for the spotlight, if any."""
    if live_feed.enabled():
        return _mount(code, key, poll=True)
    st.fragment(run_every=FALLBACK_REFRESH_S)(_mount)(code, key, poll=False)
    return st.session_state.get(SPOT)


def _mount(code: str, key: str, poll: bool) -> str | None:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    url = ("/" + base if base else "") + f"{live_routes.BOARD_ROUTE}/{code}"
    current = board.board(code, key)
    before = st.session_state.get(SPOT)
    result = _component(key="board_live", height="content",
                        data={"url": url, "key": key, "board": current.to_json(), "poll": poll,
                              "font": 19 if layout.presentation() else 15,
                              "spotlight": before},
                        default={"spotlight": None}, on_spotlight_change=lambda: None)
    picked = result.get("spotlight")
    if picked and picked != before:
        st.session_state[SPOT] = picked
        if not poll:  # in the fallback's fragment: the spotlight is drawn by the whole page
            st.rerun(scope="app")
    return st.session_state.get(SPOT)


# --- the spotlight -------------------------------------------------------------------------------

def _kept_run(folder: Path) -> Any:
    """The kept copy's run, loaded once per copy into the process-wide run cache (weighed in
    bytes against the server's memory budget), keyed apart from any workspace's runs."""
    from cnnlab.runs import run_files
    from cnnlab.workspaces import models

    stamp = ":".join(str(p.stat().st_mtime_ns) for p in sorted(folder.iterdir()))
    return models.RUNS.get_or_build((f"spotlight:{folder}", stamp),
                                    lambda: run_files.load_run(folder), size=models.run_bytes)


def spotlight(code: str, key: str, student_id: str) -> None:
    """One student's best run, large and read-only: network diagram and layer table, curves,
    confusion matrix and the misclassified test images of the run's own evaluation (the
    images students may see: never a held-back one)."""
    from cnnlab.architecture import shapes
    from cnnlab.views import charts, diagram

    rows = {row.student_id: row for row in board.board(code, key).rows}
    row = rows.get(student_id)
    if row is None:
        return
    present = True  # large enough for the room, whatever the sidebar's switch says
    st.subheader(f"Spotlight: {text.md(row.name)}")
    try:
        folder = board.spotlight_folder(code, key, student_id)
    except store.NoSuchClass:
        return
    if folder is None:
        st.caption(text.md(f"{row.name} has no saved run yet."))
        return
    try:
        run = _kept_run(folder)
    except ValueError as exc:
        st.error(text.md(f"{row.name}'s run cannot be opened: {exc}"))
        return
    score = (f"challenge score **{row.score:.2%}** on the held-back images"
             if row.score is not None else f"not scored: {text.md(row.reason or '')}")
    summary = shapes.summarize(run.architecture)
    st.markdown(f"**{text.md(run.name)}** · network **{text.md(run.architecture.name)}** · "
                f"{summary.total_params:,} parameters · {run.epochs_completed} epoch(s) · "
                f"{score}")
    st.markdown(diagram.network_html(summary, present), unsafe_allow_html=True)
    st.dataframe(pd.DataFrame([{"layer": r.name + (" (automatic)" if r.auto else ""),
                                "output": "×".join(map(str, r.output_shape)),
                                "parameters": f"{r.params:,}", "how": r.formula}
                               for r in summary.rows]),
                 hide_index=True, key="board_spot_layers")
    cols = st.columns(2)
    for col, metric in zip(cols, ("accuracy", "loss"), strict=True):
        col.altair_chart(charts.compare_chart([run], metric, present)
                         .properties(description=f"line chart, {metric} by epoch of "
                                     f"{run.name}: training solid, validation dashed, a "
                                     "partial epoch a hollow point"),
                         key=f"board_spot_{metric}")
    m = run.metrics
    left, right = st.columns(2)
    left.markdown(f"**Confusion matrix** of its own test ({m.test_samples:,} images students "
                  "may see)")
    left.altair_chart(charts.confusion_chart(m.confusion_matrix, run.class_names, present)
                      .properties(description=text.confusion_description(
                          m.confusion_matrix, run.class_names, run.name)),
                      key="board_spot_confusion")
    with right:
        misclassified(run)


def misclassified(run: Any) -> None:
    """The run's most confident mistakes, from the visible test split of its named data set
    (a set the server does not have, or a run tested on other images, shows none)."""
    wrong = run.misclassified[:16]
    try:
        data = data_roots.load(run.dataset)  # a named set: without its held-back images
    except ValueError:
        data = None
    if not wrong or data is None or run.metrics.test_samples != len(data.y_test) or \
            tuple(data.class_names) != tuple(run.class_names):
        st.caption("No misclassified test images to show for this run.")
        return
    st.markdown("**Misclassified test images**, true → predicted")
    said = [(run.class_names[w.true_label], run.class_names[w.predicted_label]) for w in wrong]
    images.grid([data.x_test[w.index] for w in wrong], width=72,
                captions=[f"{true} → {guess}" for true, guess in said],
                alts=[f"test image {w.index}: true {true}, predicted {guess}"
                      for w, (true, guess) in zip(wrong, said, strict=True)])


# --- the challenge ------------------------------------------------------------------------------

def challenge_form(info: store.ClassInfo) -> None:
    """Set (or clear) the class's challenge: data set, most parameters and epochs, a starting
    network, and the fields left editable in it."""
    current = info.challenge
    named = [d.name for d in datasets.dataset_status() if d.available_offline]
    set_before = current.dataset if current else None  # a built-in set's name, as the CLI has it
    with st.form("board_challenge", border=False):
        box = st.container(horizontal=True, wrap=True, vertical_alignment="bottom")
        dataset = box.selectbox("data set", named, index=named.index(set_before)
                                if set_before in named else 0,
                                key="board_dataset", width=180)
        max_params = box.number_input("most parameters", value=current.max_params if current
                                      else 20_000, step=1_000, key="board_max_params",
                                      width=160)
        max_epochs = box.number_input("most epochs", value=current.max_epochs if current else 5,
                                      step=1, key="board_max_epochs", width=130)
        mine = state.get_arch()
        starts = [NO_START, f"{BUILD_START} ({mine.name})", *presets.PRESET_NAMES, UPLOAD_START]
        start = st.selectbox("starting network", starts, key="board_start",
                             help="every student's Build page starts from it")
        upload = st.file_uploader("architecture JSON (for the last choice)", type=["json"],
                                  key="board_start_file", max_upload_size=1)
        editable = st.multiselect("fields students may change in it (none ticked: no lock)",
                                  challenge.FIELD_NAMES, default=list(current.editable or ())
                                  if current else [], key="board_editable",
                                  help="with fields ticked, every other field, the layers and "
                                  "their order are locked on the students' Build pages")
        cols = st.columns(2)
        save = cols[0].form_submit_button("Set the challenge", type="primary",
                                          icon=":material/flag:")
        clear = cols[1].form_submit_button("Clear the challenge", disabled=current is None)
    if clear:
        store.set_challenge(info, None)
        st.rerun()
    if not save:
        return
    try:
        starting = _starting(start, mine, upload)
        rules = challenge.Challenge(dataset, int(max_params), int(max_epochs), starting,
                                    tuple(editable) if editable else None)
        store.set_challenge(info, rules)
    except ValueError as exc:
        st.error(text.md(exc))
        return
    st.rerun()


def _starting(choice: str, mine: Any, json_file: Any) -> Any:
    """The starting network the teacher chose, or None."""
    if choice == NO_START:
        return None
    if choice.startswith(BUILD_START):
        return mine
    if choice == UPLOAD_START:
        if json_file is None:
            raise ValueError("choose the architecture JSON file to start from")
        return spec_json.architecture_from_json(json_file.getvalue())
    return presets.get(choice)


