"""Training on a Dask cluster instead of in this process (``CNNLAB_SCHEDULER``, ``--scheduler``).

Imported only when a scheduler address is given: ``import cnnlab`` never imports Dask.
:mod:`~cnnlab.cluster.client` connects, :mod:`~cnnlab.cluster.task` runs on a worker (the
training routine, its events published). The server's side of a job on the cluster is
:mod:`cnnlab.jobs.cluster`.
"""
