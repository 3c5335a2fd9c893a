"""The connection to a Dask scheduler: one client per address and process, a clear refusal.

A scheduler that cannot be reached within :data:`CONNECT_TIMEOUT_S` is a
:class:`ClusterError` naming the address; nothing falls back to training locally.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client

CONNECT_TIMEOUT_S = 5.0
TASK_PREFIX = "cnnlab-train-"  # every training task's key starts so (then a time stamp)
SCHEMES = ("tcp://", "tls://", "inproc://")
_LOCK = threading.Lock()
_CLIENTS: dict[str, Client] = {}


class ClusterError(ValueError):
    """The Dask scheduler is unreachable or was lost; the message names its address."""


def check_address(address: str, what: str = "the scheduler address") -> str:
    """``address`` stripped, if it looks like ``tcp://HOST:PORT``; else a ``ClusterError``."""
    text = str(address).strip()
    rest = next((text[len(s):] for s in SCHEMES if text.startswith(s)), None)
    host, _, port = (rest or "").rpartition(":")
    if rest is None or not host or not port.isdigit():
        raise ClusterError(f"{what} must look like tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786);"
                           f" received {address!r}")
    return text


def unreachable(address: str, reason: object) -> ClusterError:
    """The error for a scheduler that does not answer at ``address``."""
    first = str(reason).splitlines()[0] if str(reason) else type(reason).__name__
    return ClusterError(f"cannot reach the Dask scheduler at {address} ({first}); start it with "
                        f"`dask scheduler` and workers with `dask worker {address} --nthreads 1`, "
                        "or, to train in this process, unset CNNLAB_SCHEDULER "
                        "(CLI: drop --scheduler)")


def connect(address: str, timeout: float = CONNECT_TIMEOUT_S) -> Client:
    """This process's client of the scheduler at ``address``, connecting if needed.

    Raises:
        ClusterError: a malformed address, or no scheduler answered within ``timeout`` s.
    """
    address = check_address(address)
    with _LOCK:
        client = _CLIENTS.get(address)
        if client is not None and client.status == "running":
            return client
        _CLIENTS.pop(address, None)
        from distributed import Client

        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise unreachable(address, exc) from None
        _CLIENTS[address] = client
        return client


def close(address: str | None = None) -> None:
    """Close the client of ``address`` (every client if None), e.g. at the end of a CLI run."""
    with _LOCK:
        keys = list(_CLIENTS) if address is None else [check_address(address)]
        clients = [_CLIENTS.pop(key) for key in keys if key in _CLIENTS]
    for client in clients:
        client.close()


def waiting_ahead(client: Client, key: str) -> int | None:
    """How many training tasks submitted before ``key`` (by any server) have not started
    yet: the cluster's queue ahead of it. None if the scheduler cannot say."""
    prefix = TASK_PREFIX

    def count(dask_scheduler, key=key):  # nested, so pickled by value: no cnnlab needed there
        executing = {ts.key for ws in dask_scheduler.workers.values() for ts in ws.executing}
        return sum(1 for name, ts in dask_scheduler.tasks.items()
                   if isinstance(name, str) and name.startswith(prefix) and name < key
                   and ts.state in ("queued", "no-worker", "processing")
                   and name not in executing)

    try:
        return int(client.run_on_scheduler(count))
    except Exception:  # an older scheduler, or one that refuses pickled functions
        return None
