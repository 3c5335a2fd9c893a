"""Home: what CNN Lab is, the path through it, and a one-click quick start."""

import streamlit as st

from ui import classroom, patches, widgets

patches.use_app_navigation()  # opened first on a fresh server: see ui/patches.py
if classroom.CLASS_PARAM in st.query_params:  # a class's link, /?class=...: the Class page
    st.switch_page("pages/class.py", query_params={
        name: st.query_params[name] for name in (classroom.CLASS_PARAM, classroom.KEY_PARAM)
        if name in st.query_params})

STEPS = [
    ("pages/build.py", ":material/construction:", "Build",
     "compose a CNN layer by layer; every shape and parameter is computed live, with the "
     "formula behind it"),
    ("pages/train.py", ":material/model_training:", "Train",
     "train it on real digits and watch loss and accuracy grow"),
    ("pages/feature_maps.py", ":material/layers:", "Feature maps",
     "see what every layer sees, and how the filters sharpened over the epochs"),
    ("pages/draw.py", ":material/draw:", "Draw", "draw a digit and watch the network think"),
    ("pages/my_classes.py", ":material/category:", "My classes",
     "make up your own classes, draw examples, train your network on them"),
    ("pages/learn.py", ":material/school:", "Learn",
     "step through convolution, stride, padding and pooling, every number shown"),
    ("pages/class.py", ":material/groups:", "Class",
     "your class: its challenge and the leaderboard; for a teacher, the board"),
]

CARD_WIDTH = 230  # px: three cards a row at 1024 px wide, five on a wide screen


def render() -> None:
    st.title("CNN Lab")
    st.markdown(
        "Learn how **convolutional neural networks** work by building one, training it on real "
        "handwritten digits, and looking inside while it thinks — all on this computer's CPU."
    )
    # The quick start first: on a projector (1024×768, or 1280×720 zoomed) it is on the first
    # screen; the path through the app follows, its cards wrapping onto as many rows as needed.
    st.subheader("Quick start")
    st.markdown(
        "One click trains the default network (`two-conv`: two convolution and pooling stages "
        "and a dense layer) on the built-in 5,000 digits for a few epochs — about 15 seconds "
        "here. Then draw a digit and see what it answers."
    )
    widgets.quick_start_panel(key="home")
    st.subheader("The path through CNN Lab")
    cards = st.container(horizontal=True, wrap=True)
    for path, icon, title, text in STEPS:
        with cards.container(border=True, width=CARD_WIDTH):
            st.page_link(path, label=title, icon=icon)
            st.caption(text)
    with st.expander("Teaching a class? Create one: your students join with a link, your "
                     "board shows their work live", icon=":material/groups:"):
        classroom.create_panel()


render()
