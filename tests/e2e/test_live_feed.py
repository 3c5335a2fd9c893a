"""The live training feed in Chromium: ``streamlit run serve.py``, a small training run, the
curves' points growing while the page's script does not rerun, then the result.

A script run (a whole rerun or a fragment's) always sends messages over the page's websocket;
the feed's polls are plain HTTP. So "no websocket message received while the points grew" is
"no rerun". The feed's answers are also read over HTTP here: the job's own id answers, another
id is 404.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlparse

import pytest

from . import conftest
from .conftest import TRAINING_MS, AppPage, harness, import_expect

LIVE = ".cnnlab-live"  # the element's root (in its shadow root; Playwright's CSS pierces it)


@pytest.fixture(scope="module")
def serve_url(browser):
    """``streamlit run serve.py`` (the app with the feed's route) on a free local port."""
    try:
        with harness.streamlit_server(script="serve.py", timeout=conftest.SERVER_START_SECONDS,
                                      log=conftest.SHOTS / "serve-server.log") as server:
            yield server.url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def live_app(browser, serve_url):
    opened = AppPage(browser, serve_url)
    try:
        opened.open()
        yield opened
    finally:
        opened.close()


def points(app: AppPage) -> int:
    return int(app.page.locator(LIVE).get_attribute("data-points") or 0)


def test_curves_grow_without_reruns_and_the_result_follows(live_app):
    expect = import_expect()
    app = live_app
    frames: list[str] = []
    feed_urls: list[str] = []
    app.page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append("m")))
    app.page.on("request", lambda r: feed_urls.append(r.url) if "/cnnlab-live/" in r.url
                else None)
    app.page.reload()  # so the websocket is watched from its start
    app.idle()
    app.nav("Train")
    app.set_number("train_epochs", 5)
    app.set_select_slider("train_batch", [8, 16, 32, 64, 128, 256, 512], 8)  # many batches
    app.click("train_start")
    live = app.page.locator(LIVE)
    expect(live).to_be_visible()
    app.page.locator(LIVE + "[data-state=running]").wait_for()
    expect(live).not_to_have_attribute("data-points", "0", timeout=TRAINING_MS)
    first = points(app)
    frames.clear()
    expect(live).not_to_have_attribute("data-points", str(first), timeout=TRAINING_MS)
    grown = points(app)
    assert live.get_attribute("data-state") == "running"  # 5 epochs of 8 images a batch
    assert grown > first
    # the points grew with no message over the websocket: no script run
    assert frames == [], f"{len(frames)} websocket messages while the curve grew"
    app.page.screenshot(path=str(conftest.SHOTS / "live-feed-training.png"))
    paths = app.page.locator(LIVE + " path[data-series=batch]")
    assert paths.count() == 2  # loss and accuracy, each with its per-batch line
    text = app.page.locator(LIVE + " .live-text").inner_text()
    assert re.search(r"epoch \d/5|testing|preparing", text), text

    feed = feed_urls[-1].split("?")[0]
    with urllib.request.urlopen(feed + "?after=0&per=1", timeout=10) as response:
        body = json.loads(response.read())
    token = parse_qs(urlparse(app.page.url).query)["w"][0]  # the workspace's, in the link
    assert body["epochs"] == 5 and body["points"] and token not in json.dumps(body)
    assert token not in feed
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(feed[:-4] + "abcd?after=0", timeout=10)
    assert missing.value.code == 404

    results = app.main.get_by_role("heading", name=re.compile(r"^Results of "))
    expect(results).to_be_visible(timeout=TRAINING_MS)  # one rerun when the run is saved
    with pytest.raises(urllib.error.HTTPError) as ended:  # saved: the feed says no more
        urllib.request.urlopen(feed + "?after=0&per=1", timeout=10)
    assert ended.value.code == 404
    app.idle()
    expect(live).to_have_count(0)
    app.shot("live-feed-result")
