"""Readable on a projector (issue 17): chart and diagram text sizes, and presentation mode as a
switch kept in the page's link (?present=1). The browser checks are in
tests/e2e/test_screen_sizes.py."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from streamlit.testing.v1 import AppTest

from cnnlab.architecture import presets, shapes
from cnnlab.views import charts, diagram

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"
SUMMARY = shapes.summarize(presets.get("two-conv"))


def font_sizes(svg_text: str) -> set[int]:
    return {int(size) for size in re.findall(r'font-size="(\d+)"', svg_text)}


def test_diagram_is_drawn_at_its_own_size_never_scaled_down():
    root = ET.fromstring(diagram.network_svg(SUMMARY))
    width = float(root.get("viewBox").split()[2])
    assert float(root.get("width")) == width  # one CSS pixel per unit: 14 px labels stay 14 px
    assert "100%" not in diagram.network_svg(SUMMARY)


def test_diagram_for_a_page_wraps_one_figure_per_block():
    page = diagram.network_html(SUMMARY)
    figures = re.findall(r"<svg .*?</svg>", page)
    assert len(figures) == 1 + len(SUMMARY.rows)
    assert all(ET.fromstring(figure).find(f"{SVG}g").get("class") == "block"
               for figure in figures)
    assert "flex-wrap:wrap" in page
    assert min(font_sizes(page)) >= 12 and max(font_sizes(page)) == diagram.LABEL_PX[False]


def test_presentation_mode_enlarges_the_diagrams_labels():
    normal, large = (font_sizes(diagram.network_html(SUMMARY, presentation=flag))
                     for flag in (False, True))
    assert min(large) > max(normal)


def test_chart_text_is_larger_in_presentation_mode_and_readable_in_normal():
    normal, large = charts.text_config(False), charts.text_config(True)
    assert normal["axis"]["labelFontSize"] >= 12
    assert large["axis"]["labelFontSize"] > normal["axis"]["labelFontSize"]
    spec = charts.training_spec("loss", 3, presentation=True)
    assert spec["config"]["axis"] == large["axis"]
    bars = charts.class_bar_chart([0.2, 0.8], ["a", "b"], "p", presentation=True).to_dict()
    assert bars["config"]["axis"] == large["axis"]


def test_confusion_matrix_counts_grow_in_presentation_mode():
    def count_size(presentation: bool) -> int:
        spec = charts.confusion_chart([[3, 1], [0, 4]], ["a", "b"], presentation).to_dict()
        return next(layer["mark"]["fontSize"] for layer in spec["layer"]
                    if isinstance(layer["mark"], dict) and layer["mark"]["type"] == "text")

    assert count_size(False) >= 12 and count_size(True) > count_size(False)


def test_presentation_mode_comes_from_the_link_and_stays_in_it():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception, at.exception
    switch = at.sidebar.toggle(key="cnnlab_present")
    assert switch.value is True
    at.switch_page("pages/build.py").run()  # another page: still on, still in the link
    assert at.sidebar.toggle(key="cnnlab_present").value is True
    assert at.query_params.get("present") == "1"
    at.sidebar.toggle(key="cnnlab_present").set_value(False).run()
    assert "present" not in at.query_params
