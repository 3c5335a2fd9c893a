"""The Train page's live view without reruns: a Components-v2 element fed by the job's feed.

While the workspace's job trains, :func:`show` mounts ``static/live_chart.js``, which polls
``/cnnlab-live/<feed id>`` (``ui/live_routes.py``, served by ``streamlit run serve.py``) for
progress and new curve points and draws them itself; the page's script does not rerun. The
element asks for one full rerun when the feed answers 404 — the job's state is final, its run
saved (the page then shows the result, as :func:`ui.jobs.rerun_when_final` does for the
fragment) — or when it cannot reach the feed: this session then goes back to the fragment
that reruns every second (no dead end).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from cnnlab.jobs import live_feed
from cnnlab.views import charts
from ui import jobs, layout, state, text

SCRIPT = Path(__file__).with_name("static") / "live_chart.js"
OFF_KEY = "live_chart_off"  # set when this session's page could not reach the feed

_component = st.components.v2.component("cnnlab_live_chart",
                                        js=SCRIPT.read_text(encoding="utf-8"))


def _lost() -> None:
    st.session_state[OFF_KEY] = True


def available() -> bool:
    """Whether this session may use the live element: the feed is served and on, and the
    page has not lost it."""
    return live_feed.enabled() and not st.session_state.get(OFF_KEY, False)


def show() -> bool:
    """Mount the live view of the workspace's active job; False (nothing drawn) when the feed
    is not available or no job is active, so the page draws the fragment instead."""
    job = jobs.active()
    if not available() or job is None:
        return False
    snap = job.snapshot()
    feed_id = live_feed.FEEDS.feed_id(job)
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    url = ("/" + base if base else "") + f"{live_feed.ROUTE}/{feed_id}"
    state.session().page_progress = True  # the sidebar shows no second, rerunning badge
    st.markdown(f"**Curves of {text.md(snap.name)}**, training now")
    _component(key="train_live_chart", height="content",
               data={"url": url, "epochs": snap.epochs, "text": snap.name, "name": snap.name,
                     "font": 18 if layout.presentation() else 13},
               on_ended_change=lambda: None, on_lost_change=_lost)
    st.caption(charts.SERIES_CAPTION.replace("orange: validation", "orange, dashed: "
                                             "validation"))
    return True
