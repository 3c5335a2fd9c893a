"""A run that cannot be saved (a file-size limit, a full disk, a folder that cannot be written):
``cnnlab train`` ends with exit status 1 and one ``error:`` line, never a crash or a traceback;
nothing half-written is left, an old run in the folder stays whole, and a workspace (CLI and
pages) is left as it was (issue 21, item 10)."""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from cnnlab.runs import atomic, run_files
from cnnlab.workspaces import store

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS, EPOCH_WEIGHTS = run_files.WEIGHTS, run_files.EPOCH_WEIGHTS
TOO_LARGE = ("a file would pass the size this process may write (ulimit -f); raise the limit "
             "or save a smaller run")


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory, band_image_maker) -> Path:
    """The tiny band data set as IDX files, for ``--dataset``."""
    from tests.test_cli_run import write_idx

    folder = tmp_path_factory.mktemp("tiny-idx")
    for prefix, n, seed in (("train", 200, 1), ("t10k", 40, 2)):
        labels = np.arange(n) % 4
        write_idx(folder / f"{prefix}-images-idx3-ubyte", band_image_maker(labels, seed)[..., 0])
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return folder


def contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def train(out: Path, dataset: Path, prefix: list[str]) -> subprocess.CompletedProcess:
    """``cnnlab train`` of tutorial-1conv for two epochs, as a child process run through
    ``prefix`` (prlimit, setpriv)."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "cnnlab", "train", "tutorial-1conv", "--dataset",
         str(dataset), "--out", str(out), "--epochs", "2", "--batch-size", "32"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("fails_at", [WEIGHTS, EPOCH_WEIGHTS])
def test_a_file_size_limit_while_saving_is_one_error_line_and_keeps_the_old_run(
        tiny_run, tiny_folder, tmp_path, fails_at):
    """The limit stops the weights file in its first 4 kB (where HDF5 writing to disk printed
    tracebacks and died of SIGSEGV, exit 139), or the epoch weights part-way, after the
    weights file was written."""
    if shutil.which("prlimit") is None:
        pytest.skip("prlimit (util-linux) is not installed: no file-size limit can be set on "
                    "the child process")
    out = tmp_path / "run"
    run_files.save_run(tiny_run, out)  # the same network and epochs as the child trains
    before = contents(out)
    weights, epochs = len(before[WEIGHTS]), len(before[EPOCH_WEIGHTS])
    assert len(before[run_files.ARCHITECTURE]) < 4096 < weights < epochs  # written in order
    limit = 4096 if fails_at == WEIGHTS else (weights + epochs) // 2
    result = train(out, tiny_folder, ["prlimit", f"--fsize={limit}"])
    assert (result.returncode, result.stderr) == (1, f"error: cannot save to {out}: "
                                                     f"{TOO_LARGE}\n"), result.stderr
    assert "epoch 2/2" in result.stdout  # it trained, then could not save
    assert contents(out) == before  # the old run, whole
    assert os.listdir(tmp_path) == ["run"]  # no .run.saving-* or .run.old-* folder


@pytest.fixture()
def unprivileged() -> list[str]:
    """A command prefix under which permissions apply: nothing for a normal user; for root,
    ``setpriv`` dropping the capabilities that let root write anywhere."""
    if os.geteuid() != 0:
        return []
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    if shutil.which("setpriv") is None or subprocess.run(
            [*prefix, "true"], capture_output=True).returncode != 0:
        pytest.skip("running as root without a working setpriv: every folder is writable")
    return prefix


def test_a_folder_that_cannot_be_written_is_one_error_line_and_keeps_the_old_run(
        tiny_run, tiny_folder, tmp_path, unprivileged):
    parent = tmp_path / "locked"
    out = parent / "run"
    run_files.save_run(tiny_run, out)
    before = contents(out)
    parent.chmod(0o555)
    try:
        result = train(out, tiny_folder, unprivileged)
    finally:
        parent.chmod(0o755)
    assert (result.returncode, result.stderr) == (
        1, f"error: cannot save to {out}: its parent folder is not writable\n"), result.stderr
    assert "training" not in result.stdout  # refused before training, not after
    assert contents(out) == before
    assert os.listdir(parent) == ["run"]


def test_keras_writes_the_same_weights_file_into_memory(tiny_run, tmp_path):
    """``weights_file_bytes`` uses Keras's own writer; it must match ``save_weights``."""
    tiny_run.model.save_weights(str(tmp_path / "keras.weights.h5"))
    (tmp_path / "ours.weights.h5").write_bytes(run_files.weights_file_bytes(tiny_run.model))

    def walk(path: Path) -> dict:
        found: dict = {}
        with h5py.File(path, "r") as store_:
            store_.visititems(lambda name, item: found.__setitem__(
                name, (dict(item.attrs), item[()] if isinstance(item, h5py.Dataset) else None)))
        return found

    keras_file, ours = walk(tmp_path / "keras.weights.h5"), walk(tmp_path / "ours.weights.h5")
    assert sorted(keras_file) == sorted(ours) and any(k.startswith("layers/") for k in ours)
    for name, (attrs, data) in keras_file.items():
        assert ours[name][0] == attrs, name
        assert (data is None and ours[name][1] is None) or np.array_equal(data, ours[name][1])


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG, errno.EACCES])
def test_a_write_failing_part_way_leaves_nothing_and_says_why(tiny_run, tmp_path, monkeypatch,
                                                              code):
    """The weights file half-written, then the disk refuses: no staging folder, no run."""
    def half(path, data):
        with open(path, "wb") as out:
            out.write(data[:len(data) // 2])
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(Path, "write_bytes", half)
    with pytest.raises(atomic.SaveError) as info:
        run_files.save_run(tiny_run, tmp_path / "run")
    assert str(info.value) == f"cannot save to {tmp_path / 'run'}: {atomic._REASONS[code]}"
    assert os.listdir(tmp_path) == []


def workspace_state(workspace: store.Workspace) -> tuple:
    runs = workspace.folder / store.RUNS
    files = sorted(str(p.relative_to(workspace.folder)) for p in workspace.folder.rglob("*"))
    return (workspace.run_folders(), workspace.current(), files,
            sorted(os.listdir(runs)) if runs.is_dir() else [])  # a first visit: nothing yet


@pytest.mark.parametrize("fails", ["run", "index"])
def test_a_workspace_save_that_fails_leaves_the_workspace_as_it_was(tiny_run, monkeypatch,
                                                                    fails):
    workspace = store.create()
    first = workspace.save_run(tiny_run)
    before = workspace_state(workspace)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if fails == "run":
        monkeypatch.setattr(np, "savez", full)  # the last file of the run folder
    else:
        monkeypatch.setattr(store.Workspace, "_write_index", full)  # after the run is saved
    with pytest.raises(store.WorkspaceError) as info:
        workspace.save_run(tiny_run)
    assert str(info.value) == "the disk is full; free some space and save again"  # no path
    assert workspace_state(workspace) == before and workspace.current() == first


def test_the_train_page_says_a_run_upload_could_not_be_saved_and_keeps_nothing(
        tiny_run, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    folder = run_files.save_run(tiny_run, tmp_path / "shared")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.iterdir():
            archive.write(path, path.name)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    workspace = at.session_state["cnnlab"].workspace
    before = workspace_state(workspace)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    at.file_uploader(key="train_upload").set_value(("shared.zip", buffer.getvalue(),
                                                    "application/zip")).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "shared.zip: the disk is full; free some space and save again"]
    assert workspace_state(workspace) == before


def test_a_training_whose_run_cannot_be_saved_says_so_and_keeps_the_workspace(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from cnnlab.jobs import ownership

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/train.py").run()
    workspace = at.session_state["cnnlab"].workspace
    before = workspace_state(workspace)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    at.number_input(key="train_epochs").set_value(1).run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    job = ownership.last(workspace.token)
    assert job.wait(120) and job.state == "failed"  # the job tried to save it, and says why
    at.run()
    assert not at.exception, at.exception
    assert ("Training two-conv-1 failed: the run could not be saved: the disk is full; free some "
            "space and save again") in [e.value for e in at.error]
    assert workspace_state(workspace) == before
