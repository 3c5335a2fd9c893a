"""Workspaces: where one student's architecture, runs and current model live, on disk.

No Streamlit and no TensorFlow at module level: ``store`` (folders under ``CNNLAB_HOME``),
``models`` (the process-wide LRU of loaded runs), ``data_roots`` (folder data sets of the
web app) and ``settings`` (the ``CNNLAB_*`` settings with their defaults).
"""
