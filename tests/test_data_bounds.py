"""Decoding bounded: large images get a proposed size and only it is kept; a header over the
pixel limit, a set over the CPU seconds or over the memory budget is refused before any pixel
is decoded; JPEGs and large images are decoded small; the data-set cache draws from the one
memory budget and evicts older variants."""

from __future__ import annotations

import argparse
import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnlab.data import class_folders, dataset, datasets, drawn_zip, image_files, refs
from cnnlab.memory import budget
from cnnlab.workspaces import data_roots, store, uploads

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_cache():
    datasets.clear_cache()
    yield
    datasets.clear_cache()


@pytest.fixture
def memory_limit():
    """``set(nbytes)`` sets the server's memory budget; the configured one comes back after."""
    yield budget.BUDGET.set_limit
    budget.BUDGET.set_limit(None)


class Decodes:
    """The image files decoded; while ``allowed`` is False a decode fails the load."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.allowed = True


@pytest.fixture
def decodes(monkeypatch):
    seen, original = Decodes(), image_files.decode

    def counted(path, *args, **kwargs):
        seen.paths.append(path)
        if not seen.allowed:
            raise AssertionError(f"decoded {path.name} before the set was accepted")
        return original(path, *args, **kwargs)

    monkeypatch.setattr(image_files, "decode", counted)
    return seen


def png_bytes(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` × ``height`` grey pixels (one tiny IDAT)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))
            + chunk(b"IEND", b""))


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def big_colour_zip(side: int = 512, per_class: int = 3) -> bytes:
    """Class folders of flat colour ``side``×``side`` PNGs: tiny zipped, large decoded."""
    return zip_of({f"big/{c}/{i}.png": png_bytes(np.full((side, side, 3), (40 * i, k * 90, 9),
                                                          np.uint8))
                   for k, c in enumerate(("red", "blue")) for i in range(per_class)})


def upload(members_zip: bytes, name: str = "big.zip") -> tuple[store.Workspace, refs.DatasetRef]:
    ws = store.create()
    path = uploads.add_zip(ws, name, members_zip)
    return ws, refs.upload(path.relative_to(uploads.folder(ws)).parts[0])


def cached_sets() -> list[datasets.Dataset]:
    return [dataset.CACHE.get(key) for key in dataset.CACHE.keys()]


def test_a_512_pixel_set_proposes_64_and_keeps_only_that_size(decodes):
    ws, ref = upload(big_colour_zip())
    decodes.allowed = False
    with pytest.raises(class_folders.SizeNeeded, match="512×512, over 64 pixels a side") as info:
        data_roots.load(ref, ws)
    assert info.value.proposal == (64, 64) and not decodes.paths
    decodes.allowed = True
    chosen = ref.with_options(info.value.proposal, None)
    data = data_roots.load(chosen, ws)
    assert len(decodes.paths) == 6
    assert data.ref == chosen and data.image_shape == (64, 64, 3)
    assert [d.ref for d in cached_sets()] == [chosen]  # nothing at 512×512 kept
    assert dataset.CACHE.nbytes() == data.nbytes == 6 * 64 * 64 * 3 + 6 * 8


def test_the_command_line_trains_a_512_pixel_set_at_the_proposal_with_a_note(tmp_path, capsys):
    from cnnlab.cli import data_options

    with zipfile.ZipFile(io.BytesIO(big_colour_zip(side=200))) as zf:
        zf.extractall(tmp_path)
    args = argparse.Namespace(dataset=str(tmp_path / "big"), image_size=None, color="grayscale")
    data = data_options.load(args)
    assert data.image_shape == (64, 64, 1) and data.ref.image_size == (64, 64)
    assert data.ref == refs.folder(tmp_path / "big", (64, 64), "grey")
    err = capsys.readouterr().err
    assert "note: the images are 200×200, over 64 pixels a side: training at 64×64" in err


def test_the_train_page_proposes_a_size_for_large_images_and_previews_it():
    from ui import datasets_upload

    ws, ref = upload(big_colour_zip())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["w"] = ws.token
    at.run()
    at.switch_page("pages/train.py").run()
    at.selectbox(key="train_dataset").set_value(datasets_upload.UPLOAD).run()
    assert not at.exception, at.exception
    warning = " ".join(w.value for w in at.warning)
    assert "The images are 512×512, more than 64 pixels a side" in warning
    assert "(64×64 proposed)" in warning and "only that size is kept in memory" in warning
    assert (at.number_input(key="upload_h").value, at.number_input(key="upload_w").value) == \
        (64, 64)
    assert any("red" in str(df.value) for df in at.dataframe)  # previewed at the proposal
    uploaded = [d for d in cached_sets() if d.ref.kind == refs.UPLOAD]
    assert [d.image_shape for d in uploaded] == [(64, 64, 3)]


def test_a_zip_of_huge_declared_pngs_is_refused_by_header_before_decoding(decodes):
    members = {f"huge/{c}/{i}.png": png_declaring(5000, 5000)
               for c in ("a", "b") for i in range(3)}
    ws, ref = upload(zip_of(members), "huge.zip")
    decodes.allowed = False
    with pytest.raises(datasets.DatasetError) as info:
        data_roots.load(ref.with_options((28, 28), None), ws)
    message = str(info.value)
    assert "declares 5000×5000 pixels, over the 12,000,000-pixel limit per image" in message
    assert "huge (your upload, 28×28)" in message and not decodes.paths
    assert ws.token not in message


def test_a_set_over_the_decode_seconds_is_refused_with_its_size(monkeypatch, decodes):
    members = {f"wide/{c}/{i}.png": png_declaring(2000, 2000)
               for c in ("a", "b") for i in range(2)}
    ws, ref = upload(zip_of(members), "wide.zip")
    monkeypatch.setenv("CNNLAB_DECODE_SECONDS", "0.1")
    decodes.allowed = False
    with pytest.raises(datasets.DatasetError) as info:
        data_roots.load(ref.with_options((32, 32), None), ws)
    assert str(info.value) == (
        "wide (your upload, 32×32): its 4 images declare 16.0 megapixels, about 0.2 s of the "
        "server's CPU to decode, over its 0.1 s (CNNLAB_DECODE_SECONDS); use fewer or smaller "
        "images (e.g. resized to 64 pixels a side before zipping)")
    assert not decodes.paths


def test_a_set_over_the_memory_budget_is_refused_before_decoding(memory_limit, decodes):
    ws, ref = upload(big_colour_zip())
    memory_limit(6 * 64 * 64 * 3 - 1)  # one byte short of the images at 64×64 in colour
    decodes.allowed = False
    with pytest.raises(budget.MemoryBudgetError) as info:
        data_roots.load(ref.with_options((64, 64), None), ws)
    assert str(info.value).startswith("the data set big (your upload, 64×64) (6 images of "
                                      "64×64×3) needs 0 MB of memory")
    assert "CNNLAB_MEMORY_MB" in str(info.value) and not decodes.paths


def test_the_cache_evicts_older_variants_when_another_is_loaded(memory_limit):
    ws, ref = upload(big_colour_zip(side=48))
    tall, wide = ref.with_options((16, 32), "grey"), ref.with_options((32, 16), "grey")
    first = data_roots.load(tall, ws)
    memory_limit(first.nbytes * 5 // 2)  # room for one variant while another decodes
    assert [d.ref for d in cached_sets()] == [tall]
    second = data_roots.load(wide, ws)
    assert [d.ref for d in cached_sets()] == [wide] and second is not first
    assert dataset.CACHE.nbytes() == second.nbytes <= budget.BUDGET.limit_bytes()
    assert first.x_train.shape == (4, 16, 32, 1)  # a job holding it keeps it alive


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_large_images_decode_small_like_a_full_size_resize(tmp_path, fmt):
    rows, cols = np.mgrid[0:1024, 0:768]
    pixels = np.stack([rows // 4, cols // 3, (rows + cols) // 8], axis=2).astype(np.uint8)
    path = tmp_path / f"gradient.{fmt.lower()}"
    Image.fromarray(pixels).save(path, fmt)
    header = image_files.read_header(path, 10 * 2**20, 12_000_000)
    assert header.format == fmt and (header.height, header.width) == (1024, 768)
    assert image_files.jpeg_scale(header, (32, 24)) == (8 if fmt == "JPEG" else 1)
    assert image_files.decode_cost(header, (32, 24)) == pytest.approx(
        1024 * 768 / (8 if fmt == "JPEG" else 1) * image_files.SECONDS_PER_PIXEL)
    small = image_files.decode(path, (32, 24), True, 10 * 2**20, 12_000_000)
    reference = np.asarray(Image.open(path).convert("RGB").resize(
        (24, 32), Image.Resampling.BILINEAR), np.float64)
    assert small.shape == (32, 24, 3)
    assert np.abs(small - reference).mean() < 3  # the same picture, within a few levels


def test_a_16_bit_grey_png_is_scaled_not_clipped():
    wide = (np.arange(28 * 28).reshape(28, 28) * 83).astype(np.uint16)  # 0 .. 65,000
    out = io.BytesIO()
    Image.fromarray(wide).save(out, "PNG")
    decoded = image_files.decode_bytes(out.getvalue(), None, False, 10_000)[..., 0]
    np.testing.assert_array_equal(decoded, np.round(wide * (255 / 65535)).astype(np.uint8))
    zipped = zip_of({"a/1.png": out.getvalue()} | {f"b/{i}.png": png_bytes(
        np.zeros((28, 28), np.uint8)) for i in range(2)})
    drawn_set = drawn_zip.from_zip_bytes(zipped, 10, 200)
    np.testing.assert_array_equal(drawn_set.images[drawn_set.examples_of(0)[0]], decoded)
