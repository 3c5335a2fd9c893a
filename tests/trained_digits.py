"""One two-conv run on the built-in digits (mnist-5k, 2 epochs, seed 0: about 95 % test
accuracy, a few seconds), trained once per test session and shared by the modules that need a
network that has learned something: attacks, sanity checks, feature visualization, the CLI.
Trained as the web app trains it: tested on the test images the app shows (without the
held-back ones), so the Train page shows its misclassified images."""

from __future__ import annotations

import functools


@functools.cache
def digits_run():
    """The finished :class:`cnnlab.runs.records.Run`."""
    from cnnlab.architecture import presets
    from cnnlab.data import datasets
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import routine
    from cnnlab.workspaces import held_back

    return routine.train(presets.get("two-conv"), held_back.visible(
        datasets.load_dataset("mnist-5k")),
                         Hyperparameters(epochs=2, seed=0))


@functools.cache
def digit_images():
    """(uint8 (n, 28, 28) images, their labels) of the built-in digits' test split."""
    from cnnlab.data import datasets

    data = datasets.load_dataset("mnist-5k")
    return data.x_test[..., 0] if data.x_test.ndim == 4 else data.x_test, data.y_test


def summary_of(run):
    """The run's shape summary (its architecture with the data's input shape and classes)."""
    from cnnlab.architecture import shapes

    return shapes.summarize(run.architecture, num_classes=len(run.class_names))
