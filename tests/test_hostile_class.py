"""Issue 21's headline probes at library level, through the calls the pages make: what one
student uploads cannot take the class's server down. The memory budget is set low; each test
asserts the refusal's message and that memory (the budget's accounting, and that what it let
go is really freed) and disk (blocks and files) stay bounded.

The files come from ``bench/hostile_files.py``, shared with ``bench/hostile_class.py``, which
repeats these probes against a running server in Chromium.
"""

from __future__ import annotations

import gc
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest

from cnnlab.data import class_folders, dataset, datasets, drawn_zip, image_files, refs
from cnnlab.files import disk
from cnnlab.memory import budget
from cnnlab.workspaces import data_roots, models, store, uploads, usage

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import hostile_files  # noqa: E402  (bench/hostile_files.py: the probes' files)

MB = 2**20


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path / "home"))
    datasets.clear_cache()
    yield tmp_path / "home"
    datasets.clear_cache()
    models.RUNS.clear()
    budget.BUDGET.set_limit(None)


@pytest.fixture
def decodes(monkeypatch):
    """The image files decoded, in order."""
    seen, original = [], image_files.decode

    def counted(path, *args, **kwargs):
        seen.append(path)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(image_files, "decode", counted)
    return seen


def on_disk(ws: store.Workspace) -> disk.Usage:
    """What the workspace's folder takes, as the disk counts it (nothing if never made)."""
    return disk.measure(ws.folder, skip=usage.BOOKKEEPING) if ws.exists() else disk.Usage()


def test_the_512_pixel_zip_in_every_size_and_colour_stays_within_the_budget(decodes):
    """1,364 copies of a 512×512 PNG (0.3 MB zipped): before, every size or colour choice
    kept another GiB. Now the set needs a size, each variant is weighed, the least recently
    used goes (and is freed), and what could never fit is refused before a pixel is decoded."""
    ws = store.new()
    path = uploads.add_zip(ws, "copies.zip", hostile_files.copies_zip())
    ref = refs.upload(path.relative_to(uploads.folder(ws)).parts[0])
    assert on_disk(ws).files > 1364 and ws.usage() == on_disk(ws)  # and its folders
    with pytest.raises(class_folders.SizeNeeded, match="512×512, over 64 pixels a side"):
        data_roots.load(ref, ws)
    limit = 9 * MB
    budget.BUDGET.set_limit(limit)
    loaded = []
    for size, colour in (((16, 16), "grey"), ((16, 16), "rgb"), ((32, 32), "rgb")):
        data = data_roots.load(ref.with_options(size, colour), ws)
        assert data.x_train.shape[1:] == (*size, 3 if colour == "rgb" else 1)
        assert dataset.CACHE.nbytes() <= budget.BUDGET.used_bytes() <= limit
        loaded.append(weakref.ref(data))
        del data
    assert len(decodes) == 3 * 1364
    gc.collect()
    # The 32×32 colour set (4.2 MB) reserved twice its size while decoding: both 16×16 went.
    assert [d() is None for d in loaded] == [True, True, False]
    assert [dataset.CACHE.get(k).ref for k in dataset.CACHE.keys()] == [
        ref.with_options((32, 32), "rgb")]
    for size, colour in (((64, 64), "rgb"), ((256, 256), "grey"), ((512, 512), "rgb")):
        with pytest.raises(budget.MemoryBudgetError) as refused:
            data_roots.load(ref.with_options(size, colour), ws)
        assert f"{size[0]}×{size[1]}" in str(refused.value)
        assert "MB of memory; the server has 9 MB left of its 9 MB (CNNLAB_MEMORY_MB)" in \
            str(refused.value)
    assert len(decodes) == 3 * 1364  # refused before decoding anything


@pytest.mark.parametrize("members", [50_000, 100_000])
def test_a_zip_of_tens_of_thousands_of_empty_members_is_refused_before_unpacking(members):
    """Before, 50,000 empty members left 51,382 files and read as 0 bytes; now the file limit
    (CNNLAB_WORKSPACE_FILES, 20,000) refuses the zip from its directory: nothing is written."""
    data = hostile_files.empty_members_zip(members)
    for ws in (store.new(), store.create()):  # a first visit's workspace, and one on disk
        before = on_disk(ws)
        with pytest.raises(store.WorkspaceError) as refused:
            uploads.add_zip(ws, "empty.zip", data)
        assert str(refused.value).startswith(
            f"the data set empty.zip makes {members + 11:,} files and folders; this workspace "
            "has room for ")
        assert "of its 20,000 (CNNLAB_WORKSPACE_FILES)" in str(refused.value)
        assert on_disk(ws) == before and not uploads.folder(ws).exists()
    assert [p.name for p in store.root().iterdir()] == [ws.token]  # the new() one: none


def test_4096_pixel_pngs_are_refused_by_their_headers_before_decoding(decodes):
    """16 kB files of 16.8 megapixels: refused from the header, in class folders and in a
    drawn set's zip, before any is decoded."""
    ws = store.new()
    path = uploads.add_zip(ws, "huge.zip", hostile_files.huge_png_zip(count=20))
    ref = refs.upload(path.relative_to(uploads.folder(ws)).parts[0], (28, 28), "grey")
    with pytest.raises(class_folders.DatasetError, match="4096×4096 pixels, over the "
                                                         "12,000,000-pixel limit"):
        data_roots.load(ref, ws)
    assert decodes == []
    drawn = hostile_files.zip_of({"a/1.png": hostile_files.huge_png(),
                                  "b/1.png": hostile_files.png_bytes(np.zeros((28, 28),
                                                                             np.uint8))})
    with pytest.raises(drawn_zip.DrawnError, match=r"^the zip's a/1.png is 4096×4096 pixels; "
                                                   r"drawn examples are 28×28 grey"):
        drawn_zip.from_zip_bytes(drawn, 10, 200)


@pytest.fixture(scope="module")
def issue_run_zip(tmp_path_factory) -> bytes:
    """The issue's run zip: 9.44M parameters of zeros with five epochs' weights, 225 kB."""
    return hostile_files.zero_run_zip(scratch=tmp_path_factory.mktemp("scratch"))


def upload_run(ws: store.Workspace, data: bytes) -> str:
    """What the Train page's run upload does: load (the workspace's room checked before
    anything is unpacked), save to the workspace, keep in the model cache."""
    from cnnlab.runs import run_files

    run = run_files.run_from_zip_bytes(data, fits=lambda sizes: ws.check_files(sizes,
                                                                               "this run"))
    folder = ws.save_run(run, uploaded=True)
    models.put(ws.token, folder, run)
    return folder


def test_four_issue_sized_zero_weight_run_zips_are_refused_before_unpacking(issue_run_zip,
                                                                            monkeypatch):
    """Before, each cost 215 MB resident and ended 215 MB on disk, over the 200 MB quota.
    Now its declared files pass the quota: refused from the zip's directory, nothing built."""
    from cnnlab.runs import run_files

    assert len(issue_run_zip) < 300_000
    monkeypatch.setattr(run_files, "_reserved_model",
                        lambda *a: pytest.fail("a model was built before the quota's check"))
    for _ in range(4):
        ws = store.new()
        with pytest.raises(store.WorkspaceError, match=r"^this run needs about 216\.\d MB on "
                                                       r"disk; this workspace has 200\.0 MB "
                                                       r"left of its 200 MB"):
            upload_run(ws, issue_run_zip)
        assert on_disk(ws) == disk.Usage() and models.loaded() == []


def test_four_zero_weight_runs_in_four_workspaces_stay_within_the_memory_budget(tmp_path):
    """The same probe with the quota left room: each run is weighed by its bytes, the least
    recently used goes when the next one needs room, and what goes is freed."""
    data = hostile_files.zero_run_zip(scratch=tmp_path, side=28, units=1024)
    from cnnlab.runs import run_files

    one = models.run_bytes(run_files.run_from_zip_bytes(data))
    limit = int(2.6 * one)  # two fit; loading a third reserves its room first
    budget.BUDGET.set_limit(limit)
    kept = []
    for _ in range(4):
        ws = store.new()
        folder = upload_run(ws, data)
        kept.append(weakref.ref(models.get(ws, folder)))
        assert models.RUNS.nbytes() <= budget.BUDGET.used_bytes() <= limit
        assert on_disk(ws) == ws.usage()
    gc.collect()
    gc.collect()
    assert [k() is None for k in kept] == [True, True, False, False]
    assert len(models.loaded()) == 2 and budget.BUDGET.reserved_bytes() == 0


def test_a_run_over_the_budget_is_refused_before_a_model_is_built(issue_run_zip, monkeypatch):
    """With room on disk but a budget smaller than the run declares: refused, nothing held."""
    from cnnlab.models import builder

    monkeypatch.setenv("CNNLAB_WORKSPACE_MB", "1000")
    budget.BUDGET.set_limit(200 * MB)
    monkeypatch.setattr(builder, "build_model", lambda *a: pytest.fail("built"))
    ws = store.new()
    with pytest.raises(budget.MemoryBudgetError, match=r"^this run \(zeros\) needs 288 MB of "
                                                       r"memory; the server has 200 MB left"):
        upload_run(ws, issue_run_zip)
    assert budget.BUDGET.reserved_bytes() == 0 and not ws.exists()


def test_four_finished_jobs_leave_no_run_in_memory(tiny_dataset):
    """Before, four finished jobs held 286 MB of epoch weights in the job table. Now a job
    lets go of its run once it is saved; the model cache holds the saved run, by its bytes,
    and once that lets go nothing of the run is left."""
    from cnnlab.architecture import presets
    from cnnlab.jobs import ownership
    from cnnlab.runs.records import Hyperparameters, Run

    hyper = Hyperparameters(epochs=2, batch_size=32, validation_fraction=0.0, seed=1)
    jobs = []
    for _ in range(4):
        ws = store.create()
        job = ownership.start(ws, presets.get("tutorial-1conv"), tiny_dataset, hyper, "probe")
        assert job.wait(300)  # the job's one event: its run is saved
        assert str(job.state) == "saved" and job.runner is None
        jobs.append((ws, job))
    assert budget.BUDGET.reserved_bytes() == 0
    for ws, job in jobs:
        assert ownership.last(ws.token) is job and (ws.token, job.saved_to) in models.loaded()
        assert [info.name for info in ws.runs()] == ["probe"]
        models.forget(ws.token)
    gc.collect()
    gc.collect()
    assert [o for o in gc.get_objects() if isinstance(o, Run) and o.name == "probe"] == []


def test_a_decode_whose_page_moved_on_stops_at_its_next_image_and_lets_go(decodes):
    """The Train page shows progress while a set decodes; when the student types another size,
    Streamlit starts a new script run and the old one's next progress call raises. That decode
    stops there: its reservation let go, nothing cached, no image decoded after."""
    ws = store.new()
    path = uploads.add_zip(ws, "copies.zip", hostile_files.copies_zip(copies=40, side=128))
    ref = refs.upload(path.relative_to(uploads.folder(ws)).parts[0], (64, 64), "rgb")

    class MovedOn(Exception):
        pass

    def progress(done: int, total: int) -> None:
        assert budget.BUDGET.reserved_bytes() == 2 * 40 * 64 * 64 * 3  # held while decoding
        if done == 3:
            raise MovedOn

    with pytest.raises(MovedOn):
        data_roots.load(ref, ws, progress)
    assert len(decodes) == 3 and budget.BUDGET.reserved_bytes() == 0
    assert len(dataset.CACHE) == 0
