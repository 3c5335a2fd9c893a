"""After a server restart the first page shows at once (issue 22, item 9): Home, with a saved
current model named in the sidebar and in the quick start panel, renders without importing
TensorFlow, and the warm-up thread that imports it in the background runs once and finishes.

The first is checked in a fresh Python process (this one has TensorFlow loaded): it renders
``app.py`` at the workspace's link through AppTest with the warm-up switched off, then reports
whether ``tensorflow`` or ``keras`` is in ``sys.modules``. No timing is asserted (the time to
the first paint is ``bench/run.py``'s "first page" row).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cnnlab.training import warmup
from cnnlab.workspaces import store

ROOT = Path(__file__).resolve().parent.parent
FRESH = """
import json, sys
from cnnlab.training import warmup
warmup.start = warmup.page_shown = lambda *_: None  # this is about the page's own imports
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.query_params["w"] = sys.argv[2]
at.run()
print(json.dumps({
    "exception": [str(e.value) for e in at.exception],
    "title": [t.value for t in at.title],
    "sidebar": [m.value for m in at.sidebar.markdown],
    "ready": [s.value for s in at.success],
    "heavy": sorted({"tensorflow", "keras"} & set(sys.modules)),
}))
"""


def test_home_names_the_saved_model_without_importing_tensorflow(tiny_run):
    workspace = store.create()
    workspace.set_current(workspace.save_run(tiny_run))
    result = subprocess.run([sys.executable, "-c", FRESH, str(ROOT / "app.py"), workspace.token],
                            capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    page = json.loads(result.stdout.strip().splitlines()[-1])
    assert page["exception"] == [] and page["title"] == ["CNN Lab"]
    assert any(tiny_run.name in line for line in page["sidebar"]), page["sidebar"]
    assert any(tiny_run.name in line for line in page["ready"]), page["ready"]  # not Quick start
    assert page["heavy"] == []


def test_the_warm_up_runs_once_and_finishes():
    first = warmup.start()
    assert warmup.start() is first and first.name == "cnnlab-warmup" and first.daemon
    warmup.page_shown()  # what app.py says at the end of a run: no waiting for the grace time
    first.join(300)
    assert warmup.finished.is_set() and "error" not in warmup.outcome, warmup.outcome
    assert warmup.outcome["seconds"] > 0
    assert warmup.start() is first  # not again after it ended


def test_a_process_spawned_from_the_app_neither_draws_nor_warms_up(monkeypatch):
    """Streamlit leaves ``app.py`` as the process's ``__main__``; a process multiprocessing
    spawns then (a LocalCluster's Dask worker) runs it again as ``__mp_main__``. There the app
    must do nothing: its warm-up thread's TensorFlow import raced the worker's task importing
    it, and the worker's jobs failed ("Registering two gradient with name 'ReduceDataset'")."""
    import runpy

    from ui import state

    called = []
    monkeypatch.setattr(warmup, "page_shown", lambda: called.append("warm-up"))
    monkeypatch.setattr(state, "init", lambda: called.append("page"))
    runpy.run_path(str(ROOT / "app.py"), run_name="__mp_main__")
    assert called == []


CONCURRENT = """
import builtins, sys, threading
from cnnlab.training import warmup
plain = builtins.__import__
warmup.guard_first_import()
errors, go = [], threading.Barrier(4)

def load(statement):
    go.wait()
    try:
        exec(statement, {})
    except Exception as exc:
        errors.append(f"{statement}: {type(exc).__name__}: {exc}")

threads = [threading.Thread(target=load, args=(s,)) for s in (
    "import keras", "import tensorflow as tf; tf.constant(1)",
    "from cnnlab.training import evaluation", "import keras; keras.layers.Dense(1)")]
for t in threads: t.start()
for t in threads: t.join()
print(repr(errors), builtins.__import__ is plain, warmup._loaded())
"""


def test_tensorflow_and_keras_imported_by_four_threads_at_once_load_whole():
    """The first import of TensorFlow and Keras is one thread at a time (see warmup's module):
    four threads importing them at once, in a fresh process, all get whole modules, and the
    guard gives ``import`` back its plain function once both are loaded."""
    result = subprocess.run([sys.executable, "-c", CONCURRENT], cwd=ROOT, capture_output=True,
                            text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[] True True", result.stdout
