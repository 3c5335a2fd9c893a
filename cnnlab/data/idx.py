"""The raw files behind the data sets: IDX reading, the Keras cache and downloads.

Numpy, gzip and urllib only (no TensorFlow).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in row-major order.
MNIST and Fashion-MNIST use type code 0x08 (unsigned byte): labels are 1-D
(``idx1``), images 3-D (``idx3``). See https://yann.lecun.com/exdb/mnist/.

Sizes are checked against the header before anything big is read, and capped, so a
corrupted or hostile file (or a gzip bomb) is refused with a clear message.

``mnist`` and ``fashion-mnist`` live where ``keras.datasets.mnist.load_data()`` and
``keras.datasets.fashion_mnist.load_data()`` keep them, and are fetched from the same URLs.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pathlib
import struct
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from typing import BinaryIO

import numpy as np

from cnnlab.files import archives

UBYTE = 0x08
MAX_ITEMS = 1_000_000  # images or labels per file (MNIST has 60,000)
MAX_IDX_SIDE = 512  # image height or width in pixels
MAX_IDX_BYTES = 1 << 30  # 1 GiB of pixel data
GZIP_MAGIC = b"\x1f\x8b"

# (role, file stem) of the four files of an MNIST-format folder, as in the original release.
FOLDER_FILES = (
    ("train images", "train-images-idx3-ubyte"),
    ("train labels", "train-labels-idx1-ubyte"),
    ("test images", "t10k-images-idx3-ubyte"),
    ("test labels", "t10k-labels-idx1-ubyte"),
)

KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# Per data set: (path under <keras home>/datasets, approximate size for progress before the
# server says), exactly the files keras.datasets.{mnist,fashion_mnist}.load_data() use.
KERAS_FILES = {
    "mnist": (("mnist.npz", 11_490_434),),
    "fashion-mnist": (("fashion-mnist/train-labels-idx1-ubyte.gz", 29_515),
                      ("fashion-mnist/train-images-idx3-ubyte.gz", 26_421_880),
                      ("fashion-mnist/t10k-labels-idx1-ubyte.gz", 5_148),
                      ("fashion-mnist/t10k-images-idx3-ubyte.gz", 4_422_102)),
}
SHA256 = {"mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
          "cifar-10-batches-py-target_archive":  # cifar-10-python.tar.gz, as Keras checks it
          "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"}


class IdxError(ValueError):
    """An IDX file is missing, malformed or too big."""


def _open(path: pathlib.Path) -> BinaryIO:
    """The file opened for binary reading, decompressed if it starts with the gzip magic."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _read_exact(f: BinaryIO, n: int, path: pathlib.Path, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise IdxError(f"{path} is truncated: expected {n:,} bytes of {what}, found "
                       f"{len(data):,}; the file is incomplete, download or copy it again")
    return data


def read_idx(path: str | os.PathLike[str], ndim: int) -> np.ndarray:
    """Read one IDX file of unsigned bytes.

    Args:
        path: the file, plain or gzip-compressed (detected from its first bytes).
        ndim: the expected number of dimensions: 1 for labels, 3 for images.
    Returns:
        A read-only uint8 array with the file's dimensions.
    Raises:
        IdxError: the file cannot be read, its magic number or dimensions are wrong,
            it is larger than the caps, or its length does not match its header.
    """
    path = pathlib.Path(path)
    try:
        with _open(path) as f:
            magic = _read_exact(f, 4, path, "magic number")
            if magic[:2] != b"\x00\x00" or magic[2] != UBYTE:
                raise IdxError(f"{path} is not an IDX file of unsigned bytes: its magic number "
                               f"is 0x{magic.hex()}, expected 0x0000{UBYTE:02x}{ndim:02x} "
                               "(is it an MNIST-format file, and not corrupted?)")
            if magic[3] != ndim:
                raise IdxError(f"{path} has {magic[3]} dimensions, expected {ndim} "
                               f"({'labels' if ndim == 1 else 'images'}); are the image and "
                               "label files swapped?")
            dims = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, path, "dimensions"))
            _check_dims(path, dims)
            size = int(np.prod(dims))
            data = _read_exact(f, size, path, "values")
            if f.read(1):
                raise IdxError(f"{path} is longer than its header says ({dims} = {size:,} "
                               "values); the file is corrupted")
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise IdxError(f"cannot read {path}: its compressed data is corrupt ({exc}); download "
                       f"or copy the file again") from None
    except OSError as exc:
        raise IdxError(f"cannot read {path}: {exc}") from None
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)  # read-only: backed by bytes


def read_npz(path: str | os.PathLike[str], names: tuple[str, ...]) -> list[np.ndarray]:
    """The uint8 arrays ``names`` of a ``.npz`` file (Keras's ``mnist.npz``), each array's
    header checked against the caps before its data is read.

    Raises:
        IdxError: unreadable, a missing array, or a declared shape or dtype over the caps.
    """
    path = pathlib.Path(path)
    try:
        with zipfile.ZipFile(path) as npz:
            infos = {info.filename.removesuffix(".npy"): info for info in npz.infolist()}
            for name in names:
                if name not in infos:
                    raise IdxError(f"{path} holds no array {name}")
                try:
                    shape, dtype = archives.npy_header(npz, infos[name], str(path))
                except ValueError as exc:  # InputError: say it as an IdxError
                    raise IdxError(str(exc)) from None
                if dtype != np.uint8 or len(shape) not in (1, 3):
                    raise IdxError(f"{path}: {name} is declared {dtype} {shape}; expected "
                                   f"uint8 labels or images")
                _check_dims(path, shape)
        with np.load(path, allow_pickle=False) as data:
            return [data[name] for name in names]
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise IdxError(f"cannot read {path}: {exc}") from None


def _check_dims(path: pathlib.Path, dims: tuple[int, ...]) -> None:
    if dims[0] == 0 or dims[0] > MAX_ITEMS:
        raise IdxError(f"{path} says it holds {dims[0]:,} items; between 1 and "
                       f"{MAX_ITEMS:,} are accepted")
    for side in dims[1:]:
        if side == 0 or side > MAX_IDX_SIDE:
            raise IdxError(f"{path} says its images are {dims[1:]} pixels; sides between 1 "
                           f"and {MAX_IDX_SIDE} are accepted")
    if int(np.prod(dims)) > MAX_IDX_BYTES:
        raise IdxError(f"{path} says it holds {dims} values, more than the "
                       f"{MAX_IDX_BYTES:,}-byte limit")


def find_folder_files(folder: str | os.PathLike[str]) -> dict[str, pathlib.Path]:
    """The four IDX files of an MNIST-format folder.

    Each file may be named like ``train-images-idx3-ubyte`` or ``train-images.idx3-ubyte``,
    optionally with ``.gz``.

    Args:
        folder: the folder.
    Returns:
        ``{role: path}`` for the roles ``train images``, ``train labels``, ``test images``
        and ``test labels``.
    Raises:
        IdxError: the folder does not exist or some files are missing (all are named).
    """
    folder = pathlib.Path(folder).expanduser()
    if not folder.is_dir():
        raise IdxError(f"{folder} is not a folder")
    found, missing = {}, []
    for role, stem in FOLDER_FILES:
        dotted = stem.replace("-idx", ".idx")
        candidates = [folder / (base + ext) for base in (stem, dotted) for ext in ("", ".gz")]
        match = next((c for c in candidates if c.is_file()), None)
        if match is None:
            missing.append(f"{stem}[.gz]")
        else:
            found[role] = match
    if missing:
        present = sorted(p.name for p in folder.iterdir())[:12]
        raise IdxError(f"{folder} is missing {', '.join(missing)}; an MNIST-format folder "
                       f"holds {', '.join(stem for _, stem in FOLDER_FILES)} (each optionally "
                       f".gz); the folder holds {present or 'nothing'}")
    return found


def read_pair(images_path: pathlib.Path, labels_path: pathlib.Path) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """Images and labels of one split, checked to be the same length.

    Args:
        images_path: an ``idx3`` file of images.
        labels_path: the matching ``idx1`` file of labels.
    Returns:
        ``(images, labels)``: read-only uint8 arrays shaped ``(n, height, width, 1)`` and
        ``(n,)``.
    Raises:
        IdxError: a file is malformed, or the counts differ.
    """
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
    if len(images) != len(labels):
        raise IdxError(f"{images_path} holds {len(images):,} images but {labels_path} holds "
                       f"{len(labels):,} labels; they must come from the same data set")
    return images.reshape(images.shape + (1,)), labels


def keras_home() -> pathlib.Path:
    """Where Keras caches downloads: ``$KERAS_HOME``, else ``~/.keras``, as Keras decides.

    Like ``keras.utils.get_file``, a home that exists but is not writable means ``/tmp/.keras``.

    Returns:
        The Keras cache folder (it may not exist yet).
    """
    if "KERAS_HOME" in os.environ:
        base = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    path = pathlib.Path(os.path.expanduser(base))
    if path.exists() and not os.access(path, os.W_OK):
        return pathlib.Path("/tmp/.keras")
    return path


def keras_cache_files(name: str) -> list[pathlib.Path]:
    """The files ``keras.datasets`` reads for ``mnist`` or ``fashion-mnist``.

    Args:
        name: a key of :data:`KERAS_FILES`.
    Returns:
        Their paths under ``<keras home>/datasets``, existing or not.
    """
    return [keras_home() / "datasets" / rel for rel, _ in KERAS_FILES[name]]


class DownloadError(OSError):
    """A download failed; the message names the URL and the reason."""


def download(files: list[tuple[pathlib.Path, int]],
             progress: Callable[[int, int], None] | None = None,
             urls: list[str] | None = None) -> None:
    """Fetch files from :data:`KERAS_URL` (by file name) or ``urls``, reporting overall progress.

    Each file is written to ``<path>.part`` first and renamed once complete (and, if its
    SHA-256 is known, verified), so an interrupted download leaves nothing half-written.

    Args:
        files: ``(target path, approximate size)`` pairs; the sizes give the progress total
            until the server sends the real lengths.
        progress: called as ``progress(bytes_done, bytes_total)`` after every chunk.
        urls: one URL per file, instead of :data:`KERAS_URL` + the file's name.
    Raises:
        DownloadError: a file could not be fetched, written or verified.
    """
    total, done = sum(size for _, size in files), 0
    for number, (path, size) in enumerate(files):
        url = urls[number] if urls else KERAS_URL + path.name
        part = path.with_name(path.name + ".part")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
                length = int(response.headers.get("Content-Length") or 0)
                total += length - size if length else 0
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, max(total, done))
            if path.name in SHA256 and _sha256(part) != SHA256[path.name]:
                raise ValueError("the downloaded file is corrupted (its SHA-256 does not match)")
            os.replace(part, path)
        except (OSError, ValueError) as exc:  # urllib's URLError and HTTPError are OSErrors
            part.unlink(missing_ok=True)
            raise DownloadError(f"downloading {url} to {path} failed ({exc})") from exc


def _sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
