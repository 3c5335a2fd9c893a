"""Names from users in issue 25's views are text (README, "User text"): a run zip whose run,
data set and first class have hostile names, through Fool it and Cover it up on Draw and Ask
what it wants to see on Feature maps — every Markdown string shows them escaped, and the inline
pictures' HTML never holds them raw."""
# ruff: noqa: F811 (the fixtures are test_user_text's, taken as arguments)

from __future__ import annotations

import html

from test_user_text import CLASS, DATA, RUN, hostile_zip, unescaped, uploaded  # noqa: F401


def raw_in_html(at) -> bool:
    return any(name in node.proto.body for node in at.get("html")
               for name in (RUN, DATA, CLASS))


def test_fool_it_and_cover_it_up_show_the_names_as_text(uploaded):
    at = uploaded
    at.switch_page("pages/draw.py").run()
    at.session_state["draw_fool"] = True
    at.session_state["draw_cover"] = True
    at.run()
    assert not at.exception, at.exception
    at.radio(key="draw_fool_goal").set_value("make it say …").run()
    target = at.selectbox(key="draw_fool_target")
    if 0 in target.options:
        target.set_value(0).run()  # make it say the hostile class
    at.selectbox(key="draw_cover_class").set_value(0).run()
    at.toggle(key="draw_sanity").set_value(True).run()
    assert not at.exception, at.exception
    assert unescaped(at, RUN, DATA, CLASS) == []
    assert not raw_in_html(at)
    bodies = " ".join(node.proto.body for node in at.get("html"))
    assert html.escape(CLASS) in bodies  # shown, escaped, in a caption or an alternative text


def test_ask_what_it_wants_to_see_shows_the_names_as_text(uploaded):
    at = uploaded
    at.switch_page("pages/draw.py").run()  # the drawing, kept for Feature maps
    at.switch_page("pages/feature_maps.py").run()
    at.radio(key="fm_source").set_value("my drawing").run()
    at.session_state["fm_dream"] = True
    at.session_state["fm_cover"] = True
    at.run()
    at.get("button_group")[0].set_value("a class").run()
    at.selectbox(key="fm_dream_class").set_value(0).run()
    assert not at.exception, at.exception
    assert unescaped(at, RUN, DATA, CLASS) == []
    assert not raw_in_html(at)
