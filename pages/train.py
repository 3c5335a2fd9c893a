"""Train: train the network live on real data, stop at any time, compare runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from cnnlab.architecture import shapes
from cnnlab.data import datasets, refs
from cnnlab.models import optimizers
from cnnlab.runs import records as runs
from cnnlab.training import hints
from cnnlab.views import charts
from cnnlab.workspaces import data_roots
from ui import (
    augment_preview,
    chart_specs,
    classroom,
    datasets_upload,
    images,
    jobs,
    layout,
    live_chart,
    patches,
    state,
    text,
    widgets,
)

patches.use_app_navigation()  # opened first on a fresh server: see ui/patches.py

FOLDER = "a local folder of IDX files"
# The runs table's accuracies (the place for more, e.g. a precision): shown alike, in percent
# with two decimals, and what each one means.
ACCURACY_COLUMNS = {
    "train acc": "accuracy on the training images over the last epoch trained",
    "val acc": "accuracy on the validation split after the last epoch; empty: the run had no "
               "validation split (validation share 0)",
    "test acc": "accuracy on the test images",
}
MAX_RUN_UPLOAD_MB = 200


def dataset_choice(running: bool) -> refs.DatasetRef | None:
    """The data set picker with its state; the chosen set's ref (made here, once), or None."""
    status = {info.name: info for info in datasets.dataset_status()}
    roots = data_roots.roots()  # folder data sets only under CNNLAB_DATA_DIRS (none: off)
    options = [*datasets.NAMES, datasets_upload.UPLOAD, *([FOLDER] if roots else [])]
    choice = st.selectbox("data set", options, key="train_dataset", disabled=running)
    if choice in status:  # under the box: in the box, a narrow column cut it mid-word
        st.caption(status[choice].description)
    if choice == datasets_upload.UPLOAD:
        return datasets_upload.choose(running)
    if choice == FOLDER:
        folder = st.text_input("folder path", key="train_folder", disabled=running,
                               placeholder=str(roots[0] / "fashion-mnist"),
                               help="a folder under " + ", ".join(map(str, roots)) + " of IDX "
                               "files, or with one subfolder of PNG/JPEG images per class")
        if not folder.strip():
            return None
        try:
            return datasets_upload.with_options(data_roots.folder_ref(folder), running)
        except ValueError as exc:  # e.g. a path no folder can have
            st.error(str(exc))
            return None
    info = status[choice]
    if info.available_offline:
        return refs.named(choice)
    st.warning(f"{choice} is not on this computer yet. {info.detail}")
    if st.button(f"Download {choice}", key="train_download", disabled=running):
        bar = st.progress(0.0, text=f"downloading {choice}…")
        try:
            datasets.load_dataset(choice, progress=lambda done, total: bar.progress(
                min(done / total, 1.0) if total else 0.0, text=f"downloading {choice}: "
                f"{done / 1e6:.1f} of {total / 1e6:.1f} MB"))
            st.rerun()
        except ValueError as exc:
            st.error(text.md(exc))
    return None


def dataset_preview(ref: refs.DatasetRef) -> datasets.Dataset | None:
    # Progress while images decode; also how a decode whose page has moved on (a new size
    # typed) stops at its next image, its memory reservation let go, instead of running on.
    bar = st.empty()
    try:
        data = data_roots.load(ref, state.session().workspace,  # uploads: this workspace's
                               lambda done, total: bar.progress(
                                   done / total, text=f"reading {done:,} of {total:,} images"))
    except ValueError as exc:
        st.error(text.md(exc))
        return None
    finally:
        bar.empty()
    with st.expander(f"{text.md(data.name)}: {len(data.y_train):,} training and "
                     f"{len(data.y_test):,} test images, {data.num_classes} classes",
                     expanded=False):
        picks = np.concatenate(datasets.sample_images(data, per_class=2, seed=0))
        names = [data.class_names[data.y_train[i]] for i in picks]
        images.grid([data.x_train[i] for i in picks], width=56, captions=names,
                    alts=[f"training image {i}: {name}" for i, name in zip(picks, names,
                                                                             strict=True)])
        st.dataframe(pd.DataFrame({"class": data.class_names,
                                   "training images": data.class_counts("train"),
                                   "test images": data.class_counts("test")}),
                     hide_index=True, key="train_counts")
    datasets_upload.show_notes(data)
    return data


def hyperparameter_inputs(running: bool) -> runs.Hyperparameters | None:
    # One row that wraps, each widget at its own width: in the narrow settings column of a
    # 1024 px screen they take more rows instead of squeezing labels ("optimize r").
    box = st.container(horizontal=True, wrap=True, vertical_alignment="bottom")
    # No bounds in the browser (ui/numbers.py): Hyperparameters says what an epoch count or a
    # seed out of range should be, under the row.
    epochs = box.number_input("epochs", value=3, step=1, key="train_epochs",
                              disabled=running, width=110)
    batch = box.select_slider("batch size", [8, 16, 32, 64, 128, 256, 512], 64,
                              key="train_batch", disabled=running, width=150)
    optimizer = box.selectbox("optimizer", list(optimizers.NAMES), key="train_opt",
                              disabled=running, width=130)
    rate = box.select_slider("learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3,
                                               1.0], runs.Hyperparameters.learning_rate,
                             key="train_lr", disabled=running,
                             format_func=lambda v: f"{v:g}", width=150)
    schedule = box.selectbox("learning-rate schedule", optimizers.SCHEDULES,
                             index=optimizers.SCHEDULES.index(optimizers.DEFAULT_SCHEDULE),
                             key="train_schedule", disabled=running, width=170,
                             help="constant: the same rate throughout; cosine: from the rate "
                                  "down to 0 by the last batch; step: a tenth of it from "
                                  "half-way, a hundredth from three quarters")
    val = box.slider("validation share", 0.0, 0.5, 0.1, 0.05, key="train_val",
                     disabled=running, width=150)
    seed = box.number_input("seed", value=0, step=1, key="train_seed", disabled=running,
                            width=110)
    augment = augment_preview.choice(box, running)
    try:
        return runs.Hyperparameters(int(epochs), int(batch), optimizer, float(rate), float(val),
                                    int(seed), augment, schedule)
    except ValueError as exc:
        st.error(text.md(exc))
        return None


def live_view() -> None:
    """Progress and curves of this session's job while it lives (or failed); refreshed by a
    fragment while it runs. A saved job's run has its curves under "Results of ..."."""
    job = jobs.job()
    if job is None:
        st.info("Choose a data set and settings, then press **Train**. The curves grow here "
                "while it trains.")
        return
    snap = job.snapshot()  # one state for the whole drawing: no empty refresh in between
    done = snap.state.final  # the bar stays while the job saves its run
    if done:
        jobs.rerun_when_final()
    if snap.state == "failed":
        st.error(text.md(f"Training {snap.name} failed: {snap.message}"))
    elif snap.state == "cancelled":  # stopped while it waited: nothing was trained
        st.info("The last training was cancelled before it started: nothing was trained. "
                "Press **Train** to start again.")
        return
    elif snap.state == "saved":  # its curves are the run's own, with its other results
        st.markdown(saved_note(snap.name))
        return
    else:
        widgets.show_progress(snap)
    if snap.state == "queued" or (not done and not snap.history and not snap.curve.steps):
        return  # nothing to draw yet (queued, or compiling): keep these refreshes cheap
    name = text.md(snap.name)
    st.markdown(f"**Curves of {name}**, training now" if not done else
                f"**Curves of {name}**, which failed: no run was saved")
    curves(snap.curve, snap.history, snap.epochs, snap.name, "train_chart")
    for hint in hints.training_hints(snap.history, snap.curve,
                                     job.hyperparameters.learning_rate):
        st.warning(hint, icon=":material/lightbulb:")


def saved_note(name: str) -> str:
    """Where a saved job's run is shown: below, if it is the current model."""
    current = state.current_run()
    if current is not None and current.name == name:
        return f"**{text.md(name)}** is trained and saved: its results are below."
    return (f"**{text.md(name)}**, the last run, is saved. The results below are the current "
            "model's: choose the current model under the runs table.")


def curves(curve, history, epochs: int, name: str, key: str) -> None:
    """A run's (or a job's) loss and accuracy by epoch, each chart titled with its name, and
    the caption of their series (a partial epoch's hollow point named in it)."""
    cols = st.columns(2)
    for col, metric in zip(cols, ("loss", "accuracy"), strict=True):
        col.vega_lite_chart(charts.training_chart(curve, history, metric, epochs,
                                                  layout.presentation(), run=name),
                            key=f"{key}_{metric}")
    partial = charts.partial_caption(history, curve.batches_per_epoch)
    st.caption(charts.SERIES_CAPTION + (f" · {partial}" if partial else ""))


def network_note(run) -> None:
    """Say when the run is of a network other than the one being built (Train trains that)."""
    arch = state.get_arch()
    if (run.architecture.name, run.architecture.layers) != (arch.name, arch.layers):
        st.caption(text.md(f"{run.name} is a {run.architecture.name} network, not "
                           f"{arch.name} being built above: press Train to train that one."))


def results(run) -> None:
    st.subheader(f"Results of {text.md(run.name)}" + (" (stopped early)" if run.stopped else ""))
    network_note(run)
    m = run.metrics
    cols = st.columns(4)
    cols[0].metric("test accuracy", f"{m.test_accuracy:.2%}")
    cols[1].metric("test loss", f"{m.test_loss:.4f}")
    whole, partial = runs.epochs_trained(run.history, run.hyperparameters.epochs,
                                         run.curve.batches_per_epoch)
    cols[2].metric("epochs trained", whole, partial, delta_color="off", delta_arrow="off")
    cols[3].metric("test images", f"{m.test_samples:,}")
    curves(run.curve, run.history, run.hyperparameters.epochs, run.name, "train_run_chart")
    left, right = st.columns(2)
    chart_specs.show(left, charts.confusion_chart, m.confusion_matrix, run.class_names,
                     layout.presentation(), run=run.name, key="train_confusion",
                     description=text.confusion_description(m.confusion_matrix, run.class_names,
                                                            run.name))
    chart_specs.show(right, charts.class_bar_chart, m.per_class_accuracy, run.class_names,
                     "accuracy per class", presentation=layout.presentation(), run=run.name,
                     key="train_per_class",
                     description=text.bars_description(f"{run.name}'s test accuracy",
                                                       m.per_class_accuracy, run.class_names))
    wrong = run.misclassified[:24]
    if wrong:
        data = test_images(run)
        # a run tested on other images (one trained before the held-back split) is not shown
        if data is not None and m.test_samples == len(data.y_test):
            st.markdown("**Misclassified test images**, true class → predicted (most confident "
                        "mistakes first)")
            said = [(run.class_names[w.true_label], run.class_names[w.predicted_label])
                    for w in wrong]
            images.grid([data.x_test[w.index] for w in wrong], width=64,
                        captions=[f"{true} → {guess}" for true, guess in said],
                        alts=[f"test image {w.index}: true {true}, predicted {guess}"
                              for w, (true, guess) in zip(wrong, said, strict=True)])


def test_images(run) -> datasets.Dataset | None:
    """The current run's data set, if it was trained here and loads (never downloaded); else
    None, with a caption saying why when it is not here."""
    workspace = state.session().workspace
    try:
        return data_roots.run_data(workspace, workspace.current(), run.dataset,
                                   run.class_names, run.name)
    except data_roots.NotHere as exc:
        st.caption(text.md(f"Misclassified test images are not shown: {exc}."))
    except ValueError:
        pass  # the preview above, or Feature maps, says what is wrong with the set
    return None


def run_history() -> None:
    kept = state.runs()
    if not kept:
        return
    st.subheader("Runs of this workspace")
    table = pd.DataFrame([{
        "run": r.name, "architecture": r.architecture.name, "data set": r.dataset.label,
        "epochs": f"{r.epochs_completed}/{r.hyperparameters.epochs}",
        "batch": r.hyperparameters.batch_size, "optimizer": r.hyperparameters.optimizer,
        "learning rate": r.hyperparameters.learning_rate,
        "schedule": r.hyperparameters.lr_schedule,
        "augment": r.hyperparameters.augment, "precision": r.metrics.precision,
        "train acc": r.history[-1].accuracy if r.history else np.nan,
        "val acc": r.history[-1].val_accuracy if r.history else np.nan,
        "test acc": r.test_accuracy, "ended": "stopped" if r.stopped else "finished",
    } for r in kept])
    # In percent with two decimals, as numbers (the table sorts them); none shows empty
    table[list(ACCURACY_COLUMNS)] = table[list(ACCURACY_COLUMNS)].astype(float) * 100
    picked = st.dataframe(table, hide_index=True, key="train_runs", on_select="rerun",
                          selection_mode="multi-row", placeholder="", column_config={
                              column: st.column_config.NumberColumn(help=help, format="%.2f%%")
                              for column, help in ACCURACY_COLUMNS.items()})
    current = state.session().current
    selected = picked.selection.rows or [len(kept) - 1 if current is None else current]
    no_validation = ("; an empty val acc: the run had no validation split"
                     if table["val acc"].isna().any() else "")
    st.caption("Tick rows in the table to compare their runs here; with none ticked, the "
               f"current model is shown{no_validation}. "
               f"Shown: {text.md(', '.join(kept[i].name for i in selected))}.")
    cols = st.columns(2)
    names = [kept[i].name for i in selected]
    for col, metric in zip(cols, ("loss", "accuracy"), strict=True):
        chart_specs.show(col, charts.compare_chart, [kept[i] for i in selected], metric,
                         layout.presentation(), key=f"train_compare_{metric}", description=(
                             f"line chart, {metric} by epoch of the runs {', '.join(names)}: "
                             "training solid, validation dashed, a partial epoch a hollow "
                             "point"))
    cols = st.columns([2, 1])
    # The session's current run is the truth; the widget shows it (a new run becomes current).
    st.session_state.train_current = state.session().current
    index = cols[0].selectbox("current model (used by Feature maps and Draw)", range(len(kept)),
                              format_func=lambda i: kept[i].name, key="train_current",
                              on_change=lambda: state.select_run(st.session_state.train_current))
    run = kept[index]
    folder = state.session().workspace.run_path(run.folder)  # now: the click runs elsewhere
    cols[1].download_button("download run (.zip)", lambda: run_zip(folder), f"{run.name}.zip",
                            "application/zip", key="train_zip", icon=":material/download:")
    cols[1].button(f"delete {text.md(run.name)}", key="train_delete", on_click=state.delete_run,
                   args=(index,), help="removes the run from this workspace's disk",
                   icon=":material/delete:")


def run_upload() -> None:
    """Add a run someone sent as a .zip (also before this session has trained anything)."""
    upload = st.file_uploader("upload a run (.zip)", type=["zip"], key="train_upload",
                              max_upload_size=MAX_RUN_UPLOAD_MB,
                              help="a run folder zipped, as \"download run\" gives it")
    if upload is None or upload.file_id in state.session().uploaded:
        return
    from cnnlab.runs import run_files

    workspace = state.session().workspace  # its room is checked before anything is unpacked
    try:
        run = run_files.run_from_zip_bytes(upload.getvalue(), fits=lambda sizes: (
            workspace.check_files(sizes, "this run")))
    except ValueError as exc:
        st.error(text.md(f"{upload.name}: {exc}"))
        return
    state.session().uploaded.add(upload.file_id)
    try:
        state.add_run(run, uploaded=True)  # its data set: a name only here, never loaded
    except ValueError as exc:
        st.error(text.md(f"{upload.name}: {exc}"))
        return
    st.rerun()


def run_zip(folder) -> bytes:
    """The zip of a workspace's run folder."""
    from cnnlab.runs import run_files

    return run_files.run_to_zip_bytes(folder)


def render() -> None:
    st.title("Train")
    rules = classroom.my_challenge()  # a class's: its starting network, its limits
    classroom.offer_starting_network(rules, "train")
    arch = state.get_arch()
    running = jobs.active() is not None
    setup, live = st.columns([2, 3], gap="large")
    with setup:
        network = st.empty()  # its parameters depend on the data set's size and colour
        ref = dataset_choice(running)
        data = dataset_preview(ref) if ref else None
        hyper = hyperparameter_inputs(running)
        if hyper is not None:
            augment_preview.preview(data, hyper.augment, hyper.seed)
        summary = shapes.summarize(arch, data.image_shape if data else None,
                                   data.num_classes if data else None,
                                   hyper.batch_size if hyper else shapes.GUARD_BATCH)
        problems = summary.problems
        network.markdown(f"Network: **{text.md(arch.name)}** · {summary.total_params:,} "
                         f"parameters on {'×'.join(map(str, summary.input_shape))} input "
                         f"([change it](/build?{state.TOKEN_PARAM}="
                         f"{state.session().workspace.token}))")
        for problem in problems:
            st.error(text.md(problem.message))
        classroom.challenge_note(rules, None if problems else summary.total_params)
    with live:  # Train and Stop on top, on the first screen however small (issue 17)
        if running:
            st.button("Stop", key="train_stop", type="primary", icon=":material/stop:",
                      on_click=jobs.stop)
        elif st.button("Train", key="train_start", type="primary", icon=":material/play_arrow:",
                       disabled=bool(problems) or data is None or hyper is None):
            try:
                jobs.start(arch, data, hyper)  # as previewed (an upload needs its workspace)
                st.rerun()
            except ValueError as exc:
                st.error(text.md(exc))
        if not (running and live_chart.show()):  # the live element polls; no reruns
            st.fragment(run_every=1.0 if running else None)(live_view)()
    run = state.current_run()
    if run is not None and not running:
        results(run)
    run_history()
    run_upload()


render()
