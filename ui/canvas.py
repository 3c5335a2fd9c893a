"""The drawing canvas of the Draw and My classes pages: a Components-v2 element drawn by
``static/canvas.js`` (its opening comment says what it sends and why), and the seam for tests.

- Draw (:func:`drawing`): the canvas reports its drawing the moment the pen lifts. The page
  keeps the last one for the session, and the canvas draws it again when the page is opened
  again (a new element starts from it).
- My classes (:func:`with_add`): the Add button is part of the canvas, so an example is the
  canvas exactly as it showed at the click, and the canvas clears itself at once (a stroke
  begun right after is kept for the next example). Each drawing reaches the page's callback
  exactly once, however the triggers that carry it are merged on the way.

The seam for tests: an array in ``st.session_state.draw_test_image`` replaces the canvas (on
My classes, Add is then a plain button that adds that array).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from cnnlab.inspect import pixels
from ui import text

SIDE = 280  # pixels of the drawing canvas, on screen and in its PNG
TEST_IMAGE = "draw_test_image"
MAX_ITEMS = 16  # drawings one Add trigger may carry (the canvas sends the rest again)
KEPT_IDS = 64  # ids of added drawings a page remembers, so each is added once
_STATIC = Path(__file__).with_name("static")
_component = st.components.v2.component(
    "cnnlab_canvas", js=(_STATIC / "canvas.js").read_text(encoding="utf-8"),
    css=(_STATIC / "canvas.css").read_text(encoding="utf-8"))


def _ignore() -> None:
    """The canvas's state and trigger need a callback to be sent; the page reads them."""


def _mount(key: str, pen: int, on_add: Callable[[], None] = _ignore, **data):
    return _component(key=key, width="content", default={"drawing": None},
                      on_drawing_change=_ignore, on_add_change=on_add,
                      data={"side": SIDE, "pen": pen, "report": False, "add": None,
                            "applied": [], "initial": [], **data})


def drawing(pen: int, key: str) -> np.ndarray | None:
    """The drawing as the canvas shows it, (SIDE, SIDE, 4) uint8 RGBA, or None when it is
    empty; kept for the session under ``<key>_kept`` and drawn again on the next visit.

    Raises :class:`cnnlab.inspect.pixels.ImageError` for a payload no canvas this size sends.
    """
    if st.session_state.get(TEST_IMAGE) is not None:
        return st.session_state[TEST_IMAGE]
    kept_key = f"{key}_kept"
    kept = st.session_state.get(kept_key)  # {"png": data URL or None, "strokes": [...]}
    sent = _mount(key, pen, report=True,
                  initial=kept["strokes"] if kept else []).drawing
    if sent is not None:  # None: nothing drawn since the element was created
        if not isinstance(sent, dict):
            raise pixels.ImageError(f"the canvas sent a {type(sent).__name__}, not a drawing")
        png, strokes = sent.get("png"), pixels.canvas_strokes(sent.get("strokes"), SIDE)
        if png is not None and not isinstance(png, str):
            raise pixels.ImageError("the canvas sent its picture as "
                                    f"{type(png).__name__}, not a data URL")
        kept = {"png": png if strokes else None, "strokes": strokes}
        st.session_state[kept_key] = kept
    if not kept or kept["png"] is None:
        return None
    return pixels.canvas_pixels(kept["png"], SIDE, SIDE)


def with_add(pen: int, key: str, target: str, on_add: Callable[[str, np.ndarray], None],
             on_refused: Callable[[str], None]) -> None:
    """The canvas with a button "Add to <target>"; every drawing added with it is handed,
    once, to ``on_add(the target it was added to, RGBA pixels)`` in a callback before the
    page's script run (``on_refused(message)`` for a payload no canvas sends)."""
    if st.session_state.get(TEST_IMAGE) is not None:
        st.button(f"Add to {text.md(target)}", key="mine_add", type="primary", on_click=on_add,
                  args=(target, st.session_state[TEST_IMAGE]))
        return
    ids_key = f"{key}_applied"
    _mount(key, pen, add={"label": f"Add to {target}", "target": target},
           applied=list(st.session_state.get(ids_key, [])),
           on_add=lambda: _added(key, ids_key, on_add, on_refused))


def _added(key: str, ids_key: str, on_add: Callable[[str, np.ndarray], None],
           on_refused: Callable[[str], None]) -> None:
    """The Add trigger's callback: hand each drawing not handed yet to ``on_add``."""
    value = (st.session_state.get(key) or {}).get("add")
    items = value.get("items") if isinstance(value, dict) else None
    if not isinstance(items, list):
        return
    done: list[str] = st.session_state.setdefault(ids_key, [])
    for item in items[:MAX_ITEMS]:
        if not isinstance(item, dict) or not isinstance(item.get("target"), str) \
                or not isinstance(item.get("id"), str) or len(item["id"]) > 40 \
                or item["id"] in done:
            continue
        done.append(item["id"])
        del done[:-KEPT_IDS]
        try:
            rgba = pixels.canvas_pixels(item.get("png") or "", SIDE, SIDE)
        except pixels.ImageError as exc:
            on_refused(str(exc))
            continue
        on_add(item["target"], rgba)
