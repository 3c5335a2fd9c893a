"""Workspaces on disk (cnnlab.workspaces): tokens, isolation, saving, deleting, limits, the LRU
of loaded runs, and the web app's data roots."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from cnnlab.architecture import presets
from cnnlab.workspaces import data_roots, models, store


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_a_new_workspace_has_a_random_url_safe_token_of_256_bits(home):
    first, second = store.create(), store.create()
    assert first.token != second.token
    assert len(first.token) == 43 and store.TOKEN_FORM.fullmatch(first.token)
    assert first.folder == home / "workspaces" / first.token and first.folder.is_dir()


@pytest.mark.parametrize("token", ["../../etc", "a/b" * 10, "..", "", "short",
                                   "x" * 21, "a.b" + "c" * 30, "c" * 87, None, 12])
def test_a_malformed_token_is_refused_before_it_becomes_a_path(home, token):
    with pytest.raises(store.WorkspaceError, match="not a workspace token"):
        store.open_workspace(token)


def test_an_unknown_token_is_refused(home):
    with pytest.raises(store.WorkspaceError, match="no workspace with this link"):
        store.open_workspace("A" * 43)


def test_a_saved_run_is_there_after_reopening_and_reloads_with_its_weights(home, tiny_run):
    workspace = store.create()
    folder = workspace.save_run(tiny_run)
    reopened = store.open_workspace(workspace.token)
    assert [info.name for info in reopened.runs()] == [tiny_run.name]
    assert reopened.current() == folder
    info = reopened.runs()[0]
    assert info.test_accuracy == tiny_run.test_accuracy and info.history == tiny_run.history
    models.forget(workspace.token)
    loaded = models.get(reopened, folder)
    assert loaded is not tiny_run
    for mine, theirs in zip(loaded.model.get_weights(), tiny_run.model.get_weights(),
                            strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert not [p for p in (workspace.folder / "runs").iterdir() if p.name.startswith(".")]


def test_one_workspace_cannot_reach_another_workspaces_runs(home, tiny_run):
    mine, theirs = store.create(), store.create()
    folder = theirs.save_run(tiny_run)
    assert mine.runs() == [] and mine.current() is None
    with pytest.raises(store.WorkspaceError, match="no run"):
        mine.run_path(folder)
    with pytest.raises(store.WorkspaceError, match="no run"):
        mine.run_path(f"../../{theirs.token}/runs/{folder}")
    with pytest.raises(store.WorkspaceError):
        mine.set_current(folder)


def test_deleting_a_run_removes_its_folder_and_the_newest_becomes_current(home, tiny_run):
    workspace = store.create()
    first = workspace.save_run(tiny_run)
    second = workspace.save_run(tiny_run)  # same name: a second folder
    assert first != second and workspace.run_folders() == [first, second]
    workspace.delete_run(second)
    assert workspace.run_folders() == [first] and workspace.current() == first
    assert not (workspace.folder / "runs" / second).exists()
    workspace.delete_run(first)
    assert workspace.runs() == [] and workspace.current() is None


def test_the_run_limit_refuses_with_what_to_delete(home, tiny_run, monkeypatch):
    monkeypatch.setenv("CNNLAB_MAX_RUNS", "1")
    workspace = store.create()
    workspace.check_room()
    folder = workspace.save_run(tiny_run)
    with pytest.raises(store.WorkspaceError, match=f"CNNLAB_MAX_RUNS is 1.*delete a run on "
                                                   f"the Train page.*{folder}"):
        workspace.check_room()


def test_the_disk_quota_refuses_a_run_before_saving_it_with_the_largest_runs(home, tiny_run,
                                                                              monkeypatch):
    monkeypatch.setenv("CNNLAB_WORKSPACE_MB", "1")
    workspace = store.create()
    saved = []
    with pytest.raises(store.WorkspaceError) as refused:
        for _ in range(50):
            saved.append(workspace.save_run(tiny_run))
    assert len(saved) >= 1
    assert re.search(f"the run {tiny_run.name} needs about .* MB on disk; this workspace has "
                     f".* MB left of its 1 MB \\(CNNLAB_WORKSPACE_MB\\); delete runs or data "
                     f"sets first, largest: run {saved[0]}", str(refused.value))
    assert workspace.run_folders() == saved  # the refused run left nothing behind
    assert workspace.usage().bytes <= 2**20  # never over the quota, as the disk counts it
    assert not [p for p in (workspace.folder / "runs").iterdir() if p.name.startswith(".")]
    with pytest.raises(store.WorkspaceError, match="CNNLAB_WORKSPACE_MB"):
        workspace.check_files([2**20], "a megabyte")


def test_the_architecture_is_kept_in_the_workspace(home):
    workspace = store.create()
    assert workspace.architecture() is None
    workspace.save_architecture(presets.get("lenet-5"))
    assert store.open_workspace(workspace.token).architecture() == presets.get("lenet-5")


def test_loaded_runs_are_weighed_in_bytes_against_the_memory_budget(home, tiny_run):
    from cnnlab.memory import budget

    workspace = store.create()
    folders = [workspace.save_run(tiny_run) for _ in range(3)]
    size = models.run_bytes(tiny_run)
    assert size == 2 * sum(w.nbytes for w in tiny_run.model.get_weights()) + sum(
        a.nbytes for arrays in tiny_run.epoch_weights.values() for a in arrays)  # and a clone
    models.forget(workspace.token)
    budget.BUDGET.set_limit(int(2.5 * size))  # room for two of them
    try:
        first = models.get(workspace, folders[0])
        models.get(workspace, folders[1])
        assert models.get(workspace, folders[0]) is first  # used again: now the newest
        models.get(workspace, folders[2])
        mine = [key for key in models.loaded() if key[0] == workspace.token]
        assert mine == [(workspace.token, folders[0]), (workspace.token, folders[2])]
        assert models.RUNS.nbytes() == 2 * size <= budget.BUDGET.limit_bytes()
        assert models.get(workspace, folders[1]) is not None  # reloaded from disk
    finally:
        models.forget(workspace.token)
        budget.BUDGET.set_limit(None)


# --- data roots ------------------------------------------------------------------------------

def idx_folder(path):
    path.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (path / stem).write_bytes(b"")
    return path


def test_without_data_roots_folder_data_sets_are_off(monkeypatch, tmp_path):
    monkeypatch.delenv("CNNLAB_DATA_DIRS", raising=False)
    with pytest.raises(data_roots.DataRootError, match="switched off.*CNNLAB_DATA_DIRS"):
        data_roots.resolve(str(idx_folder(tmp_path / "digits")))


def test_a_folder_inside_a_data_root_is_accepted(monkeypatch, tmp_path):
    root = tmp_path / "data"
    folder = idx_folder(root / "digits")
    monkeypatch.setenv("CNNLAB_DATA_DIRS", os.pathsep.join([str(tmp_path / "other"), str(root)]))
    assert data_roots.resolve(str(folder)) == folder.resolve()
    monkeypatch.setenv("CNNLAB_DATA_DIRS", str(root))
    assert data_roots.resolve("digits") == folder.resolve()


def test_folders_outside_the_roots_are_refused_and_nothing_is_listed(monkeypatch, tmp_path):
    root, outside = tmp_path / "data", idx_folder(tmp_path / "private")
    (outside / ".secret-dotfile").write_text("x")
    idx_folder(root / "digits")
    (root / "escape").symlink_to(outside)
    monkeypatch.setenv("CNNLAB_DATA_DIRS", str(root))
    for typed in (str(outside), "../private", str(root / "digits" / ".." / ".." / "private"),
                  "escape", str(root / "escape"), "/", "~"):
        with pytest.raises(data_roots.DataRootError, match="not inside a data folder") as info:
            data_roots.resolve(typed)
        assert "secret" not in str(info.value) and "t10k" not in str(info.value)


def test_a_folder_without_the_files_names_the_files_needed_not_what_it_holds(monkeypatch,
                                                                             tmp_path):
    root = tmp_path / "data"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / ".bash_history").write_text("x")
    monkeypatch.setenv("CNNLAB_DATA_DIRS", str(root))
    with pytest.raises(data_roots.DataRootError, match="needs train-images-idx3-ubyte") as info:
        data_roots.resolve("notes")
    assert "bash_history" not in str(info.value)
