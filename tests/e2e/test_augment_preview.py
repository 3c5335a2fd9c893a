"""The Train page's augmentation preview in a real browser: picking a strength shows the grid
of augmented training images (loaded, as wide as its column allows), off shows none."""

from __future__ import annotations

import pytest

from .conftest import import_expect

expect = import_expect()

pytestmark = pytest.mark.e2e


def test_picking_a_strength_shows_the_augmented_examples(app):
    app.nav("Train")
    grid = app.main.get_by_test_id("stImage").filter(has_text="augmentation strong:")
    expect(app.main.get_by_text("Augmentation off: every epoch sees")).to_be_visible()
    expect(grid).to_have_count(0)
    app.widget("train_augment").get_by_role("combobox").click()  # the box, not its label
    app.page.get_by_role("option", name="strong", exact=True).click()
    expect(grid).to_be_visible()
    app.idle()
    size = grid.locator("img").evaluate("img => [img.complete, img.naturalWidth, "
                                        "img.naturalHeight, img.getBoundingClientRect().width]")
    assert size[0] and size[1] > 0, size
    # 7 tiles of 28 px and 8 gaps of 2 px across, 4 rows down, each pixel doubled
    assert (size[1], size[2]) == ((7 * 28 + 8 * 2) * 2, (4 * 28 + 5 * 2) * 2), size
    assert size[3] >= 7 * 28, size  # shown at least at the digits' own size
    app.shot("augment-preview-strong")
