"""The live routes, mounted by ``serve.py`` (``st.App(..., routes=...)``): what watching pages
poll instead of rerunning their script.

``GET /cnnlab-live/<feed id>?after=N&per=P`` answers :func:`cnnlab.jobs.live_feed.payload`
as JSON, never cached; an unknown id, or that of a job whose state is final (its run saved),
gets 404 — the page then reruns once to show the result — and a bad number 400, each with a
message. The job lives in this server process: behind several replicas the page's requests
reach it through the same sticky session as its websocket.

``GET /cnnlab-board/<class code>?since=V``, with the teacher key in the ``X-CNNLab-Key``
header (not in the address, so no proxy's log keeps it), answers the class's board
(:meth:`cnnlab.classes.board.Board.to_json`), or only ``{"version", "unchanged": true}`` while
:func:`cnnlab.classes.board.board_version` is still ``V`` (a few ``stat`` calls per poll). A
wrong or missing key and an unknown code get the same 404 with the same message. The board is
read from the class's files under the shared ``CNNLAB_HOME``, so any replica answers it.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cnnlab.classes import board, store
from cnnlab.jobs import live_feed
from ui import text

NO_STORE = {"Cache-Control": "no-store"}
BOARD_ROUTE = "/cnnlab-board"
KEY_HEADER = "X-CNNLab-Key"
MAX_VERSION = 64  # characters of a ``since`` worth comparing


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


def board_answer(code: str, key: str | None, since: str | None) -> tuple[int, dict]:
    """The board route's status and body for a class ``code``, teacher ``key`` and the
    version the page holds (plain: tests call it without a server)."""
    try:
        version = board.board_version(code, key)
        if since is not None and since[:MAX_VERSION] == version:
            return 200, {"version": version, "unchanged": True}
        return 200, board.board(code, key).to_json()
    except store.NoSuchClass:
        return 404, {"error": store.NOT_FOUND}


async def class_board(request: Request) -> JSONResponse:
    """One poll of a class's board (reading files: off the event loop)."""
    status, body = await run_in_threadpool(
        board_answer, request.path_params["code"], request.headers.get(KEY_HEADER),
        request.query_params.get("since"))
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def routes() -> list[Route]:
    """The routes to mount; mounting them tells pages that the feed is served."""
    live_feed.FEEDS.serving = True
    return [Route(live_feed.ROUTE + "/{feed_id}", feed, methods=["GET"]),
            Route(BOARD_ROUTE + "/{code}", class_board, methods=["GET"])]
