"""The data sets: built-in mnist-5k, the Keras cache, local IDX folders, splits and errors.

Nothing here downloads: ``urllib.request.urlopen`` is replaced in every test, by a fake
server or by one that fails.
"""

import gzip
import io
import pathlib
import struct
import urllib.error
import urllib.request

import numpy as np
import pytest

from cnnlab.data import datasets, idx, refs


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes holding ``array``."""
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def fake_split(n: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
            (np.arange(n) % classes).astype(np.uint8))


def write_idx_folder(folder: pathlib.Path, gz: bool = False, classes: int = 4,
                     dotted: bool = False) -> dict[str, np.ndarray]:
    """The four MNIST-format files of a tiny data set (12 train, 8 test images)."""
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = fake_split(12, classes, 1)
    x_test, y_test = fake_split(8, classes, 2)
    arrays = {"train-images-idx3-ubyte": x_train, "train-labels-idx1-ubyte": y_train,
              "t10k-images-idx3-ubyte": x_test, "t10k-labels-idx1-ubyte": y_test}
    for stem, array in arrays.items():
        name = (stem.replace("-idx", ".idx") if dotted else stem) + (".gz" if gz else "")
        data = idx_bytes(array)
        (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return arrays


class FakeResponse(io.BytesIO):
    def __init__(self, data: bytes):
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def no_internet(url, timeout=None):
    raise urllib.error.URLError(f"no network for {url}")


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No test downloads, none sees the real Keras cache, and each starts with no cached sets."""
    monkeypatch.setattr(urllib.request, "urlopen", no_internet)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    datasets.clear_cache()
    yield
    datasets.clear_cache()


def test_builtin_mnist_5k():
    ds = datasets.load_dataset("mnist-5k")
    assert ds.name == "mnist-5k" and ds.class_names == datasets.DIGITS and "CC BY-SA" in ds.source
    assert ds.x_train.shape == (4000, 28, 28, 1) and ds.x_test.shape == (1000, 28, 28, 1)
    assert ds.x_train.dtype == ds.x_test.dtype == ds.y_train.dtype == np.uint8
    assert ds.image_shape == (28, 28, 1) and ds.num_classes == 10
    assert ds.class_counts("train") == [400] * 10 and ds.class_counts("test") == [100] * 10
    assert len(set(ds.y_train[:50].tolist())) > 5  # classes are mixed, not sorted
    for array in (ds.x_train, ds.y_train, ds.x_test, ds.y_test):
        assert not array.flags.writeable
    with pytest.raises(ValueError):
        ds.x_train[0, 0, 0, 0] = 1
    assert datasets.load_dataset() is ds and datasets.load_dataset(" MNIST_5K ") is ds
    assert "4,000 train" in repr(ds)


def test_builtin_split_is_deterministic_and_covers_the_file():
    first = datasets.load_dataset("mnist-5k")
    datasets.clear_cache()
    second = datasets.load_dataset("mnist-5k")
    assert second is not first
    for a, b in ((first.x_train, second.x_train), (first.y_test, second.y_test)):
        assert np.array_equal(a, b)
    path = pathlib.Path(datasets.__file__).parent / "mnist_5k.npz"
    with np.load(path, allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    assert images.shape == (5000, 28, 28) and images.dtype == labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10
    both = np.concatenate([first.x_train, first.x_test])[..., 0]
    assert int(both.sum(dtype=np.int64)) == int(images.sum(dtype=np.int64))
    with pytest.raises(ValueError, match="'train' or 'test'"):
        first.class_counts("validation")


def test_keras_cache_mnist_npz(tmp_path):
    cache = tmp_path / "keras" / "datasets"
    cache.mkdir(parents=True)
    x_train, y_train = fake_split(10, 10, 3)
    x_test, y_test = fake_split(5, 10, 4)
    np.savez(cache / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    assert idx.keras_cache_files("mnist") == [cache / "mnist.npz"]
    ds = datasets.load_dataset("mnist")
    assert ds.name == "mnist" and ds.class_names == datasets.DIGITS
    assert ds.x_train.shape == (10, 28, 28, 1) and np.array_equal(ds.x_test[..., 0], x_test)
    assert np.array_equal(ds.y_train, y_train) and not ds.x_train.flags.writeable
    assert datasets.load_dataset("mnist") is ds


def test_keras_cache_fashion_mnist_gz(tmp_path):
    arrays = write_idx_folder(tmp_path / "keras" / "datasets" / "fashion-mnist", gz=True,
                              classes=10)
    ds = datasets.load_dataset("fashion_mnist")
    assert ds.name == "fashion-mnist" and ds.class_names == datasets.FASHION_CLASSES
    assert np.array_equal(ds.x_train[..., 0], arrays["train-images-idx3-ubyte"])
    assert np.array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert ds.x_test.shape == (8, 28, 28, 1) and ds.x_test.dtype == np.uint8


def test_keras_cache_corrupted_file_says_delete_it(tmp_path):
    cache = tmp_path / "keras" / "datasets"
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(b"not a zip file")
    with pytest.raises(datasets.DatasetError, match="delete") as info:
        datasets.load_dataset("mnist")
    assert str(cache / "mnist.npz") in str(info.value) and "mnist-5k" in str(info.value)


@pytest.mark.parametrize("gz", [False, True])
def test_local_folder(tmp_path, gz):
    arrays = write_idx_folder(tmp_path / "digits", gz=gz)
    ds = datasets.load(refs.folder(tmp_path / "digits"))
    assert ds.ref == refs.folder(tmp_path / "digits") and ds.name == str(tmp_path / "digits")
    assert ds.class_names == datasets.DIGITS  # 4 labels used, digit names by default
    assert np.array_equal(ds.x_train[..., 0], arrays["train-images-idx3-ubyte"])
    assert ds.class_counts("test") == [2, 2, 2, 2, 0, 0, 0, 0, 0, 0]
    assert not ds.x_test.flags.writeable and not ds.y_train.flags.writeable
    assert datasets.load(refs.folder(tmp_path / "digits")) is ds


def test_local_folder_class_names(tmp_path):
    write_idx_folder(tmp_path / "my-fashion-copy", dotted=True, classes=10)
    assert datasets.load(refs.folder(tmp_path / "my-fashion-copy")).class_names == \
        datasets.FASHION_CLASSES
    write_idx_folder(tmp_path / "shapes", classes=4)
    assert datasets.load(refs.folder(tmp_path / "shapes")).class_names == datasets.DIGITS
    with pytest.raises(datasets.DatasetError, match="MNIST-format files, which have their own"):
        datasets.load(refs.folder(tmp_path / "shapes", (8, 8)))


def test_local_folder_is_reread_when_a_file_changes(tmp_path):
    write_idx_folder(tmp_path / "d")
    first = datasets.load(refs.folder(tmp_path / "d"))
    x_test, y_test = fake_split(3, 2, 9)
    (tmp_path / "d" / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(x_test))
    (tmp_path / "d" / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(y_test))
    assert len(datasets.load(refs.folder(tmp_path / "d")).y_test) == 3 and len(first.y_test) == 8


def test_unknown_name_and_missing_folder():
    with pytest.raises(ValueError, match="unknown data set 'cifar10'") as info:
        datasets.load_dataset("cifar10")
    assert "mnist-5k" in str(info.value)
    with pytest.raises(datasets.DatasetError, match="no folder ./no/such/folder") as info:
        datasets.load(refs.folder("./no/such/folder"))
    assert "mnist-5k" in str(info.value) and "train-images-idx3-ubyte" in str(info.value)


@pytest.mark.parametrize("ref", [refs.upload("pets"), refs.drawn(), refs.recorded("cifar-10")])
def test_only_named_sets_and_folders_load_without_a_workspace(ref):
    with pytest.raises(datasets.DatasetError, match="not a named data set or a folder"):
        datasets.load(ref)


def test_a_named_set_not_on_disk_is_never_downloaded_when_told_not_to(monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("downloaded"))
    assert not datasets.on_disk("mnist") and datasets.on_disk("mnist-5k")
    with pytest.raises(datasets.DatasetError, match="mnist is not on this server yet"):
        datasets.load(refs.named("mnist"), download=False)


def test_folder_missing_files(tmp_path):
    write_idx_folder(tmp_path / "d")
    (tmp_path / "d" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(datasets.DatasetError, match=r"missing t10k-labels-idx1-ubyte\[\.gz\]"):
        datasets.load(refs.folder(tmp_path / "d"))


@pytest.mark.parametrize("corrupt, words", [
    (lambda data: b"\x00\x00\x09\x03" + data[4:], "magic number"),
    (lambda data: gzip.compress(b"\x12\x34\x56\x78" + data[4:]), "magic number"),
    (lambda data: data[:-10], "truncated"),
    (lambda data: data + b"\x00", "longer than its header"),
    (lambda data: data[:4] + struct.pack(">I", 2_000_000) + data[8:], "1,000,000 are accepted"),
    (lambda data: data[:8] + struct.pack(">I", 4096) + data[12:], "sides between 1 and 512"),
    (lambda data: b"\x00\x00\x08\x01" + data[4:], "1 dimensions, expected 3"),
    (lambda data: b"", "truncated"),
])
def test_corrupted_idx_files(tmp_path, corrupt, words):
    write_idx_folder(tmp_path / "d")
    path = tmp_path / "d" / "train-images-idx3-ubyte"
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(datasets.DatasetError, match=words) as info:
        datasets.load(refs.folder(tmp_path / "d"))
    assert str(path) in str(info.value)


def test_image_and_label_counts_must_match(tmp_path):
    write_idx_folder(tmp_path / "d")
    labels = np.zeros(5, dtype=np.uint8)
    (tmp_path / "d" / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    with pytest.raises(datasets.DatasetError, match="12 images but .* holds 5 labels"):
        datasets.load(refs.folder(tmp_path / "d"))


@pytest.mark.parametrize("name, file", [
    ("mnist", "mnist.npz"),
    ("fashion-mnist", "fashion-mnist/t10k-images-idx3-ubyte.gz"),
])
def test_download_failure_names_the_offline_alternative(tmp_path, name, file):
    with pytest.raises(datasets.DatasetError, match="failed") as info:
        datasets.load_dataset(name, progress=lambda done, total: None)
    message = str(info.value)
    assert "mnist-5k" in message and "no network" in message
    assert str(tmp_path / "keras" / "datasets" / file) in message
    assert not list((tmp_path / "keras").rglob("*.part"))


def test_download_fetches_the_keras_files_with_progress(tmp_path, monkeypatch):
    served = {}
    for stem, array in write_idx_folder(tmp_path / "server", classes=10).items():
        served[idx.KERAS_URL + stem + ".gz"] = gzip.compress(idx_bytes(array))
    requested = []

    def fake_urlopen(url, timeout=None):
        requested.append(url)
        return FakeResponse(served[url])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    calls = []
    ds = datasets.load_dataset("fashion-mnist", progress=lambda done, total: calls.append(
        (done, total)))
    assert len(requested) == 4 and ds.class_names == datasets.FASHION_CLASSES
    assert len(ds.y_train) == 12
    assert all(p.is_file() for p in idx.keras_cache_files("fashion-mnist"))
    dones = [done for done, _ in calls]
    assert dones == sorted(dones) and calls[-1][0] == calls[-1][1] == sum(map(len, served.values()))


def test_download_with_a_wrong_checksum_is_discarded(tmp_path, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: FakeResponse(b"x"))
    with pytest.raises(datasets.DatasetError, match="SHA-256"):
        datasets.load_dataset("mnist")
    assert not list((tmp_path / "keras" / "datasets").iterdir())


def test_dataset_status(tmp_path):
    status = {info.name: info for info in datasets.dataset_status()}
    assert list(status) == ["mnist-5k", "mnist", "fashion-mnist", "cifar-10"]
    assert status["mnist-5k"].available_offline
    assert not status["mnist"].available_offline and not status["fashion-mnist"].available_offline
    assert str(tmp_path / "keras" / "datasets") in status["mnist"].detail
    assert "needs a download" in str(status["mnist"])
    write_idx_folder(tmp_path / "keras" / "datasets" / "fashion-mnist", gz=True)
    status = {info.name: info for info in datasets.dataset_status()}
    assert status["fashion-mnist"].available_offline and not status["mnist"].available_offline


def test_keras_home_defaults_to_home_dot_keras(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert idx.keras_home() == tmp_path / ".keras"


def test_dataset_checks_its_arrays():
    x, y = fake_split(6, 3, 5)
    ds = datasets.Dataset(ref=refs.recorded("t"), class_names=("a", "b", "c"), x_train=x,
                          y_train=y, x_test=x[:3], y_test=y[:3])
    assert ds.image_shape == (28, 28, 1) and ds.source == "" and ds.name == "t"
    assert ds.nbytes == x.nbytes + y.nbytes + x[:3].nbytes + y[:3].nbytes
    assert x.flags.writeable  # the caller's arrays are left alone; the data set holds views
    with pytest.raises(datasets.DatasetError, match="uint8"):
        datasets.Dataset(ref=refs.recorded("t"), class_names="abc", x_train=x / 255.0, y_train=y,
                         x_test=x, y_test=y)
    with pytest.raises(datasets.DatasetError, match="labels run from 0 to 2"):
        datasets.Dataset(ref=refs.recorded("t"), class_names=("a", "b"), x_train=x, y_train=y,
                         x_test=x, y_test=y)
    with pytest.raises(datasets.DatasetError, match="must match"):
        datasets.Dataset(ref=refs.recorded("t"), class_names="abc", x_train=x, y_train=y,
                         x_test=x[:, :14], y_test=y)
    with pytest.raises(TypeError, match="ref must be a DatasetRef"):
        datasets.Dataset("t", class_names="abc", x_train=x, y_train=y, x_test=x, y_test=y)


def test_sample_images():
    ds = datasets.load_dataset("mnist-5k")
    picks = datasets.sample_images(ds, per_class=6, seed=1)
    assert [len(p) for p in picks] == [6] * 10
    assert all((ds.y_train[p] == c).all() for c, p in enumerate(picks))
    again = datasets.sample_images(ds, 6, 1)
    assert all(np.array_equal(a, b) for a, b in zip(picks, again, strict=True))
    assert [len(p) for p in datasets.sample_images(ds, 500, 0, split="test")] == [100] * 10
