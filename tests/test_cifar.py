"""CIFAR-10 from a fake Keras cache: batches read as Keras reads them, pickles never trusted."""

import io
import os
import pickle
import struct
import tarfile
import urllib.request

import numpy as np
import pytest

from cnnlab.data import cifar, datasets, kinds
from tests.test_datasets import FakeResponse, offline  # noqa: F401  (autouse: no downloads)

BATCHES = (*cifar.TRAIN_BATCHES, cifar.TEST_BATCH)


def _string(data: bytes) -> bytes:
    """Python 2's ``str`` opcodes (SHORT_BINSTRING / BINSTRING), as the real batches use."""
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data
    return b"T" + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def py2_batch(data: np.ndarray, labels: list[int], dtype: bytes = b"u1") -> bytes:
    """A batch pickled as Python 2's cPickle (protocol 2) wrote CIFAR-10's: a dict of str keys,
    a numpy array rebuilt by ``_reconstruct`` + BUILD, a list of ints."""
    array = (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + _int(0) + b"\x85"
             + _string(b"b") + b"\x87R(" + _int(1) + _int(data.shape[0]) + _int(data.shape[1])
             + b"\x86cnumpy\ndtype\n" + _string(dtype) + _int(0) + _int(1) + b"\x87R("
             + _int(3) + _string(b"|") + b"NNN" + _int(-1) + _int(-1) + _int(0) + b"tb\x89"
             + _string(data.tobytes()) + b"tb")
    label_list = b"](" + b"".join(_int(v) for v in labels) + b"e"
    return (b"\x80\x02}(" + _string(b"batch_label") + _string(b"fake batch") + _string(b"labels")
            + label_list + _string(b"data") + array + b"u.")


def batch_bytes(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return py2_batch(rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                     [int(v) for v in rng.integers(0, 10, n)])


def write_folder(folder, n: int = 3) -> dict[str, bytes]:
    folder.mkdir(parents=True)
    written = {}
    for seed, name in enumerate(BATCHES):
        written[name] = batch_bytes(n, seed)
        (folder / name).write_bytes(written[name])
    return written


def test_a_batch_reads_as_keras_reads_it(tmp_path):
    from keras.src.datasets.cifar import load_batch

    data = batch_bytes(5, 1)
    (tmp_path / "b").write_bytes(data)
    want_x, want_y = load_batch(str(tmp_path / "b"))  # Keras: (n, 3, 32, 32) channels first
    images, labels = cifar.parse_batch(data, "b")
    np.testing.assert_array_equal(images, want_x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(labels, want_y)
    assert images.dtype == np.uint8 and images.shape == (5, 32, 32, 3)


@pytest.mark.parametrize("layout", ["keras3", "older keras"])
def test_cifar_10_loads_offline_from_the_unpacked_cache(tmp_path, layout):
    folder = cifar.folders()[0 if layout == "keras3" else 1]
    written = write_folder(folder)
    ds = datasets.load_dataset("cifar-10")
    assert ds.class_names == cifar.CLASSES and ds.preparation == kinds.RESIZE
    assert ds.x_train.shape == (15, 32, 32, 3) and ds.x_test.shape == (3, 32, 32, 3)
    first, _ = cifar.parse_batch(written["data_batch_1"], "")
    np.testing.assert_array_equal(ds.x_train[:3], first)
    assert datasets.load_dataset("cifar-10") is ds


def test_cifar_10_reads_the_archive_without_unpacking(tmp_path):
    written = {name: batch_bytes(2, seed) for seed, name in enumerate(BATCHES)}
    path = cifar.archive_path()
    path.parent.mkdir(parents=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in written.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    ds = datasets.load_dataset("cifar-10")
    assert len(ds.y_train) == 10 and len(ds.y_test) == 2
    assert os.listdir(path.parent) == [path.name]  # nothing unpacked
    status = {s.name: s for s in datasets.dataset_status()}
    assert status["cifar-10"].available_offline


def test_without_the_cache_or_internet_the_message_says_where_and_what(tmp_path):
    status = {s.name: s for s in datasets.dataset_status()}
    assert not status["cifar-10"].available_offline and cifar.URL in status["cifar-10"].detail
    with pytest.raises(datasets.DatasetError) as info:
        datasets.load_dataset("cifar-10")
    message = str(info.value)
    assert cifar.URL in message and str(cifar.archive_path()) in message
    assert "mnist-5k" in message


def test_the_download_goes_where_keras_keeps_it_and_is_checked(tmp_path, monkeypatch):
    requested = []

    def fake(url, timeout=None):
        requested.append(url)
        return FakeResponse(b"not the archive")

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    with pytest.raises(datasets.DatasetError, match="SHA-256"):
        datasets.load_dataset("cifar-10", progress=lambda done, total: None)
    assert requested == [cifar.URL] and not cifar.archive_path().exists()


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/cnnlab-cifar-pwned",))


def test_a_pickle_asking_for_any_other_global_is_refused(tmp_path):
    evil = pickle.dumps({b"data": Evil(), b"labels": [0]}, protocol=4)
    with pytest.raises(cifar.CifarError, match="asks for posix.system"):
        cifar.parse_batch(evil, "data_batch_1")
    assert not os.path.exists("/tmp/cnnlab-cifar-pwned")


@pytest.mark.parametrize("batch, words", [
    (pickle.dumps({b"labels": [0]}, protocol=4), "needs data and labels"),
    (py2_batch(np.zeros((1, 3072), np.uint8), [0], dtype=b"f4"), "uint8"),
    (py2_batch(np.zeros((1, 100), np.uint8), [0]), "expected"),
    (py2_batch(np.zeros((2, 3072), np.uint8), [0, 10]), "from 0 to 9"),
    (b"\x80\x02garbage", "not a readable"),
])
def test_malformed_batches_are_named(batch, words):
    with pytest.raises(cifar.CifarError, match=words):
        cifar.parse_batch(batch, "test_batch")


def test_a_corrupt_cached_batch_says_delete_it(tmp_path):
    folder = cifar.folders()[0]
    write_folder(folder)
    (folder / "test_batch").write_bytes(b"\x80\x02garbage")
    with pytest.raises(datasets.DatasetError, match="unreadable.*delete"):
        datasets.load_dataset("cifar-10")
