"""AppTest of issue 17 item 3: an edited network is named so everywhere, run numbers count per
session, the Train page says whose curves it shows, and one progress indicator per page."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from ui import text

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


def app_at(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def session(at: AppTest):
    return at.session_state["cnnlab"]


def being_built(at: AppTest) -> str:
    [caption] = [c.value for c in at.sidebar.caption if c.value.startswith("Being built")]
    return caption


def name_field(at: AppTest):
    [field] = [t for t in at.text_input if t.key and t.key.startswith("build_name_")]
    return field


def edit_first_kernel(at: AppTest, size: int) -> None:
    [kernel] = [n for n in at.number_input if n.key and n.key.endswith("_kernel_h")][:1]
    kernel.set_value(size).run()
    assert not at.exception, at.exception



def train_one_epoch(at: AppTest):
    """Train from the Train page (1 epoch, batch 512); returns the run."""
    at.switch_page("pages/train.py").run()
    at.number_input(key="train_epochs").set_value(1).run()
    at.select_slider(key="train_batch").set_value(512).run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert session(at).job.wait(TIMEOUT)  # the job's one event: its run is saved
    at.run()
    assert not at.exception, at.exception
    return session(at).runs[-1]


def test_an_edited_network_is_named_edited_in_the_sidebar_its_runs_and_the_table():
    at = app_at("pages/build.py")
    assert being_built(at) == "Being built: **two-conv**"
    edit_first_kernel(at, 5)
    assert being_built(at) == "Being built: **two-conv (edited)**"
    assert name_field(at).placeholder == "two-conv (edited)"
    run = train_one_epoch(at)
    assert run.name == "two-conv (edited)-1"
    assert run.architecture.name == "two-conv (edited)"
    table = at.dataframe(key="train_runs").value
    assert list(table["run"]) == ["two-conv (edited)-1"]
    assert list(table["architecture"]) == ["two-conv (edited)"]
    assert any("Network: **two-conv (edited)**" in m.value for m in at.markdown)


def test_undoing_the_edit_gives_the_preset_name_back_and_loading_resets_it():
    at = app_at("pages/build.py")
    edit_first_kernel(at, 5)
    edit_first_kernel(at, 3)  # the preset's own value again
    assert being_built(at) == "Being built: **two-conv**"
    at.selectbox(key="build_preset").set_value("lenet-5").run()
    at.button(key="build_load").click().run()
    assert being_built(at) == "Being built: **lenet-5**"


def test_a_name_given_on_build_names_the_network_until_another_is_loaded():
    at = app_at("pages/build.py")
    name_field(at).input("my net").run()
    assert being_built(at) == "Being built: **my net**"
    at.switch_page("pages/home.py").run()  # the field is not drawn: the name stays
    assert being_built(at) == "Being built: **my net**"
    at.switch_page("pages/build.py").run()
    assert name_field(at).value == "my net"
    at.button(key="build_load").click().run()  # two-conv again: its name, an empty field
    assert being_built(at) == "Being built: **two-conv**"
    assert name_field(at).value == ""


def test_run_numbers_count_per_session_not_per_server():
    first, second = app_at(), app_at()
    assert train_one_epoch(first).name == "two-conv-1"
    assert train_one_epoch(second).name == "two-conv-1"  # not two-conv-2: another user's
    assert train_one_epoch(first).name == "two-conv-2"
    assert [r.name for r in session(second).runs] == ["two-conv-1"]


def test_train_page_says_whose_results_it_shows_and_that_rows_can_be_ticked():
    """Once saved, a job's curves are its run's, under "Results of <run>" (issue 22 item 5);
    the place of the live curves says where they went."""
    at = app_at()
    run = train_one_epoch(at)
    texts = [m.value for m in at.markdown]
    assert f"**{run.name}** is trained and saved: its results are below." in texts
    assert at.subheader[0].value == f"Results of {run.name}"
    assert any(c.value.startswith("Tick rows in the table to compare") and
               c.value.endswith(f"Shown: {run.name}.") for c in at.caption)
    assert not any("being built above" in c.value for c in at.caption)
    at.switch_page("pages/build.py").run()
    edit_first_kernel(at, 5)
    at.switch_page("pages/train.py").run()
    assert [c.value for c in at.caption if "being built above" in c.value] == [text.md(
        f"{run.name} is a two-conv network, not two-conv (edited) being built above: press "
        "Train to train that one.")]


def test_one_progress_bar_per_page_until_the_model_is_ready(tiny_dataset):
    """The quick start waits in the queue behind another user's job (one slot), so its
    progress is on screen for as long as the test looks at it."""
    from cnnlab.architecture import presets
    from cnnlab.jobs import job_queue, start
    from cnnlab.runs.records import Hyperparameters

    job_queue.set_max_jobs(1)
    other = start.start_job(presets.get("tutorial-1conv"), tiny_dataset,
                            Hyperparameters(epochs=max_epochs()), save=lambda run: None)
    try:
        at = app_at()
        at.button(key="home_quick").click().run()
        assert not at.exception, at.exception
        assert session(at).job.state == "queued"
        assert len(at.main.get("progress")) == 1 and len(at.sidebar.get("progress")) == 0
        at.switch_page("pages/train.py").run()  # the Train page shows it larger, itself
        assert len(at.main.get("progress")) == 1 and len(at.sidebar.get("progress")) == 0
        at.switch_page("pages/build.py").run()  # no progress on the page: the sidebar's badge
        assert len(at.main.get("progress")) == 0 and len(at.sidebar.get("progress")) == 1
        at.switch_page("pages/home.py").run()
    finally:
        other.stop()
        job_queue.set_max_jobs(None)
    assert session(at).job.wait(TIMEOUT)
    at.run()
    assert at.get("progress") == []
    assert any(s.value.startswith("Model ready: **two-conv-1**") for s in at.success)


def max_epochs() -> int:
    from cnnlab.runs import records

    return records.MAX_EPOCHS
