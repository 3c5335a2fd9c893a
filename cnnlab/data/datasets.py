"""The image data sets: the built-in ``mnist-5k``, ``mnist``, ``fashion-mnist``, ``cifar-10`` and
local folders, loaded by their :class:`~cnnlab.data.refs.DatasetRef`.

Images stay uint8 ``(n, height, width, channels)`` (never float copies) and every array is
read-only, since one loaded data set is shared by all users of the server: loads are cached
process-wide, within the server's memory budget (:mod:`cnnlab.data.dataset`). ``mnist`` and
``fashion-mnist`` are read from (and, when missing, downloaded into) the same files
``keras.datasets`` uses, with numpy only: importing this module never imports TensorFlow. Class
folders are read by :mod:`cnnlab.data.class_folders`. A workspace's uploaded sets and drawn
classes are loaded by the web app (:mod:`cnnlab.workspaces.data_roots`).
"""

from __future__ import annotations

import importlib.resources
import pathlib
from collections.abc import Callable

import numpy as np

from cnnlab.data import cifar, class_folders, folder_scan, idx, kinds, refs
from cnnlab.data.dataset import (  # noqa: F401  (datasets.Dataset, datasets.clear_cache)
    Dataset,
    DatasetError,
    DatasetInfo,
    cached,
    clear_cache,
)
from cnnlab.data.kinds import DIGITS, FASHION_CLASSES  # noqa: F401  (datasets.DIGITS etc.)

DEFAULT_DATASET = "mnist-5k"
NAMES = refs.NAMES
DESCRIPTIONS = {
    "mnist-5k": "built-in: 5,000 MNIST digits (CC BY-SA 3.0), 4,000 train / 1,000 test",
    "mnist": "MNIST: 70,000 handwritten digits (CC BY-SA 3.0), 60,000 train / 10,000 test",
    "fashion-mnist": "Fashion-MNIST: 70,000 clothing images (Zalando, MIT), 60,000 / 10,000",
    "cifar-10": "CIFAR-10: 60,000 32×32 colour photos of 10 classes (Krizhevsky), 50,000 / 10,000",
}
BUILTIN_SEED, BUILTIN_TEST_PER_CLASS = 0, 100
DownloadProgress = Callable[[int, int], None]


def load(ref: refs.DatasetRef, progress: DownloadProgress | None = None, *,
         folder_progress: class_folders.Progress | None = None,
         limits: class_folders.Limits | None = None, download: bool = True) -> Dataset:
    """Load a named data set, or a folder of MNIST-format IDX files or class folders; cached.

    Args:
        ref: a ``named`` or ``folder`` :class:`~cnnlab.data.refs.DatasetRef` (a folder's name
            is its path; its image size and colour apply to class folders).
        progress: called as ``progress(bytes_done, bytes_total)`` while files download.
        folder_progress: for class folders, ``progress(images_done, images_total)``.
        limits: for class folders, :class:`class_folders.Limits` (defaults when None).
        download: whether a named set missing from the Keras cache may be downloaded; when
            False it is refused instead (the web app downloads on a button press only).
    Returns:
        The data set, whose ``ref`` is ``ref``; the same object on later calls while cached.
    Raises:
        DatasetError: missing or malformed files, a failed or refused download, a ref of
            another kind (uploads and drawings belong to a workspace, recorded refs are names
            only); ``class_folders.SizeNeeded`` when class folders need an image size.

    Example:
        >>> load(refs.named("mnist-5k")).image_shape
        (28, 28, 1)
    """
    if ref.kind == refs.NAMED:
        if not download and not on_disk(ref.name):
            raise DatasetError(f"{ref.name} is not on this server yet: download it on the "
                               "Train page first")
        return _load_named(ref, progress)
    if ref.kind == refs.FOLDER:
        return load_folder(pathlib.Path(ref.name).expanduser(), ref,
                           folder_progress=folder_progress, limits=limits)
    raise DatasetError(f"the data set {ref.label} is not a named data set or a folder: "
                       + ("it is a workspace's own, loaded in the web app" if ref.loadable else
                          "it is only recorded by a run, and cannot be loaded"))


def load_dataset(name: str = DEFAULT_DATASET,
                 progress: DownloadProgress | None = None) -> Dataset:
    """The named data set ``name`` (one of :data:`NAMES`, any case, ``_`` for ``-``):
    ``load(refs.named(name))``."""
    return load(refs.named(str(name).strip().lower().replace("_", "-")), progress)


def _load_named(ref: refs.DatasetRef, progress: DownloadProgress | None) -> Dataset:
    if ref.name == "mnist-5k":
        return cached(("mnist-5k",), _load_builtin)
    if ref.name == cifar.NAME:
        source = cifar.available()
        return cached((ref.name, str(source)), lambda: _load_cifar(progress))
    paths = idx.keras_cache_files(ref.name)
    return cached((ref.name, str(paths[0])), lambda: _load_keras(ref.name, paths, progress))


def load_folder(folder: pathlib.Path, ref: refs.DatasetRef, *,
                folder_progress: class_folders.Progress | None = None,
                limits: class_folders.Limits | None = None) -> Dataset:
    """The folder data set ``ref`` read from ``folder`` (where it is: the web app resolves a
    folder under its data roots first); messages name ``ref.label``, not ``folder``.

    Raises:
        DatasetError: not a folder of IDX files or class folders, or unreadable files.
    """
    if not folder.is_dir():
        raise DatasetError(f"no folder {ref.label}: use one of {', '.join(NAMES)} (mnist-5k is "
                           "built in and works offline), the path of a folder with one "
                           "subfolder of PNG/JPEG images per class (optionally inside train/ "
                           "and test/), or of a folder holding the MNIST-format files "
                           f"{', '.join(stem for _, stem in idx.FOLDER_FILES)} (each "
                           "optionally .gz)")
    folder = folder.resolve()
    try:
        files = idx.find_folder_files(folder)
    except idx.IdxError as exc:
        if not folder_scan.is_class_folder(folder):
            raise DatasetError(f"cannot load the folder {ref.label}: {exc}; or give a folder "
                               "with one subfolder of PNG/JPEG images per class") from exc
        return class_folders.load_class_folder(folder, ref, limits=limits,
                                               progress=folder_progress)[0]
    if ref.image_size or ref.colour:
        raise DatasetError(f"{ref.label} is a folder of MNIST-format files, which have their "
                           "own size and colour: give no image size or colour")
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files.values())
    return cached(("folder", str(folder), stamp, ref), lambda: _load_folder(folder, files, ref))


def on_disk(name: str) -> bool:
    """Whether the named data set ``name`` loads without a download (never reads it)."""
    if name == "mnist-5k":
        return importlib.resources.files("cnnlab").joinpath("data/mnist_5k.npz").is_file()
    if name == cifar.NAME:
        return cifar.available() is not None
    return all(p.is_file() for p in idx.keras_cache_files(name))


def _load_builtin() -> Dataset:
    """``mnist-5k``: a fixed stratified split of the shipped 5,000 digits, classes mixed."""
    resource = importlib.resources.files("cnnlab").joinpath("data/mnist_5k.npz")
    try:
        with resource.open("rb") as f, np.load(f, allow_pickle=False) as data:
            images, labels = data["images"], data["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(f"the built-in data set file cnnlab/data/mnist_5k.npz cannot be read "
                           f"({exc}); reinstall cnnlab or run scripts/convert_mnist_5k.py") from exc
    rng = np.random.default_rng(BUILTIN_SEED)
    test = np.concatenate([rng.choice(np.flatnonzero(labels == c), BUILTIN_TEST_PER_CLASS,
                                      replace=False) for c in range(len(DIGITS))])
    train = np.setdiff1d(np.arange(len(labels)), test)
    train, test = rng.permutation(train), rng.permutation(test)  # the file is sorted by class
    return Dataset(ref=refs.named("mnist-5k"), class_names=DIGITS, x_train=images[train],
                   y_train=labels[train], x_test=images[test], y_test=labels[test],
                   source=DESCRIPTIONS["mnist-5k"])


def _load_folder(folder: pathlib.Path, files: dict[str, pathlib.Path],
                 ref: refs.DatasetRef) -> Dataset:
    """An MNIST-format folder; the Fashion-MNIST class names if its name says fashion."""
    try:
        x_train, y_train = idx.read_pair(files["train images"], files["train labels"])
        x_test, y_test = idx.read_pair(files["test images"], files["test labels"])
    except idx.IdxError as exc:
        raise DatasetError(f"cannot load the folder {ref.label}: {exc}") from exc
    count = int(max(y_train.max(), y_test.max())) + 1
    fashion = "fashion" in folder.name.lower() and count <= len(FASHION_CLASSES)
    class_names = FASHION_CLASSES if fashion else tuple(str(c) for c in range(max(10, count)))
    return Dataset(ref=ref, class_names=class_names, x_train=x_train, y_train=y_train,
                   x_test=x_test, y_test=y_test, source=f"MNIST-format folder {ref.label}")


def _load_keras(name: str, paths: list[pathlib.Path], progress: DownloadProgress | None) -> Dataset:
    """``mnist`` or ``fashion-mnist`` from the Keras cache, downloading missing files first."""
    missing = [(path, size) for path, (_, size) in
               zip(paths, idx.KERAS_FILES[name], strict=True) if not path.is_file()]
    try:
        idx.download(missing, progress)
    except idx.DownloadError as exc:
        raise DatasetError(f"{exc}. Without internet, use the built-in data set mnist-5k, or "
                           f"copy the {name} files from {idx.KERAS_URL} to "
                           f"{', '.join(map(str, paths))}") from exc
    try:
        if name == "mnist":
            x_train, y_train, x_test, y_test = idx.read_npz(  # headers checked first
                paths[0], ("x_train", "y_train", "x_test", "y_test"))
        else:
            x_train, y_train = idx.read_pair(paths[1], paths[0])
            x_test, y_test = idx.read_pair(paths[3], paths[2])
        return Dataset(ref=refs.named(name),
                       class_names=DIGITS if name == "mnist" else FASHION_CLASSES,
                       x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                       source=f"{DESCRIPTIONS[name]}; Keras cache {paths[0].parent}")
    except (OSError, KeyError, ValueError) as exc:  # IdxError and DatasetError are ValueErrors
        raise DatasetError(f"the cached {name} files are unreadable ({exc}); delete "
                           f"{', '.join(map(str, paths))} to download them again, or use the "
                           "built-in data set mnist-5k") from exc


def _load_cifar(progress: DownloadProgress | None) -> Dataset:
    try:
        arrays = cifar.load(progress)
    except idx.DownloadError as exc:
        raise DatasetError(f"{exc}. Without internet, use the built-in data set mnist-5k, or "
                           f"copy {cifar.URL} to {cifar.archive_path()}") from exc
    except (OSError, ValueError) as exc:  # CifarError and InputError are ValueErrors
        raise DatasetError(f"the cached cifar-10 files are unreadable ({exc}); delete "
                           f"{cifar.archive_path()} and {cifar.folders()[0].parent} to "
                           "download them again, or use the built-in data set mnist-5k") from exc
    return Dataset(ref=refs.named(cifar.NAME), class_names=cifar.CLASSES,
                   source=DESCRIPTIONS[cifar.NAME],
                   preparation=kinds.RESIZE, **arrays)


def dataset_status() -> list[DatasetInfo]:
    """Which named data sets load without internet: checks files exist, never downloads.

    Returns:
        One entry each for ``mnist-5k``, ``mnist``, ``fashion-mnist`` and ``cifar-10``.
    """
    builtin = importlib.resources.files("cnnlab").joinpath("data/mnist_5k.npz").is_file()
    infos = [DatasetInfo("mnist-5k", DESCRIPTIONS["mnist-5k"], builtin,
                         "ships with cnnlab (cnnlab/data/mnist_5k.npz)" if builtin else
                         "cnnlab/data/mnist_5k.npz is missing: reinstall cnnlab")]
    for name in idx.KERAS_FILES:
        paths = idx.keras_cache_files(name)
        missing = [p for p in paths if not p.is_file()]
        megabytes = sum(size for _, size in idx.KERAS_FILES[name]) / 1e6
        detail = (f"in the Keras cache: {paths[0].parent}" if not missing else
                  f"downloads {megabytes:.0f} MB from {idx.KERAS_URL} on first use into "
                  f"{paths[0].parent} (or put {', '.join(p.name for p in missing)} there)")
        infos.append(DatasetInfo(name, DESCRIPTIONS[name], not missing, detail))
    source = cifar.available()
    infos.append(DatasetInfo(cifar.NAME, DESCRIPTIONS[cifar.NAME], source is not None,
                             f"in the Keras cache: {source}" if source else
                             f"downloads {cifar.ARCHIVE_BYTES / 1e6:.0f} MB from {cifar.URL} on "
                             f"first use into {cifar.archive_path()}"))
    return infos


def sample_images(ds: Dataset, per_class: int, seed: int, split: str = "train"
                  ) -> list[np.ndarray]:
    """Indices of random images of each class, for a grid of samples.

    Args:
        ds: the data set.
        per_class: how many images of each class (fewer if a class has fewer).
        seed: the random seed.
        split: ``"train"`` or ``"test"``.
    Returns:
        One int64 index array per class, in class order, into ``x_<split>``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    labels = ds.y_train if split == "train" else ds.y_test
    rng = np.random.default_rng(seed)
    return [rng.permutation(np.flatnonzero(labels == c))[:max(per_class, 0)].astype(np.int64)
            for c in range(ds.num_classes)]
