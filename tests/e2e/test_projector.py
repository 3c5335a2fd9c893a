"""What a class sees on the projector (issue 22), in Chromium: typed numbers out of range are
answered at the field; Learn's 5×5 kernel shows all of its columns on a real image at every
screen size; Build's shape table shows every cell; no Deploy button or developer menu.

(The chart labels, emoji, misclassified captions and the unit boxes are checked with a trained
model in test_screen_sizes.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from .conftest import import_expect
from .test_screen_sizes import SIZES, go, resize, set_presentation

pytestmark = pytest.mark.e2e
expect = import_expect()

# Each "Kernel 5×5" of the page: its five columns inside the box that may scroll them, and
# behind no picture of its row.
KERNEL_CHECK = """() => {
  const found = [];
  const heads = [...document.querySelectorAll('[data-testid=stMain] strong')]
    .filter(s => s.textContent === 'Kernel 5×5');
  if (!heads.length) return ['no "Kernel 5×5" on the page'];
  const pictures = [...document.querySelectorAll('[data-testid=stMain] img')]
    .map(img => img.getBoundingClientRect());
  for (const head of heads) {
    const table = head.closest('[data-testid=stVerticalBlock]').querySelector('table');
    const cells = [...table.rows[0].cells];
    if (cells.length !== 5) found.push(`the kernel's first row has ${cells.length} cells`);
    const clip = table.parentElement.getBoundingClientRect();
    cells.forEach((cell, i) => {
      const r = cell.getBoundingClientRect();
      if (r.right > clip.right + 1 || r.left < clip.left - 1)
        found.push(`kernel column ${i + 1} is cut off (${Math.round(r.right)} px, the box `
          + `ends at ${Math.round(clip.right)} px)`);
      for (const p of pictures)
        if (r.right > p.left + 1 && r.left < p.right - 1 && r.bottom > p.top + 1
            && r.top < p.bottom - 1)
          found.push(`kernel column ${i + 1} is behind a picture`);
    });
  }
  return found;
}"""
# Every cell of Build's shape table lies within the table's box (nothing scrolled or cut).
TABLE_CHECK = """() => {
  const holder = document.querySelector('.st-key-build_table');
  const table = holder && holder.querySelector('table');
  if (!table) return ['no shape table (.st-key-build_table table) on the page'];
  const box = holder.getBoundingClientRect();
  return [...table.querySelectorAll('td, th')].filter(cell => {
    const r = cell.getBoundingClientRect();
    return r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1);
  }).map(cell => `cell cut off: ${cell.innerText}`);
}"""


def message(app, text: str):
    """An error message of the main area, as the page shows it."""
    return app.main.get_by_test_id("stAlertContentError").filter(has_text=text)


def test_no_deploy_button_or_developer_menu(app):
    expect(app.page.get_by_test_id("stToolbar")).to_be_attached()
    expect(app.page.get_by_test_id("stAppDeployButton")).to_have_count(0)
    app.page.get_by_test_id("stMainMenuButton").click()
    menu = app.page.get_by_test_id("stMainMenuPopover")
    expect(menu.get_by_text("Print")).to_be_visible()  # a viewer's items stay
    for developer in ("Rerun", "Clear cache", "Deploy"):
        expect(menu.get_by_text(developer)).to_have_count(0)
    app.page.keyboard.press("Escape")


def test_typed_numbers_out_of_range_are_answered_at_the_field(app):
    app.nav("Build")
    box = {name: app.page.locator(f"[class*='st-key-layer'][class*='_{name}']").first
           for name in ("filters", "kernel_h")}
    app.set_number(box["filters"], 600)
    app.idle()
    expect(message(app, "filters must be at most 512 (CNN Lab's cap); received 600")
           ).to_be_visible()
    app.set_number(box["filters"], 32)
    app.set_number(box["kernel_h"], 0)
    app.idle()
    expect(message(app, "kernel_size must be at least 1; received [0, 3]")).to_be_visible()
    app.set_number(box["kernel_h"], 3)
    app.idle()
    expect(app.main.get_by_test_id("stAlertContentError")).to_have_count(0)

    go(app, "Learn")
    app.set_number("conv_k", 9)
    app.idle()
    expect(message(app, "kernel size must be an integer from 1 to 7 (the explorer's windows); "
                        "received 9")).to_be_visible()
    expect(app.main.get_by_text("Output size", exact=False)).to_have_count(0)
    app.set_number("conv_k", 3)
    app.idle()

    app.nav("Train")
    app.set_number("train_epochs", 0)
    app.idle()
    expect(message(app, "epochs must be an integer from 1 to 100; received 0")).to_be_visible()
    expect(app.widget("train_start").get_by_role("button")).to_be_disabled()
    app.check()


def test_a_5x5_kernel_shows_all_its_columns_on_a_real_image_at_every_size(app, tmp_path):
    rng = np.random.default_rng(0)
    photo = tmp_path / "colour.png"
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), np.uint8)).save(photo)
    go(app, "Learn")
    app.widget("learn_section").get_by_text("On a real image", exact=True).click()
    app.idle()
    app.widget("img_size").get_by_text("5", exact=True).click()
    app.idle()
    problems = []
    for size in SIZES:
        resize(app, size)
        for present in (False, True):
            set_presentation(app, present)
            for source in ("a built-in digit", "my own image"):
                app.widget("img_source").get_by_text(source, exact=True).click()
                app.idle()
                if source == "my own image" and not app.main.get_by_text("your image").count():
                    app.widget("img_upload").locator("input[type=file]").set_input_files(
                        str(photo))
                    app.idle()
                expect(app.main.get_by_text("Kernel 5×5").first).to_be_visible()
                app.page.wait_for_function("""() => [...document.querySelectorAll(
                    '[data-testid=stMain] img')].every(img => img.complete)""")
                # each kernel's table drawn (Streamlit draws a block's Markdown one by one)
                app.page.wait_for_function("""() => [...document.querySelectorAll(
                    '[data-testid=stMain] strong')].filter(s => s.textContent === 'Kernel 5×5')
                    .every(s => { const block = s.closest('[data-testid=stVerticalBlock]');
                                  const table = block && block.querySelector('table');
                                  return table && table.rows.length > 0; })""")
                problems += [f"{size}, {'presentation' if present else 'normal'}, {source}: "
                             f"{problem}" for problem in app.page.evaluate(KERNEL_CHECK)]
    app.shot("learn-real-image-kernel-5")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("size", ["1280x800", *SIZES])
def test_build_shape_table_shows_every_cell(app, size):
    if size == "1280x800":
        app.page.set_viewport_size({"width": 1280, "height": 800})
    else:
        resize(app, size)
    app.nav("Build")
    for present in (False, True):
        set_presentation(app, present)
        table = app.widget("build_table")
        expect(table.get_by_text("output (automatic)")).to_be_visible()
        expect(app.widget("build_formulas")).to_contain_text(
            "output: (128 + 1) × 10 = 1,290 params")
        assert not app.page.evaluate(TABLE_CHECK), app.page.evaluate(TABLE_CHECK)
