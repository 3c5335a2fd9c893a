"""Real-browser tests: one ``streamlit run serve.py`` for the package, Debian's Chromium driven by
Playwright (sync API), and a fresh browser context — a fresh Streamlit session — per test.

Waits are on the app's own state (``data-test-script-state`` on ``[data-testid=stApp]``) and on
the element a user would look at, never on fixed sleeps. Screenshots go to ``artifacts/e2e/``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import harness  # noqa: E402  (bench/harness.py: the benchmarks' browser harness, shared)

SHOTS = REPO / "artifacts" / "e2e"
WINDOW = {"width": 1280, "height": 800}  # modest, so the README screenshots stay small
SERVER_START_SECONDS = 60
STEP_MS = 30_000  # one rerun, however busy the machine
TRAINING_MS = 240_000  # one small training run, including TensorFlow's first import
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def _unavailable(reason: str) -> None:
    """Skip the e2e tests, or fail them where a browser is required (CI sets the variable)."""
    if os.environ.get("CNNLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and CNNLAB_REQUIRE_BROWSER=1 requires the browser tests")
    pytest.skip(reason, allow_module_level=True)


def import_expect():
    """Playwright's ``expect``, for the test modules; without Playwright, skip (or fail)."""
    try:
        from playwright.sync_api import expect
    except ImportError:
        _unavailable("the playwright package is missing (pip install -e '.[test]')")
    expect.set_options(timeout=STEP_MS)
    return expect


@pytest.fixture(scope="package")
def browser():
    """Chromium, headless. Package scope: Playwright's event loop ends before other tests."""
    if not harness.chromium_available():
        _unavailable(f"{harness.CHROMIUM} is missing (apt-get install chromium)")
    with harness.chromium() as chromium:
        yield chromium


@pytest.fixture(scope="package")
def app_url(browser):
    """``streamlit run serve.py`` on a free local port; its base URL. Stopped afterwards.

    Takes ``browser`` first so that a missing browser skips before a server starts.
    """
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with harness.streamlit_server(timeout=SERVER_START_SECONDS,
                                      log=SHOTS / "streamlit-server.log") as server:
            yield server.url
    except RuntimeError as exc:  # the server did not come up: say what it printed
        pytest.fail(str(exc))


def _is_external_noise(text: str, url: str) -> bool:
    """Console errors that say nothing about the app. Ignored, and only these:

    - a failed favicon request (browsers ask for one on their own);
    - anything whose source is a host other than the app's 127.0.0.1 (e.g. a font or update
      check the browser tries despite --disable-background-networking; there is no internet);
    - the live feed's 404 (``/cnnlab-live/<id>``): how the feed says its job's run is saved
      (the browser logs every 4xx answer to a fetch as an error); the element then reruns.
    """
    parsed = urlparse(url)
    feed_ended = parsed.path.startswith("/cnnlab-live/") and "status of 404" in text
    return ("favicon" in url or feed_ended
            or (parsed.hostname is not None and parsed.hostname != "127.0.0.1"))


class AppPage:
    """One browser context (one Streamlit session) on the app, and the checks every step makes."""

    def __init__(self, browser, base_url: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context(viewport=WINDOW)
        self.page = self.context.new_page()
        self.page.set_default_timeout(STEP_MS)
        self.errors: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught page error: {exc}"))

    def _on_console(self, message) -> None:
        url = message.location.get("url", "") if message.location else ""
        if message.type == "error" and not _is_external_noise(message.text, url):
            self.errors.append(f"console error: {message.text} (at {url or 'unknown'})")

    # --- waiting and checking ----------------------------------------------------------------

    def idle(self) -> None:
        """Wait until no script run is in progress."""
        self.page.wait_for_selector(IDLE)

    def check(self) -> None:
        """No exception box on the page, no console error from the app so far."""
        boxes = self.page.locator("[data-testid=stException]")
        assert boxes.count() == 0, f"exception shown: {boxes.first.inner_text()[:2000]}"
        assert not self.errors, "\n".join(self.errors)

    def shot(self, name: str) -> Path:
        """Check the page, then save a screenshot of the window as ``artifacts/e2e/<name>.png``."""
        self.idle()
        self.check()
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    # --- getting around ----------------------------------------------------------------------

    def open(self) -> None:
        """Open the app at its root, as a newcomer does."""
        from playwright.sync_api import expect

        self.page.goto(f"{self.base_url}/")
        expect(self.page.get_by_role("heading", name="CNN Lab", exact=True)).to_be_visible()
        self.idle()
        self.check()

    def nav(self, title: str) -> None:
        """Go to a page through the sidebar's navigation, and wait for it to be drawn."""
        from playwright.sync_api import expect

        self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title,
                                                              exact=True).click()
        heading = "CNN Lab" if title == "Home" else title
        expect(self.main.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        self.idle()
        self.check()

    @property
    def main(self):
        return self.page.get_by_test_id("stMain")

    @property
    def sidebar(self):
        return self.page.get_by_test_id("stSidebar")

    def widget(self, key: str):
        """The container Streamlit gives a widget with ``key=``: class ``st-key-<key>``."""
        return self.page.locator(f".st-key-{key}")

    # --- widgets -----------------------------------------------------------------------------

    def set_number(self, key_or_locator, value: int) -> None:
        """Type into a number input and commit with Enter."""
        box = (self.widget(key_or_locator) if isinstance(key_or_locator, str)
               else key_or_locator).locator("input")
        box.fill(str(value))
        box.press("Enter")
        from playwright.sync_api import expect

        expect(box).to_have_value(str(value))  # kept through the rerun the Enter starts

    def set_select_slider(self, key: str, options: list, value) -> None:
        """Move a slider to ``value`` (one of ``options``, as its thumb shows them) with the
        keyboard, as a user can."""
        from playwright.sync_api import expect

        slider = self.widget(key).get_by_role("slider")
        thumb = self.widget(key).get_by_test_id("stSliderThumbValue")
        labels = [str(option) for option in options]
        while (current := thumb.inner_text().strip()) != str(value):
            slider.press("ArrowRight" if labels.index(current) < labels.index(str(value))
                         else "ArrowLeft")
            expect(thumb).not_to_have_text(current)
        self.idle()

    def click(self, key: str) -> None:
        self.widget(key).get_by_role("button").click()

    # --- the one thing several steps need -----------------------------------------------------

    def train_small_model(self) -> str:
        """Train the default network on the Train page, small and quick; the run's name."""
        from playwright.sync_api import expect

        self.nav("Train")
        self.set_number("train_epochs", 1)
        expect(self.widget("train_epochs").locator("input")).to_have_value("1")
        self.set_select_slider("train_batch", [8, 16, 32, 64, 128, 256, 512], 512)
        self.set_select_slider("train_lr", [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1],
                               0.003)  # one epoch of large batches learns well enough with this
        self.set_select_slider("train_val", [f"{share / 100:.2f}" for share in range(0, 55, 5)],
                               "0.00")  # no validation pass: quicker
        self.idle()
        results = self.main.get_by_role("heading", name=re.compile(r"^Results of "))
        before = results.all_inner_texts()  # the last run's results, shown until the click's
        self.click("train_start")           # rerun replaces them: wait for another run's
        if before:
            expect(results).not_to_have_text(before[0], timeout=TRAINING_MS)
        expect(results).to_be_visible(timeout=TRAINING_MS)
        self.idle()
        self.check()
        return results.inner_text().removeprefix("Results of ").split(" ")[0]

    def draw_digit(self, points: list[tuple[float, float]]) -> None:
        """Open Draw, draw one stroke through ``points`` (fractions of the canvas) and wait
        until the prediction is shown and the script is idle."""
        from playwright.sync_api import expect

        self.nav("Draw")
        canvas = self.page.locator("canvas.upper-canvas")
        expect(canvas).to_be_visible()
        stroke(self.page, canvas.bounding_box(), points)
        expect(self.main.get_by_role("heading", name=re.compile(r"^Prediction: "))
               ).to_be_visible()
        self.idle()

    def close(self) -> None:
        self.context.close()


def stroke(page, box, points, steps: int = 6) -> None:
    """Draw one stroke through ``points`` (fractions of the canvas ``box``) in small moves."""
    def at(point):
        return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]

    page.mouse.move(*at(points[0]))
    page.mouse.down()
    for start, end in zip(points, points[1:], strict=False):
        for i in range(1, steps + 1):
            page.mouse.move(*at((start[0] + (end[0] - start[0]) * i / steps,
                                 start[1] + (end[1] - start[1]) * i / steps)))
    page.mouse.up()


def pytest_collection_modifyitems(items):
    """Every test in this folder is a browser test (``-m "not e2e"`` leaves them all out),
    whether or not its module says so."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


@pytest.fixture
def app(request, browser, app_url):
    """A fresh browser context on the app (its own Streamlit session), opened at Home."""
    opened = AppPage(browser, app_url)
    try:
        opened.open()
        yield opened
        if getattr(request.node, "e2e_failed", False):
            opened.page.screenshot(path=str(SHOTS / f"failed-{request.node.name}.png"))
        else:
            opened.check()  # nothing went wrong after the test's last look
    finally:
        opened.close()


@pytest.fixture
def second_app(browser, app_url):
    """Another browser context at the same time: another user."""
    opened = AppPage(browser, app_url)
    try:
        opened.open()
        yield opened
        opened.check()
    finally:
        opened.close()
