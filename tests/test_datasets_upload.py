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

from cnnlab.data import class_folders, datasets, refs
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
    data = data_roots.load(refs.upload("my-pets"), ws)
    assert data.class_names == ("cats", "dogs") and data.image_shape == (12, 12, 3)
    assert data.name == "my-pets (your upload)"  # never the path, which holds the token
    with pytest.raises(data_roots.DataRootError, match="open it from the workspace"):
        data_roots.load(refs.upload("my-pets"))
    with pytest.raises(data_roots.DataRootError, match="no data set 'other'"):
        data_roots.load(refs.upload("other"), ws)
    with pytest.raises(data_roots.DataRootError, match="not inside a data folder|switched off"):
        data_roots.load(refs.folder(path))  # the path itself is not a way in
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


def test_data_roots_accept_class_folders_with_options(monkeypatch, tmp_path):
    ws = store.create()
    path = uploads.add_zip(ws, "mixed.zip", zip_bytes(sizes=((12, 12), (10, 8))))
    with pytest.raises(class_folders.SizeNeeded):
        data_roots.load(refs.upload("mixed"), ws)
    data = data_roots.load(refs.upload("mixed", (9, 9), "grey"), ws)
    assert data.image_shape == (9, 9, 1) and data.name == "mixed (your upload, 9×9, grey)"
    monkeypatch.setenv("CNNLAB_DATA_DIRS", str(path.parent))
    assert data_roots.resolve("pets") == path  # a class folder under a data root
    ref = data_roots.folder_ref("pets").with_options((7, 7), "rgb")
    data = data_roots.load(ref)
    assert data.image_shape == (7, 7, 3) and data.name == f"{path} (7×7, rgb)"
    with pytest.raises(data_roots.DataRootError, match="not inside a data folder"):
        data_roots.load(refs.folder(tmp_path))


def test_an_upload_refused_names_the_file_given_never_a_server_path():
    ws = store.create()
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("../escape.png", b"x")
    with pytest.raises(datasets.DatasetError) as info:
        uploads.add_zip(ws, "My Pets.zip", data.getvalue())
    message = str(info.value)
    assert "the zip My Pets.zip: the member '../escape.png'" in message
    assert ws.token not in message and ".upload-" not in message and "datasets" not in message


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


def place_of(at: AppTest, key: str) -> tuple[int, ...]:
    """Where the widget ``key`` sits in the page: the delta path the browser matches it by."""
    def walk(node, path):
        if getattr(node, "key", None) == key:
            return path
        for index, child in getattr(node, "children", {}).items():
            found = walk(child, (*path, index))
            if found is not None:
                return found
        return None

    found = walk(at._tree, ())
    assert found is not None, f"no widget {key} on the page"
    return found


def test_the_size_boxes_keep_their_place_when_the_images_are_read_again_or_not():
    """The run that reads a new set (with its progress bar) and the next run (which does not)
    draw the size boxes at the same place: a box that moves is a new box in the browser, and a
    value typed into the old one while the rerun runs is lost (issue 21: width reverted)."""
    from ui import datasets_upload

    ws = store.create()
    uploads.add_zip(ws, "mixed.zip", zip_bytes(sizes=((12, 12), (10, 8))))
    at = open_train(ws)
    at.selectbox(key="train_dataset").set_value(datasets_upload.UPLOAD).run()  # reads the set
    before = place_of(at, "upload_w"), place_of(at, "upload_h")
    at.number_input(key="upload_h").set_value(16).run()  # does not read it again
    assert not at.exception, at.exception
    assert (place_of(at, "upload_w"), place_of(at, "upload_h")) == before
