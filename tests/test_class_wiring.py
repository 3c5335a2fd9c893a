"""How the rest of the app feeds a class: every named data set the web app loads comes without
its held-back test images (for every workspace), a Dask job tests on the same images, and a
saved run (a job's or an uploaded zip's) is scored, with the student's activity told to the
board as the job moves through its states."""

from __future__ import annotations

import dataclasses
import json
import threading

import numpy as np
import pytest

from cnnlab.architecture import presets
from cnnlab.classes import challenge, members, store
from cnnlab.cluster import task
from cnnlab.data import datasets, refs
from cnnlab.jobs import ownership
from cnnlab.jobs.job import State
from cnnlab.runs.records import Hyperparameters
from cnnlab.workspaces import data_roots, held_back
from cnnlab.workspaces import store as workspaces

START = presets.get("tutorial-1conv")
SMALL = dataclasses.replace(START, name="small", layers=(
    START.layers[0].replace(filters=8), *START.layers[1:]))  # 13,610 parameters
QUICK = Hyperparameters(epochs=2, batch_size=128, validation_fraction=0.2, seed=1)


@pytest.fixture
def home(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_the_web_app_never_loads_the_held_back_images(home):
    full = datasets.load_dataset("mnist-5k")
    seen = data_roots.load(refs.named("mnist-5k"))
    split = held_back.split("mnist-5k")
    assert np.array_equal(seen.test_indices, split.visible)
    assert np.array_equal(seen.x_test, full.x_test[split.visible])
    assert np.array_equal(seen.y_test, full.y_test[split.visible])
    assert seen.x_train is full.x_train or np.shares_memory(seen.x_train, full.x_train)
    hidden = {image.tobytes() for image in held_back.held_back("mnist-5k")[0]}
    assert not any(image.tobytes() in hidden for image in seen.x_test)
    assert data_roots.load(refs.named("mnist-5k")) is seen  # cached, cut once
    assert held_back.visible(seen) is seen  # never cut twice


def test_a_dask_worker_tests_on_the_visible_images_only(home):
    seen = data_roots.load(refs.named("mnist-5k"))
    spec = task.data_spec(seen)
    assert spec["test_indices"] == seen.test_indices.tolist() and "arrays" not in spec
    json.dumps(spec)  # plain data, as the cluster sends it
    there = task.load_data(spec, "tcp://w:1")
    assert np.array_equal(there.x_test, seen.x_test) and np.array_equal(there.y_test,
                                                                        seen.y_test)
    assert task.data_spec(datasets.load_dataset("mnist-5k")) == {
        "ref": refs.named("mnist-5k").to_dict()}  # the command line's full set: by name only
    with pytest.raises(datasets.DatasetError, match="test indices sent do not fit"):
        task.load_data(dict(spec, test_indices=[0, 10**6]), "tcp://w:1")


def _class_with_challenge():
    info, key = store.create_class("wiring")
    return store.set_challenge(info, challenge.Challenge("mnist-5k", 20_000, 2)), key


def _student_data():
    seen = data_roots.load(refs.named("mnist-5k"))
    return dataclasses.replace(seen, x_train=seen.x_train[:600], y_train=seen.y_train[:600])


def test_a_saved_job_is_scored_before_it_is_saved_and_its_activity_is_told(home, monkeypatch):
    info, _ = _class_with_challenge()
    joined = members.join(info.code, "Ada")
    told = []
    original = members.record_activity

    def spy(token, state, epoch=None, epochs=None, **kwargs):
        told.append((state, epoch, epochs))
        return original(token, state, epoch, epochs, **kwargs)

    monkeypatch.setattr(members, "record_activity", spy)
    workspace = workspaces.open_workspace(joined.token)
    scored_when_saved, heard = [], threading.Event()

    def on_saved(event):  # after the activity listener, which was there first
        if event.state is State.SAVED:
            scored_when_saved.append((members.student_folder(
                info.code, joined.student_id) / members.RESULTS).exists())
            heard.set()

    job = ownership.start(workspace, SMALL, _student_data(), QUICK, "small-1")
    job.add_listener(on_saved)
    assert job.wait(180) and job.state is State.SAVED, job.message
    assert heard.wait(30)  # the listeners hear the final state just after the event is set
    folder = members.student_folder(info.code, joined.student_id)
    results = json.loads((folder / members.RESULTS).read_text())
    best = results["best"]
    assert best["run_name"] == "small-1" and best["images"] == len(
        held_back.split("mnist-5k").held_back) and 0 < best["score"] <= 1
    assert scored_when_saved == [True]  # the board can show it once the job is saved
    states = [state for state, _, _ in told]
    assert states[0] == members.QUEUED and states[-1] == members.IDLE
    assert (members.TRAINING, 0, 2) in told and (members.TRAINING, 2, 2) in told
    assert json.loads((folder / members.ACTIVITY).read_text())["state"] == members.IDLE


def test_a_job_outside_a_class_is_saved_as_before(home):
    workspace = workspaces.create()
    job = ownership.start(workspace, SMALL, _student_data(),
                          dataclasses.replace(QUICK, epochs=1), "alone-1")
    assert job.wait(180) and job.state is State.SAVED
    assert not store.root().exists() or not list(store.root().glob("*/students/*"))


def test_a_failing_scorer_never_fails_the_save(home, monkeypatch, tiny_run):
    from cnnlab.classes import scoring

    def broken(token, folder):
        raise OSError("the class's disk is read-only")

    monkeypatch.setattr(scoring, "run_saved", broken)
    workspace = workspaces.create()
    folder = workspace.save_run(tiny_run)
    ownership.scored(workspace.token, workspace.run_path(folder))  # logged, not raised
    ownership.noted("not a token", members.IDLE)  # a malformed token: logged, not raised


def test_an_uploaded_run_is_scored_like_a_trained_one(home, tiny_run):
    from ui import state

    info, key = _class_with_challenge()
    joined = members.join(info.code, "Grace")
    session = state.SessionState(workspaces.open_workspace(joined.token), START, [1, 2, 3])
    session.add_run(tiny_run, uploaded=True)
    best = json.loads((members.student_folder(info.code, joined.student_id)
                       / members.RESULTS).read_text())["best"]
    assert best["score"] is None and "the challenge is on mnist-5k" in best["reason"]
