"""The real-browser harness of the benchmarks and the end-to-end tests (``tests/e2e``): a
Streamlit server on a free port and Debian's headless Chromium through Playwright.

Everything waits on the app's own state (script idle, no skeletons, the expected element),
never on fixed sleeps. The Chromium is the system's (``/usr/bin/chromium``): Playwright's
own browser download is never used.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium_available() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` in MB, from /proc/<pid>/status (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for process {pid}")


@dataclass
class Server:
    """A running ``streamlit run serve.py``; ``started`` is its launch time (perf_counter)."""

    process: subprocess.Popen
    url: str
    started: float
    ready_seconds: float  # launch to /_stcore/health == ok

    @property
    def pid(self) -> int:
        return self.process.pid


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def _tail(output, lines: int = 40) -> str:
    output.flush()
    output.seek(0)
    text = output.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


@contextlib.contextmanager
def streamlit_server(env: dict[str, str] | None = None, timeout: float = 60,
                     log: Path | None = None, script: str = "serve.py") -> Iterator[Server]:
    """Start ``streamlit run serve.py`` (the app as the README starts it; or ``script``) on a
    free local port, wait until ``/_stcore/health`` answers ``ok``, and stop it (and only it)
    afterwards. ``log``: a file for the server's output (else a temporary one); its end is in
    the error if the server does not come up."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false"]
    url = f"http://127.0.0.1:{port}"
    with (log.open("w+b") if log is not None else tempfile.TemporaryFile()) as output:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                                   stdout=output, stderr=subprocess.STDOUT)
        try:
            while not _healthy(url):
                if process.poll() is not None:
                    raise RuntimeError(f"streamlit exited with status {process.returncode} "
                                       f"before answering {url}; its output ends:\n"
                                       f"{_tail(output)}")
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(f"{url}/_stcore/health did not answer 'ok' within "
                                       f"{timeout:g} s; streamlit's output ends:\n"
                                       f"{_tail(output)}")
                time.sleep(0.05)  # polling the health endpoint, not waiting on the app
            yield Server(process, url, started, time.perf_counter() - started)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless system Chromium through Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


_RENDERED = """(expected) => {
  if (!document.querySelector('[data-test-script-state=notRunning]')) return false;
  if (document.querySelector('[data-testid=stSkeleton]')) return false;
  const images = [...document.querySelectorAll('[data-testid=stMain] img')];
  if (!images.every(img => img.complete && img.naturalWidth > 0)) return false;
  return Object.entries(expected).every(
    ([selector, count]) => document.querySelectorAll(selector).length >= count);
}"""
CHART = "[data-testid=stVegaLiteChart] :is(svg, canvas)"  # an Altair chart, drawn
_PAGE_SHOWN = """(title) => {
  const heading = document.querySelector('[data-testid=stMain] h1');
  if (!heading || !heading.innerText.startsWith(title)) return false;
  if (!document.querySelector('[data-test-script-state=notRunning]')) return false;
  if (document.querySelector('[data-testid=stSkeleton]')) return false;
  const images = [...document.querySelectorAll('[data-testid=stMain] img')];
  if (!images.every(img => img.complete && img.naturalWidth > 0)) return false;
  return [...document.querySelectorAll('[data-testid=stMain] [data-testid=stVegaLiteChart]')]
    .every(chart => chart.querySelector('svg, canvas'));
}"""


def wait_rendered(page, expected: str | dict[str, int], timeout: float = 60) -> None:
    """Until the page is fully rendered: the script idle, no skeletons, every image loaded,
    and the expected elements there (a CSS selector, or selectors with how many of each;
    open shadow roots are not searched)."""
    expected = {expected: 1} if isinstance(expected, str) else expected
    page.wait_for_function(_RENDERED, arg=expected, timeout=timeout * 1000)


def wait_page(page, title: str, timeout: float = 60) -> None:
    """Until the page whose title starts with ``title`` is fully rendered: its heading shown
    (so a new script run has drawn it), the script idle, no skeletons, every image loaded and
    every chart drawn."""
    page.wait_for_function(_PAGE_SHOWN, arg=title, timeout=timeout * 1000)


def open_page(page, link_text: str) -> None:
    """Go to another page of the app within this session (the sidebar's navigation link)."""
    page.locator("[data-testid=stSidebarNav] a", has_text=link_text).first.click()
