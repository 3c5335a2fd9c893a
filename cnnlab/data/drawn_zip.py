"""A drawn set as a zip of class folders, and back: ``<class>/<number>.png``, 28×28 grey.

The layout of Keras's ``image_dataset_from_directory`` (one folder per class; the folder's
name is the class name), so the download trains elsewhere too. An uploaded zip is checked
from its directory before anything is decompressed: at most :data:`MAX_ZIP_BYTES`, every
member a plain (stored or deflate) PNG of at most :data:`MAX_PNG_BYTES` inside exactly one
class folder, no absolute paths, ``..``, links or encryption, no more members than the set's
limits allow. Each PNG must declare 28×28 in its header (a 4096×4096 one is refused without
being decoded), then is decoded by :func:`cnnlab.data.image_files.decode_bytes` (colour made
grey, 16-bit grey scaled to 8 bits).
"""

from __future__ import annotations

import io
import stat
import zipfile

import numpy as np
from PIL import Image

from cnnlab.data import image_files
from cnnlab.data.drawn import SIDE, DrawnError, DrawnSet, check_name
from cnnlab.files import archives

MAX_ZIP_BYTES = 20 * 2**20
MAX_PNG_BYTES = 64 * 2**10
MAX_PNG_PIXELS = 4096 * 4096  # declared by a PNG's header, checked before decoding it
_IGNORED = ("__MACOSX/", ".DS_Store")


def to_zip_bytes(drawn: DrawnSet) -> bytes:
    """The set as zip bytes: ``<class name>/0001.png`` ... in drawing order per class."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for index, name in enumerate(drawn.names):
            zf.writestr(zipfile.ZipInfo(f"{name}/"), b"")  # empty classes keep their folder
            for number, position in enumerate(drawn.examples_of(index), start=1):
                png = io.BytesIO()
                Image.fromarray(drawn.images[position], mode="L").save(png, format="PNG")
                zf.writestr(f"{name}/{number:04d}.png", png.getvalue())
    return buffer.getvalue()


def _member_class(info: zipfile.ZipInfo) -> tuple[str, bool]:
    """(class folder, is a PNG file) of a member; DrawnError for any other path."""
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise DrawnError(f"the zip's member {name!r} is a link; only PNG files in class "
                         "folders are accepted")
    parts = name.rstrip("/").split("/")
    if "\\" in name or archives.escapes(name) or any(p in ("", ".") for p in parts):
        raise DrawnError(f"the zip's member {name!r} has an unsafe path (absolute, '..' or "
                         "'\\'); use <class>/<image>.png")
    if info.is_dir():
        if len(parts) != 1:
            raise DrawnError(f"the zip's folder {name!r} is nested; use one folder per class "
                             "holding PNG files")
        return parts[0], False
    if len(parts) != 2 or not parts[1].lower().endswith(".png"):
        raise DrawnError(f"the zip's member {name!r} is not <class>/<image>.png; a drawn set "
                         "zip holds one folder per class of PNG files")
    return parts[0], True


def from_zip_bytes(data: bytes, max_classes: int, max_per_class: int) -> DrawnSet:
    """The drawn set a class-folder zip holds (classes in alphabetical order).

    Raises:
        DrawnError: the zip or one of its members is refused; the message names it.
    """
    if len(data) > MAX_ZIP_BYTES:
        raise DrawnError(f"the zip is {len(data):,} bytes; drawn-set zips up to "
                         f"{MAX_ZIP_BYTES:,} bytes are accepted")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DrawnError(f"the file is not a readable zip ({exc})") from None
    infos = [i for i in infos if not i.filename.startswith(_IGNORED)
             and not i.filename.endswith(_IGNORED[1])]
    if len(infos) > max_classes * (max_per_class + 1):
        raise DrawnError(f"the zip holds {len(infos):,} members; a drawn set has at most "
                         f"{max_classes} classes of {max_per_class} images")
    files: dict[str, list[zipfile.ZipInfo]] = {}
    for info in infos:
        folder, is_png = _member_class(info)
        files.setdefault(folder, [])
        if is_png:
            try:
                archives.check_member(info, "the zip")
            except ValueError as exc:
                raise DrawnError(str(exc)) from None
            if info.file_size > MAX_PNG_BYTES:
                raise DrawnError(f"the zip's {info.filename} is {info.file_size:,} bytes; "
                                 f"images up to {MAX_PNG_BYTES:,} bytes are accepted")
            files[folder].append(info)
    names: list[str] = []
    for folder in sorted(files):
        try:
            names.append(check_name(folder, names))
        except DrawnError as exc:
            raise DrawnError(f"the zip's folder {folder!r}: {exc}") from None
    drawn = DrawnSet.named(names, max_classes, max_per_class)
    with zf:
        for index, folder in enumerate(sorted(files)):
            for info in sorted(files[folder], key=lambda i: i.filename):
                drawn = drawn.add(index, _read_png(zf, info))
    return drawn


def _read_png(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    try:
        raw = zf.read(info)
        with Image.open(io.BytesIO(raw)) as img:  # the header only: nothing decoded yet
            width, height = img.size
        if (height, width) == (SIDE, SIDE):
            arr = image_files.decode_bytes(raw, None, rgb=False,
                                           max_pixels=MAX_PNG_PIXELS)[..., 0]
    except (ValueError, OSError, zipfile.BadZipFile, RuntimeError,
            Image.DecompressionBombError) as exc:
        raise DrawnError(f"the zip's {info.filename} is not a readable PNG ({exc})") from None
    if (height, width) != (SIDE, SIDE) or arr.shape != (SIDE, SIDE):
        raise DrawnError(f"the zip's {info.filename} is {width}×{height} pixels; drawn "
                         f"examples are {SIDE}×{SIDE} grey, as the download has them")
    return arr
