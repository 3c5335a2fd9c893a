"""AppTest of the Train page's augmentation: the picker, the preview grid, the run's record."""

from __future__ import annotations

import numpy as np
import pictures
from test_app_pages import TIMEOUT, app_at, session

from cnnlab.runs import augmentation
from cnnlab.training import augment


def captions(at) -> list[str]:
    return pictures.captions(at)


def test_preview_follows_the_strength_and_the_run_records_it():
    at = app_at("pages/train.py")
    assert at.selectbox(key="train_augment").value == "off"
    assert any(c.value.startswith("Augmentation off: every epoch sees") for c in at.caption)
    assert not any(c.startswith("augmentation ") for c in captions(at))
    at.selectbox(key="train_augment").set_value("strong").run()
    assert not at.exception, at.exception
    shown = [c for c in captions(at) if c.startswith("augmentation strong: ")]
    assert shown == [f"augmentation strong: {augmentation.describe('strong')}. Left: a training "
                     "image; right: what training may see instead, a new draw every epoch "
                     "(test and validation images are never changed)"]
    at.number_input(key="train_epochs").set_value(1).run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    assert session(at).job.wait(TIMEOUT)  # the job's one event: its run is saved
    at.run()
    run = session(at).runs[-1]
    assert run.hyperparameters.augment == "strong"
    table = at.dataframe(key="train_runs").value
    assert table["augment"].tolist()[-1] == "strong"


def test_preview_grid_puts_the_original_first_then_the_copies():
    images = np.zeros((2, 6, 5, 1), np.uint8)
    images[0, 2:4, 1:4] = 255
    images[1, 1:5, 2] = 200
    grid = augment.preview_grid(images, 3, "light", seed=1, scale=1, gap=1)
    copies = augment.augmented_examples(images, 3, "light", seed=1)
    assert grid.shape == (2 * 7 + 1, 4 * 6 + 1)
    np.testing.assert_array_equal(grid[1:7, 1:6], images[0, ..., 0])
    np.testing.assert_array_equal(grid[8:14, 1:6], images[1, ..., 0])
    np.testing.assert_array_equal(grid[8:14, 1 + 3 * 6:6 + 3 * 6], copies[1, 2, ..., 0])
    assert (grid[0] == 128).all() and (grid[:, 6] == 128).all()
    colour = augment.preview_grid(np.repeat(images, 3, axis=3), 2, "strong", scale=2)
    assert colour.shape == ((2 * 8 + 2) * 2, (3 * 7 + 2) * 2, 3) and colour.dtype == np.uint8
