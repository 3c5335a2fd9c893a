"""A class with hostile students on one server (issue 21): honest students train, draw and
reload while hostile sessions repeat every probe of the issue, all against one
``streamlit run serve.py`` started with ``CNNLAB_MEMORY_MB`` set, in Chromium.

    python bench/hostile_class.py             # 4 honest students, the issue's full-size files
    python bench/hostile_class.py --smoke     # 1 honest student, tiny files and limits (~2 min)

Every action goes through the browser, as a student would do it (no probe needs a library
call; the one request made outside a page, the live feed's, goes through the student's browser
context): a fresh browser context per student, uploads through the Train and Build pages' file
inputs. In order:

1. a warm-up student trains once (1 epoch); the server's RSS then is the baseline
   (TensorFlow, Keras and Streamlit loaded, one training done);
2. the honest students (contexts) open the app, set 1 epoch and press Train at once;
3. while they train (each time a run is done the student draws a digit on Draw, reloads the
   page, finds the run listed and its folder on disk, and trains again, up to 3 runs, while
   the hostile sessions are not done), the hostile sessions, each its own fresh context: the
   512×512 zip (1,364 copies of one PNG) at every size and in both colours; a zip of 50,000 and one
   of 100,000 empty members; four zero-weight 9.4M-parameter run zips, one per workspace; a
   zip of 200 4096×4096 PNGs; a large network (two 256-filter convs) imported on Build and
   trained at batch 512; a run zip whose run and data-set names are Markdown and HTML; many
   fresh visits without ``?w=`` (no workspace folder may appear); a ``?w=`` holding Markdown;
   a run zip whose record names cifar-10, made current, then Feature maps (it must say the
   set is not here and load or download nothing); fresh tabs of one computer (the header
   deploy/'s nginx sends) each pressing Train until one is refused (the per-computer queue
   limit, ``CNNLAB_MAX_QUEUE_PER_CLIENT``). Between any two of them an idle student goes
   Home -> Build, timed (target: median <= 1.5 s);
4. the honest students' last runs finish the same way; the live-feed URL the first student's
   Train page polled is asked again through its context (404: its run is saved); and every
   message shown above is searched for a server path (``CNNLAB_HOME``, a temporary folder,
   the app's folder, an ``.upload-`` name): an action showing one is not refused;
5. the server's peak RSS (``VmHWM`` of its process, target: within the baseline plus the
   budget), and disk use and inodes under ``CNNLAB_HOME`` counted as the disk does
   (``st_blocks``, every file and folder), per workspace against the quotas.

Prints a table (``--markdown`` for the README) and every hostile action with the message the
page showed. Exits 1 if an honest run is missing, a hostile action was not refused or bounded,
or a target is missed (``--smoke`` judges no number, only that everything ran and was refused).
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import classroom  # noqa: E402
import harness  # noqa: E402
import hostile_files  # noqa: E402

UPLOAD = "my own images (a zip upload)"
ERRORS = "[data-testid=stMain] [data-testid=stAlertContentError]"
INFOS = "[data-testid=stMain] [data-testid=stAlertContentInfo]"
# One classroom computer as deploy/'s nginx forwards it (the server counts a proxy's
# X-Forwarded-For only from this machine; a page opened on 127.0.0.1 itself counts as no one).
CLIENT = "10.0.0.7"
TARGET_IDLE_S = 1.5
MB = 2**20


@dataclass(frozen=True)
class Config:
    """Sizes and limits of one bench run."""

    memory_mb: int
    honest: int
    copies: int  # of the big PNG in the class-folder zip
    side: int  # the big PNG's side
    sizes: tuple[int, ...]  # training sizes tried, each in both colours
    empty: tuple[int, ...]  # members of the empty-member zips
    run_zips: int
    run_zip: dict  # hostile_files.zero_run options
    huge: int  # 4096x4096 PNGs in their zip
    visits: int
    rounds: int  # trainings each honest student starts at most
    env: dict = field(default_factory=dict)  # limits lowered for the smoke run


FULL = Config(memory_mb=1500, honest=4, copies=1364, side=512, sizes=(64, 128, 256, 512),
              empty=(50_000, 100_000), run_zips=4, run_zip={}, huge=200, visits=20, rounds=3)
SMOKE = Config(memory_mb=600, honest=1, copies=40, side=128, sizes=(64, 128), empty=(400, 800),
               run_zips=2, run_zip={"side": 28, "units": 4096}, huge=3, visits=3, rounds=2,
               env={"CNNLAB_WORKSPACE_FILES": "300", "CNNLAB_WORKSPACE_MB": "50"})

BIG_NETWORK = """{"name": "wide", "layers": [
 {"type": "conv2d", "filters": 256, "kernel_size": 3, "padding": "same"},
 {"type": "conv2d", "filters": 256, "kernel_size": 3, "padding": "same"},
 {"type": "max_pool2d", "pool_size": 2}, {"type": "flatten"},
 {"type": "dense", "units": 64}]}"""


@dataclass
class Action:
    """One hostile action: what, through what, what the page said, and how it ended:
    ``outcome`` in words, ``ok`` whether that is what the issue asks (refused with a message;
    or harmless: a size that fits loaded within the budget, names shown as text)."""

    what: str
    via: str
    messages: list[str] = field(default_factory=list)
    ok: bool = False
    outcome: str = "NOT REFUSED"

    def refused_if_said(self) -> None:
        """Refused when the page showed an error; else not."""
        self.ok = bool(self.messages)
        self.outcome = "refused" if self.ok else "NOT REFUSED"


def status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise ValueError(f"no {field_name} for process {pid}")


class RssSampler(threading.Thread):
    """The server's VmRSS every half second (VmHWM is the kernel's own peak; this says when)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            try:
                self.peak = max(self.peak, status_kb(self.pid, "VmRSS"))
            except (OSError, ValueError):
                return


# --- browser steps ---------------------------------------------------------------------------

def errors(page) -> list[str]:
    """The error boxes of the page's main area, as a reader sees them."""
    return [text.strip() for text in page.locator(ERRORS).all_inner_texts()]


def fresh(browser, url: str, path: str = "", headers: dict[str, str] | None = None):
    """A new student: a fresh context at ``url/path`` (sending ``headers`` with every
    request, its websocket's included), Home (or the page) rendered."""
    if headers:
        page = browser.new_context(viewport={"width": 1400, "height": 1000},
                                   extra_http_headers=headers).new_page()
        page.goto(f"{url}/{path}", wait_until="commit")
    else:
        page = classroom.new_page(browser, url, path)
    page.set_default_timeout(180_000)
    harness.wait_rendered(page, "[data-testid=stSidebarNav]")
    return page


def to_train(page) -> None:
    classroom.go(page, "Train", ".st-key-train_start button")


def wait_for(page, selector: str, timeout: float = 300) -> None:
    """Until ``selector`` is on the page, then the script is idle."""
    page.locator(selector).first.wait_for(timeout=timeout * 1000)
    harness.wait_rendered(page, "[data-testid=stMain]", timeout=timeout)


def upload_class_zip(browser, url: str, path: Path) -> object:
    """A fresh student uploads ``path`` as a zip of class folders on Train; returns the page
    once the page answered (the size boxes, an error, or the set's preview)."""
    page = fresh(browser, url)
    to_train(page)
    classroom._select(page, "train_dataset", UPLOAD, then=".st-key-upload_zip")
    page.locator(".st-key-upload_zip input[type=file]").set_input_files(str(path))
    page.locator(".st-key-upload_add button").click()
    wait_for(page, f"{ERRORS}, .st-key-upload_h, .st-key-upload_colour")
    return page


def set_box(page, key: str, value: int) -> None:
    box = page.locator(f".st-key-{key} input")
    box.fill(str(value))
    box.press("Enter")


def variant(page, size: int, colour: str, label: str) -> list[str]:
    """Show the uploaded set at ``size``×``size`` in ``colour``; the page's errors for it."""
    option = {"rgb": "colour (rgb)", "grey": "grey"}[colour]
    current = page.locator(".st-key-upload_colour").inner_text()
    if option not in current:
        classroom._select(page, "upload_colour", option, then=".st-key-upload_colour")
    set_box(page, "upload_h", size)
    set_box(page, "upload_w", size)
    shown = f"({label}, {size}×{size}, {colour})"
    page.get_by_text(shown).first.wait_for(timeout=600_000)  # its preview, or its refusal
    harness.wait_rendered(page, "[data-testid=stMain]", timeout=600)
    return [e for e in errors(page) if shown in e]


def big_zip_every_variant(browser, url: str, path: Path, config: Config) -> list[Action]:
    page = upload_class_zip(browser, url, path)
    warned = page.locator("[data-testid=stMain]").inner_text()
    actions = []
    for colour, sizes in (("rgb", config.sizes), ("grey", config.sizes[::-1])):
        for size in sizes:  # grey starts at the size rgb ended at: the boxes keep it
            action = Action(f"{config.copies:,}×{config.side}² zip at {size}×{size} {colour}",
                            "Train page: upload, colour and size boxes")
            action.messages = variant(page, size, colour, "your upload")
            action.refused_if_said()
            if not action.ok:  # a size that fits: loaded, and weighed in the budget
                action.ok, action.outcome = True, "loaded within the budget"
            actions.append(action)
    proposal = "more than 64 pixels a side" in warned
    actions[0].outcome += "; a size proposed at first: " + ("yes" if proposal else "NO")
    actions[0].ok = actions[0].ok and proposal
    page.context.close()
    return actions


def refused_zip(browser, url: str, path: Path, what: str, select: bool = False) -> Action:
    """A zip that must be refused: at the upload, or (``select``) when its set is loaded."""
    action = Action(what, "Train page: upload a zip of class folders")
    page = upload_class_zip(browser, url, path)
    if select and not errors(page):  # unpacked: its images are refused when loaded
        action.via += ", then its preview"
        classroom._select(page, "upload_colour", "grey", then=".st-key-upload_colour")
        wait_for(page, ERRORS)
    action.messages = errors(page)
    action.refused_if_said()
    page.context.close()
    return action


def run_zip_upload(browser, url: str, path: Path, what: str) -> tuple[Action, object]:
    """A fresh student uploads a run zip on Train; (the action, the page, still open)."""
    action = Action(what, "Train page: upload a run (.zip)")
    page = fresh(browser, url)
    to_train(page)
    before = page.locator("[data-testid=stSidebar]").inner_text()
    page.locator(".st-key-train_upload input[type=file]").set_input_files(str(path))
    page.wait_for_function(
        """([errors, before]) => document.querySelector(errors) ||
             document.querySelector('[data-testid=stSidebar]').innerText !== before""",
        arg=[ERRORS, before], timeout=300_000)
    harness.wait_rendered(page, "[data-testid=stMain]", timeout=300)
    action.messages = errors(page)
    action.refused_if_said()
    return action, page


def batch_512(browser, url: str, folder: Path) -> Action:
    action = Action("two 256-filter convs at batch 512", "Build page: import JSON; Train page")
    page = fresh(browser, url)
    classroom.go(page, "Build", "svg g.block")
    path = folder / "wide.json"
    path.write_text(BIG_NETWORK)
    page.locator(".st-key-build_upload input[type=file]").set_input_files(str(path))
    page.get_by_text("Being built: wide").first.wait_for()
    to_train(page)
    classroom._type(page, "train_epochs", "1")
    slider = page.locator(".st-key-train_batch").get_by_role("slider")
    thumb = page.locator(".st-key-train_batch [data-testid=stSliderThumbValue]")
    while thumb.inner_text().strip() != "512":
        slider.press("ArrowRight")
        harness.wait_rendered(page, ".st-key-train_batch")
    harness.wait_rendered(page, ".st-key-train_start button")
    problems = errors(page)
    if not problems:  # the guard allowed it on the page: the server must refuse the start
        page.locator(".st-key-train_start button").click()
        wait_for(page, ERRORS)
    action.messages = errors(page)
    action.refused_if_said()
    if page.locator(".st-key-train_stop").count():
        action.ok, action.outcome = False, "NOT REFUSED: it trains"
    page.context.close()
    return action


EVIL = """() => ({
  links: document.querySelectorAll('a[href*="evil.example"]').length,
  images: document.querySelectorAll('img[src*="evil.example"]').length,
  tags: [...document.querySelectorAll('b, strong')].filter(
    b => ['tag', 'loud'].includes(b.innerText)).length,
  text: document.body.innerText.includes('[click me]'),
})"""


def markdown_run(browser, url: str, path: Path) -> Action:
    action, page = run_zip_upload(browser, url, path, "a run zip named in Markdown and HTML")
    action.via += "; sidebar and Train page read"
    found = page.evaluate(EVIL)
    classroom.go(page, "Draw", "[data-testid=stSidebar]")
    on_draw = page.evaluate(EVIL)
    injected = sum(found[k] + on_draw[k] for k in ("links", "images", "tags"))
    action.ok = injected == 0 and found["text"]
    action.outcome = "shown as text" if action.ok else "NOT AS TEXT"
    action.messages = [f"uploaded; its names shown as typed: {'yes' if found['text'] else 'NO'}; "
                       f"links, images or bold text made of them on Train and Draw: {injected}"]
    page.context.close()
    return action


def fresh_visits(browser, url: str, home: Path, visits: int) -> Action:
    action = Action(f"{visits} fresh visits without ?w=", "Chromium: open the app, close")
    folders = home / "workspaces"
    before = set(os.listdir(folders)) if folders.is_dir() else set()
    for _ in range(visits):
        page = fresh(browser, url)
        harness.wait_rendered(page, ".st-key-home_quick button")
        page.context.close()
    after = set(os.listdir(folders)) if folders.is_dir() else set()
    action.ok = after == before
    action.outcome = "nothing made" if action.ok else "FOLDERS MADE"
    action.messages = [f"workspace folders made: {len(after - before)}"]
    return action


def markdown_link(browser, url: str) -> Action:
    action = Action("?w= holding Markdown", "Chromium: open the link")
    value = "[click me](http://evil.example/) ![x](http://evil.example/x.png) **w**"
    page = fresh(browser, url, "?w=" + urllib.parse.quote(value))
    harness.wait_rendered(page, ".st-key-home_quick button")
    notice = [t.strip() for t in page.locator("[data-testid=stAlertContentWarning]")
              .all_inner_texts()]
    found = page.evaluate(EVIL)
    action.messages = notice
    action.ok = bool(notice) and found["links"] == found["images"] == 0 and \
        "evil" not in " ".join(notice)
    action.outcome = "a new workspace, the link not shown" if action.ok else "NOT AS TEXT"
    page.context.close()
    return action


def named_set_run(browser, url: str, path: Path, keras_home: Path) -> Action:
    """A run zip whose record names cifar-10, made current, then Feature maps: the page must
    say the data set is not here, and load or download nothing (the ``datasets`` folder of
    the server's KERAS_HOME, where a download would go, stays empty; Keras itself writes its
    ``keras.json`` beside it)."""
    action, page = run_zip_upload(browser, url, path, "a run zip whose record names cifar-10")
    action.via += "; Feature maps opened"
    refused = action.messages
    if not refused:  # added and current: Feature maps reads its test images, or says why not
        harness.open_page(page, "Feature maps")
        harness.wait_page(page, "Feature maps", timeout=180)  # its heading, its script idle
    notes = [t.strip() for t in page.locator(INFOS).all_inner_texts() if "not here" in t]
    downloads = keras_home / "datasets"
    fetched = sorted(str(p.relative_to(downloads)) for p in downloads.rglob("*")) \
        if downloads.is_dir() else []
    action.messages = refused + errors(page) * (not refused) + notes + [
        f"files in the server's KERAS_HOME/datasets: {len(fetched)}"
        + (f" ({', '.join(fetched[:3])})" if fetched else "")]
    action.ok = not refused and bool(notes) and not errors(page) and not fetched
    action.outcome = ("not here, nothing loaded" if action.ok else
                      "THE UPLOAD WAS REFUSED: not probed" if refused else "NOT AS ASKED")
    page.context.close()
    return action


def queue_per_client(browser, url: str, dataset: str | None, tabs: int) -> Action:
    """Fresh tabs of one computer (:data:`CLIENT`) each press Train (100 epochs, stopped
    afterwards) until the server refuses one: past the training slots, at most
    ``CNNLAB_MAX_QUEUE_PER_CLIENT`` jobs of one computer may wait. ``tabs``: slots + limit + 1,
    the most it can take. Every job started is stopped again (queued ones first)."""
    action = Action(f"Train pressed in fresh tabs of one computer, up to {tabs}",
                    f"Chromium, X-Forwarded-For {CLIENT} (deploy/'s nginx): a tab each")
    pages = []
    try:
        for _ in range(tabs):  # all set up first, so the presses follow each other closely
            page = fresh(browser, url, headers={"X-Forwarded-For": CLIENT})
            to_train(page)
            classroom.setup_training(page, dataset, epochs=100)
            pages.append(page)
        started = 0
        for page in pages:
            page.locator(".st-key-train_start button").click()
            wait_for(page, f".st-key-train_stop, {ERRORS}")
            action.messages = errors(page)
            if action.messages:
                break
            started += 1
        action.ok = bool(action.messages)
        action.outcome = (f"refused after {started} jobs started" if action.ok else
                          f"NOT REFUSED: {started} jobs started")
    finally:
        for page in reversed(pages):  # the waiting ones first: none starts when others stop
            stop = page.locator(".st-key-train_stop button")
            if stop.count():
                stop.click()
                wait_for(page, ".st-key-train_start button")
            page.context.close()
    return action


def feed_after_saved(student: Student) -> Action:
    """The live-feed URL an honest student's Train page polled while its job trained, asked
    again through that student's context once the run is saved: 404."""
    action = Action("a saved run's live-feed URL, asked again",
                    "the honest student's context: GET /cnnlab-live/<id> its page polled")
    answered = [status for _, status in student.feeds]
    if not student.feeds:
        action.outcome = "NOT PROBED: the page polled no feed"
        return action
    url = student.feeds[0][0].split("?")[0] + "?after=0&per=1"
    response = student.page.request.get(url)
    body = response.json() if response.status == 404 else {}
    action.messages = [f"{answered.count(200)} polls answered while it trained; after: HTTP "
                       f"{response.status}: {body.get('error', response.text()[:80])}"]
    action.ok = response.status == 404 and 200 in answered
    action.outcome = "404" if action.ok else "NOT 404"
    return action


def server_paths(actions: list[Action], home: Path, tmp: Path) -> Action:
    """Marks every action whose messages show a server path (``CNNLAB_HOME``, a temporary
    folder, the app's folder, an ``.upload-`` name) and says so in one more action."""
    needles = {str(home), str(home.resolve()), str(tmp), tempfile.gettempdir() + "/",
               str(HERE.parent) + "/", ".upload-"}
    said = [m for a in actions for m in a.messages]
    for action in actions:
        shown = sorted({n for n in needles for m in action.messages if n in m})
        if shown:
            action.ok, action.outcome = False, action.outcome + "; SERVER PATH SHOWN: " + \
                ", ".join(shown)
    bad = [m for m in said if any(n in m for n in needles)]
    action = Action(f"the {len(said)} messages of the {len(actions)} actions above",
                    "CNNLAB_HOME, temporary folders, the app's folder, .upload- names looked for")
    action.ok = not bad
    action.outcome = "user's file names only" if action.ok else "SERVER PATHS SHOWN"
    action.messages = [f"messages showing a server path: {len(bad)}"] + bad[:2]
    return action


# --- honest students -------------------------------------------------------------------------

def token_of(page) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query).get("w", [""])[0]


class Student:
    """An honest student: trains (1 epoch), and each time a run is done draws a digit on Draw,
    reloads the page and checks the run is listed and on disk; then trains again while there
    is hostile work left, so that training goes on through the whole hostile phase."""

    def __init__(self, page, dataset: str | None, home: Path) -> None:
        self.page, self.dataset, self.home = page, dataset, home
        self.names: list[str] = []
        self.checks: list[bool] = []  # one per run: listed after a reload and saved on disk
        self.before: str | None = None  # the results heading before the running training
        self.feeds: list[tuple[str, int]] = []  # the live feed's answers: (URL, HTTP status)
        page.on("response", lambda r: self.feeds.append((r.url, r.status))
                if "/cnnlab-live/" in r.url else None)

    def train(self) -> None:
        to_train(self.page)
        classroom.setup_training(self.page, self.dataset, epochs=1)
        self.before = classroom.start_training(self.page)

    def busy(self) -> bool:
        """Whether its training has not shown its results yet."""
        return self.before is not None and classroom.results_heading(self.page) == self.before

    def finish(self, timeout: float) -> None:
        """Wait for the run, draw a digit, reload; record whether it is listed and saved."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        before, self.before = self.before, None
        try:
            self.names.append(classroom.wait_trained(self.page, before, timeout))
            classroom.draw_digits(self.page, 1)
            self.page.reload(wait_until="commit")
            harness.wait_rendered(self.page, ".st-key-draw_canvas")
            to_train(self.page)
            listed = classroom.session_runs(self.page)
        except PlaywrightTimeout:
            self.checks.append(False)
            return
        runs = self.home / "workspaces" / token_of(self.page) / "runs"
        saved = [f for f in runs.iterdir() if (f / "model.weights.h5").is_file()] \
            if runs.is_dir() else []
        self.checks.append(sorted(listed) == sorted(self.names) and len(saved) == len(listed))


# --- disk -------------------------------------------------------------------------------------

def disk_use(home: Path) -> dict:
    """Per workspace folder: allocated bytes (st_blocks × 512) and entries; and in all."""
    per = {}
    root = home / "workspaces"
    for ws in (root.iterdir() if root.is_dir() else []):
        used, entries = 0, 0
        for folder, dirs, files in os.walk(ws):
            for name in dirs + files:
                used += os.lstat(os.path.join(folder, name)).st_blocks * 512
                entries += 1
        per[ws.name] = (used, entries)
    everything, count = 0, 0
    for folder, dirs, files in os.walk(home):
        for name in dirs + files:
            everything += os.lstat(os.path.join(folder, name)).st_blocks * 512
            count += 1
    return {"per": per, "bytes": everything, "entries": count}


# --- the run ----------------------------------------------------------------------------------

def make_files(folder: Path, config: Config) -> dict[str, Path]:
    files = {
        "copies": folder / "copies.zip", "huge": folder / "huge.zip",
        "run": folder / "zeros-run.zip", "markdown": folder / "markdown-run.zip",
        "cifar": folder / "cifar-run.zip",
        **{f"empty-{n}": folder / f"empty-{n}.zip" for n in config.empty}}
    files["copies"].write_bytes(hostile_files.copies_zip(config.copies, config.side))
    files["huge"].write_bytes(hostile_files.huge_png_zip(config.huge))
    for n in config.empty:
        files[f"empty-{n}"].write_bytes(hostile_files.empty_members_zip(n))
    files["run"].write_bytes(hostile_files.zero_run_zip(scratch=folder, **config.run_zip))
    files["markdown"].write_bytes(hostile_files.zero_run_zip(
        scratch=folder, side=28, units=16, epochs=1, name="named",
        run_name=hostile_files.MARKDOWN_NAME, dataset_label=hostile_files.MARKDOWN_NAME))
    files["cifar"].write_bytes(hostile_files.zero_run_zip(
        scratch=folder, side=32, channels=3, units=16, epochs=1, name="cifar",
        named="cifar-10"))
    return files


def measure(config: Config, smoke: bool, tmp: Path, browser) -> dict:
    files = make_files(tmp, config)
    home = tmp / "home"
    dataset = None
    env = {"CNNLAB_HOME": str(home), "CNNLAB_MEMORY_MB": str(config.memory_mb),
           "KERAS_HOME": str(tmp / "keras"), **config.env}  # where a download would go
    if smoke:
        import run  # bench/run.py: the tiny IDX folder

        dataset = str(run.write_idx_folder(tmp / "digits", 512))
        env["CNNLAB_DATA_DIRS"] = str(tmp)
    timeout = 240 if smoke else 900
    with harness.streamlit_server(env=env, log=tmp / "server.log") as server:
        warm = fresh(browser, server.url)
        to_train(warm)
        classroom.setup_training(warm, dataset, epochs=1)
        classroom.train(warm, timeout)
        warm.context.close()
        baseline_kb = status_kb(server.pid, "VmRSS")
        sampler = RssSampler(server.pid)
        sampler.start()

        idle = fresh(browser, server.url)
        idle_seconds: list[float] = []

        def idle_visit() -> None:
            idle_seconds.append(classroom.go(idle, "Build", "svg g.block"))
            classroom.go(idle, "Home", ".st-key-home_quick button")

        students = [Student(fresh(browser, server.url), dataset, home)
                    for _ in range(config.honest)]
        started = time.perf_counter()
        for student in students:
            student.train()

        def tend() -> None:
            """Students whose run is done: draw, reload, check, and train again (at most
            ``config.rounds`` trainings each)."""
            for student in students:
                if student.before is not None and not student.busy():
                    student.finish(timeout)
                    if len(student.checks) < config.rounds:
                        student.train()

        actions: list[Action] = []

        def hostile(step) -> None:
            actions.extend(step())
            idle_visit()
            tend()

        idle_visit()
        hostile(lambda: big_zip_every_variant(browser, server.url, files["copies"], config))
        for n in config.empty:
            hostile(lambda n=n: [refused_zip(browser, server.url, files[f"empty-{n}"],
                                             f"{n:,} empty members")])
        for k in range(config.run_zips):
            def one_run_zip(k=k) -> list[Action]:
                action, page = run_zip_upload(browser, server.url, files["run"],
                                              f"zero-weight run zip #{k + 1} "
                                              f"({files['run'].stat().st_size // 1000} kB)")
                page.context.close()
                return [action]
            hostile(one_run_zip)
        hostile(lambda: [refused_zip(browser, server.url, files["huge"],
                                     f"{config.huge} PNGs of 4096×4096", select=True)])
        hostile(lambda: [batch_512(browser, server.url, tmp)])
        hostile(lambda: [markdown_run(browser, server.url, files["markdown"])])
        hostile(lambda: [fresh_visits(browser, server.url, home, config.visits)])
        hostile(lambda: [markdown_link(browser, server.url)])
        hostile(lambda: [named_set_run(browser, server.url, files["cifar"], tmp / "keras")])
        slots = int(env.get("CNNLAB_MAX_JOBS") or os.cpu_count() or 1)
        per_client = int(env.get("CNNLAB_MAX_QUEUE_PER_CLIENT") or 2)
        hostile(lambda: [queue_per_client(browser, server.url, dataset,
                                          slots + per_client + 1)])
        for student in students:  # the last runs, started while hostile work was left
            if student.before is not None:
                student.finish(timeout)
        actions.append(feed_after_saved(students[0]))
        actions.append(server_paths(actions, home, tmp))
        results = [(sum(s.checks), len(s.checks), s.names) for s in students]
        honest = students
        idle_visit()
        honest_seconds = time.perf_counter() - started
        for page in [*(student.page for student in honest), idle]:
            page.context.close()
        sampler.done.set()
        peak_kb, rss_kb = status_kb(server.pid, "VmHWM"), status_kb(server.pid, "VmRSS")
    return {"actions": actions, "honest": results, "idle": idle_seconds,
            "baseline_mb": baseline_kb / 1024, "peak_mb": peak_kb / 1024,
            "rss_mb": rss_kb / 1024, "sampled_mb": sampler.peak / 1024,
            "disk": disk_use(home), "seconds": honest_seconds, "env": env}


def table(result: dict, config: Config, markdown: bool) -> tuple[str, bool]:
    quota_mb = int(result["env"].get("CNNLAB_WORKSPACE_MB", 200))
    quota_files = int(result["env"].get("CNNLAB_WORKSPACE_FILES", 20_000))
    per = result["disk"]["per"]
    most_mb = max((b for b, _ in per.values()), default=0) / MB
    most_files = max((n for _, n in per.values()), default=0)
    saved = sum(passed for passed, _, _ in result["honest"])
    runs = sum(count for _, count, _ in result["honest"])
    idle = statistics.median(result["idle"])
    ceiling = result["baseline_mb"] + config.memory_mb
    harmless = sum(a.ok for a in result["actions"])
    rows = [
        (f"honest runs ({config.honest} student{'s' if config.honest > 1 else ''} training "
         "throughout): finished, drawn on, listed after a reload, saved", f"{saved}/{runs}",
         f"{runs}/{runs}", saved == runs > 0),
        ("idle student's Build page while all this runs, median",
         f"{idle:.2f} s", f"≤ {TARGET_IDLE_S:g} s", idle <= TARGET_IDLE_S),
        ("server's peak RSS (VmHWM)", f"{result['peak_mb']:,.0f} MB",
         f"≤ {ceiling:,.0f} MB", result["peak_mb"] <= ceiling),
        ("most one workspace takes on disk (st_blocks)", f"{most_mb:,.1f} MB",
         f"≤ {quota_mb} MB", most_mb <= quota_mb),
        ("most files and folders in one workspace", f"{most_files:,}",
         f"≤ {quota_files:,}", most_files <= quota_files),
        ("hostile actions refused with a message, or harmless (below)",
         f"{harmless}/{len(result['actions'])}",
         f"{len(result['actions'])}/{len(result['actions'])}",
         harmless == len(result["actions"])),
    ]
    head = ("what", "measured", "target", "met?")
    cells = [head] + [(w, m, t, "yes" if ok else "NO") for w, m, t, ok in rows]
    if markdown:
        lines = [f"| {' | '.join(row)} |" for row in cells]
        lines.insert(1, "|---|---|---|---|")
    else:
        widths = [max(len(row[i]) for row in cells) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                 for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [
        "",
        f"- budget CNNLAB_MEMORY_MB={config.memory_mb}; baseline {result['baseline_mb']:,.0f} MB "
        "(the server's VmRSS after one warm-up training); peak VmHWM "
        f"{result['peak_mb']:,.0f} MB, largest VmRSS sampled {result['sampled_mb']:,.0f} MB, "
        f"VmRSS at the end {result['rss_mb']:,.0f} MB",
        "- honest runs per student: " + "; ".join(", ".join(names) or "(none)" for *_, names
                                                  in result["honest"]) +
        f"; {result['seconds']:.0f} s from the first Train to the last reload; idle Build page: "
        f"{len(result['idle'])} visits, max {max(result['idle']):.2f} s",
        f"- CNNLAB_HOME: {result['disk']['bytes'] / MB:,.1f} MB in "
        f"{result['disk']['entries']:,} files and folders, {len(per)} workspace folders "
        f"(quota {quota_mb} MB and {quota_files:,} files each)",
    ]
    for action in result["actions"]:
        said = " | ".join(action.messages)
        notes.append(f"- {action.what} ({action.via}): {action.outcome}" +
                     (f": {said}" if said else ""))
    ok = all(ok for *_, ok in rows)
    return "\n".join(lines + notes), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny files and limits, ~2 min")
    parser.add_argument("--markdown", action="store_true", help="the table as Markdown")
    args = parser.parse_args(argv)
    if not harness.chromium_available():
        print(f"error: no {harness.CHROMIUM}: this benchmark needs Chromium", file=sys.stderr)
        return 2
    config = SMOKE if args.smoke else FULL
    load, started = os.getloadavg()[0], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cnnlab-hostile-") as tmp, \
            harness.chromium() as browser:
        result = measure(config, args.smoke, Path(tmp), browser)
    print(f"{config.honest} honest students and {len(result['actions'])} hostile actions on "
          f"one server; {datetime.date.today().isoformat()}, {os.cpu_count()} cores")
    text, ok = table(result, config, args.markdown)
    print(text)
    print(f"\n{'smoke run (tiny sizes, not a verdict); ' if args.smoke else ''}"
          f"{time.perf_counter() - started:.0f} s; load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    if args.smoke:
        everything = all(a.ok for a in result["actions"])
        return 0 if everything and all(passed == count > 0 for passed, count, _
                                       in result["honest"]) else 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
