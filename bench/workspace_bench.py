"""Measure what workspaces cost a class server: hostile uploads, 30 workspaces, a reopen.

One run, each figure in a fresh Python process (so its RSS is its own), in a temporary
``CNNLAB_HOME``; ONE tiny run (``tutorial-1conv``, 1 epoch, 400 ``mnist-5k`` digits) is
trained once and copied into every workspace with ``Workspace.save_run``:

1. memory growth after three hostile run zips fed to ``run_files.run_from_zip_bytes`` (what
   the Train page's upload calls), after one good zip as warm-up; each must be refused;
2. memory growth per workspace of a server opening 30 workspaces of 5 runs each and listing
   their runs (``open_workspace(token).runs()``, what a page does), 1 workspace vs all 30;
3. time to reopen a workspace of 20 runs: open it, list its runs, load its current model
   through ``models.get`` (as the sidebar does), median of 3 fresh processes.

    python bench/workspace_bench.py            # ~30 s
    python bench/workspace_bench.py --smoke    # 3 workspaces x 2 runs, 4 runs: checks it runs

Exits 1 when a target is missed or a hostile zip is accepted (``--smoke`` judges no number).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TARGET_UPLOAD_MB, TARGET_PER_WORKSPACE_MB, TARGET_REOPEN_S = 50.0, 1.0, 1.0


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set size in MB (``VmHWM``: its peak) from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no {field} in /proc/self/status")


# --- the children: each prints one JSON line ------------------------------------------------
def child_upload(folder: Path) -> dict:
    from cnnlab.runs import run_files

    run_files.run_from_zip_bytes((folder / "good.zip").read_bytes())  # warm-up: TF, Keras
    before, peak_before = rss_mb(), rss_mb("VmHWM")
    refused = []
    for path in sorted(folder.glob("bomb-*.zip")):
        try:
            run_files.run_from_zip_bytes(path.read_bytes())
            refused.append([path.name, None])
        except ValueError as exc:
            refused.append([path.name, re.sub(r"\S*/cnnlab-upload-[^/]+/", "", str(exc))[:90]])
    return {"before": before, "after": rss_mb(), "peak_before": peak_before,
            "peak_after": rss_mb("VmHWM"), "refused": refused}


def child_list(tokens: list[str]) -> dict:
    from cnnlab.workspaces import store

    start = rss_mb()
    held = [(store.open_workspace(tokens[0]), store.open_workspace(tokens[0]).runs())]
    one = rss_mb()
    held += [(store.open_workspace(t), store.open_workspace(t).runs()) for t in tokens[1:]]
    return {"start": start, "one": one, "all": rss_mb(),
            "runs": sum(len(runs) for _, runs in held)}


def child_reopen(token: str) -> dict:
    import time

    import keras  # noqa: F401 (a serving process has Keras loaded; its import is not timed)

    from cnnlab.workspaces import models, store

    start = time.perf_counter()
    workspace = store.open_workspace(token)
    runs = workspace.runs()
    run = models.get(workspace, workspace.current())
    return {"seconds": time.perf_counter() - start, "runs": len(runs), "name": run.name}


# --- the parent: one trained run, the bombs, the workspaces ---------------------------------
def train_tiny_run():
    from cnnlab.architecture import presets
    from cnnlab.data import datasets, refs
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import routine

    full = datasets.load_dataset("mnist-5k")
    small = datasets.Dataset(ref=refs.named("mnist-5k"), class_names=full.class_names,
                             x_train=full.x_train[:400], y_train=full.y_train[:400],
                             x_test=full.x_test[:200], y_test=full.y_test[:200])
    return routine.train(presets.get("tutorial-1conv"), small,
                         Hyperparameters(epochs=1, batch_size=32, seed=0))


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def npz_declaring(shape: tuple[int, ...]) -> bytes:
    """An npz whose one member's header declares ``shape`` float32, with no data after it."""
    header = io.BytesIO()
    np.lib.format.write_array_header_2_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as npz:
        npz.writestr("e0_0.npy", header.getvalue())
    return buffer.getvalue()


def write_zips(run, work: Path) -> list[int]:
    """good.zip and three bombs in ``work``; the bombs' sizes in bytes."""
    import h5py

    from cnnlab.runs import run_files

    good = run_files.save_run(run, work / "good")
    (work / "good.zip").write_bytes(zip_folder(good))
    sizes = []
    for kind in ("npz-4TB-header", "npz-1000-epochs", "h5-4GiB-dataset"):
        spoiled = Path(shutil.copytree(good, work / kind))
        if kind == "npz-4TB-header":
            (spoiled / "epoch_weights.npz").write_bytes(npz_declaring((10**6, 10**6)))
        elif kind == "npz-1000-epochs":
            weights = [np.zeros_like(w) for w in run.model.get_weights()]
            np.savez_compressed(spoiled / "epoch_weights.npz", **{
                f"e{e}_{i}": w for e in range(1000) for i, w in enumerate(weights)})
        else:
            with h5py.File(spoiled / "model.weights.h5", "a") as store:
                store.create_dataset("layers/bomb/vars/0", shape=(2**16, 2**14), dtype="f4",
                                     chunks=(1024, 1024), compression="gzip")
        data = zip_folder(spoiled)
        (work / f"bomb-{kind}.zip").write_bytes(data)
        sizes.append(len(data))
    return sizes


def fill_workspaces(run, count: int, runs_each: int) -> list[str]:
    from cnnlab.workspaces import store

    tokens = []
    for _ in range(count):
        workspace = store.create()
        for _ in range(runs_each):
            workspace.save_run(run)
        tokens.append(workspace.token)
    return tokens


def in_child(*args: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, env=os.environ)
    if result.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def verdict(measured: float, target: float, smoke: bool) -> str:
    return "—" if smoke else ("yes" if measured <= target else "NO")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print its three rows and notes; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check it runs")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(ROOT))
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        out = (child_upload(Path(rest[0])) if kind == "upload" else
               child_list(Path(rest[0]).read_text().split()) if kind == "list" else
               child_reopen(rest[0]))
        print(json.dumps(out))
        return 0
    count, runs_each, reopen_runs, repeats = (3, 2, 4, 2) if args.smoke else (30, 5, 20, 3)
    with tempfile.TemporaryDirectory(prefix="cnnlab-wsbench-") as tmp:
        work = Path(tmp)
        os.environ["CNNLAB_HOME"] = str(work / "home")
        run = train_tiny_run()
        bomb_sizes = write_zips(run, work)
        upload = in_child("upload", str(work))
        tokens = fill_workspaces(run, count, runs_each)
        (work / "tokens.txt").write_text("\n".join(tokens))
        listing = in_child("list", str(work / "tokens.txt"))
        big = fill_workspaces(run, 1, reopen_runs)[0]
        reopens = [in_child("reopen", big) for _ in range(repeats)]

    upload_growth = upload["after"] - upload["before"]
    accepted = [name for name, message in upload["refused"] if message is None]
    per_workspace = (listing["all"] - listing["one"]) / max(count - 1, 1)
    reopen_s = statistics.median(r["seconds"] for r in reopens)
    rows = [
        (f"memory growth after {len(upload['refused'])} hostile run zips, all refused",
         f"{upload_growth:+.1f} MB", f"≤ {TARGET_UPLOAD_MB:g} MB",
         "NO" if accepted else verdict(upload_growth, TARGET_UPLOAD_MB, args.smoke)),
        (f"memory growth per workspace, {count} workspaces × {runs_each} runs",
         f"{per_workspace:+.2f} MB", f"≤ {TARGET_PER_WORKSPACE_MB:g} MB",
         verdict(per_workspace, TARGET_PER_WORKSPACE_MB, args.smoke)),
        (f"reopen a workspace of {reopen_runs} runs + load its model, median",
         f"{reopen_s:.3f} s", f"≤ {TARGET_REOPEN_S:g} s",
         verdict(reopen_s, TARGET_REOPEN_S, args.smoke)),
    ]
    print(f"tutorial-1conv, 1 epoch on 400 mnist-5k digits, {os.cpu_count()} CPUs, "
          f"{'smoke run (tiny sizes, not a verdict)' if args.smoke else 'full run'}")
    print(f"{'what':62s} {'measured':>10s} {'target':>9s}  met?")
    for what, measured, target, met in rows:
        print(f"{what:62s} {measured:>10s} {target:>9s}  {met}")
    print(f"note: upload RSS {upload['before']:.1f} MB after the good zip, "
          f"{upload['after']:.1f} MB after the bombs ({', '.join(map(str, bomb_sizes))} bytes); "
          f"peak (VmHWM) {upload['peak_before']:.1f} -> {upload['peak_after']:.1f} MB")
    for name, message in upload["refused"]:
        print(f"note: {name}: {'ACCEPTED' if message is None else 'refused: ' + message}")
    print(f"note: listing RSS {listing['start']:.1f} MB at start, {listing['one']:.1f} MB "
          f"with 1 workspace, {listing['all']:.1f} MB with {count} "
          f"({listing['runs']} runs listed, no model loaded: runs stay on disk)")
    print(f"note: reopen seconds {', '.join(format(r['seconds'], '.3f') for r in reopens)} "
          f"({reopens[0]['runs']} runs listed); Keras imported before the timer")
    return 1 if accepted or any(row[3] == "NO" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
