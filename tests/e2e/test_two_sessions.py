"""Two users at once: what one browser session trains never shows up in another."""

from __future__ import annotations

import re

import pytest

from .conftest import TRAINING_MS, import_expect

expect = import_expect()

pytestmark = pytest.mark.e2e


def test_a_run_trained_in_one_session_does_not_appear_in_another(app, second_app):
    other = second_app
    other.nav("Train")

    app.nav("Train")
    app.set_number("train_epochs", 1)
    app.set_select_slider("train_batch", [8, 16, 32, 64, 128, 256, 512], 512)
    app.click("train_start")
    expect(app.widget("train_stop")).to_be_visible(timeout=TRAINING_MS)
    # While the first user trains, the second sees no job of theirs and can train themselves.
    expect(other.main.get_by_test_id("stProgress")).to_have_count(0)
    expect(other.widget("train_stop")).to_have_count(0)
    expect(other.widget("train_start").get_by_role("button")).to_be_enabled()

    results = app.main.get_by_role("heading", name=re.compile(r"^Results of "))
    expect(results).to_be_visible(timeout=TRAINING_MS)
    run_name = results.inner_text().removeprefix("Results of ").split(" ")[0]
    expect(app.sidebar).to_contain_text(run_name)
    expect(app.main.get_by_role("heading", name="Runs of this workspace")).to_be_visible()
    app.shot("6-two-sessions-trained")

    # The other session, redrawn from scratch: still nothing trained, no run listed.
    other.nav("Home")
    other.nav("Train")
    expect(other.sidebar).to_contain_text("none trained yet")
    expect(other.page.get_by_text(run_name)).to_have_count(0)
    expect(other.main.get_by_role("heading", name="Runs of this workspace")).to_have_count(0)
    expect(other.main.get_by_role("heading", name=re.compile(r"^Results of "))).to_have_count(0)
    other.nav("Draw")
    expect(other.main).to_contain_text("This page needs a trained model")
    other.shot("6-two-sessions-other")
