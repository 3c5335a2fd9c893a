"""Workspaces on disk as the disk counts them (issue 21): blocks and files, a running total read
without walking, zips and runs refused before anything is written, the memory a run declares
checked before it is loaded, workspaces made on first write, pruned when untouched, and
messages that never show a server path."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from cnnlab.cli import main as cli
from cnnlab.data import class_zip
from cnnlab.files import disk
from cnnlab.memory import budget
from cnnlab.workspaces import drawn_sets, models, store, uploads, usage

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def class_zip_bytes(members: int, size: int = 0, classes: int = 3) -> bytes:
    """A zip of ``members`` image-named files of ``size`` bytes in ``classes`` folders."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for k in range(members):
            zf.writestr(f"c{k % classes}/{k}.png", b"x" * size)
    return out.getvalue()


def everything_under(path: Path) -> list[Path]:
    return sorted(path.rglob("*")) if path.exists() else []


# --- blocks and files ------------------------------------------------------------------------

def test_one_byte_files_count_as_whole_blocks_and_an_inode_each(home):
    ws = store.create()
    uploads.add_zip(ws, "ones.zip", class_zip_bytes(30, size=1))
    block = disk.block_bytes(ws.folder)
    files = [p for p in everything_under(uploads.folder(ws)) if p.is_file()]
    assert len(files) == 30 and sum(p.stat().st_size for p in files) == 30  # st_size: 30 bytes
    used = ws.usage()
    assert used.bytes >= 30 * block and used.files >= 30 + 3 + 1  # files, class folders, set
    assert used == disk.measure(ws.folder, skip=usage.BOOKKEEPING)  # what the disk says


def test_a_zip_of_more_members_than_the_file_limit_is_refused_before_unpacking(home,
                                                                             monkeypatch):
    """The 100,000 empty members of issue 21, scaled down: the file limit set to 50."""
    monkeypatch.setenv("CNNLAB_WORKSPACE_FILES", "50")
    for ws in (store.new(), store.create()):  # a first visit's workspace, and one on disk
        before = everything_under(ws.folder)
        with pytest.raises(store.WorkspaceError) as refused:
            uploads.add_zip(ws, "empty.zip", class_zip_bytes(60))
        assert str(refused.value).startswith(
            "the data set empty.zip makes 64 files and folders; this workspace has room for ")
        assert "of its 50 (CNNLAB_WORKSPACE_FILES)" in str(refused.value)
        assert everything_under(ws.folder) == before  # nothing unpacked, no temporary file
        assert not uploads.folder(ws).exists()


def test_a_zip_whose_blocks_pass_the_quota_is_refused_though_its_bytes_are_few(home,
                                                                              monkeypatch):
    monkeypatch.setenv("CNNLAB_WORKSPACE_MB", "1")
    ws = store.create()
    data = class_zip_bytes(300, size=1)  # 300 bytes of content, over 1.2 MB of blocks
    with pytest.raises(store.WorkspaceError, match=r"the data set ones.zip needs about 1\.\d MB "
                                                   r"on disk; this workspace has 1\.0 MB left"):
        uploads.add_zip(ws, "ones.zip", data)
    assert not uploads.folder(ws).exists()


def test_a_zips_footprint_is_what_it_then_takes(home):
    ws = store.create()
    uploads.add_zip(ws, "first.zip", class_zip_bytes(2))  # makes datasets/ (one folder more)
    data = class_zip_bytes(40, size=5000)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = [(info, Path(info.filename)) for info in zf.infolist()]
    estimate = class_zip.footprint(members, disk.block_bytes(ws.folder))
    before = ws.usage()
    uploads.add_zip(ws, "five-kb.zip", data)
    added = ws.usage() - before
    assert added.files == estimate.files == 40 + 3 + 1
    assert added.bytes <= estimate.bytes <= added.bytes + 4 * disk.block_bytes(ws.folder)


# --- the running total -------------------------------------------------------------------------

def test_usage_is_read_from_the_running_total_and_stays_right(home, tiny_run, monkeypatch):
    ws = store.new()
    assert ws.usage() == disk.Usage() and not ws.folder.exists()
    steps = [
        lambda: ws.save_run(tiny_run),
        lambda: ws.save_run(tiny_run),
        lambda: uploads.add_zip(ws, "pets.zip", class_zip_bytes(12, size=3000)),
        lambda: drawn_sets.save(ws, drawn_sets.new_set(["cat", "dog"])),
        lambda: ws.set_current(ws.run_folders()[0]),
        lambda: ws.delete_run(ws.run_folders()[1]),
        lambda: uploads.delete(ws, "pets"),
        lambda: drawn_sets.delete(ws),
    ]
    for step in steps:
        step()
        kept = ws.usage()
        assert kept == usage.recount(ws.folder), step  # the walk agrees with the total
    assert ws.folder.exists() and len(ws.run_folders()) == 1

    def no_walk(*args, **kwargs):
        raise AssertionError("usage walked the tree")

    with monkeypatch.context() as patched:
        for owner, name in ((disk, "measure"), (os, "walk"), (os, "scandir"), (Path, "rglob"),
                            (Path, "iterdir")):
            patched.setattr(owner, name, no_walk)
        assert ws.usage() == kept  # read from usage.json alone
        assert store.open_workspace(ws.token).usage() == kept


def test_a_missing_total_is_counted_again(home, tiny_run):
    ws = store.create()
    ws.save_run(tiny_run)
    kept = ws.usage()
    (ws.folder / usage.FILE).unlink()  # a workspace from before the total was kept
    assert ws.usage() == kept and (ws.folder / usage.FILE).exists()
    (ws.folder / usage.FILE).write_text("{not json", encoding="utf-8")
    assert ws.usage() == kept


def test_writers_in_threads_keep_one_total(home):
    import threading

    ws = store.create()

    def write(number: int) -> None:
        for k in range(5):
            with usage.recording(ws.folder, f"notes-{number}/{k}.txt"):
                path = ws.folder / f"notes-{number}" / f"{k}.txt"
                path.parent.mkdir(exist_ok=True)
                path.write_bytes(b"x" * 5000)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ws.usage() == usage.recount(ws.folder)
    assert ws.usage().files == 1 + 6 + 30


def test_the_lock_is_held_across_processes(home):
    ws = store.create()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from cnnlab.workspaces import usage\n"
         f"with usage.locked(Path({str(ws.folder)!r})):\n"
         "    print('held', flush=True); sys.stdin.readline()\n"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert holder.stdout.readline().strip() == "held"
        import fcntl

        with open(ws.folder / usage.LOCK) as lock, pytest.raises(BlockingIOError):
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        holder.communicate("done\n", timeout=60)
    with usage.recording(ws.folder, "after.txt"):  # free again once the holder let go
        (ws.folder / "after.txt").write_text("x")


def blocked_on_a_lock(pid: int) -> bool:
    """Whether a thread of process ``pid`` waits for an flock (Linux's /proc/locks)."""
    return any("->" in line and "FLOCK" in line and f" {pid} " in line
               for line in Path("/proc/locks").read_text().splitlines())


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux's /proc/locks")
def test_a_write_waiting_while_its_workspace_is_pruned_makes_it_anew(home):
    ws = store.create()
    with usage.recording(ws.folder, "old.txt"):
        (ws.folder / "old.txt").write_bytes(b"x" * 9000)
    holder = subprocess.Popen(  # holds the lock, then removes the folder as prune does
        [sys.executable, "-c",
         "import os, shutil, sys; from pathlib import Path; from cnnlab.workspaces import usage\n"
         f"folder = Path({str(ws.folder)!r})\n"
         "with usage.locked(folder):\n"
         "    print('held', flush=True); sys.stdin.readline()\n"
         "    os.replace(folder, folder.with_name('.pruning-x'))\n"
         "shutil.rmtree(folder.with_name('.pruning-x'))\n"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)))
    import threading

    try:
        assert holder.stdout.readline().strip() == "held"
        writer = threading.Thread(target=lambda: uploads.add_zip(ws, "late.zip",
                                                                 class_zip_bytes(4, size=10)))
        writer.start()
        deadline = time.monotonic() + 60
        while not blocked_on_a_lock(os.getpid()):  # the writer waits for the holder's lock
            assert time.monotonic() < deadline and writer.is_alive()
            time.sleep(0.01)
        holder.communicate("go\n", timeout=60)
        writer.join(60)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert uploads.names(ws) == ["late"] and not (ws.folder / "old.txt").exists()
    assert ws.usage() == usage.recount(ws.folder)


# --- runs: refused before they are written or loaded ----------------------------------------------

def test_a_runs_size_is_known_before_it_is_saved(home, tiny_run):
    from cnnlab.runs import run_files

    ws = store.create()
    block = disk.block_bytes(ws.folder)
    estimate = disk.new_folder(run_files.file_sizes(tiny_run), block)
    folder = ws.save_run(tiny_run)
    saved = disk.measure(ws.run_path(folder))
    assert saved.files == estimate.files
    assert saved.bytes <= estimate.bytes <= 1.1 * saved.bytes + 4 * block


def test_a_run_zip_declaring_more_than_the_room_is_refused_before_loading(home, tiny_run,
                                                                          monkeypatch):
    from cnnlab.runs import run_files

    data = run_files.run_to_zip_bytes(tiny_run)
    monkeypatch.setenv("CNNLAB_WORKSPACE_MB", "1")
    ws = store.create()
    with pytest.raises(store.WorkspaceError):
        for _ in range(50):
            ws.save_run(tiny_run)  # until the next one does not fit
    before = everything_under(ws.folder)
    monkeypatch.setattr(run_files, "_reserved_model",
                        lambda *a: pytest.fail("loaded before the check"))
    with pytest.raises(store.WorkspaceError, match=r"^this run needs about .* MB on disk; this "
                                                   r"workspace has .* left of its \d+ MB"):
        run_files.run_from_zip_bytes(data, fits=lambda sizes: ws.check_files(sizes, "this run"))
    assert everything_under(ws.folder) == before


def test_a_run_zip_over_the_memory_budget_is_refused_before_a_model_is_built(home, tiny_run,
                                                                             monkeypatch):
    from cnnlab.models import builder
    from cnnlab.runs import run_files

    data = run_files.run_to_zip_bytes(tiny_run)
    ws = store.create()
    folder = ws.save_run(tiny_run)
    models.forget(ws.token)
    monkeypatch.setattr(builder, "build_model", lambda *a: pytest.fail("built before the check"))
    need = models.run_bytes(tiny_run)
    budget.BUDGET.set_limit(need // 2)
    try:
        with pytest.raises(budget.MemoryBudgetError, match=r"this run \(tutorial-1conv\) needs "
                                                           r".* MB of memory; the server has"):
            run_files.run_from_zip_bytes(data)
        with pytest.raises(budget.MemoryBudgetError, match="CNNLAB_MEMORY_MB"):
            models.get(ws, folder)  # loading a saved run from disk: the same check
        assert (ws.token, folder) not in models.loaded()
    finally:
        budget.BUDGET.set_limit(None)


def test_the_model_cache_never_holds_more_than_its_budget(home, tiny_run):
    ws = store.create()
    size = models.run_bytes(tiny_run)
    budget.BUDGET.set_limit(int(3.5 * size))
    try:
        for number in range(8):
            models.put(ws.token, f"run-{number}", tiny_run)
            assert budget.BUDGET.used_bytes() <= budget.BUDGET.limit_bytes()
        assert [k[1] for k in models.loaded() if k[0] == ws.token] == ["run-5", "run-6", "run-7"]
    finally:
        models.forget(ws.token)
        budget.BUDGET.set_limit(None)


# --- messages name the user's file, never a server path --------------------------------------

def server_paths() -> list[str]:
    from cnnlab.workspaces import settings

    return [str(settings.home()), os.path.realpath(settings.home()), tempfile.gettempdir(),
            ".upload-", "cnnlab-upload-", ".unpacking-"]


def test_refusals_name_the_users_file_and_no_server_path(home, tiny_run, monkeypatch):
    from cnnlab.runs import run_files

    ws = store.create()
    messages = []
    for data in (b"not a zip", class_zip_bytes(0) + b"", class_zip_bytes(3, size=20 * 2**20)):
        with pytest.raises(ValueError) as refused:
            uploads.add_zip(ws, "my pets.zip", data)
        messages.append(str(refused.value))
    assert all("my pets.zip" in m for m in messages), messages
    good = io.BytesIO(run_files.run_to_zip_bytes(tiny_run))
    broken = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as out:
        for info in src.infolist():
            text = src.read(info)
            if info.filename == "metrics.json":
                text = text.replace(b'"class_names": [', b'"class_names": ["extra", ')
            out.writestr(info.filename, text)
    with pytest.raises(ValueError) as refused:
        run_files.run_from_zip_bytes(broken.getvalue())
    messages.append(str(refused.value))
    assert messages[-1].startswith("metrics.json: class_names has 5 names for 4 classes")

    def full_disk(run, folder):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_files, "_write_run", full_disk)
    with pytest.raises(store.WorkspaceError) as refused:
        ws.save_run(tiny_run)
    messages.append(str(refused.value))
    assert messages[-1] == "the disk is full; free some space and save again"
    assert ws.run_folders() == []
    for message in messages:
        assert not any(path in message for path in server_paths()), message
        assert ws.token not in message


def test_loading_an_uploaded_set_names_the_set_not_its_folder(home):
    from PIL import Image

    from cnnlab.data import class_folders, refs
    from cnnlab.workspaces import data_roots

    def png(value: int, side: int = 6) -> bytes:
        out = io.BytesIO()
        Image.new("L", (side, side), value).save(out, "PNG")
        return out.getvalue()

    ws = store.create()
    members = {"one/a/0.png": png(1), "one/a/1.png": png(2)}
    members |= {"two/a/0.png": png(3), "two/a/1.png": png(4), "two/b/0.png": png(5),
                "two/b/1.png": png(6), "two/b/2.png": b"not an image",
                "three/a/0.png": png(7), "three/b/0.png": png(8, side=4)}
    for name in ("one", "two", "three"):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            for member, data in members.items():
                if member.startswith(name + "/"):
                    zf.writestr(member, data)
        uploads.add_zip(ws, f"{name}.zip", out.getvalue())
    with pytest.raises(ValueError) as refused:
        data_roots.load(refs.upload("one"), ws)
    assert "one (your upload)" in str(refused.value)
    data = data_roots.load(refs.upload("two"), ws)
    assert any("2.png" in note for note in data.warnings)
    with pytest.raises(class_folders.SizeNeeded) as differ:
        data_roots.load(refs.upload("three"), ws)
    assert differ.value.sizes == [(4, 4), (6, 6)]  # kept for the page to offer a size
    for text in (str(refused.value), str(differ.value), data.source, *data.warnings):
        assert not any(path in text for path in server_paths()) and ws.token not in text, text


# --- made on first write, pruned when untouched ----------------------------------------------

def test_a_new_workspace_is_nothing_on_disk_until_its_first_write(home, tiny_run):
    ws = store.new()
    assert ws.runs() == [] and ws.current() is None and ws.architecture() is None
    ws.check_room()
    ws.record_visit()
    assert not ws.folder.exists() and not store.root().exists()
    with pytest.raises(store.WorkspaceError, match="no workspace with this link"):
        store.open_workspace(ws.token)
    folder = ws.save_run(tiny_run)  # the first write
    assert store.open_workspace(ws.token).current() == folder


def make_old(ws: store.Workspace, days: float) -> None:
    """Set every entry of the workspace's folder ``days`` days back."""
    then = time.time() - days * 86_400
    for path in [ws.folder, *ws.folder.iterdir()]:
        os.utime(path, (then, then), follow_symlinks=False)


def test_prune_removes_only_workspaces_untouched_for_the_days_given(home, tiny_run, capsys):
    old, visited, recent = store.create(), store.create(), store.create()
    for ws in (old, visited, recent):
        ws.save_run(tiny_run)
    make_old(old, 40)
    make_old(visited, 40)
    visited.record_visit()  # opened today, written long ago
    make_old(recent, 10)
    assert cli.main(["workspaces", "prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would remove {old.token[:8]}… (last used " in out
    assert "would remove 1 workspace untouched for 30 days" in out
    assert old.folder.exists()
    assert cli.main(["workspaces", "prune"]) == 0
    out = capsys.readouterr().out
    assert f"removed {old.token[:8]}…" in out and old.token not in out
    assert f"removed 1 workspace untouched for 30 days under {store.root()}: " in out
    assert not old.folder.exists() and visited.folder.exists() and recent.folder.exists()
    assert [p.name for p in store.root().iterdir()] != [] and not list(
        store.root().glob(".pruning-*"))
    removed = store.prune(5)
    assert [p.token for p in removed] == [recent.token] and removed[0].freed.files > 7


@pytest.mark.parametrize("argv", [["workspaces", "prune", "--days", "0"],
                                  ["workspaces", "prune", "--days", "soon"],
                                  ["workspaces", "prune", "--weeks", "3"],
                                  ["workspaces"]])
def test_prune_refuses_bad_input_with_one_error_line(home, capsys, argv):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_a_bad_days_setting_is_one_error_line(home, capsys, monkeypatch):
    monkeypatch.setenv("CNNLAB_WORKSPACE_DAYS", "0.5")
    assert cli.main(["workspaces", "prune"]) == 2
    assert capsys.readouterr().err == ("error: CNNLAB_WORKSPACE_DAYS must be a number >= 1; "
                                       "received '0.5'\n")


def test_usage_repair_corrects_a_total_that_drifted(home, tiny_run, capsys):
    ws = store.create()
    ws.save_run(tiny_run)
    right = ws.usage()
    (ws.folder / "stray.bin").write_bytes(b"x" * 10_000)  # written behind the total's back
    assert ws.usage() == right
    assert cli.main(["workspaces", "usage", "--repair"]) == 0
    out = capsys.readouterr().out
    assert f"{ws.token[:8]}…" in out and "the running total said" in out
    assert ws.usage() == right + disk.measure(ws.folder / "stray.bin")
