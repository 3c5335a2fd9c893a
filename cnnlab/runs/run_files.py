"""Run folders and their zips: save a :class:`~cnnlab.runs.records.Run`, load one back safely.

A run folder holds::

    architecture.json      the spec (with input_shape and num_classes), as spec.py writes it
    model.weights.h5       the weights only (``model.save_weights``)
    hyperparameters.json   epochs, batch_size, optimizer, learning_rate, validation_fraction, seed
    history.json           {"name", "epochs": [epoch records], "batch_curve": {...}}
    metrics.json           test metrics, confusion matrix, per-class accuracy, misclassified;
                           the data set's name, class_names and input_preparation
    epoch_weights.npz      optional: weights after each epoch, ``e<epoch>_<i>`` arrays

Loading never unpickles and never deserialises Keras objects: the architecture is parsed
and validated like any user file, a fresh model is built from it, and only the weight
arrays are read into it. Every file read is size-limited.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

import h5py
import keras
import numpy as np

from cnnlab.architecture import spec_json
from cnnlab.data import kinds
from cnnlab.runs.metrics import Metrics
from cnnlab.runs.records import Curve, EpochRecord, Hyperparameters, Misclassified, Run
from cnnlab.training import builder

ARCHITECTURE, WEIGHTS, HYPERPARAMETERS = "architecture.json", "model.weights.h5", \
    "hyperparameters.json"
HISTORY, METRICS, EPOCH_WEIGHTS = "history.json", "metrics.json", "epoch_weights.npz"
REQUIRED_FILES = (ARCHITECTURE, WEIGHTS, HYPERPARAMETERS, HISTORY, METRICS)
RUN_FILES = (*REQUIRED_FILES, EPOCH_WEIGHTS)
MAX_JSON_BYTES = 5 * 2**20
MAX_WEIGHTS_BYTES = 200 * 2**20
MAX_ZIP_BYTES = 2 * MAX_WEIGHTS_BYTES + 4 * MAX_JSON_BYTES
_LIMITS = {name: MAX_WEIGHTS_BYTES if name in (WEIGHTS, EPOCH_WEIGHTS) else MAX_JSON_BYTES
           for name in RUN_FILES}


def _json_ready(value: Any) -> Any:
    """NaN and infinities become null: the files stay strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(_json_ready(data), indent=1, allow_nan=False) + "\n",
                    encoding="utf-8")


def save_run(run: Run, folder: str | Path) -> Path:
    """Write ``run`` into ``folder`` (created if needed; its run files are replaced).

    Args:
        run: a run from the engine or :func:`load_run`.
        folder: the run folder.
    Returns:
        The folder's path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec_json.save_architecture(run.architecture, folder / ARCHITECTURE)
    run.model.save_weights(str(folder / WEIGHTS))
    _write_json(folder / HYPERPARAMETERS, run.hyperparameters.to_dict())
    _write_json(folder / HISTORY, {"name": run.name,
                                   "epochs": [r.to_dict() for r in run.history],
                                   "batch_curve": run.curve.to_dict()})
    metrics = dict(run.metrics.to_dict(), dataset=run.dataset,
                   class_names=list(run.class_names), input_preparation=run.input_preparation)
    metrics["misclassified"] = [vars(m) for m in run.misclassified]
    _write_json(folder / METRICS, metrics)
    arrays = {f"e{epoch}_{i}": w for epoch, weights in run.epoch_weights.items()
              for i, w in enumerate(weights)}
    if arrays:
        np.savez(folder / EPOCH_WEIGHTS, **arrays)
    else:
        (folder / EPOCH_WEIGHTS).unlink(missing_ok=True)
    return folder


def _checked_path(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise ValueError(f"{folder} is not a complete run folder: {name} is missing")
    size = path.stat().st_size
    if size > _LIMITS[name]:
        raise ValueError(f"{path}: {size:,} bytes is over the {_LIMITS[name]:,}-byte limit")
    return path


def _read_json(folder: Path, name: str) -> Any:
    path = _checked_path(folder, name)
    try:
        return json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None


def _load_epoch_weights(path: Path, shapes: list[tuple[int, ...]]) -> dict[int, list]:
    by_epoch: dict[int, dict[int, np.ndarray]] = {}
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            epoch, _, index = key[1:].partition("_")
            if not (key.startswith("e") and epoch.isdigit() and index.isdigit()):
                raise ValueError(f"{path}: unexpected array {key!r}")
            by_epoch.setdefault(int(epoch), {})[int(index)] = npz[key]
    out = {}
    for epoch in sorted(by_epoch):
        arrays = [by_epoch[epoch].get(i) for i in range(len(shapes))]
        if len(by_epoch[epoch]) != len(shapes) or any(
                a is None or a.shape != s for a, s in zip(arrays, shapes, strict=True)):
            raise ValueError(f"{path}: the weights of epoch {epoch} do not fit the architecture")
        out[epoch] = arrays
    return out


def _check_all_loaded(model: keras.Model, path: Path) -> None:
    """Raise unless every weight of ``model`` now holds an array of the file.

    Keras only warns, and keeps the fresh initial values, for layers it cannot match.
    """
    arrays: list[np.ndarray] = []
    with h5py.File(path, "r") as store:
        if "layers" not in store:
            raise ValueError("the file holds no layer weights")
        store["layers"].visititems(
            lambda _, item: arrays.append(item[()]) if isinstance(item, h5py.Dataset) else None)
    weights = model.get_weights()
    if len(arrays) != len(weights):
        raise ValueError(f"the file holds {len(arrays)} weight arrays; the architecture has "
                         f"{len(weights)}")
    for weight in weights:
        if not any(a.shape == weight.shape and np.array_equal(a, weight) for a in arrays):
            raise ValueError(f"no array in the file fits a weight of shape {weight.shape}")


def load_run(folder: str | Path) -> Run:
    """Read a run folder back: a fresh model from the validated spec, then its weights.

    Args:
        folder: a folder written by :func:`save_run` (or unpacked from a run zip).
    Returns:
        The :class:`Run`, its model ready for prediction.
    Raises:
        ValueError: a file is missing, too large or malformed, or the weights do not fit
            the architecture (``SpecError`` for an invalid architecture).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a run folder (no such directory)")
    for name in REQUIRED_FILES:
        _checked_path(folder, name)
    arch = spec_json.load_architecture(folder / ARCHITECTURE)
    if arch.input_shape is None or arch.num_classes is None:
        raise ValueError(f"{folder / ARCHITECTURE}: a run's architecture needs input_shape and "
                         f"num_classes")
    builder.checked_summary(arch)
    try:
        hyperparameters = Hyperparameters.from_dict(_read_json(folder, HYPERPARAMETERS))
        history_data = _read_json(folder, HISTORY)
        metrics = _read_json(folder, METRICS)
        if not isinstance(history_data, dict) or not isinstance(metrics, dict):
            raise ValueError("must be a JSON object")
        history = tuple(EpochRecord.from_dict(r) for r in history_data.get("epochs", []))
        curve = Curve.from_dict(history_data.get("batch_curve", {}))
        misclassified = tuple(Misclassified(int(m["index"]), int(m["true_label"]),
                                            int(m["predicted_label"]), float(m["confidence"]))
                              for m in metrics.pop("misclassified", []))
        class_names = tuple(str(c) for c in metrics.get("class_names", []))
        preparation = kinds.checked_preparation(  # folders from before it was recorded: default
            metrics.get("input_preparation") or kinds.default_preparation(class_names), METRICS)
        numbers = Metrics.from_dict(metrics)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{folder}: a run file is malformed: {exc}") from None
    if len(class_names) != arch.num_classes:
        raise ValueError(f"{folder / METRICS}: class_names has {len(class_names)} names for "
                         f"{arch.num_classes} classes")
    model = builder.build_model(arch)
    weights_path = _checked_path(folder, WEIGHTS)
    try:
        model.load_weights(str(weights_path))
        _check_all_loaded(model, weights_path)
    except (ValueError, OSError, KeyError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{folder / WEIGHTS} does not fit {ARCHITECTURE}: {detail}") from None
    epoch_weights = {}
    if (folder / EPOCH_WEIGHTS).exists():
        shapes = [tuple(w.shape) for w in model.weights]
        try:
            epoch_weights = _load_epoch_weights(_checked_path(folder, EPOCH_WEIGHTS), shapes)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{folder / EPOCH_WEIGHTS}: unreadable ({exc})") from None
    name = history_data.get("name")
    return Run(name=name if isinstance(name, str) and name else folder.name,
               architecture=arch, model=model, hyperparameters=hyperparameters,
               dataset=str(metrics.get("dataset", "")), class_names=class_names,
               history=history, metrics=numbers, misclassified=misclassified, curve=curve,
               epoch_weights=epoch_weights, input_preparation=preparation)


def run_to_zip_bytes(source: Run | str | Path) -> bytes:
    """A zip of a run folder (or of ``source`` saved to a temporary one), for downloads."""
    if isinstance(source, Run):
        with tempfile.TemporaryDirectory(prefix="cnnlab-run-") as tmp:
            return run_to_zip_bytes(save_run(source, tmp))
    folder = Path(source)
    for name in REQUIRED_FILES:
        _checked_path(folder, name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in RUN_FILES:
            if (folder / name).is_file():
                archive.write(folder / name, name)
    return buffer.getvalue()


def _member_name(info: zipfile.ZipInfo) -> str | None:
    """The run file a zip member is, or None for a folder entry; raises for anything else."""
    raw = info.filename
    path = PurePosixPath(raw.replace("\\", "/"))
    if raw.startswith(("/", "\\")) or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ValueError(f"unsafe path in the zip: {raw!r}")
    if info.is_dir():
        return None
    if len(path.parts) > 2 or path.name not in RUN_FILES:
        raise ValueError(f"unexpected file in the zip: {raw!r}; a run zip holds only "
                         f"{', '.join(RUN_FILES)}")
    return path.name


def run_from_zip_bytes(data: bytes, max_bytes: int = MAX_ZIP_BYTES) -> Run:
    """Load a run from a zip's bytes (its files at the top or in one folder), size-limited.

    Args:
        data: the zip file's contents.
        max_bytes: the largest zip accepted.
    Returns:
        The :class:`Run`, loaded as :func:`load_run` does.
    Raises:
        ValueError: too large, not a zip, unsafe or unexpected member names, files over
            their limits, or any :func:`load_run` problem.
    """
    if len(data) > max_bytes:
        raise ValueError(f"the zip is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ValueError("not a zip file") from None
    with archive, tempfile.TemporaryDirectory(prefix="cnnlab-upload-") as tmp:
        seen = set()
        for info in archive.infolist():
            name = _member_name(info)
            if name is None:
                continue
            if name in seen:
                raise ValueError(f"the zip holds {name} twice")
            seen.add(name)
            if info.file_size > _LIMITS[name]:
                raise ValueError(f"{name} in the zip is {info.file_size:,} bytes; the limit is "
                                 f"{_LIMITS[name]:,} bytes")
            try:
                with archive.open(info) as member:
                    content = member.read(_LIMITS[name] + 1)  # the header's size may lie
            except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError) as exc:
                raise ValueError(f"{name} in the zip cannot be read: {exc}") from None
            if len(content) > _LIMITS[name]:
                raise ValueError(f"{name} in the zip is over its {_LIMITS[name]:,}-byte limit")
            (Path(tmp) / name).write_bytes(content)
        missing = [name for name in REQUIRED_FILES if name not in seen]
        if missing:
            raise ValueError(f"the zip is not a complete run: {missing[0]} is missing")
        return load_run(tmp)
