"""What watching a training costs the server: CPU per watching session, fragment vs live feed.

For each mode, ``streamlit run serve.py`` on a free local port, with ``CNNLAB_LIVE_FEED=0``
(the Train page reruns a fragment every second, as before the feed) or ``1`` (the page's
element polls ``/cnnlab-live/<id>``; no reruns). One browser session starts a long training;
the server's CPU seconds per wall second (psutil, all its threads) are measured with that one
session watching, then with N more sessions of the same workspace on the Train page. The
difference divided by N is the CPU of one watching session; the training's own share is in
both windows and cancels (up to noise; TensorFlow is kept to one core). Also counted:
websocket messages per watcher per second (each script run sends some) and feed polls.

    python bench/watch_bench.py [--watchers 10] [--seconds 15]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from urllib.parse import parse_qs, urlparse

import psutil

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

WINDOW = {"width": 1280, "height": 800}
TIMEOUT_MS = 90_000
# TensorFlow on one core: the training's share (in both windows) is steadier than on all.
TF_ONE_CORE = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def measure(process: psutil.Process, seconds: float, page) -> float:
    """The process's CPU seconds per wall second over ``seconds``. Playwright's sync API
    delivers the pages' events only inside its own calls: the window is its wait."""
    start, wall = cpu_seconds(process), time.perf_counter()
    page.wait_for_timeout(seconds * 1000)  # a measuring window, not a wait for the app
    return (cpu_seconds(process) - start) / (time.perf_counter() - wall)


def start_training(browser, url: str):
    """A session that starts 100 epochs of 8-image batches on the Train page; (its page,
    the workspace token)."""
    context = browser.new_context(viewport=WINDOW)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url + "/")
    page.wait_for_selector("[data-test-script-state=notRunning]")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Train", exact=True).click()
    page.get_by_role("heading", name="Train", exact=True).wait_for()
    page.wait_for_selector("[data-test-script-state=notRunning]")
    box = page.locator(".st-key-train_epochs input")
    box.fill("100")
    box.press("Enter")
    page.wait_for_function("() => document.querySelector('.st-key-train_epochs input')"
                           ".value === '100'")
    page.wait_for_selector("[data-test-script-state=notRunning]")
    slider = page.locator(".st-key-train_batch").get_by_role("slider")
    thumb = page.locator(".st-key-train_batch [data-testid=stSliderThumbValue]")
    while thumb.inner_text().strip() != "8":  # 8 images a batch: slower epochs, a longer run
        shown = thumb.inner_text().strip()
        slider.press("ArrowLeft")
        page.wait_for_function("([s]) => document.querySelector(s).innerText.trim() !== "
                               f"'{shown}'", arg=[".st-key-train_batch "
                                                  "[data-testid=stSliderThumbValue]"])
    page.wait_for_selector("[data-test-script-state=notRunning]")
    page.locator(".st-key-train_start button").click()
    page.locator(".st-key-train_stop button").wait_for()
    token = parse_qs(urlparse(page.url).query)["w"][0]
    return page, token


def watcher(browser, url: str, token: str, counts: dict):
    context = browser.new_context(viewport=WINDOW)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda frame: counts.__setitem__("ws", counts["ws"] + 1)))
    page.on("request", lambda request: counts.__setitem__("polls", counts["polls"] + 1)
            if "/cnnlab-live/" in request.url else None)
    page.goto(f"{url}/train?w={token}")
    page.get_by_role("heading", name="Train", exact=True).wait_for()
    return context


def run_mode(browser, feed: str, watchers: int, seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as home, harness.streamlit_server(
            script="serve.py", env={"CNNLAB_LIVE_FEED": feed, "CNNLAB_HOME": home,
                                    **TF_ONE_CORE}) as server:
        process = psutil.Process(server.pid)
        trainer, token = start_training(browser, server.url)
        trainer.get_by_text(re.compile("images/s")).first.wait_for()  # training, not building
        base = measure(process, seconds, trainer)
        counts = {"ws": 0, "polls": 0}
        contexts = [watcher(browser, server.url, token, counts) for _ in range(watchers)]
        trainer.wait_for_timeout(2000)  # the pages settle after loading (first script runs)
        counts.update(ws=0, polls=0)
        watched = measure(process, seconds, trainer)
        frames, polls = counts["ws"], counts["polls"]
        still = trainer.locator(".st-key-train_stop button").count() == 1
        for context in contexts:
            context.close()
        trainer.context.close()
    return {"base": base, "watched": watched, "per_watcher": (watched - base) / watchers,
            "ws_per_watcher_s": frames / watchers / seconds,
            "polls_per_watcher_s": polls / watchers / seconds, "still_training": still}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    results = {}
    with harness.chromium() as browser:
        for label, feed in (("fragment (CNNLAB_LIVE_FEED=0)", "0"), ("live feed", "1")):
            results[label] = run_mode(browser, feed, args.watchers, args.seconds)
    print(f"{args.watchers} watchers, {args.seconds:g} s windows, {time.strftime('%Y-%m-%d')}")
    print(f"{'mode':32} {'cpu 1 watcher':>13} {'cpu +N':>8} {'per watcher':>11} "
          f"{'ws msg/s':>9} {'polls/s':>8}")
    for label, r in results.items():
        print(f"{label:32} {r['base']:13.2f} {r['watched']:8.2f} {r['per_watcher']:11.3f} "
              f"{r['ws_per_watcher_s']:9.2f} {r['polls_per_watcher_s']:8.2f}"
              + ("" if r["still_training"] else "  (training ended during the window!)"))
    before, after = (r["per_watcher"] for r in results.values())
    ratio = before / after if after > 0 else float("inf")
    print(f"CPU per watching session, before / after: {ratio:.1f}x "
          f"({before:.3f} -> {after:.3f} CPU s per s)")


if __name__ == "__main__":
    main()
