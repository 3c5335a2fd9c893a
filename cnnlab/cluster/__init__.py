"""Training on a Dask cluster instead of in this process (``CNNLAB_SCHEDULER``, ``--scheduler``).

Imported only when a scheduler address is given: ``import cnnlab`` never imports Dask.
:mod:`~cnnlab.cluster.client` connects, :mod:`~cnnlab.cluster.task` runs on a worker,
:mod:`~cnnlab.cluster.job` is the server's side of one job (the engine's job interface).
"""
