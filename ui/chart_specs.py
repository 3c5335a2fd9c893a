"""Altair charts shown again without being built again.

Building an Altair chart and turning it into Vega-Lite (with Altair's schema validation) costs
tens of milliseconds per chart; the Train page's four result charts took over 100 ms of every
visit. :func:`show` builds a chart once per set of arguments and keeps its Vega-Lite spec, as
``st.altair_chart`` would send it, in a cache of the server's memory budget
(:mod:`cnnlab.memory.budget`), keyed by a hash of the builder and its arguments: the same
figures give the same chart, so a key says nothing about whose figures they are.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from typing import Any

from streamlit.elements import vega_charts

from cnnlab.memory import budget

CACHE = budget.ByteCache("chart specs")


def spec(build: Callable[..., Any], *args: Any, **kwargs: Any) -> dict:
    """The Vega-Lite spec of ``build(*args, **kwargs)`` (an Altair chart), as
    ``st.altair_chart`` makes it (Streamlit's own conversion), built once per arguments."""
    key = hashlib.sha256(pickle.dumps((build.__module__, build.__qualname__, args, kwargs))
                         ).hexdigest()
    found = CACHE.get(key)
    if found is None:
        found = vega_charts._convert_altair_to_vega_lite_spec(build(*args, **kwargs))
        CACHE.put(key, found, len(pickle.dumps(found)))
    return found


def show(container: Any, build: Callable[..., Any], *args: Any, key: str,
         description: str = "", **kwargs: Any) -> None:
    """``container.altair_chart(build(*args, **kwargs), key=key)``, the chart built only the
    first time these arguments are shown (``container``: ``st`` or a column); ``description``
    is the chart's text for screen readers (its Vega-Lite ``description``, plain text)."""
    shown = spec(build, *args, **kwargs)
    if description:
        shown = {**shown, "description": description}  # the cached spec stays as it was
    container.vega_lite_chart(spec=shown, key=key)
