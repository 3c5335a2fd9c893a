"""Issue 16: "A colour run trains from the Train page and its Feature maps page shows colour
input and filters" — a tiny colour class folder inside CNNLAB_DATA_DIRS, through AppTest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnlab.data import kinds

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180
COLOURS = {"red": 0, "green": 1, "blue": 2}


def colour_folder(root: Path, per_class: int = 15, side: int = 16) -> Path:
    """``root/colours/<colour>/<i>.png``: noise with one channel bright."""
    rng = np.random.default_rng(0)
    folder = root / "colours"
    for name, channel in COLOURS.items():
        (folder / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 70, (side, side, 3), dtype=np.uint8)
            pixels[..., channel] = rng.integers(170, 256)
            Image.fromarray(pixels).save(folder / name / f"{i}.png")
    return folder


def test_a_colour_run_trains_from_the_train_page_and_shows_colour_on_feature_maps(
        monkeypatch, tmp_path):
    folder = colour_folder(tmp_path)
    monkeypatch.setenv("CNNLAB_DATA_DIRS", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/train.py").run()
    picker = at.selectbox(key="train_dataset")
    picker.set_value(next(o for o in picker.options if "folder" in o)).run()
    at.text_input(key="train_folder").input(str(folder)).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    at.number_input(key="train_epochs").set_value(1).run()
    at.button(key="train_start").click().run()
    assert not at.exception, at.exception
    session = at.session_state["cnnlab"]
    assert session.job.wait(TIMEOUT)  # the job's one event: its state is final
    at.run()
    assert session.job.state == "saved", session.job.message
    run = session.current_run()
    assert kinds.input_format(run) == kinds.InputFormat(16, 16, kinds.RGB, kinds.RESIZE)
    counted = f"{run.model.count_params():,} parameters on 16×16×3 input"  # Keras's count
    assert any(counted in m.value for m in at.markdown), [m.value for m in at.markdown][:3]
    at.switch_page("pages/feature_maps.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("as colour patches" in m.value for m in at.markdown)
    assert any(m.value.startswith("**conv_1**") and "14×14" in m.value for m in at.markdown)
    assert any(m.value.startswith("Prediction: **") for m in at.markdown)


def test_feature_maps_open_the_test_images_of_a_workspaces_uploaded_colour_set(tmp_path):
    import io
    import zipfile

    from cnnlab.architecture import presets
    from cnnlab.data import refs
    from cnnlab.runs.records import Hyperparameters
    from cnnlab.training import routine
    from cnnlab.workspaces import data_roots, store, uploads

    folder = colour_folder(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*.png")):
            archive.write(path, path.relative_to(tmp_path).as_posix())
    workspace = store.create()
    uploads.add_zip(workspace, "colours.zip", buffer.getvalue())
    data = data_roots.load(refs.upload("colours"), workspace)
    workspace.save_run(routine.train(presets.get("two-conv"), data, Hyperparameters(
        epochs=1, batch_size=16, validation_fraction=0)))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["w"] = workspace.token
    at.run()
    at.switch_page("pages/feature_maps.py").run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]  # was: "open it from the workspace..."
    assert any("as colour patches" in m.value for m in at.markdown)
    assert any(m.value.startswith("Prediction: **") for m in at.markdown)
