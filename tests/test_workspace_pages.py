"""AppTest of workspaces in the app: the ?w= link brings back a workspace's runs, current model,
architecture and running job; runs are deleted from the Train page; folder data sets only
under CNNLAB_DATA_DIRS (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cnnlab.architecture import presets
from cnnlab.data import refs
from cnnlab.workspaces import store

TIMEOUT = 120
ROOT = Path(__file__).resolve().parent.parent


def open_link(token: str | None = None, page: str | None = None) -> AppTest:
    """A new browser session opening the app, at ``?w=token`` if given."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if token is not None:
        at.query_params["w"] = token
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def token_of(at: AppTest) -> str:
    """The ``w`` query parameter the app put in the URL (AppTest may give it as a list)."""
    value = at.query_params["w"]
    return value[0] if isinstance(value, list) else value


def sidebar_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


def test_a_first_visit_puts_a_token_in_the_url_and_its_first_write_makes_the_workspace():
    before = set(store.root().iterdir()) if store.root().is_dir() else set()
    at = open_link(None, "pages/build.py")
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    token = token_of(at)
    assert store.TOKEN_FORM.fullmatch(token)
    assert not (store.root() / token).exists()  # a visit that writes nothing leaves nothing
    assert (set(store.root().iterdir()) if store.root().is_dir() else set()) == before
    assert any("bookmark it" in c.value for c in at.sidebar.caption)
    at.switch_page("pages/build.py").run()
    at.selectbox(key="build_preset").set_value("lenet-5").run()
    at.button(key="build_load").click().run()  # the first write: an edited network
    assert not at.exception, at.exception
    assert token_of(at) == token
    assert store.open_workspace(token).architecture() == presets.get("lenet-5")


def test_the_link_brings_back_the_current_model_and_the_runs(tiny_run):
    workspace = store.create()
    workspace.save_run(tiny_run)
    at = open_link(workspace.token, "pages/train.py")
    assert f"**{tiny_run.name}**" in sidebar_text(at)
    assert at.subheader[0].value.startswith(f"Results of {tiny_run.name}")
    assert any(s.value == "Runs of this workspace" for s in at.subheader)
    stranger = open_link(None, "pages/train.py")
    assert "none trained yet" in " ".join(c.value for c in stranger.sidebar.caption)
    assert not any(s.value == "Runs of this workspace" for s in stranger.subheader)


def test_an_unknown_link_gets_a_new_workspace_and_says_so():
    at = open_link("Z" * 43)
    assert any("no workspace with this link" in w.value for w in at.sidebar.warning)
    assert token_of(at) != "Z" * 43
    assert not (store.root() / token_of(at)).exists()


@pytest.mark.parametrize("link", ["../../../etc", "![x](http://example.com/x.png)",
                                  "[click](http://example.com)"])
def test_a_malformed_link_is_never_used_as_a_path_nor_shown(link):
    at = open_link(link)
    notices = " ".join(w.value for w in at.sidebar.warning)
    assert "not a workspace token" in notices
    assert "example.com" not in notices and "etc" not in notices  # the link's text: not echoed


def test_the_architecture_being_built_is_kept_in_the_workspace():
    at = open_link(None, "pages/build.py")
    at.selectbox(key="build_preset").set_value("lenet-5").run()
    at.button(key="build_load").click().run()
    again = open_link(token_of(at))
    assert any(c.value == "Being built: **lenet-5**" for c in again.sidebar.caption)


def test_a_run_is_deleted_from_the_train_page(tiny_run):
    workspace = store.create()
    workspace.save_run(tiny_run)
    at = open_link(workspace.token, "pages/train.py")
    at.button(key="train_delete").click().run()
    assert not at.exception, at.exception
    assert workspace.runs() == [] and not list((workspace.folder / "runs").iterdir())
    assert "none trained yet" in " ".join(c.value for c in at.sidebar.caption)


def test_a_reopened_link_reattaches_to_its_running_job_and_can_stop_it(tiny_dataset):
    from cnnlab.jobs import ownership
    from cnnlab.runs.records import Hyperparameters

    workspace = store.create()
    job = ownership.start(workspace, presets.get("tutorial-1conv"), tiny_dataset,
                          Hyperparameters(epochs=100, batch_size=8), "long-1")
    at = open_link(workspace.token, "pages/train.py")
    keys = {button.key for button in at.button}
    assert "train_stop" in keys and "train_start" not in keys  # it is this workspace's job
    at.button(key="train_stop").click().run()
    assert job.wait(TIMEOUT) and job.state == "saved"
    assert job.message.startswith("stopped after ")
    at.run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == "Results of long-1 (stopped early)"


def test_without_data_roots_there_is_no_folder_choice(monkeypatch):
    monkeypatch.delenv("CNNLAB_DATA_DIRS", raising=False)
    at = open_link(None, "pages/train.py")
    assert not any("folder" in option for option in at.selectbox(key="train_dataset").options)


@pytest.mark.parametrize("typed", ["/etc", "../../etc", "~"])
def test_a_folder_outside_the_data_roots_is_refused_without_listing_it(monkeypatch, tmp_path,
                                                                       typed):
    monkeypatch.setenv("CNNLAB_DATA_DIRS", str(tmp_path))
    at = open_link(None, "pages/train.py")
    at.selectbox(key="train_dataset").set_value("a local folder of IDX files").run()
    at.text_input(key="train_folder").input(typed).run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "is not inside a data folder of this server" in errors
    assert "passwd" not in errors and ".bashrc" not in errors


def test_a_runs_data_set_path_outside_the_data_roots_is_never_opened(tiny_run, monkeypatch,
                                                                     tmp_path):
    import dataclasses

    monkeypatch.setenv("CNNLAB_DATA_DIRS", str(tmp_path))
    workspace = store.create()  # trained here on /etc: the roots say no all the same
    workspace.save_run(dataclasses.replace(tiny_run, dataset=refs.folder("/etc")))
    at = open_link(workspace.token, "pages/feature_maps.py")
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "The test images of /etc cannot be loaded" in errors
    assert "not inside a data folder" in errors and "passwd" not in errors


def test_quick_start_on_a_busy_server_says_how_many_wait(tiny_dataset, monkeypatch):
    from cnnlab.jobs import job_queue, ownership
    from cnnlab.runs.records import Hyperparameters

    monkeypatch.setenv("CNNLAB_MAX_QUEUE", "0")
    job_queue.set_max_jobs(1)
    try:
        other = ownership.start(store.create(), presets.get("tutorial-1conv"), tiny_dataset,
                                Hyperparameters(epochs=100, batch_size=8), "other-1")
        at = open_link()
        at.button(key="home_quick").click().run()
        assert not at.exception, at.exception
        assert any("the server is busy: 0 jobs are waiting" in e.value for e in at.error)
        assert ownership.last(token_of(at)) is None
        other.stop()
        assert other.wait(TIMEOUT)
    finally:
        job_queue.set_max_jobs(None)
