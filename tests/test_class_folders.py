"""Class folders (Keras's image_dataset_from_directory layout): sizes, colour, splits, bad files,
limits and the cache, checked against the images read back with Pillow and numpy."""

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnlab.data import class_folders, datasets, kinds
from cnnlab.data.class_folders import Limits, load_class_folder


@pytest.fixture(autouse=True)
def fresh_cache():
    datasets.clear_cache()
    yield
    datasets.clear_cache()


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
    with pytest.raises(class_folders.SizesDiffer) as info:
        load_class_folder(tmp_path)
    assert str(info.value) == "images have 3 sizes (28×28, 32×32, 64×48): give --image-size H W"
    assert info.value.sizes == [(28, 28), (32, 32), (64, 48)]
    ds, _ = load_class_folder(tmp_path, image_size=(20, 24))
    assert ds.image_shape == (20, 24, 1)
    want = set()
    for i, _ in enumerate(sizes):
        path = tmp_path / ("a" if i % 2 else "b") / f"{i}.png"
        resized = Image.open(path).resize((24, 20), Image.Resampling.BILINEAR)
        want.add((0 if i % 2 else 1, np.asarray(resized)[..., None].tobytes()))
    assert rows(ds, "train") | rows(ds, "test") == want
    with pytest.raises(datasets.DatasetError, match="between 1 and 512; received"):
        load_class_folder(tmp_path, image_size=(0, 10))


def test_colour_when_any_image_has_colour_else_grey_or_as_forced(tmp_path):
    grey = make_tree(tmp_path, {"a": 3, "b": 3}, shape=(5, 5))
    assert load_class_folder(tmp_path)[0].image_shape == (5, 5, 1)
    rgb_ds, _ = load_class_folder(tmp_path, color="rgb")
    assert rgb_ds.image_shape == (5, 5, 3)
    assert rows(rgb_ds, "train") | rows(rgb_ds, "test") == {
        (ord(c) - 97, np.repeat(p[..., None], 3, axis=2).tobytes()) for (c, _), p in grey.items()}
    colour = save(tmp_path / "b" / "colour.jpg", np.full((5, 5, 3), (200, 20, 20), np.uint8),
                  "JPEG")
    ds, _ = load_class_folder(tmp_path)
    assert ds.image_shape == (5, 5, 3) and len(ds.y_train) + len(ds.y_test) == 7
    forced, _ = load_class_folder(tmp_path, color="grayscale")
    assert forced.image_shape == (5, 5, 1)
    luma = np.asarray(Image.open(tmp_path / "b" / "colour.jpg").convert("L"))[..., None]
    assert (1, luma.tobytes()) in rows(forced, "train") | rows(forced, "test")
    assert colour.shape == (5, 5, 3)
    with pytest.raises(datasets.DatasetError, match="rgb or grayscale; received 'blue'"):
        load_class_folder(tmp_path, color="blue")


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
                  "b/huge.png: declares more pixels than the 16,777,216-pixel limit",
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


def test_load_dataset_reads_class_folders_cached_until_a_file_changes(tmp_path):
    make_tree(tmp_path, {"a": 3, "b": 3})
    progress = []
    ds = datasets.load_dataset(str(tmp_path), folder_progress=lambda d, t: progress.append((d, t)))
    assert ds.class_names == ("a", "b") and progress[-1] == (6, 6)
    assert datasets.load_dataset(str(tmp_path)) is ds
    save(tmp_path / "a" / "new.png", np.zeros((8, 6), np.uint8))
    assert len(datasets.load_dataset(str(tmp_path)).y_train) == 5
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(datasets.DatasetError, match="one subfolder of PNG/JPEG images per class"):
        datasets.load_dataset(str(empty))


def test_the_name_carries_the_options_and_loads_the_same_set_again(tmp_path):
    make_tree(tmp_path / "set", {"a": 3, "b": 3})
    ds, _ = load_class_folder(tmp_path / "set", image_size=(4, 5), color="rgb")
    assert ds.name == f"{tmp_path / 'set'} (4×5, rgb)"
    again = datasets.load_dataset(ds.name)  # what a run records as its data set
    assert again is ds
    plain, _ = load_class_folder(tmp_path / "set")
    assert plain.name == str(tmp_path / "set") and plain.image_shape == (8, 6, 1)


def test_images_over_the_side_limit_ask_for_a_size(tmp_path):
    make_tree(tmp_path, {"a": 2, "b": 2}, shape=(600, 10))
    with pytest.raises(class_folders.SizesDiffer, match="600×10, over 512 pixels a side"):
        load_class_folder(tmp_path)
    assert load_class_folder(tmp_path, image_size=(60, 1))[0].image_shape == (60, 1, 1)
