"""ui/chart_specs.py: a chart shown through the cache is what ``st.altair_chart`` sends, and it
is built once for the same arguments."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def script() -> None:
    import numpy as np
    import streamlit as st

    from cnnlab.views import charts
    from ui import chart_specs

    built = st.session_state.setdefault("built", [])

    def counted(*args, **kwargs):
        built.append(args)
        return charts.confusion_chart(*args, **kwargs)

    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    names = ("circle", "cross", "line")
    st.altair_chart(charts.confusion_chart(matrix, names, True), key="plain")
    chart_specs.show(st, counted, matrix, names, True, key="cached")
    chart_specs.show(st, counted, matrix, names, True, key="again")
    chart_specs.show(st, counted, matrix[::-1], names, True, key="other")


def test_a_cached_chart_is_what_altair_chart_sends_and_is_built_once():
    at = AppTest.from_function(script).run()
    assert not at.exception, at.exception
    plain, cached, again, other = (chart.proto for chart in at.get("vega_lite_chart"))
    assert plain.spec == cached.spec == again.spec
    assert [d.data.data for d in plain.datasets] == [d.data.data for d in cached.datasets]
    assert other.datasets[0].data.data != plain.datasets[0].data.data  # other figures
    assert len(at.session_state["built"]) == 2  # the same arguments were built once
    at.run()
    assert len(at.session_state["built"]) == 2  # and not again on the next run
