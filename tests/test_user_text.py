"""Text from users is text (issue 21, item 9): names from an uploaded run zip (the run's name,
its data set's, its classes'), a class-folder zip's class names, drawn classes and a link's
``?w=`` value are shown literally on every page: no link, image, HTML, LaTeX, icon or emphasis
made from them. ``ui.text.md`` does it; these tests hold every page to it by reading every
Markdown string Streamlit was given."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pictures
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from cnnlab.runs import run_files
from ui import text

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
RUN = ("[x](http://example.invalid) ![i](http://example.invalid/a.png) <img src=x> "
       ":material/home: $x^2$ **b**")
DATA = "**d** [y](http://example.invalid/d) <b>b</b> :red[c] $y$ :smile: www.example.invalid"
CLASS = "![c](http://example.invalid/c.png) :material_home: _e_ <i>"
PAGES = ("pages/home.py", "pages/build.py", "pages/train.py", "pages/feature_maps.py",
         "pages/draw.py", "pages/my_classes.py", "pages/learn.py")
# String fields Streamlit shows as plain text (or never shows); every other string is Markdown.
PLAIN = {"id", "form_id", "url", "type", "format", "tag", "placeholder", "default", "value",
         "icon", "data", "styles", "css_class", "page_script_hash", "page",
         "spec"}  # a chart: Vega draws its text as text
PLAIN_CHOICES = {"Selectbox", "MultiSelect"}  # a select box shows its choices as plain text


def markdown_strings(at: AppTest) -> list[tuple[str, str]]:
    """(where, string) for every string of every element (main, sidebar, tabs, expanders) that
    Streamlit renders as Markdown: bodies, labels, captions, help, radio and select-slider
    options; and the cells of ``st.table`` (Markdown too). Read from the elements' protos, so
    no element type is missed."""
    found: list[tuple[str, str]] = []

    def strings(message, kind: str) -> None:
        for field, value in message.ListFields():
            items = value if field.is_repeated else [value]
            if field.type == field.TYPE_MESSAGE:
                for item in items:
                    strings(item, type(item).__name__)
            elif field.type == field.TYPE_STRING and field.name not in PLAIN and not (
                    kind in PLAIN_CHOICES and field.name not in ("label", "help")):
                found.extend((f"{kind}.{field.name}", item) for item in items)

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            strings(proto, type(proto).__name__)
        if type(node).__name__ == "Table":
            found.extend(("Table.cell", str(cell)) for cell in np.ravel(node.value.to_numpy()))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def displayed(markdown: str) -> str:
    """What a reader sees of plain Markdown text: backslash escapes resolved, joiners gone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace(text.JOINER, "")


def unescaped(at: AppTest, *names: str) -> list[str]:
    """The Markdown strings that show one of ``names`` other than through ``text.md``."""
    return [f"{where}: {s}" for where, s in markdown_strings(at) for name in names
            if displayed(s).count(name) != s.count(text.md(name))]


def shown(at: AppTest, name: str) -> int:
    """How many Markdown strings show ``name``, escaped."""
    return sum(text.md(name) in s for _, s in markdown_strings(at))


@pytest.fixture(scope="module")
def hostile_zip(tiny_run, tmp_path_factory) -> bytes:
    """A real tiny run, zipped, its run name, data set name and first class name hostile."""
    folder = run_files.save_run(tiny_run, tmp_path_factory.mktemp("hostile-names") / "run")
    history = json.loads((folder / "history.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    history["name"], metrics["dataset"] = RUN, DATA
    metrics.pop("dataset_ref", None)  # read as the data set the run recorded: its label
    metrics["class_names"][0] = CLASS
    (folder / "history.json").write_text(json.dumps(history))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.iterdir():
            archive.write(path, path.name)
    return buffer.getvalue()


def a_drawing() -> np.ndarray:
    """A 280×280 RGBA canvas with a horizontal band, as the drawing canvas returns it."""
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(image).rectangle([(20, 60), (260, 110)], fill=(255, 255, 255, 255))
    return np.asarray(image)


@pytest.fixture(scope="module")
def uploaded(hostile_zip) -> AppTest:
    """One session: the hostile run zip uploaded on the Train page, a drawing on the canvas."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.session_state["draw_test_image"] = a_drawing()
    at.run()
    at.switch_page("pages/train.py").run()
    at.file_uploader(key="train_upload").set_value(("shared run.zip", hostile_zip,
                                                    "application/zip")).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.session_state["cnnlab"].current_run().name == RUN
    return at


def test_md_escapes_what_markdown_and_streamlit_would_read():
    j = text.JOINER  # invisible: it splits the patterns Streamlit finds in parsed text
    assert text.md("**b** $x$ <img src=x> [l](u)") == (
        rf"\*\*b\*\* \$x\$ \<{j}img src=x\>{j} \[l\](u)")
    assert text.md("two-conv-1 (edited) conv_1") == "two-conv-1 (edited) conv_1"  # as typed
    assert text.md("error: 3 of 4.") == "error: 3 of 4."
    assert text.md(":material/home: :smile:") == rf"\:{j}material/home: \:{j}smile:"
    assert text.md("1. a\n\n#  b") == r"1\. a \# b"  # one line: no list, no heading
    assert text.md("===") == r"\===" and text.md("n=2, a <= b") == rf"n=2, a \<{j}= b"
    assert text.md("a -> b") == rf"a \-{j}\>{j} b"
    assert text.md("www.x.org a@b.org") == rf"www{j}\.x.org a\@{j}b.org"
    assert displayed(text.md(RUN)) == RUN and displayed(text.md(DATA)) == DATA


def test_the_sidebar_and_the_train_page_show_an_uploaded_runs_names_as_text(uploaded):
    at = uploaded
    assert unescaped(at, RUN, DATA, CLASS) == []
    sidebar = [m.value for m in at.sidebar.markdown]
    assert any(text.md(RUN) in m and text.md(DATA) in m for m in sidebar), sidebar
    assert [h.value for h in at.subheader][0] == f"Results of {text.md(RUN)}"
    assert at.button(key="train_delete").label == f"delete {text.md(RUN)}"
    assert any(c.value.endswith(f"Shown: {text.md(RUN)}.") for c in at.caption)
    assert at.selectbox(key="train_current").options == [RUN]  # plain text: not escaped


def test_draw_and_feature_maps_show_the_names_as_text(uploaded):
    at = uploaded
    at.switch_page("pages/draw.py").run()
    assert not at.exception, at.exception
    assert unescaped(at, RUN, DATA, CLASS) == []
    infos = " ".join(i.value for i in at.info)
    assert text.md(RUN) in infos and text.md(DATA) in infos and text.md(CLASS) in infos
    assert [h for h in at.subheader if h.value.startswith("Prediction: ")]
    picked = at.selectbox(key="draw_why_class")
    picked.set_value(0).run()  # the hostile class: its captions and the stability table
    assert unescaped(at, RUN, DATA, CLASS) == []
    # the Grad-CAM and saliency captions are ui/images.py's HTML: escaped there, read back here
    in_pictures = sum(CLASS in (p.caption or "") + (p.alt or "") for p in pictures.shown(at))
    assert in_pictures >= 2 and shown(at, CLASS) + in_pictures >= 3
    assert not any(CLASS in h.proto.body for h in at.get("html"))
    at.switch_page("pages/feature_maps.py").run()
    assert not at.exception, at.exception
    assert unescaped(at, RUN, DATA, CLASS) == []
    assert any(i.value.startswith("The test images are not here") and text.md(DATA) in i.value
               for i in at.info), [i.value for i in at.info]
    at.radio(key="fm_source").set_value("my drawing").run()
    assert not at.exception, at.exception
    assert unescaped(at, RUN, DATA, CLASS) == []
    assert any(m.value.startswith("Prediction: **") for m in at.markdown)


@pytest.mark.parametrize("path", PAGES)
def test_no_page_shows_a_hostile_name_unescaped(uploaded, path):
    """The grep: every Markdown string of every element of the page, the sidebar included."""
    at = uploaded
    at.switch_page(path).run()
    assert not at.exception, at.exception
    assert unescaped(at, RUN, DATA, CLASS) == []
    assert shown(at, RUN) >= 1  # at least the sidebar: the check is not vacuous


def test_the_link_notice_shows_a_hostile_w_value_as_text():
    token = "[x](http://e.invalid)<img src=x>$x$"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["w"] = token
    at.run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.sidebar.warning]
    assert any("not a workspace token" in w for w in warnings), warnings
    assert not any(part in w for w in warnings for part in ("e.invalid", "img", "$x"))
    assert unescaped(at, token) == []  # the link's text is not shown at all


def test_drawn_class_names_and_their_refusals_are_text():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/my_classes.py").run()
    names = ["a _b_ c", "x __y__ z", "m -- n"]  # letters, digits, spaces, - and _ only
    at.text_area(key="mine_names").set_value("\n".join(names)).run()
    at.button(key="mine_create").click().run()
    assert not at.exception, at.exception
    assert at.radio(key="mine_class").options == [text.md(n) for n in names]
    at.session_state["draw_test_image"] = a_drawing()  # the seam's Add button (in a browser
    at.run()  # the canvas's own Add button shows its label as text: textContent)
    assert at.button(key="mine_add").label == f"Add to {text.md(names[0])}"
    assert unescaped(at, *names) == [] and all(shown(at, n) for n in names)
    hostile = "[x](http://e.invalid) **b**"
    at.text_input(key="mine_added_name").set_value(hostile).run()
    at.button(key="mine_add_class").click().run()
    assert [e.value for e in at.error] == [text.md(
        f"class name {hostile!r} may hold letters, digits, spaces, '-' and '_' only, starting "
        "with a letter or digit (it becomes a folder name)")]
    assert unescaped(at, hostile, *names) == []


def test_class_folder_names_from_an_uploaded_zip_are_text():
    from cnnlab.workspaces import store, uploads

    hostile = "**b** <img src=x> $x^2$ :material_home: [x](#y)"  # no "/": a folder name
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in (hostile, "cats"):
            for i in range(5):
                image = io.BytesIO()
                Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(image, "PNG")
                archive.writestr(f"set/{name}/{i}.png", image.getvalue())
    workspace = store.create()
    uploads.add_zip(workspace, "[z](x) <b>.zip", out.getvalue())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["w"] = workspace.token
    at.run()
    at.switch_page("pages/train.py").run()
    from ui import datasets_upload

    at.selectbox(key="train_dataset").set_value(datasets_upload.UPLOAD).run()
    assert not at.exception, at.exception
    assert unescaped(at, hostile) == []
    pictures = [h.proto.body for h in at.get("html")]  # the preview: ui/images.py's HTML
    assert any(html.escape(hostile) in body for body in pictures), pictures
    assert not any("<img src=x>" in body for body in pictures)
