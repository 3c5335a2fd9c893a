"""CNN Lab with the live training feed: ``streamlit run serve.py``.

The same app as ``streamlit run app.py`` (this ``st.App`` runs ``app.py`` as its script),
plus one route, ``/cnnlab-live/<id>`` (``ui/live_routes.py``), that a training page polls for
new curve points and progress instead of rerunning its script every second.
"""

import streamlit as st

from ui import live_routes

app = st.App("app.py", routes=live_routes.routes())
