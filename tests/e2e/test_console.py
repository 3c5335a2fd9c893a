"""A page's console stays clean (issue 22, item 11) across reloads and quick clicks.

``st.image`` pictures are media files that Streamlit deletes when a script run that no longer
shows them ends, or is interrupted by the next click; the browser then asked for them and got
404s ("Image source error") on Draw, and on Train after a reload. Pictures are now sent inside
the page (``ui/images.py``). After a Quick start this walks every page, reloads each, draws
three times on Draw without waiting, clicks "random" twice on Feature maps and at once opens a
collapsed section (with ``st.image`` its pictures were deleted by the interrupted run: 404s),
and switches pages faster than they render; ``AppPage`` (conftest) fails on any console error
from the app.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from .conftest import TRAINING_MS, harness, import_expect, stroke

pytestmark = pytest.mark.e2e
expect = import_expect()

PAGES = ("Home", "Build", "Train", "Feature maps", "Draw", "My classes", "Learn", "Class")
HEADINGS = {"Home": "CNN Lab", "Learn": "Learn: convolution, stride, padding and pooling"}


def settled(app) -> None:
    """The script idle and every picture of the page loaded (or failed: then it is an error)."""
    app.idle()
    harness.wait_rendered(app.page, "[data-testid=stMain] h1", timeout=30)
    app.check()


def reload(app, title: str) -> None:
    """Reload the page at its own address. Streamlit's frontend first asks whether
    ``/<page>/`` is the app's base path (``/<page>/_stcore/health`` and ``host-config``): those
    two 404s are its probe, on every reload of any page but Home, not the app's (as in
    ``test_new_user_bugs.py``); every other console error still fails."""
    probe = f"/{urlparse(app.page.url).path.strip('/')}/_stcore/"
    app.page.reload()
    heading = HEADINGS.get(title, title)
    expect(app.main.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    app.idle()
    if probe != "//_stcore/":
        app.errors[:] = [e for e in app.errors if not ("404" in e and probe in e)]
    settled(app)


def go(app, title: str) -> None:
    """The sidebar's link to a page, then its heading (conftest's nav wants the title)."""
    app.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    heading = HEADINGS.get(title, title)
    expect(app.main.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    settled(app)


def draw(app, points) -> None:
    canvas = app.page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible()
    stroke(app.page, canvas.bounding_box(), points)


def test_console_stays_clean_across_reloads_and_quick_clicks(app):
    app.page.get_by_role("button", name=re.compile("Quick start")).click()
    expect(app.main.get_by_text("Model ready")).to_be_visible(timeout=TRAINING_MS)
    settled(app)
    prediction = app.main.get_by_role("heading", name=re.compile(r"^Prediction: "))
    for title in PAGES:
        go(app, title)
        if title == "Draw":
            draw(app, [(0.5, 0.15), (0.5, 0.85)])
            expect(prediction).to_be_visible()
            draw(app, [(0.3, 0.2), (0.7, 0.2), (0.45, 0.85)])  # while the first one's run is on
        settled(app)
        reload(app, title)

    go(app, "Draw")
    for points in ([(0.5, 0.15), (0.5, 0.85)], [(0.3, 0.5), (0.7, 0.5)],
                   [(0.2, 0.2), (0.8, 0.8)]):
        draw(app, points)  # each stroke interrupts the run the last one started
    expect(prediction).to_be_visible()
    settled(app)

    go(app, "Feature maps")
    random = app.widget("fm_random").get_by_role("button")
    sections = [app.main.get_by_text("Filters (the learned kernels)"),
                app.main.get_by_text("Look at one feature map up close")]
    for turn in range(8):
        random.click()  # without waiting: the second click interrupts the first one's run,
        random.click()  # which ends before drawing the collapsed sections' pictures, and then
        sections[turn % 2].click()  # opening one loads its pictures (404s with st.image)
        settled(app)
        sections[turn % 2].click()  # collapsed again, for the next turn
        settled(app)

    links = app.page.get_by_test_id("stSidebarNav")
    for title in ("Draw", "Feature maps", "Train", "Draw", "Train", "Feature maps"):
        links.get_by_role("link", name=title, exact=True).click()  # faster than they render
    expect(app.main.locator("h1").first).to_have_text("Feature maps")
    settled(app)
    reload(app, "Feature maps")
    go(app, "Train")
    reload(app, "Train")
    app.shot("console-clean")
