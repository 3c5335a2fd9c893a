"""Checks on a run's files before their data is read: JSON limits, zip members, and the
declared shape and dtype of every weight array against the architecture.

A run zip of a few kB can declare gigabytes: every size, shape and dtype is taken from the
headers (zip directory, ``.npy`` headers inside ``epoch_weights.npz``, HDF5 dataset metadata
in ``model.weights.h5``) and compared with the limits and with the shapes the architecture
implies before anything large is decompressed. No TensorFlow here: the caller passes the
expected shapes (``[w.shape for w in model.weights]``).
"""

from __future__ import annotations

import collections
import math
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import h5py
import numpy as np

from cnnlab.data import kinds
from cnnlab.files import archives, reading
from cnnlab.files.archives import check_member
from cnnlab.runs.records import MAX_EPOCHS

MAX_JSON_BYTES = 5 * 2**20  # each JSON file of a run
MAX_WEIGHTS_BYTES = 200 * 2**20  # model.weights.h5, and epoch_weights.npz
MAX_UNPACKED_BYTES = 256 * 2**20  # all files of an uploaded run together
MAX_ZIP_ENTRIES = 32  # files and folders in a run zip
MAX_EPOCHS_CARRIED = MAX_EPOCHS + 1  # epoch_weights.npz: before training, then each epoch
_H5_OVERHEAD = 2**20 + 4096  # HDF5 metadata: a fixed part plus per array
_NPY_OVERHEAD = 512  # zip entry headers and .npy header of one array
_OPTIMIZER_COPIES = 3  # the weights, and at most two optimizer slots of the same size

Shape = tuple[int, ...]


class RunFileError(ValueError):
    """A run file or run zip that is refused; ``str()`` names the file and the problem."""


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A run's JSON file: regular file, size, depth, finite numbers (see ``cnnlab.files``)."""
    try:
        return reading.loads_json(reading.read_regular_file(path, max_bytes, "a run file"),
                                  str(path))
    except reading.InputError as exc:
        raise RunFileError(str(exc)) from None


def check_input_record(record: Any, input_shape: Shape | None, preparation: str,
                       where: str) -> kinds.InputFormat:
    """The run's input format from ``metrics.json``'s ``input`` record, checked against the
    architecture's ``input_shape`` and ``input_preparation``.

    A missing record or field (runs saved before it existed) is the architecture's size and
    colour, 28×28 grey when that has none: every such run was trained on 28×28 grey images.

    Raises:
        RunFileError: a field of the wrong type or value, or one the architecture contradicts.
    """
    if record is None:
        record = {}
    if not isinstance(record, dict):
        raise RunFileError(f"{where}: input must be an object with height, width, colour and "
                           f"preparation; received {type(record).__name__}")
    unknown = sorted(set(record) - {"height", "width", "colour", "preparation"})
    if unknown:
        raise RunFileError(f"{where}: input has unknown fields {', '.join(unknown)}; use "
                           "height, width, colour and preparation")
    default = kinds.InputFormat.from_shape(input_shape or (28, 28, 1), preparation)
    merged = dict(default.to_dict(), **record)
    try:
        found = kinds.InputFormat(**merged)
    except ValueError as exc:
        raise RunFileError(f"{where}: {exc}") from None
    for field in ("height", "width", "colour", "preparation"):
        if getattr(found, field) != getattr(default, field):
            source = "input_preparation" if field == "preparation" else "architecture.json"
            raise RunFileError(f"{where}: input {field} is {getattr(found, field)!r} but "
                               f"{source} says {getattr(default, field)!r}; they must agree")
    return found


def weights_bytes(shapes: list[Shape]) -> int:
    """float32 bytes of one copy of the weights."""
    return sum(4 * math.prod(shape) for shape in shapes)


def largest_h5(shapes: list[Shape]) -> int:
    """The largest ``model.weights.h5`` an architecture with these weights can have: the
    weights and the optimizer's state (Adam keeps two arrays per weight)."""
    return _OPTIMIZER_COPIES * weights_bytes(shapes) + _H5_OVERHEAD + 12_288 * len(shapes)


def largest_npz(shapes: list[Shape]) -> int:
    """The largest ``epoch_weights.npz``: every epoch carried, each array uncompressed."""
    return MAX_EPOCHS_CARRIED * (weights_bytes(shapes) + _NPY_OVERHEAD * len(shapes))


def check_epoch_weights(path: Path, shapes: list[Shape], epochs: int) -> None:
    """Refuse ``epoch_weights.npz`` unless every array's declared shape and dtype fit.

    Args:
        path: the file (a zip of ``.npy`` arrays named ``e<epoch>_<index>``).
        shapes: the architecture's weight shapes, in ``model.weights`` order.
        epochs: the run's epochs; no key may name a later one.
    Raises:
        RunFileError: naming the array and what was expected.
    """
    where = str(path)
    try:
        with zipfile.ZipFile(path) as npz:
            by_epoch: dict[int, set[int]] = collections.defaultdict(set)
            for info in npz.infolist():
                check_member(info, where)
                key = info.filename.removesuffix(".npy")
                epoch, _, index = key[1:].partition("_")
                if not (key.startswith("e") and epoch.isdigit() and index.isdigit()
                        and len(epoch) <= 4 and len(index) <= 4 and info.filename.endswith(".npy")):
                    raise RunFileError(f"{where}: unexpected array {info.filename!r}; arrays are "
                                       f"named e<epoch>_<index>")
                epoch_n, index_n = int(epoch), int(index)
                if epoch_n > epochs or index_n >= len(shapes) or index_n in by_epoch[epoch_n]:
                    raise RunFileError(f"{where}: array {key} does not fit a run of {epochs} "
                                       f"epochs and {len(shapes)} weight arrays")
                if len(by_epoch) >= MAX_EPOCHS_CARRIED and epoch_n not in by_epoch:
                    raise RunFileError(f"{where}: more than {MAX_EPOCHS_CARRIED} epochs of "
                                       f"weights; a run carries at most {MAX_EPOCHS_CARRIED}")
                shape, dtype = archives.npy_header(npz, info, where)
                if shape != tuple(shapes[index_n]) or dtype != np.float32:
                    raise RunFileError(f"{where}: array {key} is declared {dtype} {shape}; the "
                                       f"architecture needs float32 {tuple(shapes[index_n])}")
                by_epoch[epoch_n].add(index_n)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        if isinstance(exc, (RunFileError, reading.InputError)):
            raise
        raise RunFileError(f"{where}: unreadable ({exc})") from None
    for epoch, indices in by_epoch.items():
        if len(indices) != len(shapes):
            raise RunFileError(f"{where}: epoch {epoch} holds {len(indices)} of the "
                               f"{len(shapes)} weight arrays")


def check_weights_h5(path: Path, shapes: list[Shape]) -> None:
    """Refuse ``model.weights.h5`` unless its datasets' declared shapes are the architecture's.

    Only metadata is read: links must be plain (no external or soft links), datasets stored in
    the file (no external or virtual storage); those under ``layers/`` float32 with exactly
    the expected shapes; the optimizer's state (elsewhere) numbers, no larger in all than
    two more copies of the weights.
    """
    where = str(path)
    found: list[Shape] = []
    problems: list[str] = []
    other_bytes = [0]

    def visit(name: str, link: Any) -> None:
        if not isinstance(link, h5py.HardLink):
            problems.append(f"{name} is a {type(link).__name__}; only plain groups and arrays")
            return
        item = store[name]
        if isinstance(item, h5py.Dataset):
            if item.external or item.is_virtual:
                problems.append(f"{name} keeps its data outside the file")
            elif not name.startswith("layers/"):  # optimizer state: only its size matters
                other_bytes[0] += math.prod(item.shape) * item.dtype.itemsize
                if item.dtype.kind not in "biuf":
                    problems.append(f"{name} is declared {item.dtype}; expected numbers")
            elif item.dtype != np.float32:
                problems.append(f"{name} is declared {item.dtype}; weights are float32")
            else:
                found.append(tuple(item.shape))

    try:
        with h5py.File(path, "r") as store:
            store.visititems_links(visit)
    except OSError as exc:
        raise RunFileError(f"{where}: not a readable HDF5 weights file ({exc})") from None
    if not problems and other_bytes[0] > (_OPTIMIZER_COPIES - 1) * weights_bytes(shapes) + 4096:
        problems.append(f"optimizer state of {other_bytes[0]:,} bytes is declared; the "
                        f"architecture's weights take {weights_bytes(shapes):,}")
    if problems:
        raise RunFileError(f"{where}: {problems[0]}")
    expected = collections.Counter(tuple(s) for s in shapes)
    extra = collections.Counter(found) - expected
    missing = expected - collections.Counter(found)
    if extra or missing:
        detail = (f"an array declared {next(iter(extra))}" if extra
                  else f"no array of shape {next(iter(missing))}")
        raise RunFileError(f"{where}: the file holds {len(found)} weight arrays; the "
                           f"architecture has {len(shapes)}; {detail}")


def member_name(info: zipfile.ZipInfo, allowed: tuple[str, ...]) -> str | None:
    """The run file a zip member is, or None for a folder entry; raises for anything else."""
    raw = info.filename
    path = PurePosixPath(raw.replace("\\", "/"))
    if archives.escapes(raw):
        raise RunFileError(f"unsafe path in the zip: {raw!r}")
    if info.is_dir():
        return None
    if len(path.parts) > 2 or path.name not in allowed:
        raise RunFileError(f"unexpected file in the zip: {raw!r}; a run zip holds only "
                           f"{', '.join(allowed)}")
    return path.name


def zip_members(archive: zipfile.ZipFile, limits: dict[str, int]) -> dict[str, zipfile.ZipInfo]:
    """The run files of a run zip by name, from its directory alone (nothing unpacked).

    Raises:
        RunFileError: too many entries, an unsafe or unexpected name, a file twice, an
            encrypted or oddly compressed member, a declared size over its file's limit, or
            over :data:`MAX_UNPACKED_BYTES` in all.
    """
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise RunFileError(f"the zip holds {len(infos):,} entries; a run zip holds at most "
                           f"{MAX_ZIP_ENTRIES}")
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = member_name(info, tuple(limits))
        if name is None:
            continue
        check_member(info, "the zip")
        if name in members:
            raise RunFileError(f"the zip holds {name} twice")
        if info.file_size > limits[name]:
            raise RunFileError(f"{name} in the zip is {info.file_size:,} bytes; the limit is "
                               f"{limits[name]:,} bytes")
        members[name] = info
    total = sum(info.file_size for info in members.values())
    if total > MAX_UNPACKED_BYTES:
        raise RunFileError(f"the zip unpacks to {total:,} bytes; a run may be at most "
                           f"{MAX_UNPACKED_BYTES:,} bytes")
    return members
