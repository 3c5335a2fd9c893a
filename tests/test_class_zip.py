"""Class-folder zips: checked before a byte is unpacked (``../``, links, bombs, counts, sizes)."""

import io
import stat
import zipfile

import numpy as np
import pytest
from PIL import Image

from cnnlab.data import class_folders, class_zip, datasets, refs


@pytest.fixture(autouse=True)
def fresh_cache():
    datasets.clear_cache()
    yield
    datasets.clear_cache()


def png(seed: int, shape=(6, 6)) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, np.uint8)).save(out, "PNG")
    return out.getvalue()


def write_zip(path, members: dict[str, bytes], links=()) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)


def shapes_members(top: str = "shapes/") -> dict[str, bytes]:
    return {f"{top}{c}/{i}.png": png(10 * k + i) for k, c in enumerate(("circle", "square"))
            for i in range(3)}


@pytest.mark.parametrize("top", ["shapes/", ""])
def test_a_zip_of_class_folders_loads_with_or_without_a_top_folder(tmp_path, top):
    members = shapes_members(top) | {f"{top}readme.txt": b"hello", "__MACOSX/._x.png": b"junk"}
    write_zip(tmp_path / "s.zip", members)
    ds, notes = class_zip.from_zip(tmp_path / "s.zip", tmp_path / "ws" / "shapes",
                                   refs.upload("shapes"))
    assert ds.class_names == ("circle", "square") and len(ds.y_train) + len(ds.y_test) == 6
    pixels = {np.asarray(Image.open(io.BytesIO(data))).tobytes()
              for name, data in members.items() if name.endswith(".png") and "MACOSX" not in name}
    assert {x[..., 0].tobytes() for x in (*ds.x_train, *ds.x_test)} == pixels
    unpacked = sorted(p.name for p in (tmp_path / "ws" / "shapes").rglob("*") if p.is_file())
    assert unpacked == sorted(["0.png", "1.png", "2.png"] * 2)  # readme and junk left packed


@pytest.mark.parametrize("name", ["../evil.png", "shapes/../../evil.png", "/abs/evil.png"])
def test_members_climbing_out_refuse_the_zip_before_unpacking(tmp_path, name):
    write_zip(tmp_path / "bad.zip", shapes_members() | {name: png(0)})
    with pytest.raises(datasets.DatasetError, match="points outside the zip's folder"):
        class_zip.unpack(tmp_path / "bad.zip", tmp_path / "out" / "set")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.png").exists()  # nothing


def test_a_symbolic_link_member_refuses_the_zip(tmp_path):
    write_zip(tmp_path / "link.zip", shapes_members(), links=[("shapes/circle/x.png", "/etc")])
    with pytest.raises(datasets.DatasetError, match="is a symbolic link"):
        class_zip.unpack(tmp_path / "link.zip", tmp_path / "set")
    assert not (tmp_path / "set").exists()


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path):
    limits = class_folders.Limits()
    bomb = b"\0" * (limits.max_file_bytes + 1)  # deflates to ~10 kB
    write_zip(tmp_path / "bomb.zip", shapes_members() | {"shapes/circle/bomb.png": bomb})
    assert (tmp_path / "bomb.zip").stat().st_size < 100_000
    with pytest.raises(datasets.DatasetError, match=r"bomb.png' declares 10,485,761 bytes"):
        class_zip.unpack(tmp_path / "bomb.zip", tmp_path / "set")
    assert not (tmp_path / "set").exists()


def test_the_room_left_and_the_member_count_are_limits(tmp_path):
    write_zip(tmp_path / "s.zip", shapes_members())
    with pytest.raises(datasets.DatasetError, match="declare .* bytes unpacked; at most 100 "):
        class_zip.unpack(tmp_path / "s.zip", tmp_path / "a", max_bytes=100)
    write_zip(tmp_path / "many.zip", shapes_members() | {f"n{i}.txt": b"" for i in range(20)})
    with pytest.raises(datasets.DatasetError, match="holds 26 members; at most 17 "):
        class_zip.unpack(tmp_path / "many.zip", tmp_path / "b",
                         limits=class_folders.Limits(max_images=1, max_classes=0))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_member_lying_about_its_size_fails_instead_of_growing(tmp_path):
    write_zip(tmp_path / "s.zip", {"s/a/0.png": png(1), "s/b/0.png": png(2)})
    data = bytearray((tmp_path / "s.zip").read_bytes())
    with zipfile.ZipFile(tmp_path / "s.zip") as zf:
        info = zf.getinfo("s/a/0.png")
    size = (info.file_size // 2).to_bytes(4, "little")  # half the truth
    data[info.header_offset + 22:info.header_offset + 26] = size  # local header
    central = bytes(data).find(b"PK\x01\x02")  # its entry comes first in the directory
    data[central + 24:central + 28] = size
    (tmp_path / "lie.zip").write_bytes(bytes(data))
    with pytest.raises(datasets.DatasetError, match="not a readable zip"):
        class_zip.unpack(tmp_path / "lie.zip", tmp_path / "set")
    assert not (tmp_path / "set").exists()


def test_not_a_zip_and_an_existing_target(tmp_path):
    (tmp_path / "x.zip").write_text("text")
    with pytest.raises(datasets.DatasetError, match="not a readable zip"):
        class_zip.unpack(tmp_path / "x.zip", tmp_path / "set")
    write_zip(tmp_path / "s.zip", shapes_members())
    (tmp_path / "taken").mkdir()
    with pytest.raises(datasets.DatasetError, match="exists already"):
        class_zip.unpack(tmp_path / "s.zip", tmp_path / "taken")


def test_a_set_that_cannot_load_is_removed_but_one_needing_a_size_stays(tmp_path):
    write_zip(tmp_path / "one.zip", {"a/0.png": png(0), "a/1.png": png(1)})
    with pytest.raises(datasets.DatasetError, match="1 class folder"):
        class_zip.from_zip(tmp_path / "one.zip", tmp_path / "one", refs.upload("one"))
    assert not (tmp_path / "one").exists()
    write_zip(tmp_path / "sizes.zip", {"a/0.png": png(0), "a/1.png": png(1, (4, 4)),
                                       "b/0.png": png(2), "b/1.png": png(3)})
    with pytest.raises(class_folders.SizeNeeded):
        class_zip.from_zip(tmp_path / "sizes.zip", tmp_path / "sizes", refs.upload("sizes"))
    ds, _ = class_folders.load_class_folder(tmp_path / "sizes", refs.upload("sizes", (5, 5)))
    assert ds.image_shape == (5, 5, 1)


def test_messages_name_the_zip_the_user_gave_not_its_temporary_copy(tmp_path):
    write_zip(tmp_path / ".upload-x7f3.zip", shapes_members() | {"../evil.png": png(0)})
    with pytest.raises(datasets.DatasetError) as info:
        class_zip.unpack(tmp_path / ".upload-x7f3.zip", tmp_path / "secret" / "set",
                         shown="holiday pets.zip")
    assert "the zip holiday pets.zip: the member '../evil.png'" in str(info.value)
    assert ".upload-" not in str(info.value) and "secret" not in str(info.value)
