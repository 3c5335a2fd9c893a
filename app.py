"""CNN Lab: the Streamlit entry point — page config, navigation, and the shared sidebar.

Every script run goes through here in this order: Streamlit patches, this session's state,
the run of a training job that has just ended, then the sidebar and the page, which
therefore agree on the session's runs and current model; last, the sidebar's foot: the network
being built as the page left it, and a progress badge unless the page showed progress itself;
then TensorFlow's background warm-up may begin (``cnnlab/training/warmup.py``).
"""

import streamlit as st

from cnnlab.training import warmup
from ui import jobs, layout, patches, state, widgets

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/build.py", title="Build", icon=":material/construction:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/feature_maps.py", title="Feature maps", icon=":material/layers:"),
    st.Page("pages/draw.py", title="Draw", icon=":material/draw:"),
    st.Page("pages/my_classes.py", title="My classes", icon=":material/category:"),
    st.Page("pages/learn.py", title="Learn", icon=":material/school:"),
    st.Page("pages/class.py", title="Class", icon=":material/groups:"),
]


def main() -> None:
    """One script run: the session, the harvest, the sidebar and the page, then the warm-up."""
    warmup.guard_first_import()  # two sessions' pages may import TensorFlow at once
    patches.keep_keras_state()
    patches.use_app_navigation(entry=True)
    # An int: Streamlit's "auto" (the sidebar collapsed at <= 768 px wide), at this width.
    st.set_page_config(page_title="CNN Lab", page_icon=layout.ICON, layout="wide",
                       initial_sidebar_state=layout.SIDEBAR_WIDTH)
    state.init()
    jobs.harvest()
    page = st.navigation(PAGES)
    layout.apply()
    layout.presentation_switch()
    widgets.sidebar()
    state.session().page_progress = False  # set by a page that shows the job's progress itself
    with patches.running_page():  # the page's use_app_navigation() knows app.py runs it
        page.run()
    widgets.sidebar_after_page()
    warmup.page_shown()  # TensorFlow's warm-up may begin: it waited not to hold this page back


# Streamlit (and AppTest) run this file as "__main__", and leave it as the process's main
# module. A process that multiprocessing then spawns (a LocalCluster's Dask worker) imports the
# main module again as "__mp_main__": there it must neither draw a page nor start the warm-up,
# whose TensorFlow import in a thread raced the worker's own task importing it (half-imported
# modules: "Registering two gradient with name 'ReduceDataset'", seen in the full test suite).
if __name__ != "__mp_main__":
    main()
