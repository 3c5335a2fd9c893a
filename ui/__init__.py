"""The glue between Streamlit and ``cnnlab``: this browser session's state (:mod:`ui.state`),
its training job (:mod:`ui.jobs`), the shared widgets (:mod:`ui.widgets`), words for
progress (:mod:`ui.text`) and the two checked patches of Streamlit (:mod:`ui.patches`).

``app.py`` sets these up once per script run, in order: patches, state, harvest, sidebar,
page. Pages call these helpers, never each other; nothing here runs at import time.
"""
