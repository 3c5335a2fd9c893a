"""Shared tiny fixtures: a synthetic data set a small CNN learns in a second, and one run."""

import numpy as np
import pytest

TINY_CLASSES = ("top", "upper", "lower", "bottom")


def band_images(labels: np.ndarray, seed: int) -> np.ndarray:
    """uint8 (n, 28, 28, 1) images: class c is a bright horizontal band at rows 7c..7c+6."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, size=(len(labels), 28, 28, 1), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, 7 * label:7 * label + 7, :, 0] = rng.integers(180, 256)
    return images


def make_tiny_dataset(train: int = 400, test: int = 100, name: str = "tiny"):
    """A :class:`cnnlab.data.datasets.Dataset` of band images, four classes, balanced."""
    from cnnlab.data import datasets, refs

    y_train = np.arange(train) % len(TINY_CLASSES)
    y_test = np.arange(test) % len(TINY_CLASSES)
    return datasets.Dataset(ref=refs.recorded(name), class_names=TINY_CLASSES,
                            x_train=band_images(y_train, 1), y_train=y_train.astype(np.uint8),
                            x_test=band_images(y_test, 2), y_test=y_test.astype(np.uint8))


@pytest.fixture(scope="session", autouse=True)
def cnnlab_home(tmp_path_factory):
    """Every test's workspaces live in a temporary CNNLAB_HOME, never in ~/.cnnlab."""
    import os

    home = tmp_path_factory.mktemp("cnnlab-home")
    old = os.environ.get("CNNLAB_HOME")
    os.environ["CNNLAB_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("CNNLAB_HOME", None)
    else:
        os.environ["CNNLAB_HOME"] = old


@pytest.fixture(scope="session")
def band_image_maker():
    """:func:`band_images`, for tests that write the tiny data set to files."""
    return band_images


@pytest.fixture(scope="session")
def tiny_dataset():
    return make_tiny_dataset()


@pytest.fixture(scope="session")
def tiny_run(tiny_dataset):
    """A finished two-epoch run of ``tutorial-1conv`` on the tiny data set."""
    from cnnlab.architecture import presets
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import routine

    return routine.train(presets.get("tutorial-1conv"), tiny_dataset,
                         Hyperparameters(epochs=2, batch_size=32, validation_fraction=0.2,
                                         seed=3))
