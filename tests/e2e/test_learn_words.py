"""The Learn page in Chromium (issue 22, item 6): a step's words say "the padded input" only
when the input has padding around it."""

from __future__ import annotations

import re

import pytest

from .conftest import import_expect

expect = import_expect()

pytestmark = pytest.mark.e2e


def test_a_step_says_padded_only_with_padding(app):
    app.page.get_by_test_id("stSidebarNav").get_by_role("link", name="Learn").click()
    expect(app.main.get_by_role("heading", name=re.compile(r"^Learn: "))).to_be_visible()
    app.idle()
    sentence = app.main.get_by_text("= the sum of the products of the window at")
    expect(sentence).to_contain_text("of the input:")  # "valid", the default: no padding
    expect(sentence).not_to_contain_text("padded")
    app.widget("conv_pad").get_by_role("combobox").click()
    app.page.get_by_role("option", name="same", exact=True).click()
    app.idle()
    expect(sentence).to_contain_text("of the padded input:")
    app.check()
