"""Jobs: a training started for someone, its one lifecycle, and everything around it.

Above ``training`` (which trains), ``cluster`` (which trains elsewhere) and ``workspaces``
(which keeps what was trained): the job and its state machine (``job.py``), the process-wide
queue of training slots (``job_queue.py``), the two ways a job trains — a thread of this
process (``local.py``) or a Dask cluster (``cluster.py``) — and the one function that starts
either (``start.py``); jobs owned by workspaces, with heartbeats and orphans
(``ownership.py``); and the live feed watching pages poll (``live_feed.py``).
"""
