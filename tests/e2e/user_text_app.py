"""A page that shows ``ui.text.md(CNNLAB_TEST_TEXT)`` in every kind of element that renders
Markdown, each element marked ``MARK``; for ``test_user_text.py`` to read in Chromium."""

import os

import numpy as np
import pandas as pd
import streamlit as st

from ui import text

shown = text.md(os.environ["CNNLAB_TEST_TEXT"])
st.markdown(f"markdown: {shown}")
st.caption(f"caption: {shown}")
st.error(f"error: {shown}")
st.subheader(f"subheader: {shown}")
st.button(f"button: {shown}", key="b")
st.radio("radio", [f"radio: {shown}"], key="r")
st.image(np.zeros((4, 4)), caption=f"image: {shown}")
st.table(pd.DataFrame({"cells": [f"table: {shown}"]}))
st.progress(0.5, text=f"progress: {shown}")
st.metric(f"metric: {shown}", 1)
with st.expander(f"expander: {shown}"):
    st.write("inside")
st.tabs([f"tab: {shown}"])
st.markdown("done")
