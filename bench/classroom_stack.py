"""A class through the whole stack on this machine: ``scripts/classroom.py up`` (a Dask
scheduler, 2 workers ``--nthreads 1``, 2 app replicas, nginx), and for comparison the
in-process default (1 replica, no scheduler, still behind nginx).

    python bench/classroom_stack.py             # 16 sessions, mnist-5k, 1 epoch each
    python bench/classroom_stack.py --smoke     # 2 sessions on 512 digits, to check it runs
    python bench/classroom_stack.py --sessions 3 --epochs 5  # three students' Quick starts

In one Chromium, N browser contexts (N students) open the app through nginx, each press Train
at once (1 epoch, or ``--epochs``: with 5, the Quick start's recipe on the default network),
while one more, idle, student goes Home -> Build -> Home. Reported per stack:
whether all finished and each lists only its own run (the idle one none), the wall time, the
idle student's Build page render time (median, target <= 1.5 s), and the app replicas' CPU
(psutil, each replica's process and children) in CPU seconds per wall second divided by the
watching sessions, over the time they trained; the workers' CPU seconds say where training ran.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import classroom  # noqa: E402
import harness  # noqa: E402

SCRIPT = [sys.executable, str(HERE.parent / "scripts" / "classroom.py")]
STACKS = {"cluster: 2 replicas + 2 workers": ["--replicas", "2", "--workers", "2"],
          "in-process default: 1 replica": ["--replicas", "1", "--workers", "0"]}
TARGET_S = 1.5


class CpuMeter:
    """CPU seconds of process groups (each recorded leader and its children), sampled."""

    def __init__(self, pids: list[int]) -> None:
        self.roots = [psutil.Process(pid) for pid in pids]
        self.seen: dict[int, float] = {}  # pid -> its last CPU seconds (ended ones kept)
        self.lock = threading.Lock()

    def total(self) -> float:
        with self.lock:
            for root in self.roots:
                try:
                    family = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                for process in family:
                    try:
                        times = process.cpu_times()
                    except psutil.NoSuchProcess:
                        continue
                    self.seen[process.pid] = times.user + times.system
            return sum(self.seen.values())


def up(state: Path, port: int, extra: list[str], env: dict[str, str]) -> dict:
    result = subprocess.run([*SCRIPT, "up", "--state", str(state), "--port", str(port), *extra],
                            capture_output=True, text=True, env={**os.environ, **env})
    if result.returncode != 0:
        raise RuntimeError(f"classroom.py up failed:\n{result.stdout}{result.stderr}")
    return json.loads((state / "processes.json").read_text())


def down(state: Path) -> None:
    result = subprocess.run([*SCRIPT, "down", "--state", str(state)], capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise RuntimeError(f"classroom.py down failed:\n{result.stdout}{result.stderr}")


def heading(page) -> str:
    """The results heading shown now, in one read (a rerun may replace it at any moment)."""
    return page.evaluate("""() => ([...document.querySelectorAll('h3')].find(
        h => h.innerText.startsWith('Results of')) || {innerText: ''}).innerText""")


def crowd(browser, url: str, dataset: str | None, sessions: int, replicas: CpuMeter,
          workers: CpuMeter, timeout: float, epochs: int = 1) -> dict:
    """``sessions`` contexts train ``epochs`` at once while an idle one moves between pages."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    idle = classroom.new_page(browser, url, "")
    harness.wait_rendered(idle, ".st-key-home_quick button")
    # Each student opens the address and clicks Train, as in class. (Opening /train directly
    # as a replica's first sessions once showed Streamlit's own page list and ui.state's
    # "init() has not run" error: fixed in ui/patches.py, tests/e2e/test_new_user_bugs.py.)
    pages = [classroom.new_page(browser, url, "") for _ in range(sessions)]
    for page in pages:
        harness.wait_rendered(page, ".st-key-home_quick button")
        classroom.go(page, "Train", ".st-key-train_start button")
        classroom.setup_training(page, dataset, epochs=epochs)
    cpu_replicas, cpu_workers = replicas.total(), workers.total()
    start = time.perf_counter()
    befores = [classroom.start_training(page) for page in pages]
    idle_seconds = []
    while True:  # at least one visit; more until the last session has its results
        idle_seconds.append(classroom.go(idle, "Build", "svg g.block"))
        classroom.go(idle, "Home", ".st-key-home_quick button")
        pending = [p for p, b in zip(pages, befores, strict=True) if heading(p) == b]
        if not pending or time.perf_counter() - start > timeout:
            break
    names = []
    for page, before in zip(pages, befores, strict=True):
        try:
            names.append(classroom.wait_trained(
                page, before, max(timeout - (time.perf_counter() - start), 1)))
        except PlaywrightTimeout:
            names.append("")
    seconds = time.perf_counter() - start
    cpu_replicas, cpu_workers = replicas.total() - cpu_replicas, workers.total() - cpu_workers
    listed = [classroom.session_runs(p) if n else [] for p, n in zip(pages, names, strict=True)]
    own = all(runs == [name] for runs, name in zip(listed, names, strict=True) if name)
    idle_none = "none trained yet" in idle.get_by_test_id("stSidebar").inner_text()
    for page in [*pages, idle]:
        page.context.close()
    return {"finished": sum(bool(n) for n in names), "isolated": own and idle_none,
            "seconds": seconds, "idle": idle_seconds,
            "cpu_per_session": cpu_replicas / seconds / sessions,
            "replica_cpu": cpu_replicas, "worker_cpu": cpu_workers}


def measure(name: str, extra: list[str], dataset: str | None, sessions: int, tmp: Path,
            browser, timeout: float, epochs: int = 1) -> dict:
    state, port = tmp / f"state-{len(extra)}-{time.monotonic_ns()}", harness.free_port()
    env = {"CNNLAB_HOME": str(tmp / "home"), "CNNLAB_DATA_DIRS": str(tmp)}
    recorded = up(state, port, extra, env)
    try:
        pids = {kind: [p["pid"] for p in recorded["processes"] if p["name"].startswith(kind)]
                for kind in ("replica", "worker")}
        result = crowd(browser, f"http://127.0.0.1:{port}", dataset, sessions,
                       CpuMeter(pids["replica"]), CpuMeter(pids["worker"]), timeout, epochs)
    finally:
        down(state)
    return {"stack": name, **result}


def table(results: list[dict], sessions: int, markdown: bool) -> str:
    head = ("stack", "finished", "own runs only", "all done in", "idle page, median",
            "replica CPU per watching session")
    rows = [head] + [(
        r["stack"], f"{r['finished']}/{sessions}", "yes" if r["isolated"] else "NO",
        f"{r['seconds']:.0f} s", f"{statistics.median(r['idle']):.2f} s "
        f"({'≤' if statistics.median(r['idle']) <= TARGET_S else '>'} {TARGET_S:g} s)",
        f"{r['cpu_per_session']:.3f} CPU s/s") for r in results]
    notes = [f"- {r['stack']}: replicas used {r['replica_cpu']:.0f} CPU s, workers "
             f"{r['worker_cpu']:.0f} CPU s in {r['seconds']:.0f} s; idle page: "
             f"{len(r['idle'])} visits, max {max(r['idle']):.2f} s" for r in results]
    if markdown:
        lines = [f"| {' | '.join(row)} |" for row in rows]
        lines.insert(1, "|" + "---|" * len(head))
    else:
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                 for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + [""] + notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2 sessions on 512 digits")
    parser.add_argument("--sessions", type=int, help="students training at once (default 16)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs each (default 1)")
    parser.add_argument("--markdown", action="store_true", help="the table as Markdown")
    args = parser.parse_args(argv)
    if not harness.chromium_available():
        print(f"error: no {harness.CHROMIUM}: this benchmark needs Chromium", file=sys.stderr)
        return 2
    sessions = args.sessions or (2 if args.smoke else 16)
    timeout = 120 if args.smoke else 600
    load, started = os.getloadavg()[0], time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cnnlab-stack-bench-") as tmp, \
            harness.chromium() as browser:
        dataset = None
        if args.smoke:
            import run  # bench/run.py: the tiny IDX folder

            dataset = str(run.write_idx_folder(Path(tmp, "tiny"), 512))
        results = [measure(name, extra, dataset, sessions, Path(tmp), browser, timeout,
                           args.epochs) for name, extra in STACKS.items()]
    data = "512 digits" if args.smoke else "mnist-5k"
    print(f"{sessions} sessions train {args.epochs} epoch(s) each at once ({data}), through nginx; "
          f"{datetime.date.today().isoformat()}, "
          f"{os.cpu_count()} cores")
    print(table(results, sessions, args.markdown))
    print(f"\n{'smoke run (tiny sizes, not a verdict); ' if args.smoke else ''}"
          f"{time.perf_counter() - started:.0f} s; load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end")
    failed = [r for r in results if r["finished"] < sessions or not r["isolated"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
