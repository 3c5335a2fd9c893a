"""What a classroom feels in the browser: each function drives CNN Lab's pages in Chromium.

Every time is measured from the user's action (a page load, a click, a key press, the pen
lifted) until the app's own state says the result is on screen (see
:func:`harness.wait_rendered`); nothing sleeps for a fixed time. Runs are compared through the
run zip the Train page offers for download: the same ``history.json`` that ``cnnlab train``
writes, so both sides are timed by the same engine callback.
"""

from __future__ import annotations

import io
import json
import statistics
import time
import zipfile
from pathlib import Path

import harness

FOLDER_OPTION = "a local folder of IDX files"  # the Train page's data set choice for a folder
DONE = "[data-testid=stMetric]"  # a finished run shows its "test accuracy" metric


def _seconds_since(start: float) -> float:
    return time.perf_counter() - start


def new_page(browser_, url: str = "", path: str = ""):
    """A fresh browser context (its own Streamlit session) with one page, at ``url/path``."""
    page = browser_.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    if url:
        page.goto(f"{url}/{path}", wait_until="commit")
    return page


def first_page(browser_, url: str, token: str | None = None) -> float:
    """Seconds from loading the app's address (a new visitor), or a workspace's link
    ``?w=token`` (a returning student), until the Home page is fully rendered: its quick start
    button, or for a workspace with a current model the "Model ready" line naming it."""
    page = new_page(browser_)
    start = time.perf_counter()
    page.goto(url if token is None else f"{url}/?w={token}", wait_until="commit")
    if token is None:
        harness.wait_rendered(page, ".st-key-home_quick button")
    else:
        harness.wait_rendered(page, "[data-testid=stMain] [data-testid=stPageLink]")
        page.get_by_text("Model ready").first.wait_for()
    seconds = _seconds_since(start)
    page.context.close()
    return seconds


def go(page, link_text: str, expected: str | dict[str, int]) -> float:
    """Open another page of this session from the sidebar; seconds until fully rendered."""
    start = time.perf_counter()
    harness.open_page(page, link_text)
    harness.wait_rendered(page, expected)
    return _seconds_since(start)


def _select(page, key: str, option: str, then: str, tries: int = 5) -> None:
    """Pick ``option`` in the select box ``key``; wait until ``then`` (a selector) is shown.

    The box is opened by its combobox once the script is idle; a click that a rerun's redraw
    swallowed (the list never opened: seen on a loaded machine) is made again, up to
    ``tries`` times, each waiting for the list rather than for a time."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    choice = page.get_by_role("option", name=option).first
    for attempt in range(tries):
        harness.wait_rendered(page, f".st-key-{key}")
        page.locator(f".st-key-{key}").get_by_role("combobox").click()
        try:
            choice.wait_for(timeout=15_000)
            break
        except PlaywrightTimeout:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")
    choice.click()
    harness.wait_rendered(page, then)


def _type(page, key: str, text: str, then: str | None = None) -> None:
    """Type ``text`` into the input ``key`` and press Enter; wait until the text ``then`` is
    on the page (if given) and the script is idle. A run started right after (a click) gets
    the typed value even if this change's own rerun has not begun yet."""
    field = page.locator(f".st-key-{key} input")
    field.fill(text)
    field.press("Enter")
    if then is not None:
        page.get_by_text(then).first.wait_for()
    harness.wait_rendered(page, f".st-key-{key}")


def setup_training(page, dataset: str | None, epochs: int) -> None:
    """On the Train page: pick ``dataset`` (a folder path; None keeps mnist-5k) and epochs."""
    harness.wait_rendered(page, ".st-key-train_start button")
    if dataset is not None:
        _select(page, "train_dataset", FOLDER_OPTION, then=".st-key-train_folder input")
        _type(page, "train_folder", dataset, then=f"{Path(dataset).name}: ")  # its counts
    _type(page, "train_epochs", str(epochs))


def results_heading(page) -> str:
    heading = page.locator("h3", has_text="Results of")
    return heading.first.inner_text() if heading.count() else ""


def start_training(page) -> str:
    """Press Train; returns the results heading shown before, to tell the new run apart."""
    before = results_heading(page)
    page.locator(".st-key-train_start button").click()
    return before


def wait_trained(page, before: str, timeout: float) -> str:
    """Until the run started after ``before`` shows its results; returns its name."""
    page.wait_for_function(
        """(before) => [...document.querySelectorAll('h3')].some(
             h => h.innerText.startsWith('Results of') && h.innerText !== before)""",
        arg=before, timeout=timeout * 1000)
    harness.wait_rendered(page, ".st-key-train_start button", timeout=timeout)
    return results_heading(page).removeprefix("Results of ").split(" ")[0]


def train(page, timeout: float) -> str:
    """Train once with the page's settings; returns the run's name."""
    return wait_trained(page, start_training(page), timeout)


def download_run(page) -> dict:
    """The current run's ``history.json`` and ``metrics.json``, from the page's zip download."""
    with page.expect_download() as info:
        page.locator(".st-key-train_zip button").click()
    data = io.BytesIO(info.value.path().read_bytes())
    with zipfile.ZipFile(data) as archive:
        names = {name.rsplit("/", 1)[-1]: name for name in archive.namelist()}
        return {key: json.loads(archive.read(names[f"{key}.json"]))
                for key in ("history", "metrics")}


RUN_ROWS = ".st-key-train_runs table[role=grid] tbody tr"


def session_runs(page) -> list[str]:
    """The runs this session lists in the Train page's run table (its accessible grid),
    once the table is drawn."""
    page.wait_for_selector(RUN_ROWS, state="attached")
    return page.evaluate("""(rows) => [...document.querySelectorAll(rows)].map(
        row => [...row.children].map(cell => cell.innerText.trim()).find(text => text))""",
                         RUN_ROWS)


def feature_maps_visits(page, layers: int, visits: int) -> list[float]:
    """Seconds until the Feature maps page shows every layer, alternating with Home."""
    times = []
    for _ in range(visits):
        times.append(go(page, "Feature maps", {"[class*=st-key-fm_layer_] img": layers,
                                               harness.CHART: 1}))
        go(page, "Home", "h1#cnn-lab")
    return times


# Each page's sidebar link and the start of its title (its h1).
PAGES = {"Home": "CNN Lab", "Build": "Build", "Train": "Train", "Feature maps": "Feature maps",
         "Draw": "Draw", "My classes": "My classes", "Learn": "Learn"}


def page_switches(page, rounds: int) -> dict[str, list[float]]:
    """Seconds from a sidebar click until the next page is fully rendered (its title, the
    script idle, every image loaded, every chart drawn), going round all pages ``rounds``
    times; by page."""
    times: dict[str, list[float]] = {link: [] for link in PAGES}
    for _ in range(rounds):
        for link, title in PAGES.items():
            start = time.perf_counter()
            harness.open_page(page, link)
            harness.wait_page(page, title)
            times[link].append(_seconds_since(start))
    return times


# Pen paths in canvas pixels (280 x 280): a 1, a 7 and an L, drawn through many points.
STROKES = (
    [(140, 50 + 9 * i) for i in range(21)],
    [(70 + 7 * i, 60) for i in range(21)] + [(210 - 4 * i, 60 + 9 * i) for i in range(1, 21)],
    [(100, 50 + 9 * i) for i in range(21)] + [(100 + 5 * i, 230) for i in range(1, 21)],
)


def draw_digits(page, draws: int) -> list[float]:
    """On the Draw page: seconds from pen-up to the "Prediction:" heading, canvas reset between."""
    go(page, "Draw", ".st-key-draw_canvas")
    canvas = page.locator(".st-key-draw_canvas canvas.upper-canvas")
    canvas.wait_for()
    prediction = page.locator("h3", has_text="Prediction:")
    times = []
    for n in range(draws):
        if prediction.count():
            page.locator(".st-key-draw_canvas").get_by_role("button", name="Clear").click()
            prediction.wait_for(state="detached")
            harness.wait_rendered(page, ".st-key-draw_canvas")
        box = canvas.bounding_box()
        path = STROKES[n % len(STROKES)]
        page.mouse.move(box["x"] + path[0][0], box["y"] + path[0][1])
        page.mouse.down()
        for x, y in path[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y)
        start = time.perf_counter()
        page.mouse.up()
        prediction.wait_for()
        times.append(_seconds_since(start))
        harness.wait_rendered(page, harness.CHART)
    return times


def build_changes(page, changes: int) -> list[float]:
    """On the Build page: seconds from a new first-conv kernel height (Enter) until the
    diagram shows conv_1's new output shape; alternates 5 and 3."""
    go(page, "Build", "svg g.block")
    field = page.locator("[class*=_kernel_h] input").first
    times = []
    for n in range(changes):
        kernel = 5 if n % 2 == 0 else 3
        shape = f"{29 - kernel}×26×32"  # 28×28 input, valid padding, 3-wide kernel, 32 filters
        field.fill(str(kernel))
        start = time.perf_counter()
        field.press("Enter")
        page.wait_for_function(
            """(shape) => [...document.querySelectorAll('svg g.block')].some(
                 g => g.textContent.includes('conv_1') && g.textContent.includes(shape))""",
            arg=shape)
        times.append(_seconds_since(start))
        harness.wait_rendered(page, "svg g.block")
    return times


def memory_growth(browser_, server, dataset: str | None, trainings: int,
                  timeout: float) -> tuple[float, float]:
    """Server RSS (MB) after one warm-up training and after ``trainings`` more, one session."""
    page = new_page(browser_, server.url, "train")
    setup_training(page, dataset, epochs=1)
    train(page, timeout)
    before = harness.rss_mb(server.pid)
    for _ in range(trainings):
        train(page, timeout)
    after = harness.rss_mb(server.pid)
    page.context.close()
    return before, after


def many_sessions(browser_, server, dataset: str | None, sessions: int,
                  timeout: float) -> dict:
    """``sessions`` contexts train one epoch at once while another, idle, session moves
    between Home and Build.

    Returns the idle session's Build page times (seconds, one per visit while the others
    train), how many runs finished, how long all took, and whether every session lists
    exactly its own one run (run names are counted per session, so each is the same
    ``<arch>-1``: that each lists one run, and the idle session none, is the isolation).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    idle = new_page(browser_, server.url, "")
    harness.wait_rendered(idle, ".st-key-home_quick button")
    pages = [new_page(browser_, server.url, "train") for _ in range(sessions)]
    for page in pages:
        setup_training(page, dataset, epochs=1)
    start = time.perf_counter()
    befores = [start_training(page) for page in pages]
    for page in pages[:2]:  # both job slots taken (or already done) before the idle one moves
        page.locator(".st-key-train_stop").or_(page.locator("h3", has_text="Results of")
                                               ).first.wait_for(timeout=timeout * 1000)
    idle_seconds = []
    while True:  # at least one visit; more until the last in the queue has its results
        idle_seconds.append(go(idle, "Build", "svg g.block"))
        go(idle, "Home", ".st-key-home_quick button")
        if results_heading(pages[-1]) != befores[-1] or _seconds_since(start) > timeout:
            break
    names, finished = [], 0
    for page, before in zip(pages, befores, strict=True):
        remaining = max(timeout - _seconds_since(start), 1)
        try:
            names.append(wait_trained(page, before, remaining))
            finished += 1
        except PlaywrightTimeout:  # counted as not finished
            names.append("")
    all_seconds = _seconds_since(start)
    listed = [session_runs(page) if name else [] for page, name in zip(pages, names, strict=True)]
    own = all(runs == [name] for runs, name in zip(listed, names, strict=True) if name)
    idle_has_none = "none trained yet" in idle.get_by_test_id("stSidebar").inner_text()
    isolated = own and idle_has_none
    for page in [*pages, idle]:
        page.context.close()
    return {"idle_seconds": idle_seconds, "finished": finished, "seconds": all_seconds,
            "isolated": isolated}


def median(values: list[float]) -> float:
    return statistics.median(values)
