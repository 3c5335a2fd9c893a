"""CNN Lab with the live training feed: ``streamlit run serve.py``.

The same app as ``streamlit run app.py`` (this ``st.App`` runs ``app.py`` as its script),
plus one route, ``/cnnlab-live/<id>`` (``ui/live_routes.py``), that a training page polls for
new curve points and progress instead of rerunning its script every second. The server warms
itself up for training once, in a background thread (``cnnlab/training/warmup.py``: TensorFlow
imported, the Quick start's training traced), so neither the first page nor the first Quick
start waits for it.
"""

import streamlit as st

from cnnlab.training import warmup
from ui import live_routes

warmup.start_in_background()
app = st.App("app.py", routes=live_routes.routes())
