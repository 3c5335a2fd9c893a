"""One typed data-set reference: made once, round-tripped through a saved run and the cluster's
data spec, never parsed back from a label; a run added from a zip names a data set that is
never loaded (Feature maps and Train say it is not here); data never imports inspect or
training."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cnnlab.data import datasets, refs
from cnnlab.workspaces import data_roots, run_info, store

ROOT = Path(__file__).resolve().parent.parent

EVERY_KIND = [refs.named("cifar-10"), refs.folder("/data/shapes"),
              refs.folder("/data/shapes", (32, 24), "rgb"), refs.upload("fashion3"),
              refs.upload("pets", (16, 16), "grey"), refs.drawn(), refs.recorded("old set")]


@pytest.mark.parametrize("ref", EVERY_KIND, ids=lambda r: r.label)
def test_a_ref_round_trips_through_its_json_form(ref):
    assert refs.DatasetRef.from_dict(json.loads(json.dumps(ref.to_dict()))) == ref


def test_labels_are_derived_from_the_ref():
    assert [r.label for r in EVERY_KIND] == [
        "cifar-10", "/data/shapes", "/data/shapes (32×24, rgb)", "fashion3 (your upload)",
        "pets (your upload, 16×16, grey)", "my drawings", "old set"]
    assert not refs.recorded("cifar-10").loadable and refs.named("cifar-10").loadable


@pytest.mark.parametrize("data, words", [
    ({"kind": "web", "name": "x"}, "kind must be one of named, folder"),
    ({"kind": "named", "name": "cifar10"}, "unknown data set 'cifar10'"),
    ({"kind": "named", "name": "mnist", "image_size": [8, 8]}, "are for class folders"),
    ({"kind": "upload", "name": "x", "image_size": [0, 8]}, "between 1 and 512; received"),
    ({"kind": "upload", "name": "x", "image_size": "8x8"}, "must be \\[height, width\\]"),
    ({"kind": "upload", "name": "x", "colour": "blue"}, "colour must be one of grey, rgb"),
    ({"kind": "folder", "name": ""}, "printable text of 1 to"),
    ({"kind": "folder", "name": "a\nb"}, "printable text of 1 to"),
    ({"kind": "drawn", "name": "theirs"}, "drawn classes are named 'my drawings'"),
    ({"kind": "folder"}, "kind and name required"),
    ({"kind": "folder", "name": "x", "path": "/etc"}, "kind and name required"),
    (["folder", "x"], "must be a JSON object"),
])
def test_a_malformed_ref_is_refused_naming_the_field(data, words):
    with pytest.raises(ValueError, match=words):
        refs.DatasetRef.from_dict(data)


def test_no_module_parses_a_data_sets_label_back():
    """The string forms and their parsers are gone: pages compare refs, never labels."""
    forbidden = re.compile(r"parse_name|dataset_name\(|set_name\(|upload:|DATASET_NAME|"
                           r"\.dataset\s*(==|!=|in)\s|dataset in datasets\.NAMES")
    sources = [p for folder in ("cnnlab", "ui", "pages") for p in (ROOT / folder).rglob("*.py")]
    found = [f"{p.relative_to(ROOT)}:{n}" for p in sources
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if forbidden.search(line)]
    assert len(sources) > 50 and not found, found


def test_the_data_package_imports_no_inspect_or_training():
    from tests.test_layout import cnnlab_modules, import_graph

    graph = import_graph(cnnlab_modules())
    outside = {(name, target) for name, targets in graph.items()
               if name.startswith("cnnlab.data.") for target in targets
               if target.split(".")[1] not in ("data", "files", "memory")}
    assert not outside, outside


def test_a_run_records_its_ref_and_its_label_and_reads_it_back(tiny_run, tmp_path):
    from cnnlab.runs import run_files

    ref = refs.upload("pets", (28, 28), "grey")
    folder = run_files.save_run(dataclasses.replace(tiny_run, dataset=ref), tmp_path / "run")
    metrics = json.loads((folder / run_files.METRICS).read_text())
    assert metrics["dataset"] == "pets (your upload, 28×28, grey)"  # for older readers
    assert metrics["dataset_ref"] == ref.to_dict()
    assert run_files.load_run(folder).dataset == ref and run_info.read(folder).dataset == ref
    del metrics["dataset_ref"]  # a run saved before refs: its label only, never loaded
    (folder / run_files.METRICS).write_text(json.dumps(metrics))
    old = run_files.load_run(folder).dataset
    assert old == refs.recorded("pets (your upload, 28×28, grey)") and not old.loadable
    assert run_info.read(folder).dataset == old
    metrics["dataset_ref"] = {"kind": "folder", "name": "/etc", "path": "/"}
    (folder / run_files.METRICS).write_text(json.dumps(metrics))
    with pytest.raises(ValueError, match="a run file is malformed: a data set reference"):
        run_files.load_run(folder)
    with pytest.raises(TypeError, match="Run.dataset must be a DatasetRef"):
        dataclasses.replace(tiny_run, dataset="pets")


def test_the_cluster_spec_carries_the_ref_and_the_worker_loads_the_same_set(monkeypatch,
                                                                            tmp_path):
    from PIL import Image

    from cnnlab.cluster import task

    for name in ("a", "b"):
        (tmp_path / "set" / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((10, 12), 40 * i, np.uint8)).save(
                tmp_path / "set" / name / f"{i}.png")
    ref = refs.folder(tmp_path / "set", (6, 8), "rgb")
    data = datasets.load(ref)
    sent = task.load_data(task.data_spec(data), "tcp://w:1")  # small: arrays travel
    assert sent.ref == ref and np.array_equal(sent.x_test, data.x_test)
    monkeypatch.setattr(task, "SEND_LIMIT_BYTES", 0)  # large: by its ref alone
    spec = task.data_spec(data)
    assert spec == {"ref": ref.to_dict()}
    datasets.clear_cache()
    loaded = task.load_data(spec, "tcp://w:1")
    assert loaded.ref == ref and loaded.image_shape == (6, 8, 3)
    assert np.array_equal(loaded.x_train, data.x_train)


def test_the_workspace_records_which_runs_came_from_a_zip(tiny_run):
    workspace = store.create()
    trained = workspace.save_run(tiny_run)
    uploaded = workspace.save_run(dataclasses.replace(tiny_run, name="shared"), uploaded=True)
    again = store.open_workspace(workspace.token)
    assert again.was_uploaded(uploaded) and not again.was_uploaded(trained)
    assert json.loads((workspace.folder / store.INDEX).read_text())["uploaded"] == [uploaded]
    again.delete_run(uploaded)
    assert again.save_run(dataclasses.replace(tiny_run, name="shared")) == uploaded
    assert not again.was_uploaded(uploaded)  # the same folder name, trained here this time


@pytest.fixture
def loads(monkeypatch):
    """What was loaded or downloaded, apart from the Train page's default mnist-5k; each such
    call also raises (a failure inside a page's script thread would go unnoticed)."""
    from cnnlab.data import cifar, class_folders, idx

    called = []

    def guard(module, name):
        original = getattr(module, name)

        def guarded(*args, **kwargs):
            if args and args[0] == refs.named("mnist-5k"):
                return original(*args, **kwargs)
            called.append((name, args))
            raise RuntimeError(f"a data set was loaded: {name}{args}")
        monkeypatch.setattr(module, name, guarded)

    for module, name in ((datasets, "load"), (datasets, "load_folder"), (cifar, "load"),
                         (idx, "download"), (class_folders, "load_class_folder")):
        guard(module, name)
    return called


def open_page(workspace: store.Workspace, page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["w"] = workspace.token
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("ref", [refs.named("cifar-10"), refs.upload("x"), refs.drawn()],
                         ids=lambda r: r.kind)
def test_a_run_from_a_zip_never_loads_the_data_set_it_names(tiny_run, loads, ref):
    from cnnlab.runs.records import Misclassified

    workspace = store.create()
    shared = dataclasses.replace(tiny_run, dataset=ref,
                                 misclassified=(Misclassified(3, 0, 1, 0.9),))
    workspace.save_run(shared, uploaded=True)
    at = open_page(workspace, "pages/feature_maps.py")
    notes = " ".join(i.value for i in at.info)
    assert f"The test images are not here: the data set {ref.label} is not here" in notes
    assert "added from a run zip" in notes and not at.error
    assert at.radio(key="fm_source").options == ["a test image", "my drawing"]
    at = open_page(workspace, "pages/train.py")
    shown = " ".join(c.value for c in at.caption)
    assert "Misclassified test images are not shown: the data set" in shown
    assert not loads and not at.error


def test_a_recorded_ref_is_not_here_even_for_a_run_trained_here(tiny_run, loads):
    workspace = store.create()
    folder = workspace.save_run(tiny_run)  # a data set made in memory: a recorded ref
    with pytest.raises(data_roots.NotHere, match="a run only recorded its name"):
        data_roots.run_data(workspace, folder, tiny_run.dataset, tiny_run.class_names, "r")
    assert any("is not on this server" in i.value
               for i in open_page(workspace, "pages/feature_maps.py").info)
    assert not loads
