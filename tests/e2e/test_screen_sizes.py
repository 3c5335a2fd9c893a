"""Every page at the screen sizes of classrooms (issue 17): a projector at 1024×768, one at
1280×720 with the browser zoomed to 125 %, and a small laptop at 1366×768; each also in
presentation mode.

One Streamlit session for the module: a Quick start trains one model, then the one browser
page is resized (Chromium's device metrics: 125 % zoom gives the page 1280/1.25 × 720/1.25 CSS
pixels at 1.25 device pixels each) and walks through the pages. Each page is checked by
``layout_checks.js`` (labels that break inside a word, values cut off or shortened to "…",
sideways scrolling, a canvas wider than its column) and its main action must lie within the
first screen. Screenshots at 1024×768 go to ``artifacts/e2e/size-*.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import TRAINING_MS, AppPage, harness, import_expect

pytestmark = pytest.mark.e2e
expect = import_expect()

CHECKS = (Path(__file__).with_name("layout_checks.js")).read_text()
SIZES = {  # name: (CSS width, CSS height, device pixels per CSS pixel)
    "1024x768": (1024, 768, 1.0),
    "1280x720-zoom125": (1024, 576, 1.25),
    "1366x768": (1366, 768, 1.0),
}
PAGES = ("Home", "Build", "Train", "Feature maps", "Draw", "My classes", "Learn")
# What a page's first step needs on the first screen: (selector, whole element or its top).
MAIN_ACTION = {
    "Home": [("[data-testid=stMain] [data-testid=stPageLink]:has-text('Draw a digit')", "whole")],
    "Build": [(".st-key-build_preset", "whole"),
              ("[data-testid=stMain] [aria-label='network diagram']", "top")],
    "Train": [(".st-key-train_start", "whole")],
    "Feature maps": [("[data-testid=stMain] [data-testid=stImage]", "top")],
    "Draw": [("canvas.upper-canvas", "whole"),
             ("[data-testid=stMain] h3:has-text('Prediction')", "whole")],
    "My classes": [(".st-key-mine_names", "whole"), (".st-key-mine_create", "whole")],
    "Learn": [("[data-testid=stMain] table", "top")],
}


@pytest.fixture(scope="module")
def trained(browser, app_url):
    """One session with a model from Home's Quick start, for every test of this module."""
    app = AppPage(browser, app_url)
    try:
        app.open()
        app.page.get_by_role("button", name=re.compile("Quick start")).click()
        expect(app.main.get_by_text("Model ready")).to_be_visible(timeout=TRAINING_MS)
        app.idle()
        app.check()
        yield app
    finally:
        app.close()


def resize(app: AppPage, size: str) -> None:
    width, height, scale = SIZES[size]
    cdp = app.context.new_cdp_session(app.page)
    cdp.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                    "deviceScaleFactor": scale, "mobile": False})
    app.page.set_viewport_size({"width": width, "height": height})
    app.page.wait_for_function("([w, h]) => innerWidth === w && innerHeight === h",
                               arg=[width, height])


def set_presentation(app: AppPage, on: bool) -> None:
    toggle = app.sidebar.locator(".st-key-cnnlab_present input")  # ui/layout.py's switch
    if toggle.is_checked() != on:
        toggle.click(force=True)
        app.idle()
    expect(toggle).to_be_checked(checked=on)


def draw_digit(app: AppPage) -> None:
    """A stroke on the canvas, as a mouse draws it, unless a prediction is already shown."""
    if app.main.locator("h3", has_text="Prediction").count():
        return
    box = app.page.locator("canvas.upper-canvas").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15
    app.page.mouse.move(x, y)
    app.page.mouse.down()
    for step in range(1, 13):
        app.page.mouse.move(x - step, y + box["height"] * 0.06 * step)
    app.page.mouse.up()
    expect(app.main.locator("h3", has_text="Prediction")).to_be_visible()
    app.idle()


def go(app: AppPage, title: str) -> None:
    """The sidebar's link to a page; waits for its title (Learn's is longer) and idleness."""
    app.sidebar.get_by_test_id("stSidebarNav").get_by_role("link", name=title,
                                                           exact=True).click()
    heading = "CNN Lab" if title == "Home" else title
    expect(app.main.locator("h1").first).to_have_text(re.compile(f"^{heading}"))
    app.idle()
    harness.wait_rendered(app.page, "[data-testid=stMain] " + (
        "[data-testid=stPageLink]" if title == "Home" else "[data-testid=stWidgetLabel]"),
        timeout=30)
    expect(app.page.locator("[data-testid^=stSkeleton]")).to_have_count(0)
    app.check()


def below_the_fold(app: AppPage, title: str) -> list[str]:
    height = app.page.viewport_size["height"]
    found = []
    for selector, part in MAIN_ACTION[title]:
        target = app.page.locator(selector).first
        expect(target).to_be_visible()
        box = target.bounding_box()
        edge = box["y"] + (box["height"] if part == "whole" else 40)
        if edge > height:
            found.append(f"{selector} ends at {edge:.0f} px, below the first screen "
                         f"({height} px)")
    return found


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presentation"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits(trained, size, present):
    app = trained
    resize(app, size)
    set_presentation(app, present)
    problems = []
    for title in PAGES:
        go(app, title)
        if title == "Draw":
            draw_digit(app)
        app.page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
        problems += [f"{title}: {p}" for p in app.page.evaluate(CHECKS)]
        problems += [f"{title}: {p}" for p in below_the_fold(app, title)]
        if size == "1024x768":
            name = title.lower().replace(" ", "-")
            app.shot(f"size-{size}-{name}{'-present' if present else ''}")
    assert not problems, f"{len(problems)} layout problems at {size}:\n" + "\n".join(problems)

