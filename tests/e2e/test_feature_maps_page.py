"""The Feature maps page in Chromium (issue 22, item 10): a typed test image and the class
filter agree, and the page says what changed, instead of jumping back without a word."""

from __future__ import annotations

import pytest

from .conftest import import_expect

expect = import_expect()

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def digits_workspace():
    """A workspace whose current model was trained here on mnist-5k (one epoch)."""
    from cnnlab.architecture import presets
    from cnnlab.data import datasets
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import routine
    from cnnlab.workspaces import store

    run = routine.train(presets.get("tutorial-1conv"), datasets.load_dataset("mnist-5k"),
                        Hyperparameters(epochs=1, batch_size=128,
                                        validation_fraction=0))
    workspace = store.create()
    workspace.save_run(run)
    return workspace.token


def pick(app, key: str, option: str) -> None:
    """Choose ``option`` in the select box ``key``, opened by its combobox role."""
    app.widget(key).get_by_role("combobox").click()
    app.page.get_by_role("option", name=option, exact=True).click()
    app.idle()


def test_a_typed_test_image_and_the_class_filter_agree(app, digits_workspace):
    from cnnlab.data import datasets
    from cnnlab.workspaces import held_back

    labels = held_back.visible(datasets.load_dataset("mnist-5k")).y_test  # as the page shows
    first_seven = int((labels == 7).argmax())
    zero = int((labels == 0).nonzero()[0][5])  # a 0, not the first image of its class
    app.page.goto(f"{app.base_url}/?w={digits_workspace}")
    app.idle()
    app.nav("Feature maps")
    pick(app, "fm_class", "7")
    expect(app.main.get_by_text(f"test image {first_seven}: 7", exact=True)).to_be_visible()

    app.set_number("fm_index", zero)  # a 0 typed while the filter says 7
    expect(app.main.get_by_text(f"test image {zero}: 0", exact=True)).to_be_visible()
    expect(app.main.get_by_text(f"Test image {zero} is of class 0, not 7: the class filter is "
                                "back to “any”.")).to_be_visible()
    expect(app.widget("fm_class").get_by_role("combobox")).to_have_value("any")
    expect(app.widget("fm_index").locator("input")).to_have_value(str(zero))
    app.idle()

    pick(app, "fm_class", "7")  # a class that the image shown is not: its first image
    expect(app.main.get_by_text(f"test image {first_seven}: 7", exact=True)).to_be_visible()
    expect(app.main.get_by_text(f"Showing test image {first_seven}, the first of class 7"
                                )).to_be_visible()
    expect(app.widget("fm_index").locator("input")).to_have_value(str(first_seven))
    app.check()
