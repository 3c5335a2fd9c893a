"""The teacher's board with a class of 30 (issue 23): how soon it shows each finished run, and
how long it takes to render on the projector.

A class is made with a challenge (mnist-5k, at most 20,000 parameters, 1 epoch, starting from
``tutorial-1conv`` with 8 filters: 13,610 parameters); N simulated students join it
(``members.join``) and each trains one epoch through the web app's own job layer
(``ownership.start``, the data set as the app loads it: without its held-back images), in this
process — the server's training slots, queue, saving and scoring hook, as a page would start
them. The board is a separate ``streamlit run serve.py`` on the same ``CNNLAB_HOME`` (as a
second replica would be), open in Chromium at 1024×768 in presentation mode.

- **shown after saved**: for each run, from its job's ``saved`` event (a listener, in this
  process, ``time.time()``) until a MutationObserver in the board's page sees that student's
  score cell filled (``Date.now()``, the same machine's clock).
- **render on the projector**: from ``page.goto`` of the teacher link (a new Streamlit session)
  until the board's element has drawn all N rows, after every run is scored; median of 5, in
  the browser that has had the app open (its files cached: the teacher made the class there),
  and in a new browser profile (nothing cached: Streamlit's own scripts load first). The
  element's own drawing of the rows and curves is in the note.

    python bench/class_board_bench.py [--students 30] [--smoke]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

PROJECTOR = {"width": 1024, "height": 768}
RENDERS = 5
TIMEOUT_MS = 30 * 60_000  # the whole class's trainings, on a loaded machine
# In the board's shadow root: the time each student's score cell was first seen filled.
OBSERVE = """(board) => {
  const root = board.getRootNode();
  window.__boardSeen = window.__boardSeen || {};
  const scan = () => {
    for (const row of root.querySelectorAll("tr.board-row")) {
      const name = row.querySelector("button.spot").textContent;
      const score = row.querySelector("td.score").textContent;
      if (score.endsWith("%") && !(name in window.__boardSeen)) {
        window.__boardSeen[name] = Date.now();
      }
    }
  };
  new MutationObserver(scan).observe(root, {subtree: true, childList: true,
                                            characterData: true});
  scan();
}"""


def render(page, url: str, count: int) -> float:
    """Seconds from loading the teacher link until the board shows ``count`` rows."""
    began = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.locator(f'.cnnlab-board[data-rows="{count}"]').wait_for(timeout=120_000)
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="3 students: that it runs")
    args = parser.parse_args(argv)
    count = 3 if args.smoke else args.students
    if not harness.chromium_available():
        print(f"skipped: no {harness.CHROMIUM}")
        return 0
    home = tempfile.mkdtemp(prefix="cnnlab-board-bench-")
    settings = {"CNNLAB_HOME": home, "CNNLAB_ORPHAN_GRACE_S": "36000",  # no page beats here
                "CNNLAB_MAX_QUEUE": str(count + 4)}
    os.environ.update(settings)
    load_before = os.getloadavg()

    from cnnlab.architecture import presets
    from cnnlab.classes import challenge, members, store
    from cnnlab.data import refs
    from cnnlab.jobs import ownership
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.workspaces import data_roots
    from cnnlab.workspaces import store as workspaces

    start = presets.get("tutorial-1conv")
    small = dataclasses.replace(start, layers=(start.layers[0].replace(filters=8),
                                               *start.layers[1:]))
    info, key = store.create_class("bench class")
    store.set_challenge(info, challenge.Challenge("mnist-5k", 20_000, 1, small))
    names = [f"Student {i:02d}" for i in range(count)]
    tokens = [members.join(info.code, name).token for name in names]
    data = data_roots.load(refs.named("mnist-5k"))
    hyper = Hyperparameters(epochs=1, batch_size=64, validation_fraction=0.1, seed=0)
    link = f"/?class={info.code}&key={key}&present=1"

    with harness.streamlit_server(env=settings) as server, harness.chromium() as browser:
        page = browser.new_context(viewport=PROJECTOR).new_page()
        page.goto(server.url + link)
        board = page.locator(f'.cnnlab-board[data-rows="{count}"]')
        board.wait_for(timeout=120_000)
        board.evaluate(OBSERVE)
        saved: dict[str, float] = {}
        began = time.perf_counter()
        jobs = []
        for i, (name, token) in enumerate(zip(names, tokens, strict=True)):
            def heard(event, name=name):
                if event.state == "saved":
                    saved[name] = time.time()

            job = ownership.start(workspaces.open_workspace(token), small, data,
                                  dataclasses.replace(hyper, seed=i), f"{small.name}-1")
            job.add_listener(heard)
            jobs.append(job)
        for job in jobs:
            job.wait()
        trained_s = time.perf_counter() - began
        failed = [job.name for job in jobs if job.state != "saved"]
        page.wait_for_function(f"Object.keys(window.__boardSeen).length >= {count}",
                               timeout=TIMEOUT_MS)
        seen = page.evaluate("window.__boardSeen")
        lags = sorted(seen[name] / 1000 - saved[name] for name in names if name in saved)
        warm = [render(page, server.url + link, count) for _ in range(RENDERS)]
        draw_ms = page.locator(".cnnlab-board").get_attribute("data-draw-ms")
        cold = []
        for _ in range(RENDERS):
            context = browser.new_context(viewport=PROJECTOR)
            cold.append(render(context.new_page(), server.url + link, count))
            context.close()
    load_after = os.getloadavg()

    def row(what: str, value: float, target: float) -> str:
        return f"| {what} | {value:.2f} s | ≤ {target:g} s | {'yes' if value <= target else 'NO'} |"

    print(f"Measured {datetime.date.today().isoformat()} by `python bench/class_board_bench.py"
          f"{' --smoke' if args.smoke else ''}` on {os.cpu_count()} CPU cores; load average "
          f"{load_before[0]:.1f} before, {load_after[0]:.1f} after (other work shares the "
          "cores)." + (" Smoke run (tiny sizes, not a verdict)." if args.smoke else ""))
    print()
    print("| what | measured | target | met? |")
    print("|---|---|---|---|")
    print(row(f"board shows a finished run after it is saved, worst of {len(lags)}",
              max(lags), 2))
    print(row("board rendered on the projector (1024×768, presentation), the app's browser, "
              f"median of {RENDERS}", statistics.median(warm), 1.5))
    print(row(f"the same in a new browser profile (nothing cached), median of {RENDERS}",
              statistics.median(cold), 1.5))
    print()
    print(f"{count} students, {len(jobs) - len(failed)} runs saved"
          f"{' (failed: ' + ', '.join(failed) + ')' if failed else ''} in {trained_s:.0f} s; "
          f"shown after saved: median {statistics.median(lags):.2f} s, min {min(lags):.2f} s; "
          "(negative: on the board before the job's saved event; the score is written while "
          f"the job saves); renders {', '.join(f'{r:.2f}' for r in warm)} s, new profile "
          f"{', '.join(f'{r:.2f}' for r in cold)} s; the element draws {count} rows and the "
          f"curves in {draw_ms} ms")
    return 0 if not failed and len(lags) == count else 1


if __name__ == "__main__":
    sys.exit(main())
