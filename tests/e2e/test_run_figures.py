"""Figures about a run, in Chromium (issue 22, item 5): with an older run chosen as the current
model, "Results of <run>" and every chart under it describe that run and name it, and the
runs table says what an empty val acc means; the live element draws a stopped job's partial
epoch as a hollow point and says what it was."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import REPO, import_expect

expect = import_expect()

pytestmark = pytest.mark.e2e

TITLES = """(main) => [...main.querySelectorAll('[data-testid=stVegaLiteChart]')].map(chart =>
    [...chart.querySelectorAll('.role-title-text text')].map(t => t.textContent).join(' '))"""
GRID = ".st-key-train_runs table[role=grid]"


def table_cells(app) -> list[dict[str, str]]:
    """The runs table as its accessible grid gives it: one dict per row, by column header."""
    app.page.wait_for_selector(f"{GRID} tbody tr", state="attached")
    return app.page.evaluate("""(grid) => {
        const table = document.querySelector(grid);
        const heads = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
        return [...table.querySelectorAll('tbody tr')].map(row => Object.fromEntries(
            [...row.children].map((cell, i) => [heads[i], cell.innerText.trim()])));
    }""", GRID)


def figures_of(run: str) -> list[str]:
    """The titles of the Train page's charts about ``run``, the current model."""
    return [f"loss of {run}", f"accuracy of {run}", f"confusion matrix of {run}",
            f"accuracy per class of {run}", f"loss by epoch of {run}",
            f"accuracy by epoch of {run}"]


def wait_for_charts(app, titles: list[str]) -> None:
    """Until every chart of ``titles`` is drawn (Vega draws a chart's title once its data
    arrived): the page has its final layout (a list box open while charts still grow closes
    as the page moves under it)."""
    app.page.wait_for_function(f"""(wanted) => {{
        const titles = ({TITLES})(document.querySelector('[data-testid=stMain]'));
        return wanted.every(w => titles.includes(w));
    }}""", arg=titles)
    app.idle()


def test_an_older_run_as_current_model_has_its_own_heading_curves_and_chart_titles(app):
    first = app.train_small_model()
    second = app.train_small_model()
    assert first != second
    wait_for_charts(app, figures_of(second))
    # The box from above, as a reader scrolling down meets it: with the page scrolled to its
    # very end, Streamlit's list box opens, moves the page and closes at once (seen here).
    app.main.evaluate("main => main.scrollTo(0, 0)")
    box = app.widget("train_current").get_by_role("combobox")  # the box, not its label
    box.scroll_into_view_if_needed()
    box.click()
    app.page.get_by_role("option", name=first, exact=True).click()
    heading = app.main.get_by_role("heading", name=re.compile(r"^Results of "))
    expect(heading).to_have_text(f"Results of {first}")
    app.idle()
    expect(app.sidebar).to_contain_text(first)
    wanted = figures_of(first)
    wait_for_charts(app, wanted)
    titles = app.main.evaluate(TITLES)
    assert sorted(t for t in titles if t) == sorted(wanted), titles  # none of the newer run
    assert not any(second in t for t in titles), titles
    # the runs table (its accessible grid holds the numbers, the canvas draws them as the
    # AppTest checks): both runs trained without a validation split, so an empty cell
    cells = table_cells(app)
    assert [row["run"] for row in cells] == [first, second], cells
    assert [row["val acc"] for row in cells] == ["", ""], cells
    expect(app.main.get_by_text(re.compile("an empty val acc: the run had no validation split"))
           ).to_be_visible()
    app.shot("run-figures-older-current")


PARTIAL_FEED = {
    "name": "long-1", "state": "stopping", "phase": "training", "text": "stopping long-1",
    "message": None, "fraction": 0.16, "epoch": 2, "epochs": 10, "batch": 6,
    "batches_per_epoch": 10, "queue_position": None, "samples_per_second": None,
    "seconds_left": None, "per_point": 1, "reset": False, "start": 0,
    "points": [[step, 2.0 / step, min(0.1 * step, 1.0)] for step in range(1, 17)],
    "curve_batches_per_epoch": 10,
    "history": [{"epoch": 1, "batches": 10, "complete": True, "loss": 0.5, "accuracy": 0.6,
                 "val_loss": 0.6, "val_accuracy": 0.5},
                {"epoch": 2, "batches": 6, "complete": False, "loss": 0.4, "accuracy": 0.7,
                 "val_loss": 0.5, "val_accuracy": 0.6}],
    "partial": "epoch 2: 6 of 10 batches (stopped)",
}


def test_the_live_element_draws_a_partial_epoch_hollow_and_names_it(browser):
    """ui/static/live_chart.js on its own, its feed answered by the test (Playwright's routes:
    no server), as the feed answers while a stopped job's last epoch is partial."""
    script = (REPO / "ui" / "static" / "live_chart.js").read_text(encoding="utf-8")
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    try:
        page = context.new_page()
        origin = "http://127.0.0.1:9"  # never reached: every request is answered below
        page.route(f"{origin}/", lambda route: route.fulfill(
            body="<div id=root style='width: 900px'></div>", content_type="text/html"))
        page.route(f"{origin}/live_chart.js", lambda route: route.fulfill(
            body=script, content_type="text/javascript"))
        page.route(f"{origin}/cnnlab-live/**", lambda route: route.fulfill(
            body=json.dumps(PARTIAL_FEED), content_type="application/json"))
        page.goto(f"{origin}/")
        page.evaluate("""async () => {
            const live = await import('/live_chart.js');
            live.default({data: {url: '/cnnlab-live/x', epochs: 10, text: 'long-1',
                                 name: 'long-1', font: 13},
                          parentElement: document.getElementById('root'),
                          setTriggerValue: () => {}});
        }""")
        hollow = page.locator("circle[data-partial=true]")
        expect(hollow).to_have_count(4)  # training and validation, on loss and accuracy
        for circle in hollow.all():
            assert circle.get_attribute("fill") == "white" and circle.get_attribute("stroke")
        filled = page.locator("svg circle:not([data-partial])")
        expect(filled).to_have_count(4)  # epoch 1's, whole
        titles = page.locator("svg > text[font-weight=bold]").all_text_contents()
        assert titles == ["loss of long-1", "accuracy of long-1"], titles
        notes = page.locator("text.live-partial").all_text_contents()
        assert notes == ["hollow point — epoch 2: 6 of 10 batches (stopped)"] * 2, notes
        # on the epoch axis, the partial epoch sits at 1.6 (6 of its 10 batches), not at 2
        loss = page.locator("svg[data-metric=loss]")
        ticks = {t.text_content(): float(t.get_attribute("x"))
                 for t in loss.locator("text[text-anchor=middle]").all()}
        [partial_x] = {float(c.get_attribute("cx"))
                       for c in loss.locator("circle[data-partial=true]").all()}
        assert partial_x == pytest.approx(ticks["1"] + 0.6 * (ticks["2"] - ticks["1"]), abs=0.5)
    finally:
        context.close()

