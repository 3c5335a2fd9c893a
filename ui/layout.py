"""How the app fits small screens and projectors: the page styles, and presentation mode.

Presentation mode (larger text in charts, the network diagram, the confusion matrix and image
captions) is a switch in the sidebar. It is kept in the session and in the page's link as
``?present=1``, so a teacher can open or bookmark the app in that mode, and it stays on from
page to page (Streamlit drops the query parameters on navigation; :func:`apply` sets it again).
"""

from __future__ import annotations

import streamlit as st

from ui import images

QUERY = "present"  # ?present=1 in the page's link
KEY = "cnnlab_present"  # the sidebar switch's widget key; its value is the mode
SIDEBAR_WIDTH = 220  # px; Streamlit's default (300) leaves too little of a 1024 px screen
# The browser tab's icon: a 3×3 kernel, as an SVG (Streamlit sends it as a data: URL). An
# emoji needs an emoji font, which Debian's Chromium lacks; a Material icon (or, with none,
# each page's icon) is fetched from fonts.gstatic.com, which a classroom may not reach.
ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 30 30">'
        '<rect width="30" height="30" rx="4" fill="#31333f"/>'
        + "".join(f'<rect x="{3 + 8 * (i % 3)}" y="{3 + 8 * (i // 3)}" width="7" height="7" '
                  f'fill="{colour}"/>' for i, colour in enumerate(
                      ["#ff4b4b", "#ffffff", "#90caf9"] * 3))
        + "</svg>")

# Labels never break inside a word; below 1400 px the page's margins shrink so that a
# 1024 px screen keeps ~750 px for the content (Streamlit's wide layout keeps 5 rem a side).
_CSS = """
[data-testid=stWidgetLabel], [data-testid=stWidgetLabel] p {
  word-break: normal !important; overflow-wrap: normal !important; hyphens: none; }
[data-testid=stMetricValue] > div { overflow: visible; text-overflow: clip; }
/* a picture's caption, Streamlit's or ui/images.py's inline one, at Streamlit's caption size */
[data-testid=stImageCaption] { font-size: 0.875rem; }
@media (max-width: 1400px) {
  [data-testid=stMainBlockContainer] { padding: 3.5rem 1.5rem 4rem 1.5rem; }
  /* set_page_config's width comes after the sidebar is drawn on a new session: enforce it */
  [data-testid=stSidebar][data-collapsed=false] { width: 220px !important;
    min-width: 220px !important; }
}
/* code in a caption in the caption's colour: the theme's green code text, faded like the
   caption, fell to 3:1 contrast (WCAG AA asks 4.5:1; see .streamlit/config.toml's [theme]) */
[data-testid=stCaptionContainer] code { color: inherit; }
@media (max-height: 800px) {  /* a projector's 768 or 576 px: page titles on one short line */
  [data-testid=stMainBlockContainer] h1 { font-size: 2.1rem; padding-top: 0.5rem; }
}
"""
_PRESENTATION_CSS = """
[data-testid=stImageCaption], [data-testid=stCaptionContainer] { font-size: 1.05rem; }
[data-testid=stImageCaption] { color: inherit; }
"""
# ui/images.py's captions have their size inline: only !important overrides it.
_PRESENTATION_CSS += f"figcaption.{images.CAPTION_CLASS} {{ font-size: 1.05rem !important; }}\n"


def presentation() -> bool:
    """Whether presentation mode is on in this session (from ``?present=1`` at first)."""
    if KEY not in st.session_state:
        st.session_state[KEY] = st.query_params.get(QUERY) == "1"
    return bool(st.session_state[KEY])


def apply() -> None:
    """The page styles, and ``?present=1`` in the link while presentation mode is on."""
    on = presentation()
    if on:
        st.query_params[QUERY] = "1"
    elif QUERY in st.query_params:
        del st.query_params[QUERY]
    css = _CSS + (_PRESENTATION_CSS if on else "")
    st.html(f"<style>{css}</style>")


def presentation_switch() -> None:
    """The sidebar's switch for presentation mode."""
    presentation()  # its initial value, from the link
    st.sidebar.toggle("Presentation mode", key=KEY,
                      help="larger text in charts, the network diagram and captions, to read "
                           "from the back of a room; kept in the page's link as ?present=1")
