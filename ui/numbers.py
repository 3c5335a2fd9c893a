"""Number boxes that take what is typed, and answer a value out of range in words (issue 22).

Given ``min_value`` and ``max_value``, Streamlit's number box refuses a typed value outside
them in the browser: the box keeps showing it, with a small "!" whose reason shows only on
hovering, while the page goes on with the old value (kernel 0 on Build still said 208
parameters for a 5×5 kernel). So the app's boxes carry no bounds to the browser: the script
gets whatever is typed, and a value out of range is answered under the box, in the app's own
words, and not used. (Build's layer fields do the same through the architecture's validator,
whose messages sit under each layer.)
"""

from __future__ import annotations

from typing import Any

import streamlit as st


def out_of_range(name: str, value: float, low: int, high: int, note: str = "") -> str | None:
    """Why ``value`` cannot be used for ``name`` (an integer from ``low`` to ``high``), or None.

    Example:
        >>> out_of_range("kernel size", 9, 1, 7, "the explorer's largest is 7×7")
        "kernel size must be an integer from 1 to 7 (the explorer's largest is 7×7); received 9"
    """
    if float(value).is_integer() and low <= value <= high:
        return None
    why = f" ({note})" if note else ""
    return f"{name} must be an integer from {low} to {high}{why}; received {value:g}"


def whole_number(box: Any, label: str, low: int, high: int, *, key: str,
                 value: int | None = None, name: str = "", note: str = "", answer: Any = None,
                 **options: Any) -> int | None:
    """A number box for an integer from ``low`` to ``high`` that takes any typed number.

    Args:
        box: where the box goes (``st``, a column, a container).
        label: its label, and the name in the message unless ``name`` is given.
        low, high: the values the page can use.
        key: the widget key; the box starts from ``st.session_state[key]`` when set.
        value: the first value, when the session has none.
        note: why the bounds are what they are, for the message.
        answer: where the message goes (default: under the box, in ``box``); a row of narrow
            columns passes the place under the row.
        options: more ``st.number_input`` arguments (``help``, ``width``, ...).
    Returns:
        The number, or None after showing why it cannot be used.
    """
    if value is not None and key not in st.session_state:
        options["value"] = value
    number = box.number_input(label, step=1, key=key, **options)
    problem = out_of_range(name or label, number, low, high, note)
    if problem is None:
        return int(number)
    (box if answer is None else answer).error(problem, icon=":material/error:")
    return None
