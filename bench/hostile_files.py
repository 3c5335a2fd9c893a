"""The files of issue 21's probes, made small on disk: what one student could upload to take a
class server down. Used by ``bench/hostile_class.py`` (against a running server) and by
``tests/test_hostile_class.py`` (the same probes at library level, at full or scaled sizes).

Each maker returns bytes (or writes a file) and costs little to make: zips of identical or
empty members, PNGs of one flat colour, a run of all-zero weights (zeros deflate ~1000:1).
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

# A name a student could give a run or a data set, full of Markdown and HTML: a link, a
# remote image, bold text, a Streamlit colour directive and an icon, a raw tag.
MARKDOWN_NAME = ("[click me](http://evil.example/) ![x](http://evil.example/x.png) **loud** "
                 ":red[red] :material/warning: <b>tag</b>")


def png_bytes(pixels: np.ndarray) -> bytes:
    """``pixels`` (uint8, grey or RGB) as PNG bytes."""
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    """A deflated zip of ``members`` (name -> bytes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def copies_zip(copies: int = 1364, side: int = 512, classes: int = 2) -> bytes:
    """The headline's class-folder zip: ``copies`` of one ``side``×``side`` RGB PNG in
    ``classes`` folders (1,364 of 512×512: about 0.3 MB zipped, 1 GiB decoded per colour)."""
    png = png_bytes(np.full((side, side, 3), (200, 30, 60), np.uint8))
    return zip_of({f"copies/c{i % classes}/{i}.png": png for i in range(copies)})


def empty_members_zip(members: int, classes: int = 10) -> bytes:
    """A zip of ``members`` empty ``cN/K.png`` files (50,000 of them: about 5 MB)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for k in range(members):
            zf.writestr(f"c{k % classes}/{k}.png", b"")
    return out.getvalue()


def huge_png_zip(count: int = 200, side: int = 4096, classes: int = 2) -> bytes:
    """``count`` grey ``side``×``side`` PNGs of one colour in ``classes`` folders (4096²: 16 kB
    each, 16.8 megapixels decoded)."""
    png = png_bytes(np.zeros((side, side), np.uint8))
    return zip_of({f"huge/c{i % classes}/{i}.png": png for i in range(count)})


def huge_png(side: int = 4096) -> bytes:
    """One grey ``side``×``side`` PNG (a 16 kB file of 16.8 megapixels at 4096)."""
    return png_bytes(np.zeros((side, side), np.uint8))


def zero_run(side: int = 48, units: int = 4076, epochs: int = 5, name: str = "zeros",
             classes: int = 10, run_name: str | None = None, dataset_label: str | None = None,
             named: str | None = None, channels: int = 1):
    """A valid run of a dense network (``side``×``side`` grey in, ``units`` dense, ``classes``
    out) whose weights, and every epoch's, are zeros. The defaults are issue 21's: 9.44M
    parameters (48×48 in, 4,076 units: the dense layer's cap is 4,096), 37.7 MB of weights,
    226 MB with the weights after each of its five epochs (189 MB: under the 200 MiB a run's
    ``epoch_weights.npz`` may have). The same zero arrays serve every epoch, so making it
    takes one model's memory. Imports TensorFlow.

    ``run_name`` and ``dataset_label`` (a recorded data set) default to ``name`` and
    ``zeros (48×48)``; give :data:`MARKDOWN_NAME` to make a run with hostile names. ``named``
    (one of ``cnnlab.data.refs.NAMES``, e.g. ``cifar-10`` with ``side=32, channels=3``) makes
    the record name that data set instead, as a run trained on it elsewhere does.
    """
    from cnnlab.architecture.spec import Architecture, make_layer
    from cnnlab.data import kinds, refs
    from cnnlab.models import builder
    from cnnlab.runs.metrics import Metrics
    from cnnlab.runs.records import EpochRecord, Hyperparameters, Run

    arch = Architecture(name=name, layers=(make_layer("flatten"), make_layer("dense", units=units)),
                        input_shape=(side, side, channels), num_classes=classes)
    model = builder.build_model(arch)
    zeros = [np.zeros(w.shape, np.float32) for w in model.weights]
    model.set_weights(zeros)
    history = tuple(EpochRecord(epoch=e, loss=2.3, accuracy=0.1, val_loss=None,
                                val_accuracy=None, seconds=1.0, batches=1)
                    for e in range(1, epochs + 1))
    metrics = Metrics(test_loss=2.3, test_accuracy=0.1, test_samples=classes,
                      confusion_matrix=[[1 if j == 0 else 0 for j in range(classes)]
                                        for _ in range(classes)],
                      per_class_accuracy=[1.0] + [0.0] * (classes - 1),
                      misclassified_count=classes - 1, epochs_completed=epochs)
    return Run(name=run_name or name, architecture=arch, model=model,
               hyperparameters=Hyperparameters(epochs=epochs, validation_fraction=0.0),
               dataset=refs.named(named) if named else
               refs.recorded(dataset_label or f"{name} ({side}×{side})"),
               class_names=tuple(str(c) for c in range(classes)),
               history=history, metrics=metrics, input_preparation=kinds.RESIZE,
               epoch_weights={e: zeros for e in range(1, epochs + 1)})


def zero_run_zip(scratch: str | Path | None = None, **options) -> bytes:
    """:func:`zero_run` (with ``options``) as the zip the Train page's "upload a run" takes
    (about 250 kB for the default 9.4M parameters; its folder, 226 MB, is written to a
    temporary folder in ``scratch`` while zipping, then removed)."""
    from cnnlab.runs import run_files

    run = zero_run(**options)
    with tempfile.TemporaryDirectory(prefix="zero-run-", dir=scratch) as tmp:
        return run_files.run_to_zip_bytes(run_files.save_run(run, Path(tmp) / "run"))
