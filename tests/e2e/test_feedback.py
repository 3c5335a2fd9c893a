"""Clear feedback, seen in a real browser (issue 17, item 3): one progress bar at a time, kept
until "Model ready" takes its place; Draw's preprocessing steps in one aligned row; the
comparison charts with whole-epoch ticks and a legend that tells the splits apart."""

from __future__ import annotations

import re

import pytest

from .conftest import SHOTS, TRAINING_MS, import_expect, stroke

expect = import_expect()

pytestmark = pytest.mark.e2e

# Every 20 ms until stopped: the most progress bars on the whole page (sidebar included), and
# how often, once a bar had shown, neither a bar nor "Model ready" was on screen.
WATCH = """() => {
    const seen = window.cnnlabSeen = {most: 0, bars: 0, gaps: 0, ready: false};
    window.cnnlabWatch = setInterval(() => {
        const bars = document.querySelectorAll('[data-testid=stProgress]').length;
        const main = document.querySelector('[data-testid=stMain]');
        const ready = !!main && main.innerText.includes('Model ready');
        seen.most = Math.max(seen.most, bars);
        seen.bars += bars > 0 ? 1 : 0;
        if (seen.bars && !bars && !ready) seen.gaps += 1;
        seen.ready = seen.ready || ready;
    }, 20);
}"""


def test_quick_start_one_bar_then_model_ready_in_its_place(app):
    app.page.evaluate(WATCH)
    app.click("home_quick")
    ready = app.main.get_by_text(re.compile(r"^Model ready: two-conv-1, test accuracy"))
    expect(ready).to_be_visible(timeout=TRAINING_MS)
    seen = app.page.evaluate("() => { clearInterval(window.cnnlabWatch); "
                             "return window.cnnlabSeen; }")
    assert seen["bars"] > 0, seen  # the bar was seen while training...
    assert seen["most"] == 1, seen  # ...never two at once (the sidebar's badge stays away)...
    assert seen["gaps"] == 0, seen  # ...and it stayed until the result replaced it
    app.shot("8-quick-start-ready")


def test_draw_steps_line_up_and_compare_charts_read_well(app):
    app.train_small_model()
    app.nav("Draw")
    canvas = app.page.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible()
    stroke(app.page, canvas.bounding_box(), [(0.52, 0.15), (0.5, 0.5), (0.48, 0.85)])
    steps = app.main.locator("div:has(> figure)").filter(has_text="as drawn")  # ui/images.py
    expect(steps).to_contain_text("centred 28×28")
    app.idle()
    boxes = steps.last.evaluate("""row => Array.from(row.querySelectorAll('img')).map(img => {
        const caption = img.closest('figure').querySelector('figcaption');
        return {img: img.getBoundingClientRect().toJSON(),
                caption: caption.getBoundingClientRect().toJSON(), text: caption.innerText};
    })""")
    assert len(boxes) == 4, boxes
    assert {round(b["img"]["height"]) for b in boxes} == {round(boxes[0]["img"]["height"])}
    assert {round(b["img"]["width"]) for b in boxes} == {round(boxes[0]["img"]["height"])}
    assert {round(b["caption"]["top"]) for b in boxes} == {round(boxes[0]["caption"]["top"])}
    app.shot("8-draw-steps")

    app.nav("Train")
    expect(app.main.get_by_text(re.compile(r"^Tick rows in the table to compare"))).to_be_visible()
    chart = app.main.get_by_test_id("stVegaLiteChart").filter(has_text="loss by epoch")
    expect(chart).to_be_visible()
    ticks = chart.locator("g[aria-label^='X-axis'] .role-axis-label text").all_text_contents()
    assert ticks == ["1"], ticks  # a one-epoch run: one whole-epoch tick, not 1.000000
    legend = chart.locator("g[aria-label*='Symbol legend']").filter(has_text="validation")
    symbols = legend.locator(".role-legend-symbol path").evaluate_all(
        "paths => paths.map(p => [p.getAttribute('stroke'), p.getAttribute('stroke-dasharray')])")
    assert len(symbols) == 2, symbols  # training and validation: two visible line samples,
    assert all(stroke not in (None, "transparent") for stroke, _ in symbols), symbols
    assert symbols[0][1] != symbols[1][1], symbols  # one solid, one dashed
    chart.scroll_into_view_if_needed()
    app.shot("8-train-compare")
    chart.screenshot(path=str(SHOTS / "8-compare-chart.png"))
