"""Benchmarks of what a classroom feels: every figure measured in one run, as one table.

    python bench/run.py              # the full run, a few minutes on 2 cores
    python bench/run.py --smoke      # tiny sizes (a 512-image data set), to check it runs
    python bench/run.py --markdown   # the table as Markdown, with the date, for the README

Rows: training throughput of the engine against a plain ``model.fit``
(``engine_bench.py``), single-image compute on the server (``inference_bench.py``), and
through a real Chromium (``classroom.py``) against a freshly started ``streamlit run serve.py``:
the first page, training from the Train page against the same training from the CLI, the
Feature maps, Draw and Build pages, server memory over many trainings, many sessions
training at once, and switching between all pages with a trained model. Without
``/usr/bin/chromium`` the browser rows say so and are skipped, unless
``CNNLAB_REQUIRE_BROWSER=1`` (then it is an error, exit status 2). Exit status 1 when a full
run misses a target; a smoke run's tiny samples are not judged.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import classroom  # noqa: E402
import harness  # noqa: E402

ARCH = "two-conv"  # the default model: the Train page's, Quick start's, the CLI's example


@dataclass(frozen=True)
class Sizes:
    """How much each measurement does; the smoke run's are tiny."""

    pairs: int = 3  # engine vs fit, alternated
    fit_images: int | None = None  # None: all 4,000 of mnist-5k
    fit_arch: str = ARCH
    fit_epochs: int = 3
    reps: int = 300  # single-image calls timed
    epochs: int = 3  # Train page vs CLI
    train_pairs: int = 3  # Train page vs CLI, alternated, each page run on a fresh server
    visits: int = 5  # Feature maps page loads
    draws: int = 7
    changes: int = 8  # Build page edits
    trainings: int = 10  # memory: after one warm-up
    sessions: int = 8
    switch_rounds: int = 3  # times round all the pages
    seeds: str = "0, 1, 2"  # the Quick start's recipe, trained once per seed
    tiny: int | None = None  # train on a folder of this many mnist-5k images instead
    timeout: float = 240  # per training or group of trainings in the browser


FULL = Sizes()
SMOKE = Sizes(pairs=1, fit_images=512, fit_arch="tutorial-1conv", fit_epochs=2, reps=5,
              epochs=1, train_pairs=1, visits=1, draws=1, changes=2, trainings=2, sessions=3,
              switch_rounds=1, seeds="0", tiny=512, timeout=60)


# key: (what, unit, target, whether higher is better); the rows, in its order.
TARGETS = {
    "engine": ("training throughput: engine ÷ plain model.fit", "", 0.95, True),
    "train": ("training from the Train page in Chromium ÷ the same from the CLI", "", 0.85, True),
    "draw_server": ("one drawn digit: preprocessing + prediction on the server, p95", "ms", 30,
                    False),
    "maps_server": ("feature maps of every layer for one input, compute, p95", "ms", 50, False),
    "draw": ("Draw page: pen-up to prediction on screen in Chromium, median", "s", 0.3, False),
    "maps": ("Feature maps page fully rendered for the default model, in Chromium", "s", 1.5,
             False),
    "build": ("Build page: shape table updated after a change, in Chromium", "s", 0.5, False),
    "first": ("first page of a freshly started server rendered in Chromium", "s", 5, False),
    "memory": ("server memory growth over {trainings} trainings in a row in one session", "MB",
               100, False),
    "sessions": ("{sessions} sessions training at once: all finish, none sees another's runs, "
                 "an idle session's Build page renders in (median)", "s", 2, False),
    "switch": ("page switch with a trained model: sidebar click → the page fully rendered, "
               "median over every page", "s", 0.3, False),
    "quick": ("Quick start: test accuracy on the built-in digits, lowest of seeds {seeds}", "",
              0.97, True),
    "quick_seconds": ("Quick start: seconds of training on this machine, median of seeds "
                      "{seeds}", "s", 10, False),
}
BROWSER_ROWS = ("train", "draw", "maps", "build", "first", "memory", "sessions", "switch")


@dataclass
class Row:
    """One line of the table: a figure and its target (``limit``, ``higher`` is better?)."""

    what: str
    unit: str
    limit: float
    higher: bool
    value: float | None = None
    ok: bool = True  # conditions besides the number (all finished, isolation)
    note: str = ""
    skipped: str = ""

    @classmethod
    def of(cls, key: str, sizes: Sizes, value: float | None = None, **kwargs) -> Row:
        what, unit, limit, higher = TARGETS[key]
        return cls(what.format(**vars(sizes)), unit, limit, higher, value, **kwargs)

    def measured(self) -> str:
        if self.skipped:
            return f"skipped: {self.skipped}"
        if self.value is None:
            return "failed: " + self.note
        return f"{self.value:.3g} {self.unit}".strip()

    def target(self) -> str:
        return f"{'≥' if self.higher else '≤'} {self.limit:g} {self.unit}".strip()

    def met(self) -> str:
        if self.skipped or self.value is None:
            return "—" if self.skipped else "NO"
        good = self.value >= self.limit if self.higher else self.value <= self.limit
        return "yes" if good and self.ok else "NO"


def engine_vs_fit(sizes: Sizes) -> Row:
    import engine_bench

    from cnnlab.architecture import presets
    from cnnlab.data import datasets, refs
    from cnnlab.runs.records import Hyperparameters

    full = datasets.load_dataset("mnist-5k")
    n = sizes.fit_images or len(full.y_train)
    data = datasets.Dataset(refs.recorded("bench"), full.class_names, full.x_train[:n],
                            full.y_train[:n], full.x_test[:200], full.y_test[:200])
    arch = presets.get(sizes.fit_arch).with_data(data.image_shape, data.num_classes)
    settings = Hyperparameters(epochs=sizes.fit_epochs, batch_size=64, validation_fraction=0.0)
    ratios = []
    for pair in range(sizes.pairs):
        first, second = ((engine_bench.plain_rate, engine_bench.engine_rate) if pair % 2 == 0
                         else (engine_bench.engine_rate, engine_bench.plain_rate))
        rates = {f.__name__: f(arch, data, settings) for f in (first, second)}
        ratios.append(rates["engine_rate"] / rates["plain_rate"])
    return Row.of("engine", sizes, float(np.median(ratios)),
                  note=f"{sizes.fit_arch}, {n:,} images, batch 64, epochs 2..{sizes.fit_epochs}; "
                       f"median of {sizes.pairs}: {' '.join(f'{r:.3f}' for r in ratios)}")


def quick_start(sizes: Sizes) -> dict[str, Row]:
    """The Quick start's recipe (``cnnlab.runs.recipes``) as the web app trains it: the default
    network on the built-in digits the app shows (without the held-back test images), once
    per seed, in this process; its lowest test accuracy and median seconds of training."""
    import dataclasses

    from cnnlab.architecture import presets
    from cnnlab.data import datasets
    from cnnlab.runs import recipes
    from cnnlab.training import routine
    from cnnlab.workspaces import held_back

    data = held_back.visible(datasets.load_dataset(recipes.QUICK_START_DATASET))
    if sizes.tiny:  # a smoke run: a slice, one epoch
        data = dataclasses.replace(data, x_train=data.x_train[:sizes.tiny],
                                   y_train=data.y_train[:sizes.tiny])
    runs = [routine.train(presets.get(recipes.QUICK_START_ARCH), data, dataclasses.replace(
        recipes.QUICK_START, seed=int(seed), epochs=1 if sizes.tiny else
        recipes.QUICK_START.epochs)) for seed in sizes.seeds.split(", ")]
    accuracies = [run.test_accuracy for run in runs]
    seconds = [run.metrics.seconds for run in runs]
    note = (f"{recipes.QUICK_START_ARCH}, {recipes.describe(recipes.QUICK_START)}, "
            f"{len(data.y_train):,} training images, in {runs[0].metrics.precision}; "
            f"accuracies {' / '.join(f'{a:.4f}' for a in accuracies)}")
    return {"quick": Row.of("quick", sizes, min(accuracies), note=note),
            "quick_seconds": Row.of("quick_seconds", sizes, float(np.median(seconds)),
                                    note="seconds " + " / ".join(f"{t:.1f}" for t in seconds))}


def canvas_drawings(count: int) -> list[np.ndarray]:
    """280×280 RGBA canvases as the Draw page receives them: test digits, white on black."""
    from cnnlab.data import datasets

    digits = datasets.load_dataset("mnist-5k").x_test[:count, :, :, 0]
    rgba = np.zeros((count, 280, 280, 4), np.uint8)
    rgba[..., :3] = np.kron(digits, np.ones((10, 10), np.uint8))[..., None]
    rgba[..., 3] = 255
    return list(rgba)


def server_compute(sizes: Sizes) -> dict[str, Row]:
    import inference_bench

    from cnnlab.architecture import presets
    from cnnlab.inspect import inference, preprocess
    from cnnlab.models import builder

    model = builder.build_model(presets.get(ARCH), seed=0)
    predictor = inference.Predictor(model)
    drawings = canvas_drawings(20)
    images = [preprocess.preprocess_canvas(d).as_uint8() for d in drawings]
    turn = iter(range(10**9))

    def draw_once():  # what the Draw page does with the canvas's pixels
        canvas = drawings[next(turn) % len(drawings)]
        return predictor.probabilities(preprocess.preprocess_canvas(canvas).as_uint8())

    _, draw_p95 = inference_bench.percentiles(draw_once, sizes.reps)
    _, maps_p95 = inference_bench.percentiles(
        lambda: predictor.feature_maps(images[next(turn) % len(images)]), sizes.reps)
    note = f"{ARCH}, {sizes.reps} calls, in this process"
    return {"draw_server": Row.of("draw_server", sizes, draw_p95,
                                  note=note + "; 280×280 RGBA canvas → probabilities"),
            "maps_server": Row.of("maps_server", sizes, maps_p95, note=note)}


def images_per_second(history: dict, metrics: dict) -> tuple[float, float]:
    """(all epochs, epochs 2..) training images per second, from history seconds."""
    seconds = [epoch["seconds"] for epoch in history["epochs"]]
    samples = metrics["train_samples"]
    later = samples * (len(seconds) - 1) / sum(seconds[1:]) if len(seconds) > 1 else np.nan
    return samples * len(seconds) / sum(seconds), later


def cli_training(dataset: str, epochs: int, out: Path) -> dict:
    """``cnnlab train`` with the Train page's defaults; its history and metrics."""
    subprocess.run([sys.executable, "-m", "cnnlab", "train", ARCH, "--dataset", dataset,
                    "--out", str(out), "--epochs", str(epochs), "--batch-size", "64",
                    "--seed", "0", "--validation-split", "0.1"], cwd=HERE.parent, check=True,
                   stdout=subprocess.DEVNULL)
    return {key: json.loads((out / f"{key}.json").read_text()) for key in ("history", "metrics")}


def write_idx_folder(folder: Path, count: int) -> Path:
    """The first ``count`` mnist-5k training images (and a quarter as many test images) as
    the four MNIST IDX files, for the tiny runs."""
    from cnnlab.data import datasets

    data = datasets.load_dataset("mnist-5k")
    folder.mkdir(parents=True, exist_ok=True)
    parts = {"train": (data.x_train[:count], data.y_train[:count]),
             "t10k": (data.x_test[:count // 4], data.y_test[:count // 4])}
    for split, (images, labels) in parts.items():
        for kind, array, code in (("images-idx3", images[..., 0], 3),
                                  ("labels-idx1", labels, 1)):
            header = bytes([0, 0, 8, code]) + b"".join(
                int(d).to_bytes(4, "big") for d in array.shape)
            (folder / f"{split}-{kind}-ubyte").write_bytes(header + array.astype(
                np.uint8).tobytes())
    return folder


def page_training(sizes: Sizes, dataset: str | None) -> dict:
    """The same training from the Train page of a freshly started server, in Chromium; its
    history and metrics (from the page's run zip)."""
    with harness.streamlit_server() as server, harness.chromium() as chromium:
        page = classroom.new_page(chromium, server.url, "train")
        classroom.setup_training(page, dataset, sizes.epochs)
        classroom.train(page, sizes.timeout)
        return classroom.download_run(page)


def page_vs_cli(sizes: Sizes, dataset: str | None, tmp: Path) -> Row:
    """Training images/s from the Train page ÷ from ``cnnlab train``, in pairs (alternating
    which goes first; both start cold: a new server, a new process); the median pair."""
    ratios, later, rates = [], [], []
    for pair in range(sizes.train_pairs):
        runs = {}
        for side in ("page", "cli") if pair % 2 else ("cli", "page"):
            runs[side] = (page_training(sizes, dataset) if side == "page" else
                          cli_training(dataset or "mnist-5k", sizes.epochs,
                                       Path(tmp, f"cli-{pair}")))
        (page_rate, page_later), (cli_rate, cli_later) = (images_per_second(**runs[side])
                                                          for side in ("page", "cli"))
        ratios.append(page_rate / cli_rate)
        later.append(page_later / cli_later)
        rates.append(f"{page_rate:,.0f}/{cli_rate:,.0f}")
    return Row.of(
        "train", sizes, float(np.median(ratios)),
        note=f"{ARCH}, {dataset or 'mnist-5k'}, {sizes.epochs} epoch(s), batch 64, seed 0; "
             f"training images/s from each run's history.json epoch seconds (the page's from "
             f"its run zip), page/CLI: {', '.join(rates)}; ratios "
             f"{' '.join(f'{r:.3f}' for r in ratios)}, median of {len(ratios)}; epochs 2.. "
             f"only: {' '.join(f'{r:.3f}' for r in later)}")


def returning_student(dataset: str | None, out: Path) -> str:
    """The ``?w=`` token of a workspace whose current model is a saved run (one CLI epoch):
    a student coming back to a restarted server."""
    from cnnlab.runs import run_files
    from cnnlab.workspaces import store

    cli_training(dataset or "mnist-5k", 1, out)
    workspace = store.create()
    workspace.set_current(workspace.save_run(run_files.load_run(out)))
    return workspace.token


def browser_rows(sizes: Sizes, dataset: str | None, layers: int, tmp: Path) -> dict[str, Row]:
    """Every browser row, against one freshly started server."""
    rows = {}
    token = returning_student(dataset, tmp / "returning")
    with harness.streamlit_server() as server, harness.chromium() as chromium:
        start = time.perf_counter()
        first = classroom.first_page(chromium, server.url, token)  # the server's first page
        rows["first"] = Row.of("first", sizes, first,
                               note=f"a returning student's link (a saved current model), page "
                                    f"load → Home rendered naming the model; then a new "
                                    f"visitor's: {classroom.first_page(chromium, server.url):.2f}"
                                    f" s; the server was healthy {server.ready_seconds:.1f} s "
                                    f"after launch")
        page = classroom.new_page(chromium, server.url, "train")
        classroom.setup_training(page, dataset, sizes.epochs)
        classroom.train(page, sizes.timeout)  # the model the next pages show
        visits = classroom.feature_maps_visits(page, layers, sizes.visits)
        rows["maps"] = Row.of("maps", sizes, classroom.median(visits),
                              note=f"sidebar click → all {layers} layer grids, the chart and "
                                   f"every image shown; median of {len(visits)} visits (first "
                                   f"{visits[0]:.2f} s)")
        draws = classroom.draw_digits(page, sizes.draws)
        rows["draw"] = Row.of("draw", sizes, classroom.median(draws),
                              note=f"mouse up → 'Prediction:' heading; {len(draws)} drawings, "
                                   f"max {max(draws):.2f} s")
        switches = classroom.page_switches(page, sizes.switch_rounds)
        every = [t for times in switches.values() for t in times]
        rows["switch"] = Row.of(
            "switch", sizes, classroom.median(every),
            note=f"round all {len(switches)} pages {sizes.switch_rounds} time(s) from the "
                 "sidebar, until the page's title, the script idle, every image and chart "
                 "shown; median by page: "
                 + ", ".join(f"{link} {classroom.median(times):.2f} s"
                             for link, times in switches.items()) + f"; max {max(every):.2f} s")
        changes = classroom.build_changes(page, sizes.changes)
        rows["build"] = Row.of("build", sizes, classroom.median(changes),
                               note=f"Enter in conv_1's kernel height → the diagram shows the "
                                    f"new shape; median of {len(changes)}, max "
                                    f"{max(changes):.2f} s")
        page.context.close()
        before, after = classroom.memory_growth(chromium, server, dataset, sizes.trainings,
                                                sizes.timeout)
        rows["memory"] = Row.of("memory", sizes, after - before,
                                note=f"server VmRSS {before:,.0f} → {after:,.0f} MB; 1 epoch "
                                     f"each, after a warm-up training; the session keeps "
                                     f"every run")
        crowd = classroom.many_sessions(chromium, server, dataset, sizes.sessions, sizes.timeout)
        idle = crowd["idle_seconds"]
        rows["sessions"] = Row.of(
            "sessions", sizes, classroom.median(idle) if idle else None,
            ok=crowd["finished"] == sizes.sessions and crowd["isolated"],
            note=f"{crowd['finished']}/{sizes.sessions} finished, in {crowd['seconds']:.0f} s; "
                 f"each listed only its own run: {'yes' if crowd['isolated'] else 'NO'}; an "
                 f"idle session went Home → Build while they trained: median of {len(idle)} "
                 f"visits" + (f", first {idle[0]:.2f} s, max {max(idle):.2f} s" if idle else
                              " (none: they finished first)"))
        rows["first"].note += f"; all browser rows took {time.perf_counter() - start:.0f} s"
    return rows


def table(rows: list[Row], markdown: bool) -> str:
    cells = [("what", "measured", "target", "met?")]
    cells += [(r.what, r.measured(), r.target(), r.met()) for r in rows]
    notes = [f"{i}. {r.note}" for i, r in enumerate(rows, 1) if r.note and not r.skipped]
    if markdown:
        lines = [f"Measured {datetime.date.today().isoformat()} by `python bench/run.py` on "
                 f"{os.cpu_count()} CPU cores.", ""]
        lines += [f"| {' | '.join(c)} |" for c in cells[:1]] + ["|---|---|---|---|"]
        lines += [f"| {' | '.join(c)} |" for c in cells[1:]]
        return "\n".join(lines + [""] + notes)
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip()
             for cell in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + [""] + notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check it runs")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    has_browser = harness.chromium_available()
    if not has_browser and os.environ.get("CNNLAB_REQUIRE_BROWSER") == "1":
        print(f"error: CNNLAB_REQUIRE_BROWSER=1 but there is no {harness.CHROMIUM}",
              file=sys.stderr)
        return 2
    load = os.getloadavg()[0]
    started = time.perf_counter()
    rows = {"engine": engine_vs_fit(sizes), **server_compute(sizes), **quick_start(sizes)}
    with tempfile.TemporaryDirectory(prefix="cnnlab-bench-") as tmp:
        # The servers keep their workspaces here, not in ~/.cnnlab, and the tiny data set's
        # folder lies under a data root (the web app accepts folder data sets only there).
        os.environ.update(CNNLAB_HOME=str(Path(tmp, "home")), CNNLAB_DATA_DIRS=tmp)
        dataset = str(write_idx_folder(Path(tmp, "tiny"), sizes.tiny)) if sizes.tiny else None
        if has_browser:
            from cnnlab.architecture import presets, shapes

            layers = len(shapes.summarize(presets.get(ARCH)).rows) - 1  # all but the output
            rows.update(browser_rows(sizes, dataset, layers, Path(tmp)))
            rows["train"] = page_vs_cli(sizes, dataset, Path(tmp))
        else:
            rows.update({key: Row.of(key, sizes, skipped=f"no {harness.CHROMIUM}")
                         for key in BROWSER_ROWS})
    rows = [rows[key] for key in TARGETS]
    print(table(rows, args.markdown))
    print(f"\n{'smoke run (tiny sizes, not a verdict); ' if args.smoke else ''}"
          f"{time.perf_counter() - started:.0f} s; load average {load:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores")
    missed = [r for r in rows if r.met() == "NO"]
    return 1 if missed and not args.smoke else 0


if __name__ == "__main__":
    sys.exit(main())
