"""Every page passes axe-core's WCAG 2.1 A and AA rules (issue 22, item 14), in both modes.

One Streamlit session for the module: a Quick start trains a model (so Train shows its
misclassified grid, Feature maps and Draw their pictures), then each page is opened in normal
and in presentation mode, a digit drawn on Draw, and axe-core (the npm package, installed into
``node_modules/`` by ``.ci/run``; ``npm ci`` by hand) is run on the page and on its frames. Any
violation that axe rates serious or critical fails the test, listed readably: the rule, its
help text, and each element's selector and axe's summary of what is wrong.
"""

from __future__ import annotations

import re

import pytest

from .conftest import REPO, TRAINING_MS, AppPage, _unavailable, harness, import_expect

pytestmark = pytest.mark.e2e
expect = import_expect()

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
PAGES = ("Home", "Build", "Train", "Feature maps", "Draw", "My classes", "Learn", "Class")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING = {"serious", "critical"}

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({html: n.html.replace(/\\s+/g, ' ').slice(0, 160),
                              summary: (n.failureSummary || '').replace(/\\s+/g, ' ')
                                .replace(/^Fix (any|all) of the following: /, '')})),
  }));
}"""


@pytest.fixture(scope="module")
def trained(browser, app_url):
    """One session with a model from Home's Quick start."""
    if not AXE.is_file():
        _unavailable(f"{AXE.relative_to(REPO)} is missing (npm ci, as .ci/run does)")
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


def set_presentation(app: AppPage, on: bool) -> None:
    toggle = app.sidebar.locator(".st-key-cnnlab_present input")  # ui/layout.py's switch
    if toggle.is_checked() != on:
        toggle.click(force=True)
        app.idle()
    expect(toggle).to_be_checked(checked=on)


def go(app: AppPage, title: str) -> None:
    """The sidebar's link to a page; waits until it is drawn, its images loaded."""
    app.sidebar.get_by_test_id("stSidebarNav").get_by_role("link", name=title,
                                                           exact=True).click()
    heading = "CNN Lab" if title == "Home" else title
    expect(app.main.locator("h1").first).to_have_text(re.compile(f"^{heading}"))
    app.idle()
    harness.wait_rendered(app.page, "[data-testid=stMain] " + (
        "[data-testid=stPageLink]" if title == "Home" else "[data-testid=stWidgetLabel]"),
        timeout=30)
    expect(app.page.locator("[data-testid^=stSkeleton]")).to_have_count(0)
    if title == "Draw" and not app.main.locator("h3", has_text="Prediction").count():
        box = app.page.locator("canvas.upper-canvas").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15
        app.page.mouse.move(x, y)
        app.page.mouse.down()
        for step in range(1, 13):
            app.page.mouse.move(x - step, y + box["height"] * 0.06 * step)
        app.page.mouse.up()
        expect(app.main.locator("h3", has_text="Prediction")).to_be_visible()
        app.idle()
        harness.wait_rendered(app.page, harness.CHART, timeout=30)
    if title in ("Train", "Feature maps"):
        harness.wait_rendered(app.page, harness.CHART, timeout=30)
    app.check()


def violations(app: AppPage) -> list[dict]:
    """axe-core's violations on the page and in each of its frames (components' iframes)."""
    found = []
    for frame in app.page.frames:
        if frame.is_detached() or not frame.url.startswith(("http://127.0.0.1", "about:srcdoc")):
            continue
        frame.add_script_tag(path=str(AXE))
        found += frame.evaluate(RUN_AXE, TAGS)
    return found


def readable(title: str, found: list[dict]) -> list[str]:
    lines = []
    for violation in found:
        if violation["impact"] not in FAILING:
            continue
        lines.append(f"{title}: {violation['id']} ({violation['impact']}): {violation['help']}, "
                     f"{len(violation['nodes'])} element(s)")
        lines += [f"    {node['html']}\n      {node['summary'][:240]}"
                  for node in violation["nodes"][:12]]
    return lines


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presentation"])
def test_no_serious_axe_violation_on_any_page(trained, present):
    app = trained
    set_presentation(app, present)
    problems = []
    for title in PAGES:
        go(app, title)
        problems += readable(title, violations(app))
        app.shot(f"axe-{title.lower().replace(' ', '-')}{'-present' if present else ''}")
    assert not problems, "axe-core (WCAG 2.1 A/AA), serious or critical:\n" + "\n".join(problems)
