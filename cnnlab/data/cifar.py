"""CIFAR-10 from Keras's cache: 60,000 32×32 colour images of 10 classes (Krizhevsky, 2009).

``keras.datasets.cifar10.load_data()`` downloads ``cifar-10-python.tar.gz`` to
``<keras home>/datasets/cifar-10-batches-py-target_archive`` and unpacks it next to it; older
Keras unpacked it to ``datasets/cifar-10-batches-py/``. We read the batches from whichever is
there (the unpacked folders first, else straight out of the archive, without unpacking it),
and download the archive the way Keras does when none is.

The batches are Python pickles: a dict of ``data`` (a numpy array of 10,000 × 3,072 bytes),
``labels`` (a list of ints) and two lists of names. We never let a pickle build real objects:
:class:`_BatchUnpickler`'s ``find_class`` refuses every global except the three a numpy array
needs (``_reconstruct``, ``ndarray``, ``dtype``), and even those resolve to inert stand-ins
that only record the shape, dtype and raw bytes they are given; the images are then made with
``np.frombuffer`` and checked. So no numpy (or any other) code runs on the file's say-so.
Member and file sizes are checked before reading.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from cnnlab.data import idx
from cnnlab.files import reading

NAME = "cifar-10"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE = "cifar-10-batches-py-target_archive"  # where Keras 3's get_file keeps the download
ARCHIVE_BYTES = 170_498_071
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
INNER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
MAX_BATCH_BYTES = 40 * 2**20  # a real batch is 31 MB
MAX_ARCHIVE_BYTES = 200 * 2**20
PIXELS = 3 * 32 * 32
NUMPY_GLOBALS = {("numpy.core.multiarray", "_reconstruct"),
                 ("numpy._core.multiarray", "_reconstruct"),
                 ("numpy", "ndarray"), ("numpy", "dtype")}


class CifarError(ValueError):
    """The cached CIFAR-10 files are missing or malformed; the message names the file."""


class _Inert:
    """Stands in for a numpy global: calling it, or setting its state, only records values."""

    def __init__(self, *args: object) -> None:
        self.args, self.state = args, None

    def __setstate__(self, state: object) -> None:
        self.state = state


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        if (module, name) in NUMPY_GLOBALS:
            return _Inert
        raise pickle.UnpicklingError(f"it asks for {module}.{name}; a CIFAR-10 batch holds only "
                                     "a numpy array, lists and strings")


def _array_bytes(value: object, where: str) -> tuple[tuple[int, ...], bytes]:
    """The shape and raw bytes a pickled uint8 numpy array declared."""
    state = getattr(value, "state", None)
    if not (isinstance(state, tuple) and len(state) == 5):
        raise CifarError(f"{where}: its data is not a numpy array")
    _, shape, dtype, fortran, raw = state
    code = getattr(dtype, "args", ("",))[0]
    if code not in ("u1", b"u1") or fortran or not isinstance(raw, bytes | bytearray):
        raise CifarError(f"{where}: its data is not a C-ordered uint8 array (dtype {code!r})")
    if not (isinstance(shape, tuple) and all(isinstance(s, int) for s in shape)):
        raise CifarError(f"{where}: its data has no valid shape")
    return shape, bytes(raw)


def parse_batch(data: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch as ``(images, labels)``: uint8 ``(n, 32, 32, 3)`` and ``(n,)``.

    Raises:
        CifarError: not a CIFAR-10 batch, or one asking for anything but a numpy array.
    """
    try:
        batch = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, MemoryError, RecursionError) as exc:
        raise CifarError(f"{where} is not a readable CIFAR-10 batch ({exc})") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise CifarError(f"{where} is not a CIFAR-10 batch: it needs data and labels")
    shape, raw = _array_bytes(batch[b"data"], where)
    labels = batch[b"labels"]
    if len(shape) != 2 or shape[1] != PIXELS or len(raw) != shape[0] * PIXELS:
        raise CifarError(f"{where}: data is {shape} with {len(raw):,} bytes; expected "
                         f"(n, {PIXELS}) with n × {PIXELS} bytes")
    if (not isinstance(labels, list) or len(labels) != shape[0]
            or not all(type(v) is int and 0 <= v < len(CLASSES) for v in labels)):
        raise CifarError(f"{where}: labels must be {shape[0]:,} integers from 0 to 9")
    images = np.frombuffer(raw, np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.array(labels, np.uint8)


def folders() -> list[Path]:
    """Where unpacked batches may be: Keras 3's folder, then older Keras's."""
    base = idx.keras_home() / "datasets"
    return [base / "cifar-10-batches-py-target" / INNER, base / INNER]


def archive_path() -> Path:
    """Where Keras 3 keeps the downloaded archive (and where we download it)."""
    return idx.keras_home() / "datasets" / ARCHIVE


def available() -> Path | None:
    """The unpacked folder or archive that holds all six batches, or None (never reads them)."""
    for folder in folders():
        if all((folder / b).is_file() for b in (*TRAIN_BATCHES, TEST_BATCH)):
            return folder
    return archive_path() if archive_path().is_file() else None


def _read_folder(folder: Path) -> dict[str, bytes]:
    return {b: reading.read_regular_file(folder / b, MAX_BATCH_BYTES, "a CIFAR-10 batch")
            for b in (*TRAIN_BATCHES, TEST_BATCH)}


def _read_archive(path: Path) -> dict[str, bytes]:
    """The six batch members of the archive, each checked to be a small regular file."""
    wanted = {f"{INNER}/{b}": b for b in (*TRAIN_BATCHES, TEST_BATCH)}
    found: dict[str, bytes] = {}
    if path.stat().st_size > MAX_ARCHIVE_BYTES:
        raise CifarError(f"{path} is {path.stat().st_size:,} bytes; the CIFAR-10 archive is "
                         f"{ARCHIVE_BYTES:,}")
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if name not in wanted:
                    continue
                if not member.isreg() or member.size > MAX_BATCH_BYTES:
                    raise CifarError(f"{path}: {name} is not a regular file of at most "
                                     f"{MAX_BATCH_BYTES:,} bytes")
                with tar.extractfile(member) as f:
                    found[wanted[name]] = f.read(MAX_BATCH_BYTES + 1)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise CifarError(f"{path} is not a readable archive ({exc})") from None
    missing = sorted(set(wanted.values()) - set(found))
    if missing:
        raise CifarError(f"{path} lacks {', '.join(missing)}")
    return found


def load(progress: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """CIFAR-10's ``x_train``, ``y_train``, ``x_test``, ``y_test``, downloading the archive
    into Keras's cache first when no copy is there.

    Raises:
        idx.DownloadError: no copy in the cache and the download failed.
        CifarError: a cached file is malformed.
    """
    source = available()
    if source is None:
        idx.download([(archive_path(), ARCHIVE_BYTES)], progress, urls=[URL])
        source = archive_path()
    batches = _read_archive(source) if source.is_file() else _read_folder(source)
    train = [parse_batch(batches[b], f"{source}: {b}") for b in TRAIN_BATCHES]
    x_test, y_test = parse_batch(batches[TEST_BATCH], f"{source}: {TEST_BATCH}")
    return {"x_train": np.concatenate([x for x, _ in train]),
            "y_train": np.concatenate([y for _, y in train]), "x_test": x_test, "y_test": y_test}
