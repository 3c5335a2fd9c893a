"""CNN Lab: the Streamlit entry point — page config, navigation, and the shared sidebar."""

import streamlit as st

import ui_session

st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/build.py", title="Build", icon=":material/construction:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/feature_maps.py", title="Feature maps", icon=":material/layers:"),
    st.Page("pages/draw.py", title="Draw", icon=":material/draw:"),
    st.Page("pages/learn.py", title="Learn", icon=":material/school:"),
]

page = st.navigation(PAGES)
ui_session.sidebar(live_badge=page.title != "Train")
page.run()
