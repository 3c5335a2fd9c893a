"""Drawn classes: names, examples, the data set they make, the zip and the workspace file."""

from __future__ import annotations

import io
import stat
import zipfile

import numpy as np
import pytest
from PIL import Image

from cnnlab.data import drawn, drawn_zip, refs
from cnnlab.data.drawn import DrawnError, DrawnSet
from cnnlab.workspaces import drawn_sets, store, usage


def example(value: int) -> np.ndarray:
    img = np.zeros((28, 28), np.uint8)
    img[4:24, 10 + value % 8] = 200 + value % 50  # tells examples apart
    return img


def filled(names=("circle", "cross", "line"), per_class=10) -> DrawnSet:
    s = DrawnSet.named(list(names))
    for k in range(per_class):
        for c in range(len(names)):
            s = s.add(c, example(10 * c + k))
    return s


@pytest.mark.parametrize("name, fragment", [
    ("", "cannot be empty"), ("   ", "cannot be empty"), ("a" * 31, "at most 30"),
    ("../up", "letters, digits"), ("a/b", "letters, digits"), ("..", "letters, digits"),
    (".hidden", "letters, digits"), ("_x", "letters, digits"), ("tab\there", "letters, digits"),
    (7, "must be text")])
def test_bad_class_names_are_refused_with_the_reason(name, fragment):
    with pytest.raises(DrawnError, match=fragment):
        drawn.check_name(name)


def test_names_are_unique_ignoring_case_and_within_the_limits():
    assert drawn.check_name("  big cat-2 ") == "big cat-2"
    assert drawn.check_name("Kätzchen") == "Kätzchen"
    with pytest.raises(DrawnError, match="already a class named 'cat' \\(you typed 'Cat'"):
        DrawnSet.named(["cat", "Cat"])
    with pytest.raises(DrawnError, match="at least 2 classes"):
        DrawnSet.named(["only"])
    with pytest.raises(DrawnError, match="11 classes are more than the 10"):
        DrawnSet.named([f"c{i}" for i in range(11)])
    with pytest.raises(DrawnError, match="already 3 classes"):
        DrawnSet.named(["a", "b", "c"], max_classes=3).add_class("d")


def test_add_undo_delete_keep_drawing_order_and_counts():
    s = DrawnSet.named(["a", "b"]).add(0, example(1)).add(1, example(2)).add(0, example(3))
    assert s.counts() == [2, 1] and s.examples_of(0) == [0, 2]
    undone = s.undo()
    assert undone.counts() == [1, 1]
    assert np.array_equal(undone.images, s.images[:2])
    middle = s.delete(1)
    assert middle.labels.tolist() == [0, 0]
    assert np.array_equal(middle.images, s.images[[0, 2]])
    assert DrawnSet.named(["a", "b"]).undo().counts() == [0, 0]
    with pytest.raises(DrawnError, match="no example 3"):
        s.delete(3)
    with pytest.raises(DrawnError, match="class index must be 0 to 1"):
        s.add(2, example(0))
    with pytest.raises(DrawnError, match="28×28 uint8"):
        s.add(0, np.zeros((28, 28), np.float32))
    with pytest.raises(DrawnError, match="most allowed"):
        DrawnSet.named(["a", "b"], max_per_class=1).add(0, example(0)).add(0, example(1))


def test_rename_and_remove_class_relabel_the_examples():
    s = filled(per_class=2)
    renamed = s.rename(1, "plus")
    assert renamed.names == ("circle", "plus", "line")
    assert np.array_equal(renamed.images, s.images)
    with pytest.raises(DrawnError, match="already a class named 'line'"):
        s.rename(0, "LINE")
    assert s.rename(0, "Circle").names[0] == "Circle"  # its own name in another case is fine
    removed = s.remove_class(1)
    assert removed.names == ("circle", "line") and removed.counts() == [2, 2]
    assert np.array_equal(removed.images[removed.labels == 1], s.images[s.labels == 2])
    with pytest.raises(DrawnError, match="at least 2 classes"):
        removed.remove_class(0)


def test_dataset_split_is_stratified_seeded_and_disjoint():
    s = filled()
    with pytest.raises(DrawnError, match="still short: line: 9 of 10"):
        s.undo().to_dataset()
    data = s.to_dataset(seed=3)
    assert data.class_names == s.names
    assert data.class_counts("test") == [2, 2, 2] and data.class_counts("train") == [8, 8, 8]
    assert data.image_shape == (28, 28, 1) and data.preparation == "mnist-digits"
    rows = {img.tobytes(): label for img, label in zip(s.images, s.labels, strict=True)}
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        assert all(rows[img[..., 0].tobytes()] == label for img, label in zip(x, y, strict=True))
    train = {img.tobytes() for img in data.x_train}
    assert not train & {img.tobytes() for img in data.x_test}
    again = s.to_dataset(seed=3)
    assert np.array_equal(again.x_test, data.x_test)
    assert not np.array_equal(s.to_dataset(seed=4).y_test, data.y_test)


def test_copies_multiply_only_the_training_split():
    from cnnlab.training import multiply

    s = filled(per_class=10)
    data = multiply.with_copies(s.to_dataset(seed=0), 2, "light", seed=0)
    assert data.ref == refs.drawn() and data.name == "my drawings"
    assert data.class_counts("train") == [24, 24, 24] and data.class_counts("test") == [2, 2, 2]
    plain = s.to_dataset(seed=0)
    assert np.array_equal(np.sort(plain.x_test.reshape(6, -1), 0),
                          np.sort(data.x_test.reshape(6, -1), 0))


def test_zip_round_trip_is_the_keras_class_folder_layout():
    s = filled(per_class=3)
    raw = drawn_zip.to_zip_bytes(s)
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        files = sorted(n for n in zf.namelist() if not n.endswith("/"))
        assert files[:3] == ["circle/0001.png", "circle/0002.png", "circle/0003.png"]
        with Image.open(io.BytesIO(zf.read("cross/0002.png"))) as im:
            assert (im.mode, im.size) == ("L", (28, 28))
            assert np.array_equal(np.asarray(im), s.images[s.examples_of(1)[1]])
    back = drawn_zip.from_zip_bytes(raw, 10, 200)
    assert back.names == s.names and back.counts() == s.counts()
    for c in range(3):
        assert np.array_equal(back.images[back.examples_of(c)], s.images[s.examples_of(c)])


def make_zip(members: dict[str, bytes], link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def png(side: int = 28) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.zeros((side, side), np.uint8)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("members, link, fragment", [
    ({"../evil/1.png": png(), "b/1.png": png()}, None, "unsafe path"),
    ({"/abs/1.png": png(), "b/1.png": png()}, None, "unsafe path"),
    ({"a/1.png": png(), "b/1.png": png()}, "a/2.png", "is a link"),
    ({"a/x/1.png": png(), "b/1.png": png()}, None, "not <class>/<image>.png"),
    ({"a/1.jpg": png(), "b/1.png": png()}, None, "not <class>/<image>.png"),
    ({"a/1.png": b"not a png", "b/1.png": png()}, None, "a/1.png is not a readable PNG"),
    ({"a/1.png": png(32), "b/1.png": png()}, None, "32×32 pixels"),
    ({"a/1.png": png()}, None, "at least 2 classes"),
    ({".git/1.png": png(), "b/1.png": png()}, None, "folder '.git'"),
    ({"a/1.png": b"\0" * (drawn_zip.MAX_PNG_BYTES + 1), "b/1.png": png()}, None, "bytes;"),
])
def test_hostile_zips_are_refused_naming_the_member(members, link, fragment):
    with pytest.raises(DrawnError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        drawn_zip.from_zip_bytes(make_zip(members, link), 10, 200)


def test_zip_limits_and_non_zips():
    with pytest.raises(DrawnError, match="not a readable zip"):
        drawn_zip.from_zip_bytes(b"PK\x03\x04 broken", 10, 200)
    many = {f"c{c}/{k}.png": png() for c in range(2) for k in range(4)}
    with pytest.raises(DrawnError, match="at most 2 classes of 2 images"):
        drawn_zip.from_zip_bytes(make_zip(many), 2, 2)
    with pytest.raises(DrawnError, match="bytes; drawn-set zips up to"):
        drawn_zip.from_zip_bytes(b"\0" * (drawn_zip.MAX_ZIP_BYTES + 1), 10, 200)


def test_workspace_file_round_trips_and_counts_toward_the_quota(monkeypatch):
    ws = store.create()
    assert drawn_sets.load(ws) is None
    s = filled()
    drawn_sets.save(ws, s)
    back = drawn_sets.load(ws)
    assert back.names == s.names and np.array_equal(back.images, s.images)
    assert np.array_equal(back.labels, s.labels)
    assert ws.usage().bytes >= s.images.nbytes and ws.usage() == usage.recount(ws.folder)
    assert store.open_workspace(ws.token).run_folders() == []  # not mistaken for a run
    monkeypatch.setenv("CNNLAB_WORKSPACE_MB", "1")
    half = DrawnSet(s.names, np.zeros((300, 28, 28), np.uint8), np.arange(300) % 3,
                    max_per_class=200)
    drawn_sets.save(ws, half)  # 235 kB fits in 1 MB
    with usage.recording(ws.folder, "filler"):  # another write, counted
        (ws.folder / "filler").write_bytes(b"\0" * 700_000)
    big = DrawnSet(s.names, np.zeros((600, 28, 28), np.uint8), np.arange(600) % 3,
                   max_per_class=200)
    with pytest.raises(store.WorkspaceError, match=r"the drawn set needs about 0.2 MB on disk; "
                                                   r"this workspace has 0.1 MB left of its 1 MB"):
        drawn_sets.save(ws, big)  # 235 kB more
    assert drawn_sets.load(ws).counts() == [100, 100, 100]  # the old file is whole
    drawn_sets.save(ws, half.delete(0))  # smaller than the old one: it always fits
    assert drawn_sets.load(ws).counts() == [99, 100, 100]
    assert ws.usage() == usage.recount(ws.folder)


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CNNLAB_DRAWN_MAX_CLASSES", "3")
    monkeypatch.setenv("CNNLAB_DRAWN_MAX_PER_CLASS", "12")
    assert drawn_sets.new_set(["a", "b", "c"]).max_per_class == 12
    with pytest.raises(DrawnError, match="4 classes are more than the 3"):
        drawn_sets.new_set(["a", "b", "c", "d"])
    monkeypatch.setenv("CNNLAB_DRAWN_MAX_CLASSES", "1")
    with pytest.raises(ValueError, match="CNNLAB_DRAWN_MAX_CLASSES must be a whole number >= 2"):
        drawn_sets.max_classes()


@pytest.mark.parametrize("corrupt", [
    b"not a zip at all",
    "pickle",
    "extra member",
    "truncated",
])
def test_corrupt_workspace_files_are_refused_not_unpickled(corrupt):
    ws = store.create()
    drawn_sets.save(ws, filled(per_class=1))
    file = drawn_sets.path(ws)
    if corrupt == "pickle":
        buffer = io.BytesIO()
        np.savez(buffer, names=np.array(["a", "b"], dtype=object), images=np.zeros((0, 28, 28),
                 np.uint8), labels=np.zeros(0, np.int64))
        file.write_bytes(buffer.getvalue())
    elif corrupt == "extra member":
        buffer = io.BytesIO()
        np.savez(buffer, names=np.array(["a", "b"]), images=np.zeros((0, 28, 28), np.uint8),
                 labels=np.zeros(0, np.int64), other=np.zeros(3))
        file.write_bytes(buffer.getvalue())
    elif corrupt == "truncated":
        file.write_bytes(file.read_bytes()[:-100])
    else:
        file.write_bytes(corrupt)
    with pytest.raises(DrawnError, match="saved drawn set drawn.npz cannot be read"):
        drawn_sets.load(ws)


def test_the_download_loads_with_the_class_folder_loader(tmp_path):
    """The zip is the layout cnnlab.data.class_folders reads: same classes, same pictures."""
    from cnnlab.data import class_zip

    s = filled(per_class=5)
    zip_path = tmp_path / "mine.zip"
    zip_path.write_bytes(drawn_zip.to_zip_bytes(s))
    data, _ = class_zip.from_zip(zip_path, tmp_path / "unpacked", refs.upload("mine"))
    assert data.class_names == s.names and data.image_shape == (28, 28, 1)
    loaded = np.concatenate([data.x_train, data.x_test])[..., 0]
    labels = np.concatenate([data.y_train, data.y_test])
    for c in range(3):
        assert sorted(img.tobytes() for img in loaded[labels == c]) == \
            sorted(img.tobytes() for img in s.images[s.labels == c])
