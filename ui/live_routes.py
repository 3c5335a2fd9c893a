"""The live feed's HTTP route, mounted by ``serve.py`` (``st.App(..., routes=...)``).

``GET /cnnlab-live/<feed id>?after=N&per=P`` answers :func:`cnnlab.jobs.live_feed.payload`
as JSON, never cached; an unknown id, or that of a job whose state is final (its run saved),
gets 404 — the page then reruns once to show the result — and a bad number 400, each with a
message. The
job lives in this server process: behind several replicas the page's requests reach it through
the same sticky session as its websocket.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cnnlab.jobs import live_feed
from ui import text

NO_STORE = {"Cache-Control": "no-store"}


async def feed(request: Request) -> JSONResponse:
    """One poll of a job's feed."""
    job = live_feed.FEEDS.lookup(request.path_params["feed_id"])
    if job is None:
        return JSONResponse({"error": "no training job with this id is running on this server "
                             "(it has ended and its run is saved, or the server restarted): "
                             "reload the page"}, status_code=404, headers=NO_STORE)
    try:
        after = live_feed.query_int(request.query_params.get("after"), "after")
        per = live_feed.query_int(request.query_params.get("per"), "per")
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400, headers=NO_STORE)
    snap = job.snapshot()
    body = live_feed.payload(snap, after, per, text.progress_text(snap))
    return JSONResponse(body, headers=NO_STORE)


def routes() -> list[Route]:
    """The route to mount; mounting it tells pages that the feed is served."""
    live_feed.FEEDS.serving = True
    return [Route(live_feed.ROUTE + "/{feed_id}", feed, methods=["GET"])]
