"""A workspace's own data sets: zips of class folders unpacked into it (quota, checks), loaded
by the web app's one rule (data_roots.load), and chosen on the Train page (AppTest)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnlab.data import class_folders, datasets
from cnnlab.workspaces import data_roots, store, uploads

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_cache():
    datasets.clear_cache()
    yield
    datasets.clear_cache()


def zip_bytes(sizes=((12, 12),), colour=True, per_class=5) -> bytes:
    rng = np.random.default_rng(0)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in ("cats", "dogs"):
            for i in range(per_class):
                h, w = sizes[i % len(sizes)]
                pixels = rng.integers(0, 256, (h, w, 3) if colour else (h, w), np.uint8)
                image = io.BytesIO()
                Image.fromarray(pixels).save(image, "PNG")
                zf.writestr(f"pets/{name}/{i}.png", image.getvalue())
    return out.getvalue()


def test_an_upload_lands_in_the_workspace_and_loads_by_its_path():
    ws = store.create()
    path = uploads.add_zip(ws, "my pets!.zip", zip_bytes())
    assert uploads.names(ws) == ["my-pets"] and path == uploads.folder(ws) / "my-pets" / "pets"
    data = data_roots.load("upload:my-pets", ws)
    assert data.class_names == ("cats", "dogs") and data.image_shape == (12, 12, 3)
    assert data.name == "upload:my-pets"  # never the path, which holds the workspace's token
    with pytest.raises(data_roots.DataRootError, match="open it from the workspace"):
        data_roots.load("upload:my-pets")
    with pytest.raises(data_roots.DataRootError, match="no data set 'other'"):
        data_roots.load("upload:other", ws)
    with pytest.raises(data_roots.DataRootError, match="not inside a data folder|switched off"):
        data_roots.load(str(path))  # the path itself is not a way in
    assert uploads.add_zip(ws, "my pets!.zip", zip_bytes()).parent.name == "my-pets-2"
    assert not [p for p in uploads.folder(ws).iterdir() if p.name.startswith(".")]  # no temp
    uploads.delete(ws, "my-pets")
    assert uploads.names(ws) == ["my-pets-2"]


def test_an_upload_over_the_quota_or_a_bad_zip_leaves_nothing(monkeypatch):
    ws = store.create()
    monkeypatch.setenv("CNNLAB_WORKSPACE_MB", "1")
    big = zip_bytes(sizes=((256, 256),), per_class=8)  # ~3 MB of noise
    with pytest.raises(store.WorkspaceError, match="big.zip needs about 3.1 MB on disk; .*"
                                                   "CNNLAB_WORKSPACE_MB"):
        uploads.add_zip(ws, "big.zip", big)
    with pytest.raises(datasets.DatasetError, match="not a readable zip"):
        uploads.add_zip(ws, "x.zip", b"not a zip")
    assert uploads.names(ws) == [] and not uploads.folder(ws).exists()


def test_data_roots_accept_class_folders_and_names_with_options(monkeypatch, tmp_path):
    ws = store.create()
    path = uploads.add_zip(ws, "mixed.zip", zip_bytes(sizes=((12, 12), (10, 8))))
    with pytest.raises(class_folders.SizesDiffer):
        data_roots.load("upload:mixed", ws)
    data = data_roots.load("upload:mixed (9×9, grayscale)", ws)
    assert data.image_shape == (9, 9, 1) and data.name == "upload:mixed (9×9, grayscale)"
    monkeypatch.setenv("CNNLAB_DATA_DIRS", str(path.parent))
    assert data_roots.resolve("pets") == path  # a class folder under a data root
    data = data_roots.load(class_folders.dataset_name(path, (7, 7), "rgb"))
    assert data.image_shape == (7, 7, 3) and data.name == f"{path} (7×7, rgb)"
    with pytest.raises(data_roots.DataRootError, match="not inside a data folder"):
        data_roots.load(str(tmp_path))


def open_train(ws: store.Workspace) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["w"] = ws.token
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def test_the_train_page_offers_the_uploaded_sets_and_asks_for_a_size():
    from ui import datasets_upload

    ws = store.create()
    at = open_train(ws)
    at.selectbox(key="train_dataset").set_value(datasets_upload.UPLOAD).run()
    assert not at.exception, at.exception
    assert any("No data set of your own yet" in i.value for i in at.info)
    uploads.add_zip(ws, "mixed.zip", zip_bytes(sizes=((12, 12), (10, 8))))
    at.run()
    assert at.selectbox(key="upload_set").value == "mixed"
    warning = " ".join(w.value for w in at.warning)
    assert "The images have 2 sizes (10×8, 12×12)" in warning
    at.number_input(key="upload_h").set_value(16).run()
    at.number_input(key="upload_w").set_value(20).run()
    assert not at.exception, at.exception
    assert any("cats" in str(df.value) for df in at.dataframe)  # the preview's class counts
    assert not at.button(key="train_start").disabled
    at.button(key="upload_delete").click().run()
    assert not at.exception, at.exception
    assert uploads.names(ws) == [] and any("No data set of your own" in i.value for i in at.info)
