"""The ``cnnlab`` command line."""
