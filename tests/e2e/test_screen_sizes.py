"""Every page at the screen sizes of classrooms (issue 17): a projector at 1024×768, one at
1280×720 with the browser zoomed to 125 %, and a small laptop at 1366×768; each also in
presentation mode.

One Streamlit session for the module: a Quick start trains one model, then the one browser
page is resized (Chromium's device metrics: 125 % zoom gives the page 1280/1.25 × 720/1.25 CSS
pixels at 1.25 device pixels each) and walks through the pages. Each page is checked by
``layout_checks.js`` (labels that break inside a word, values cut off or shortened to "…",
sideways scrolling, a canvas wider than its column) and its main action must lie within the
first screen. Screenshots at 1024×768 go to ``artifacts/e2e/size-*.png``.

Issue 22: every class label of the charts must show (``chart_labels.js``: the probability
chart on Feature maps and Draw, the confusion matrix and the per-class accuracy on Train), for
the digits and for a drawn set of three classes with long names; no emoji or pictograph (Debian's
Chromium has no emoji font), no request to another host, no Deploy button, no Vega warning;
Train's misclassified captions each on one line.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from .conftest import TRAINING_MS, AppPage, harness, import_expect

pytestmark = pytest.mark.e2e
expect = import_expect()

CHECKS = (Path(__file__).with_name("layout_checks.js")).read_text()
LABELS = (Path(__file__).with_name("chart_labels.js")).read_text()
DIGITS = [str(digit) for digit in range(10)]
LONG_NAMES = ["circle", "cross with two long strokes", "a very long class name three"]
# The charts of classes on each page: (a text the chart holds, axes that name the classes).
CLASS_CHARTS = {
    "Train": [("confusion matrix", 2), ("accuracy per class", 1)],
    "Feature maps": [("probability", 1)],
    "Draw": [("probability", 1)],
}
# Characters an emoji or symbol font would have to draw (the app's words and formulas use
# only →, ⌈ ⌉ ⌊ ⌋ of these blocks; tests/test_no_emoji.py checks them against DejaVu Sans).
PICTOGRAPHS = r"""() => {
  const emoji = /\p{Extended_Pictographic}/u;
  const symbols = /[\u2190-\u21ff\u2300-\u23ff\u25a0-\u27bf\u2b00-\u2bff\ufe0f]/;
  const allowed = new Set([...'→⌈⌉⌊⌋']);
  const text = [document.querySelector('[data-testid=stMain]'),
                document.querySelector('[data-testid=stSidebar]')]
    .filter(Boolean).map(el => el.innerText).join('\n');
  return [...new Set([...text].filter(c => (emoji.test(c) || symbols.test(c))
                                           && !allowed.has(c)))];
}"""
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
    """One session with a model from Home's Quick start, for every test of this module; it
    records Vega's warnings (``app.vega``) and requests to hosts other than the app's
    (``app.elsewhere``)."""
    app = AppPage(browser, app_url)
    app.vega, app.elsewhere = [], []
    app.page.on("console", lambda message: app.vega.append(message.text)
                if message.type == "warning" and message.text.startswith("WARN") else None)
    app.page.on("request", lambda request: app.elsewhere.append(request.url)
                if urlparse(request.url).hostname not in ("127.0.0.1", None)
                and not request.url.startswith("data:") else None)
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


def class_label_problems(app: AppPage, title: str, names: list[str]) -> list[str]:
    """What ``chart_labels.js`` finds on the page's charts of classes, each scrolled into view
    and waited for until it has drawn a label per class."""
    found = []
    for text, axes in CLASS_CHARTS[title]:
        chart = app.main.get_by_test_id("stVegaLiteChart").filter(has_text=text)
        expect(chart).to_have_count(1)
        chart.scroll_into_view_if_needed()
        app.page.wait_for_function(
            "([chart, n]) => chart.querySelectorAll('.role-axis-label text').length >= n",
            arg=[chart.element_handle(), len(names)])
        found += [f"{title}, the {text} chart: {problem}"
                  for problem in chart.evaluate(LABELS, [names, axes])]
    return found


def caption_problems(app: AppPage, present: bool) -> list[str]:
    """Train's misclassified pictures: each caption on one line, larger when presenting."""
    captions = app.main.locator("figcaption", has_text="→")
    expect(captions.first).to_be_attached()
    found = app.page.evaluate("""() => [...document.querySelectorAll(
        '[data-testid=stMain] figcaption')].filter(f => f.textContent.includes('→')).map(f => {
      const range = document.createRange();
      range.selectNodeContents(f);
      const lines = new Set([...range.getClientRects()].filter(r => r.width > 0)
        .map(r => Math.round(r.top)));
      return lines.size > 1 ? `caption on ${lines.size} lines: ${f.textContent}` : '';
    }).filter(Boolean)""")
    size = float(captions.first.evaluate("f => parseFloat(getComputedStyle(f).fontSize)"))
    if present and size < 16:
        found.append(f"captions of {size:g} px in presentation mode (at least 16 px)")
    return [f"Train, misclassified pictures: {problem}" for problem in found]


def app_wide_problems(app: AppPage, title: str) -> list[str]:
    """No emoji or pictograph, Material icons drawn by their font, no Deploy button."""
    found = [f"{title}: needs an emoji or symbol font: {''.join(chars)}"
             for chars in [app.page.evaluate(PICTOGRAPHS)] if chars]
    if app.page.locator("[data-testid=stAppDeployButton]").count():
        found.append(f"{title}: Streamlit's Deploy button is shown")
    if not app.page.evaluate("""async () => (await document.fonts.load(
            '24px "Material Symbols Rounded"', 'home')).some(f => f.status === 'loaded')"""):
        found.append(f"{title}: the Material icons' font cannot be loaded")
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
        problems += app_wide_problems(app, title)
        if size == "1024x768":
            name = title.lower().replace(" ", "-")
            app.shot(f"size-{size}-{name}{'-present' if present else ''}")
        if title in CLASS_CHARTS:
            problems += class_label_problems(app, title, DIGITS)
        if title == "Train":
            problems += caption_problems(app, present)
    problems += [f"Vega warns: {text}" for text in app.vega]
    problems += [f"a request leaves the app's server: {url}" for url in app.elsewhere]
    app.vega.clear()
    app.elsewhere.clear()
    assert not problems, f"{len(problems)} layout problems at {size}:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def long_names(trained, tmp_path_factory):
    """The module's session with a run of three drawn classes with long names as its current
    model: the classes uploaded on My classes as a class-folder zip, trained for one epoch."""
    import numpy as np
    from drawn_shapes import SHAPES, draw_shape  # tests/ is on the path (its conftest)
    from PIL import Image

    from cnnlab.data import drawn, drawn_zip

    app, rng = trained, np.random.default_rng(0)
    drawings = drawn.DrawnSet.named(LONG_NAMES)
    for k in range(drawn.MIN_PER_CLASS * len(LONG_NAMES)):
        ink = Image.fromarray(draw_shape(SHAPES[k % 3], rng)).resize((28, 28), Image.BOX)
        drawings = drawings.add(k % 3, np.asarray(ink))
    path = tmp_path_factory.mktemp("drawn") / "long-names.zip"
    path.write_bytes(drawn_zip.to_zip_bytes(drawings))
    resize(app, "1366x768")
    set_presentation(app, False)
    go(app, "My classes")
    app.widget("mine_upload").locator("input[type=file]").set_input_files(str(path))
    app.idle()
    app.click("mine_use_zip")
    expect(app.widget("mine_counts")).to_contain_text(LONG_NAMES[-1])
    app.set_select_slider("mine_copies", list(range(9)), 0)  # no copies: quicker
    app.set_number("mine_epochs", 1)
    app.idle()
    app.click("mine_train")
    expect(app.main.get_by_role("heading", name=re.compile("held-out drawings right"))
           ).to_be_visible(timeout=TRAINING_MS)
    app.idle()
    app.check()
    return app


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presentation"])
@pytest.mark.parametrize("size", list(SIZES))
def test_long_class_names_are_labelled_on_every_chart(long_names, size, present):
    app = long_names
    resize(app, size)
    set_presentation(app, present)
    problems = []
    for title in CLASS_CHARTS:
        go(app, title)
        if title == "Draw":
            draw_digit(app)
        problems += class_label_problems(app, title, LONG_NAMES)
    if size == "1024x768":
        app.shot(f"size-{size}-long-names{'-present' if present else ''}")
    problems += [f"Vega warns: {text}" for text in app.vega]
    app.vega.clear()
    assert not problems, f"{len(problems)} problems at {size}:\n" + "\n".join(problems)



@pytest.mark.parametrize("size", ["1280x800", *SIZES])
def test_a_units_boxes_stay_clear_of_the_pictures_buttons(trained, size):
    """Draw's "What does a unit see?": the column box's + sat under the pictures' fullscreen
    button at 1280 px (issue 22)."""
    app = trained
    if size == "1280x800":
        app.page.set_viewport_size({"width": 1280, "height": 800})
        cdp = app.context.new_cdp_session(app.page)
        cdp.send("Emulation.clearDeviceMetricsOverride")
        app.page.wait_for_function("() => innerWidth === 1280 && innerHeight === 800")
    else:
        resize(app, size)
    set_presentation(app, False)
    go(app, "Draw")
    draw_digit(app)
    app.main.get_by_role("tab", name="What does a unit see?").click()
    panel = app.main.get_by_role("tabpanel")  # the open tab's (the others are hidden)
    column = app.page.locator("[class*='st-key-draw_unit_col_']")
    expect(column).to_be_visible()
    column.scroll_into_view_if_needed()
    picture = panel.get_by_test_id("stImage").first
    picture.hover()
    # Pictures sent inline (ui/images.py) have no fullscreen button; one sent by st.image
    # (past the inline size) has one, which the boxes must stay clear of.
    fullscreen = panel.get_by_role("button", name="Fullscreen")
    button = fullscreen.first.bounding_box() if fullscreen.count() else None
    edge = panel.bounding_box()["x"] + panel.bounding_box()["width"]
    margin = button["width"] if button else 40  # where a picture's buttons would sit
    for key in ("layer", "ch", "row", "col"):
        box = app.page.locator(f"[class*='st-key-draw_unit_{key}']").first.bounding_box()
        if button is not None:
            across = min(box["x"] + box["width"], button["x"] + button["width"]) - max(
                box["x"], button["x"])
            down = min(box["y"] + box["height"], button["y"] + button["height"]) - max(
                box["y"], button["y"])
            assert across <= 0 or down <= 0, f"the {key} box lies under the fullscreen button"
        # and clear of the edge where the pictures' buttons sit, whatever the pictures' height
        assert box["x"] + box["width"] <= edge - margin, f"the {key} box meets the edge"
    app.check()
