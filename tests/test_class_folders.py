"""Class folders (Keras's image_dataset_from_directory layout): sizes, colour, splits, bad files,
limits and the cache, checked against the images read back with Pillow and numpy."""

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.data import class_folders, datasets, kinds, refs
from cnnlab.data.class_folders import Limits


@pytest.fixture(autouse=True)
def fresh_cache():
    datasets.clear_cache()
    yield
    datasets.clear_cache()


def load_class_folder(path, image_size=None, colour=None, seed=0, **options):
    """The folder loaded as the folder data set at ``path`` with these options."""
    return class_folders.load_class_folder(path, refs.folder(path, image_size, colour), seed,
                                           **options)


def save(path: Path, pixels: np.ndarray, fmt: str = "PNG") -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, fmt)
    return pixels


def make_tree(root: Path, counts: dict[str, int], shape=(8, 6), colour=False, seed=0) -> dict:
    """``root/<class>/<i>.png`` of random pixels; {(class, i): pixels}."""
    rng = np.random.default_rng(seed)
    written = {}
    for name, n in counts.items():
        for i in range(n):
            pixels = rng.integers(0, 256, shape + ((3,) if colour else ()), dtype=np.uint8)
            written[(name, i)] = save(root / name / f"{i:03d}.png", pixels)
    return written


def rows(ds, split):
    x, y = (ds.x_train, ds.y_train) if split == "train" else (ds.x_test, ds.y_test)
    return {(int(label), image.tobytes()) for image, label in zip(x, y, strict=True)}


def test_a_tree_without_train_and_test_is_split_80_20_per_class_seeded(tmp_path):
    written = make_tree(tmp_path, {"dog": 10, "cat": 5, "ant": 3})
    ds, notes = load_class_folder(tmp_path)
    assert ds.class_names == ("ant", "cat", "dog")  # the folder names, sorted
    assert ds.class_counts("test") == [1, 1, 2] and ds.class_counts("train") == [2, 4, 8]
    assert ds.image_shape == (8, 6, 1) and ds.x_train.dtype == np.uint8
    assert ds.preparation == kinds.RESIZE and not ds.x_train.flags.writeable
    want = {(ds.class_names.index(c), p[..., None].tobytes()) for (c, _), p in written.items()}
    assert rows(ds, "train") | rows(ds, "test") == want  # every image, exactly, once
    assert not rows(ds, "train") & rows(ds, "test")
    assert "18 images in 3 classes" in notes[0] and notes == list(ds.warnings)
    again, _ = load_class_folder(tmp_path, seed=0)
    assert again is ds  # cached
    other, _ = load_class_folder(tmp_path, seed=1)
    assert rows(other, "test") != rows(ds, "test") and other.class_counts("test") == [1, 1, 2]


def test_train_and_test_folders_are_kept(tmp_path):
    train = make_tree(tmp_path / "train", {"a": 4, "b": 3}, seed=1)
    test = make_tree(tmp_path / "test", {"a": 2, "b": 1}, seed=2)
    ds, _ = load_class_folder(tmp_path)
    for split, written in (("train", train), ("test", test)):
        assert rows(ds, split) == {(ord(c) - 97, p[..., None].tobytes())
                                   for (c, _), p in written.items()}
    (tmp_path / "test" / "c").mkdir()
    with pytest.raises(datasets.DatasetError, match="same class folders.*c"):
        load_class_folder(tmp_path)


def test_mixed_sizes_need_an_image_size_and_are_resized_like_pillow(tmp_path):
    rng = np.random.default_rng(3)
    sizes = [(28, 28), (32, 32), (64, 48), (28, 28)]
    for i, (h, w) in enumerate(sizes):
        pixels = rng.integers(0, 256, (h, w), np.uint8)
        save(tmp_path / ("a" if i % 2 else "b") / f"{i}.png", pixels)
    with pytest.raises(class_folders.SizeNeeded) as info:
        load_class_folder(tmp_path)
    assert str(info.value) == "images have 3 sizes (28×28, 32×32, 64×48): give --image-size H W"
    assert info.value.sizes == [(28, 28), (32, 32), (64, 48)]
    assert info.value.proposal == (28, 28)  # the most common size, small enough as it is
    ds, _ = load_class_folder(tmp_path, image_size=(20, 24))
    assert ds.image_shape == (20, 24, 1)
    want = set()
    for i, (h, w) in enumerate(sizes):
        path = tmp_path / ("a" if i % 2 else "b") / f"{i}.png"
        image = Image.open(path)
        factor = min(h // 20, w // 24)  # Pillow's box reduce by a whole factor first, if any
        image = image.reduce(factor) if factor >= 2 else image
        resized = image.resize((24, 20), Image.Resampling.BILINEAR)
        want.add((0 if i % 2 else 1, np.asarray(resized)[..., None].tobytes()))
    assert rows(ds, "train") | rows(ds, "test") == want
    with pytest.raises(ValueError, match="between 1 and 512; received"):
        load_class_folder(tmp_path, image_size=(0, 10))


def test_colour_when_any_image_has_colour_else_grey_or_as_forced(tmp_path):
    grey = make_tree(tmp_path, {"a": 3, "b": 3}, shape=(5, 5))
    assert load_class_folder(tmp_path)[0].image_shape == (5, 5, 1)
    rgb_ds, _ = load_class_folder(tmp_path, colour="rgb")
    assert rgb_ds.image_shape == (5, 5, 3)
    assert rows(rgb_ds, "train") | rows(rgb_ds, "test") == {
        (ord(c) - 97, np.repeat(p[..., None], 3, axis=2).tobytes()) for (c, _), p in grey.items()}
    colour = save(tmp_path / "b" / "colour.jpg", np.full((5, 5, 3), (200, 20, 20), np.uint8),
                  "JPEG")
    ds, _ = load_class_folder(tmp_path)
    assert ds.image_shape == (5, 5, 3) and len(ds.y_train) + len(ds.y_test) == 7
    forced, _ = load_class_folder(tmp_path, colour="grey")
    assert forced.image_shape == (5, 5, 1)
    luma = np.asarray(Image.open(tmp_path / "b" / "colour.jpg").convert("L"))[..., None]
    assert (1, luma.tobytes()) in rows(forced, "train") | rows(forced, "test")
    assert colour.shape == (5, 5, 3)
    with pytest.raises(ValueError, match="grey, rgb or none .*; received 'blue'"):
        load_class_folder(tmp_path, colour="blue")


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` × ``height`` pixels (with one tiny IDAT)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))
            + chunk(b"IEND", b""))


def test_bad_files_are_skipped_and_named(tmp_path):
    make_tree(tmp_path, {"a": 3, "b": 3})
    good = (tmp_path / "a" / "000.png").read_bytes()
    (tmp_path / "a" / "truncated.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "a" / "text.png").write_text("not an image")
    (tmp_path / "b" / "huge.png").write_bytes(png_declaring(100_000, 100_000))
    (tmp_path / "b" / "link.png").symlink_to(tmp_path / "a" / "000.png")
    os.mkfifo(tmp_path / "b" / "pipe.png")
    (tmp_path / "b" / "notes.txt").write_text("ignored")
    ds, notes = load_class_folder(tmp_path)  # returns: a FIFO never blocks the scan
    assert len(ds.y_train) + len(ds.y_test) == 6
    skipped = next(n for n in notes if n.startswith("skipped"))
    assert "skipped 5 file(s)" in skipped
    for words in ("a/truncated.png: not a readable PNG or JPEG image (truncated",
                  "a/text.png: not a readable",
                  "b/huge.png: declares more pixels than the 12,000,000-pixel limit",
                  "b/link.png: a symbolic link", "b/pipe.png: not a regular file"):
        assert words in skipped, words
    assert any("not .png, .jpg or .jpeg: notes.txt" in n for n in notes)


def test_a_class_left_with_too_few_images_refuses_the_set(tmp_path):
    make_tree(tmp_path, {"a": 3, "b": 1})
    (tmp_path / "b" / "bad.png").write_text("x")
    with pytest.raises(datasets.DatasetError, match=r"at least 2 usable images; b \(1\) has "
                                                    r"fewer \(skipped 1 file"):
        load_class_folder(tmp_path)


@pytest.mark.parametrize("limits, words", [
    (Limits(max_images=5), "holds 6 images; at most 5"),
    (Limits(max_classes=1), "holds 2 class folders; at most 1"),
    (Limits(max_total_bytes=100), "bytes of images; at most 100 bytes"),
    (Limits(max_array_bytes=100), "use a smaller --image-size"),
])
def test_limits_on_the_whole_set_refuse_it(tmp_path, limits, words):
    make_tree(tmp_path, {"a": 3, "b": 3})
    with pytest.raises(datasets.DatasetError, match=words):
        load_class_folder(tmp_path, limits=limits)


def test_a_header_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    make_tree(tmp_path, {"a": 3, "b": 3}, shape=(4, 4))
    (tmp_path / "b" / "wide.png").write_bytes(png_declaring(5000, 4))  # under Pillow's own cap
    _, notes = load_class_folder(tmp_path, limits=Limits(max_pixels=10_000))
    assert any("b/wide.png: declares 5000×4 pixels, over the 10,000-pixel limit" in n
               for n in notes)


def test_a_file_over_the_byte_limit_is_skipped(tmp_path):
    make_tree(tmp_path, {"a": 3, "b": 3}, shape=(4, 4))
    save(tmp_path / "a" / "big.png", np.random.default_rng(0).integers(0, 256, (4, 40), np.uint8))
    _, notes = load_class_folder(tmp_path, limits=Limits(max_file_bytes=150),
                                 image_size=(4, 4))
    assert any("a/big.png: " in n and "over the 150-byte limit" in n for n in notes)


def test_not_a_class_folder(tmp_path):
    make_tree(tmp_path, {"only": 3})
    with pytest.raises(datasets.DatasetError, match="1 class folder.*at least 2 classes"):
        load_class_folder(tmp_path)
    with pytest.raises(datasets.DatasetError, match="no folder"):
        load_class_folder(tmp_path / "missing")



def test_messages_and_notes_name_the_set_never_where_it_is_stored(tmp_path):
    stored = tmp_path / "workspaces" / "SECRET-TOKEN" / "datasets" / "pets"
    make_tree(stored, {"only": 3})
    with pytest.raises(datasets.DatasetError) as info:
        class_folders.load_class_folder(stored, refs.upload("pets"))
    assert "pets (your upload) holds 1 class folder" in str(info.value)
    make_tree(stored, {"other": 3})
    (stored / "loose.png").write_bytes(b"x")
    (stored / "other" / "bad.png").write_bytes(b"x")
    ds, notes = class_folders.load_class_folder(stored, refs.upload("pets"))
    assert ds.name == "pets (your upload)" and "other/bad.png: not a readable" in notes[-1]
    assert not [n for n in (*notes, ds.source) if "SECRET" in n or str(tmp_path) in n], notes


def test_datasets_load_reads_class_folders_cached_until_a_file_changes(tmp_path):
    make_tree(tmp_path, {"a": 3, "b": 3})
    progress = []
    ref = refs.folder(tmp_path)
    ds = datasets.load(ref, folder_progress=lambda d, t: progress.append((d, t)))
    assert ds.class_names == ("a", "b") and progress[-1] == (6, 6) and ds.ref is ref
    assert datasets.load(ref) is ds
    save(tmp_path / "a" / "new.png", np.zeros((8, 6), np.uint8))
    assert len(datasets.load(ref).y_train) == 5
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(datasets.DatasetError, match="one subfolder of PNG/JPEG images per class"):
        datasets.load(refs.folder(empty))


def test_the_ref_carries_the_options_and_loads_the_same_set_again(tmp_path):
    make_tree(tmp_path / "set", {"a": 3, "b": 3})
    ref = refs.folder(tmp_path / "set", (4, 5), "rgb")
    ds, _ = class_folders.load_class_folder(tmp_path / "set", ref)
    assert ds.ref == ref and ds.name == f"{tmp_path / 'set'} (4×5, rgb)"
    again = datasets.load(refs.DatasetRef.from_dict(ref.to_dict()))  # as a run records it
    assert again is ds and again.image_shape == (4, 5, 3)
    plain, _ = load_class_folder(tmp_path / "set")
    assert plain.name == str(tmp_path / "set") and plain.image_shape == (8, 6, 1)


def test_images_over_the_proposal_side_ask_for_a_size_before_any_decoding(tmp_path,
                                                                          monkeypatch):
    make_tree(tmp_path, {"a": 2, "b": 2}, shape=(600, 10))
    monkeypatch.setattr(class_folders.image_files, "decode",
                        lambda *a, **k: pytest.fail("decoded before a size was chosen"))
    with pytest.raises(class_folders.SizeNeeded, match="600×10, over 64 pixels a side") as info:
        load_class_folder(tmp_path)
    assert info.value.sizes == [(600, 10)] and info.value.proposal == (64, 4)
    monkeypatch.undo()
    assert load_class_folder(tmp_path, image_size=(60, 1))[0].image_shape == (60, 1, 1)


def test_of_sizes_equally_common_the_smallest_is_proposed(tmp_path):
    for i, side in enumerate((24, 20, 24, 20)):  # 24 first on disk: order must not matter
        save(tmp_path / "ab"[i % 2] / f"{i}.png", np.zeros((side, side), np.uint8))
    with pytest.raises(class_folders.SizeNeeded) as info:
        load_class_folder(tmp_path)
    assert info.value.sizes == [(20, 20), (24, 24)] and info.value.proposal == (20, 20)
