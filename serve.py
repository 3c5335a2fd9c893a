"""CNN Lab with the live training feed: ``streamlit run serve.py``.

The same app as ``streamlit run app.py`` (this ``st.App`` runs ``app.py`` as its script),
plus one route, ``/cnnlab-live/<id>`` (``ui/live_routes.py``), that a training page polls for
new curve points and progress instead of rerunning its script every second. At startup it
begins warming up for training and drawing in the background (``cnnlab/training/warmup.py``:
TensorFlow imported, the Quick start's training traced).
"""

import contextlib

import streamlit as st

from cnnlab.training import warmup
from ui import live_routes


@contextlib.asynccontextmanager
async def lifespan(_app):
    """Server startup: the warm-up thread, which waits for the first page to be drawn."""
    warmup.start()
    yield


app = st.App("app.py", routes=live_routes.routes(), lifespan=lifespan)
