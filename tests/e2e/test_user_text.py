"""User text in Streamlit's real renderer (issue 21, item 9): ``ui.text.md`` of a hostile name
shows literally in every kind of element that renders Markdown — no link, image, HTML element,
LaTeX, Material icon, emoji or emphasis made from it. The AppTest tests read what the pages
send; this reads what Chromium draws of it."""

from __future__ import annotations

import pytest

from .conftest import REPO, SERVER_START_SECONDS, SHOTS, STEP_MS, harness, import_expect

pytestmark = pytest.mark.e2e

HOSTILE = ("[x](http://example.invalid) ![i](http://example.invalid/a.png) <img src=x> "
           ":material/home: :material_home: $x^2$ **b** _i_ ~~s~~ `c` :red[r] :smile: "
           ":streamlit: a -> b www.example.invalid m@example.invalid &amp; <b>h</b> # h")
KINDS = ("markdown", "caption", "error", "subheader", "button", "radio", "image", "table",
         "progress", "metric", "expander", "tab")
DRAWN = """(kinds) => {
    const leaves = [...document.querySelectorAll('[data-testid=stMain] *')]
        .filter(e => e.children.length === 0).map(e => e.textContent ?? '');
    return kinds.every(k => leaves.some(t => t.startsWith(k + ': ')));
}"""
MADE = ("a:not([href^='#'])", "img:not([src*='/media/'])", ".katex", "span[role=img]", "b",
        "strong", "em", "i", "del", "code", "h1", "h2", "h4", "ul", "ol", "blockquote")


@pytest.fixture(scope="module")
def page(browser):
    expect = import_expect()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with harness.streamlit_server(env={"CNNLAB_TEST_TEXT": HOSTILE, "PYTHONPATH": str(REPO)},
                                  script="tests/e2e/user_text_app.py",
                                  timeout=SERVER_START_SECONDS,
                                  log=SHOTS / "user-text-server.log") as server:
        context = browser.new_context()
        try:
            opened = context.new_page()
            opened.goto(server.url)
            expect(opened.get_by_text("done", exact=True)).to_be_visible()
            opened.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]")
            # Streamlit loads some element kinds (table, progress, metric, ...) lazily: "done"
            # can show before they are drawn. Wait until every kind has drawn its text.
            opened.wait_for_function(DRAWN, arg=list(KINDS), timeout=STEP_MS)
            yield opened
        finally:
            context.close()


def test_every_markdown_element_shows_the_name_as_typed(page):
    found = page.evaluate("""(kinds) => {
        const texts = [...document.querySelectorAll('[data-testid=stMain] *')]
            .filter(e => e.children.length === 0 || e.matches('p, span, td, label'))
            .map(e => (e.innerText ?? '').replaceAll('\\u2060', ''));
        return Object.fromEntries(kinds.map(k => [k, texts.filter(t => t.startsWith(k + ': '))]));
    }""", list(KINDS))
    for kind in KINDS:
        assert f"{kind}: {HOSTILE}" in found[kind], (kind, found[kind][:3])


def test_nothing_is_made_from_it(page):
    main = page.get_by_test_id("stMain")
    made = {selector: main.locator(selector).count() for selector in MADE}
    assert made == dict.fromkeys(MADE, 0), made
