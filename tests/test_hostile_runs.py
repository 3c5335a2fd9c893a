"""Hostile run folders and run zips are refused with one clear message, before their data is
read: bombs (npz, h5, zip), encrypted or corrupt members, deep JSON, non-finite numbers,
too many epochs; and a run is saved whole or not at all."""

from __future__ import annotations

import errno
import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from cnnlab.runs import atomic, run_checks, run_files

WRONG = {"index": 0, "true_label": 1, "predicted_label": 2, "confidence": 0.5}
TERA = 10**6  # a (TERA, TERA) float32 array: 4 TB declared


@pytest.fixture(scope="module")
def run_folder(tiny_run, tmp_path_factory) -> Path:
    return run_files.save_run(tiny_run, tmp_path_factory.mktemp("hostile") / "run")


@pytest.fixture()
def folder(run_folder, tmp_path) -> Path:
    """A fresh copy of a good run folder, for one test to spoil."""
    return Path(shutil.copytree(run_folder, tmp_path / "run"))


def zip_of(folder: Path, **replace: bytes) -> bytes:
    """The run folder as zip bytes, with some members' contents replaced."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in run_files.RUN_FILES:
            key = name.replace(".", "_")
            if key in replace:
                archive.writestr(name, replace[key])
            elif (folder / name).exists():
                archive.write(folder / name, name)
    return buffer.getvalue()


def npy_header_only(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """A .npy file's magic and header declaring ``shape``, with no data after it."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_2_0(
        buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def npz_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as npz:
        for name, data in members.items():
            npz.writestr(name, data)
    return buffer.getvalue()


def test_an_npz_header_claiming_a_trillion_values_is_refused_unread(folder):
    npz = npz_bytes({"e0_0.npy": npy_header_only((TERA, TERA))})
    (folder / "epoch_weights.npz").write_bytes(npz)
    with pytest.raises(ValueError, match=r"e0_0.npy is 128 bytes, but its header declares "
                                         r"float32 \(1000000, 1000000\)"):
        run_files.load_run(folder)


def test_an_npz_array_whose_size_disagrees_with_its_header_is_refused(folder):
    header = npy_header_only((3, 3, 1, 8))
    (folder / "epoch_weights.npz").write_bytes(npz_bytes({"e0_0.npy": header + b"\0" * 8}))
    with pytest.raises(ValueError, match="e0_0.npy is 136 bytes, but its header declares"):
        run_files.load_run(folder)


def test_an_npz_array_of_the_wrong_shape_is_refused(folder, tiny_run):
    (folder / "epoch_weights.npz").write_bytes(npz_bytes({"e0_0.npy": npy_header_only((2, 4))
                                                         + b"\0" * 32}))
    expected = re.escape(str(tuple(tiny_run.model.weights[0].shape)))
    with pytest.raises(ValueError, match=r"array e0_0 is declared float32 \(2, 4\); the "
                                         rf"architecture needs float32 {expected}"):
        run_files.load_run(folder)


def test_epochs_beyond_the_run_or_the_cap_are_refused(folder, tiny_run):
    weights = tiny_run.model.get_weights()
    arrays = {f"e{epoch}_{i}": w for epoch in (0, 3) for i, w in enumerate(weights)}
    np.savez(folder / "epoch_weights.npz", **arrays)  # the run trained 2 epochs
    with pytest.raises(ValueError, match="array e3_0 does not fit a run of 2 epochs"):
        run_files.load_run(folder)
    assert run_checks.MAX_EPOCHS_CARRIED == 101


def test_an_h5_bomb_is_refused_from_its_metadata(folder):
    """A small file declaring a 4 GiB chunked, compressed array: refused without reading it."""
    with h5py.File(folder / "model.weights.h5", "a") as store:
        store.create_dataset("layers/bomb/vars/0", shape=(2**16, 2**14), dtype="f4",
                             chunks=(1024, 1024), compression="gzip")
    assert (folder / "model.weights.h5").stat().st_size < 2**20
    with pytest.raises(ValueError, match=r"model.weights.h5 does not fit architecture.json: "
                                         r".*an array declared \(65536, 16384\)"):
        run_files.load_run(folder)


def test_an_h5_external_link_is_refused(folder):
    with h5py.File(folder / "model.weights.h5", "a") as store:
        store["layers/elsewhere"] = h5py.ExternalLink("/etc/passwd", "/")
    with pytest.raises(ValueError, match="layers/elsewhere is a ExternalLink"):
        run_files.load_run(folder)


def central_entry(data: bytes | bytearray, name: str) -> int:
    """The offset of ``name``'s entry in a zip's central directory."""
    at = bytes(data).index(b"PK\x01\x02")
    while True:
        length = int.from_bytes(data[at + 28:at + 30], "little")
        if data[at + 46:at + 46 + length] == name.encode():
            return at
        at = bytes(data).index(b"PK\x01\x02", at + 4)


def declaring(data: bytes, name: str, size: int) -> bytes:
    """The zip with ``name``'s uncompressed size in the central directory set to ``size``."""
    patched = bytearray(data)
    at = central_entry(patched, name)
    patched[at + 24:at + 28] = size.to_bytes(4, "little")
    return bytes(patched)


def test_a_zip_declaring_hundreds_of_megabytes_is_refused_before_unpacking(run_folder):
    data = declaring(zip_of(run_folder), "epoch_weights.npz", 201 * 2**20)
    with pytest.raises(ValueError, match=r"epoch_weights.npz in the zip is 210,763,776 bytes; "
                                         r"the limit is 209,715,200"):
        run_files.run_from_zip_bytes(data)


def test_a_weight_file_larger_than_the_architecture_allows_is_refused(run_folder):
    data = declaring(zip_of(run_folder), "epoch_weights.npz", 60 * 2**20)
    with pytest.raises(ValueError, match="epoch_weights.npz in the zip is 62,914,560 bytes; a "
                                         "run of this architecture has at most"):
        run_files.run_from_zip_bytes(data)


def test_an_encrypted_member_is_refused(run_folder):
    data = bytearray(zip_of(run_folder))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("history.json")
    data[info.header_offset + 6] |= 1  # the flag bits: in the local header,
    data[central_entry(data, "history.json") + 8] |= 1  # and in the central directory
    with pytest.raises(ValueError, match="history.json is encrypted"):
        run_files.run_from_zip_bytes(bytes(data))


def test_a_member_larger_than_it_declares_is_cut_at_the_limit(run_folder, tiny_run):
    shapes = [tuple(w.shape) for w in tiny_run.model.weights]
    real = zip_of(run_folder, model_weights_h5=b"\0" * (run_checks.largest_h5(shapes) + 10))
    data = declaring(real, "model.weights.h5", 1000)  # the directory lies: 1,000 bytes
    with pytest.raises(ValueError, match="model.weights.h5 in the zip cannot be read"):
        run_files.run_from_zip_bytes(data)


def test_a_corrupt_deflate_stream_names_the_member(run_folder):
    data = bytearray(zip_of(run_folder))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("metrics.json")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start:start + 40] = b"\xff" * 40
    with pytest.raises(ValueError, match="metrics.json in the zip cannot be read"):
        run_files.run_from_zip_bytes(bytes(data))


@pytest.mark.parametrize("name", ["history.json", "metrics.json", "hyperparameters.json"])
def test_deeply_nested_json_in_a_run_file(folder, name):
    (folder / name).write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(ValueError, match=f"{name}: JSON nested 200,000 levels deep"):
        run_files.load_run(folder)
    data = zip_of(folder)
    with pytest.raises(ValueError, match="JSON nested 200,000 levels deep"):
        run_files.run_from_zip_bytes(data)


@pytest.mark.parametrize(("name", "edit", "expected"), [
    ("history.json", lambda d: d["epochs"][0].update(loss="INF"), "the number Infinity"),
    ("metrics.json", lambda d: d.update(misclassified=[dict(WRONG, index="INF")]),
     "the number Infinity"),
    ("metrics.json", lambda d: d.update(misclassified=[dict(WRONG, index=-3)]),
     "is out of range"),
    ("metrics.json", lambda d: d.update(misclassified=[dict(WRONG, true_label=10**9)]),
     "is out of range"),
    ("metrics.json", lambda d: d.update(test_loss="NAN"), "the number NaN"),
    ("metrics.json", lambda d: d.pop("test_accuracy"), "metrics has no test_accuracy"),
    ("hyperparameters.json", lambda d: d.update(seed="BIG"), "an integer of 5,000 digits"),
])
def test_bad_numbers_in_run_files(folder, name, edit, expected):
    data = json.loads((folder / name).read_text())
    edit(data)
    text = (json.dumps(data).replace('"INF"', "Infinity").replace('"NAN"', "NaN")
            .replace('"BIG"', "9" * 5000))
    (folder / name).write_text(text)
    with pytest.raises(ValueError, match=expected):
        run_files.load_run(folder)


def test_a_full_disk_while_saving_keeps_the_old_run(folder, tiny_run, monkeypatch):
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)  # after the weights and JSON files are written
    with pytest.raises(atomic.SaveError, match="cannot save to .*run: the disk is full"):
        run_files.save_run(tiny_run, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in folder.parent.iterdir()) == ["run"]  # no staging left


def test_a_save_that_fails_after_the_swap_started_puts_the_old_run_back(folder, tiny_run,
                                                                       monkeypatch):
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real = atomic.os.replace
    calls = []

    def fail_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EIO, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", fail_second)
    with pytest.raises(atomic.SaveError, match="Input/output error"):
        run_files.save_run(tiny_run, folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in folder.parent.iterdir()) == ["run"]


def test_saving_under_a_regular_file_or_into_a_foreign_folder_is_refused(tmp_path, tiny_run):
    (tmp_path / "file").write_text("x")
    with pytest.raises(atomic.SaveError, match="file/run: .*file is a file, not a folder"):
        run_files.save_run(tiny_run, tmp_path / "file" / "run")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(atomic.SaveError, match="holds 'notes.txt', which is not a run file"):
        run_files.save_run(tiny_run, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_a_saved_run_replaces_the_old_one_whole(folder, tiny_run):
    (folder / "epoch_weights.npz").unlink()
    (folder / "history.json").write_text("{}")
    run_files.save_run(tiny_run, folder)
    again = run_files.load_run(folder)
    assert len(again.history) == 2 and sorted(again.epoch_weights) == [0, 1, 2]
