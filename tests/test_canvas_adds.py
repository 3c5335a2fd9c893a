"""ui/canvas.py's Add trigger: every drawing the canvas sends reaches the page once, however
often a trigger resends it (the canvas resends each until the page lists it as applied), and
a payload no canvas sends is refused in words."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest


def png_url(value: int) -> str:
    """A 280×280 canvas PNG, every pixel ``value`` (so each drawing is told apart)."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((280, 280, 4), value, np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def script() -> None:
    import streamlit as st

    from ui import canvas

    got = st.session_state.setdefault("got", [])
    refused = st.session_state.setdefault("refused", [])
    st.session_state["trigger"] = {"add": st.session_state.get("sent")}  # what the canvas sent
    canvas._added("trigger", "trigger_applied",
                  lambda target, rgba: got.append((target, int(rgba[0, 0, 0]))), refused.append)
    st.write(list(st.session_state.get("trigger_applied", [])))  # data.applied, next render


def send(at: AppTest, *items) -> AppTest:
    at.session_state["sent"] = {"items": list(items)}
    return at.run()


def test_each_drawing_reaches_the_page_once_and_bad_ones_are_named():
    at = AppTest.from_function(script)
    first = {"id": "a1", "png": png_url(10), "target": "cross"}
    second = {"id": "b2", "png": png_url(20), "target": "ring"}
    send(at, first)
    send(at, first, second)  # the first not yet acknowledged: sent again with the second
    send(at, first, second)  # a trigger seen twice
    assert not at.exception, at.exception
    assert at.session_state["got"] == [("cross", 10), ("ring", 20)]
    assert at.session_state["trigger_applied"] == ["a1", "b2"]
    send(at, {"id": "c3", "png": "data:image/jpeg;base64,AAAA", "target": "cross"},
         {"id": "x" * 41, "png": png_url(30), "target": "cross"},  # no id a canvas makes
         "not an item", {"id": "d4", "png": png_url(40)})  # no target
    assert at.session_state["got"] == [("cross", 10), ("ring", 20)]
    assert at.session_state["refused"] == [
        "the canvas sent 'data:image/jpeg;base64'; expected a data:image/png;base64 URL"]
    send(at, *({"id": f"n{k}", "png": png_url(50 + k), "target": "cross"} for k in range(20)))
    assert len(at.session_state["got"]) == 2 + 16  # at most 16 a trigger; the rest come again
    assert not at.exception, at.exception
