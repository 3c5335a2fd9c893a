"""Run folders and their zips: save a :class:`~cnnlab.runs.records.Run`, load one back safely.

A run folder holds::

    architecture.json      the spec (with input_shape and num_classes), as spec.py writes it
    model.weights.h5       the weights only (``model.save_weights``)
    hyperparameters.json   epochs, batch_size, optimizer, learning_rate, validation_fraction, seed
    history.json           {"name", "epochs": [epoch records], "batch_curve": {...}}
    metrics.json           test metrics, confusion matrix, per-class accuracy, misclassified;
                           the data set as dataset_ref (refs.DatasetRef.to_dict) and its
                           label as dataset (for older readers), class_names,
                           input_preparation and input (height, width, colour,
                           preparation: kinds.InputFormat)
    epoch_weights.npz      optional: weights after each epoch, ``e<epoch>_<i>`` arrays

Loading never unpickles and never deserialises Keras objects: the architecture is parsed
and validated like any user file, a fresh model is built from it, and only the weight
arrays are read into it. Every file read is size-limited, and checked before its data is read
(:mod:`cnnlab.runs.run_checks`); a run is saved whole or not at all (:mod:`cnnlab.runs.atomic`).

What a run costs is known before it is written or loaded: :func:`file_sizes` is what saving
it writes (a workspace checks it against its quota first); loading reserves the memory its
weights declare (the model's, every epoch's, and the two copies compared once while loading)
in the server's budget (:mod:`cnnlab.memory.budget`) before a model is built, and holds it
until the run is loaded, so several uploads at once cannot pass one check each and then
together outgrow the budget; a run zip's declared file sizes are checked against the room its
caller gives (``fits``) before anything is unpacked.
"""

from __future__ import annotations

import contextlib
import io
import math
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import keras
import numpy as np

from cnnlab.architecture import spec_json
from cnnlab.data import kinds, refs
from cnnlab.memory import budget
from cnnlab.models import builder
from cnnlab.runs import atomic, run_checks
from cnnlab.runs.metrics import Metrics
from cnnlab.runs.records import Curve, EpochRecord, Hyperparameters, Misclassified, Run
from cnnlab.runs.run_checks import MAX_JSON_BYTES, MAX_WEIGHTS_BYTES

ARCHITECTURE, WEIGHTS, HYPERPARAMETERS = "architecture.json", "model.weights.h5", \
    "hyperparameters.json"
HISTORY, METRICS, EPOCH_WEIGHTS = "history.json", "metrics.json", "epoch_weights.npz"
REQUIRED_FILES = (ARCHITECTURE, WEIGHTS, HYPERPARAMETERS, HISTORY, METRICS)
RUN_FILES = (*REQUIRED_FILES, EPOCH_WEIGHTS)
MAX_ZIP_BYTES = 2 * MAX_WEIGHTS_BYTES + 4 * MAX_JSON_BYTES
_LIMITS = {name: MAX_WEIGHTS_BYTES if name in (WEIGHTS, EPOCH_WEIGHTS) else MAX_JSON_BYTES
           for name in RUN_FILES}
H5_BYTES_PER_ARRAY, H5_BASE_BYTES = 4096, 8192  # HDF5's metadata (measured: ~3.6 kB an array)
NPY_BYTES_PER_ARRAY = 256  # .npy header and zip entry of one array in epoch_weights.npz


def save_run(run: Run, folder: str | Path) -> Path:
    """Write ``run`` into ``folder``, whole: into a temporary sibling, then renamed into place.

    Args:
        run: a run from the engine or :func:`load_run`.
        folder: the run folder: new, empty, or an earlier run's (replaced whole).
    Returns:
        The folder's path.
    Raises:
        atomic.SaveError: the disk is full, the folder cannot be written, or it holds files
            that are not run files; the old folder is then unchanged.
    """
    weights = [tuple(w.shape) for w in run.model.weights]
    needed = (run_checks.largest_h5(weights) + 2**20  # the JSON files: well under 1 MiB
              + sum(a.nbytes for arrays in run.epoch_weights.values() for a in arrays))
    return atomic.replace_folder(folder, lambda tmp: _write_run(run, tmp), needed, RUN_FILES)


def weights_file_bytes(model: keras.Model) -> bytes:
    """The bytes of ``model.save_weights``'s ``.weights.h5`` file, made in memory.

    HDF5 writing straight to disk cannot fail cleanly: on a full disk or over a file-size
    limit h5py printed tracebacks and the process died (SIGSEGV). In memory it cannot fail;
    the bytes then go to disk through ordinary Python I/O, which raises ``OSError``. Keras
    has no public call that writes weights to memory, so this is ``save_weights_only``'s own
    two steps on an ``io.BytesIO`` (which ``H5IOStore`` accepts); a test holds the result
    equal to what ``model.save_weights`` writes.
    """
    from keras.src.saving import saving_lib

    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    try:
        saving_lib._save_state(model, weights_store=store, assets_store=None, inner_path="",
                               visited_saveables=set())
    finally:
        store.close()
    return buffer.getvalue()


def _texts(run: Run) -> dict[str, str]:
    """The run's JSON files, as they are written."""
    metrics = dict(run.metrics.to_dict(), dataset=run.dataset.label,
                   dataset_ref=run.dataset.to_dict(), class_names=list(run.class_names),
                   input_preparation=run.input_preparation,
                   input=kinds.input_format(run).to_dict())
    metrics["misclassified"] = [vars(m) for m in run.misclassified]
    return {ARCHITECTURE: spec_json.architecture_to_json(run.architecture),
            HYPERPARAMETERS: atomic.json_text(run.hyperparameters.to_dict()),
            HISTORY: atomic.json_text({"name": run.name,
                                       "epochs": [r.to_dict() for r in run.history],
                                       "batch_curve": run.curve.to_dict()}),
            METRICS: atomic.json_text(metrics)}


def _write_run(run: Run, folder: Path) -> None:
    # Every file is made in memory (or streamed by numpy) and written with plain Python I/O:
    # a full disk or a file-size limit is then an OSError, never a crash inside HDF5.
    for name, text in _texts(run).items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / WEIGHTS).write_bytes(weights_file_bytes(run.model))
    arrays = {f"e{epoch}_{i}": w for epoch, weights in run.epoch_weights.items()
              for i, w in enumerate(weights)}
    if arrays:
        with open(folder / EPOCH_WEIGHTS, "wb") as out:  # numpy closes its zip on errors too
            np.savez(out, **arrays)


def file_sizes(run: Run) -> list[int]:
    """The bytes of each file :func:`save_run` will write for ``run``, known before writing:
    the JSON files exactly, the weight files from their arrays' sizes (a little over what HDF5
    and ``.npz`` add). ``disk.new_folder(file_sizes(run), block)`` is what the folder takes.

    Example:
        >>> file_sizes(run)  # doctest: +SKIP
        [575, 143, 1408, 715, 937232, 2697068]
    """
    variables = list(run.model.weights)
    optimizer = getattr(run.model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        variables += list(optimizer.variables)  # save_weights writes them too
    weights = sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in variables)
    sizes = [len(text.encode("utf-8")) for text in _texts(run).values()]
    sizes.append(weights + H5_BYTES_PER_ARRAY * len(variables) + H5_BASE_BYTES)
    arrays = [a for epoch in run.epoch_weights.values() for a in epoch]
    if arrays:
        sizes.append(sum(a.nbytes + NPY_BYTES_PER_ARRAY for a in arrays) + 22)
    return sizes


def memory_need(arch: Any, epoch_bytes: int) -> int:
    """Bytes a loaded run of ``arch`` holds: its weights (float32) and ``epoch_bytes`` of
    per-epoch weights (an upper bound: the ``epoch_weights.npz`` file's declared size)."""
    return 4 * builder.checked_summary(arch).total_params + epoch_bytes


def _checked_path(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise ValueError(f"{folder} is not a complete run folder: {name} is missing")
    size = path.stat().st_size
    if size > _LIMITS[name]:
        raise ValueError(f"{path}: {size:,} bytes is over the {_LIMITS[name]:,}-byte limit")
    return path


def _read_json(folder: Path, name: str) -> Any:
    return run_checks.read_json(_checked_path(folder, name), _LIMITS[name])


def _load_epoch_weights(path: Path, shapes: list[tuple[int, ...]], epochs: int) -> dict[int, list]:
    run_checks.check_epoch_weights(path, shapes, epochs)  # headers only: nothing big read yet
    by_epoch: dict[int, dict[int, np.ndarray]] = {}
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            epoch, _, index = key[1:].partition("_")
            by_epoch.setdefault(int(epoch), {})[int(index)] = npz[key]
    return {epoch: [by_epoch[epoch][i] for i in range(len(shapes))] for epoch in sorted(by_epoch)}


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
    epochs_file = folder / EPOCH_WEIGHTS
    with _reserved_model(folder, epochs_file.stat().st_size if epochs_file.is_file() else 0
                         ) as built:
        return _load(folder, built)


@contextlib.contextmanager
def _reserved_model(folder: Path, epoch_bytes: int) -> Iterator[tuple[Any, keras.Model]]:
    """(architecture, fresh model) of a run folder's architecture.json, while the memory the
    run declares (its weights, ``epoch_bytes`` of per-epoch weights, and the file's arrays and
    the model's compared once by :func:`_check_all_loaded`) is reserved in the server's budget;
    MemoryBudgetError, before a model is built, if it cannot be."""
    arch = spec_json.load_architecture(folder / ARCHITECTURE)
    if arch.input_shape is None or arch.num_classes is None:
        raise ValueError(f"{folder / ARCHITECTURE}: a run's architecture needs input_shape and "
                         f"num_classes")
    need = memory_need(arch, epoch_bytes) + 2 * memory_need(arch, 0)
    with budget.BUDGET.reserve(need, f"this run ({arch.name})"):
        yield arch, builder.build_model(arch)  # checked: SpecError for an invalid one


def _misclassified(entries: Any, classes: int) -> tuple[Misclassified, ...]:
    out = tuple(Misclassified(int(m["index"]), int(m["true_label"]), int(m["predicted_label"]),
                              float(m["confidence"])) for m in entries)
    for m in out:
        if m.index < 0 or not (0 <= m.true_label < classes and 0 <= m.predicted_label < classes):
            raise ValueError(f"misclassified entry {vars(m)} is out of range")
    return out


def _load(folder: Path, built: tuple[Any, keras.Model]) -> Run:
    """The run in ``folder`` (its required files checked), into the model ``built``."""
    arch, model = built
    try:
        hyperparameters = Hyperparameters.from_dict(_read_json(folder, HYPERPARAMETERS))
        history_data = _read_json(folder, HISTORY)
        metrics = _read_json(folder, METRICS)
        if not isinstance(history_data, dict) or not isinstance(metrics, dict):
            raise ValueError("must be a JSON object")
        history = tuple(EpochRecord.from_dict(r) for r in history_data.get("epochs", []))
        if len(history) > hyperparameters.epochs:
            raise ValueError(f"history holds {len(history)} epochs of a {hyperparameters.epochs}"
                             f"-epoch run")
        curve = Curve.from_dict(history_data.get("batch_curve", {}))
        misclassified = _misclassified(metrics.pop("misclassified", []), arch.num_classes)
        dataset = refs.from_record(metrics)  # runs saved before refs: a recorded label
        class_names = tuple(str(c) for c in metrics.get("class_names", []))
        record = metrics.pop("input", None)
        recorded = record.get("preparation") if isinstance(record, dict) else None
        preparation = kinds.checked_preparation(  # folders from before it was recorded: default
            metrics.get("input_preparation") or recorded
            or kinds.default_preparation(class_names), METRICS)
        run_checks.check_input_record(record, arch.input_shape, preparation, METRICS)
        numbers = Metrics.from_dict(metrics)
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"{folder}: a run file is malformed: {exc}") from None
    if len(class_names) != arch.num_classes:
        raise ValueError(f"{folder / METRICS}: class_names has {len(class_names)} names for "
                         f"{arch.num_classes} classes")
    weights_path = _checked_path(folder, WEIGHTS)
    shapes = [tuple(w.shape) for w in model.weights]
    try:
        run_checks.check_weights_h5(weights_path, shapes)  # declared shapes, before any data
        model.load_weights(str(weights_path))
        _check_all_loaded(model, weights_path)
    except (ValueError, OSError, KeyError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        detail = detail.removeprefix(f"{weights_path}: ")
        raise ValueError(f"{folder / WEIGHTS} does not fit {ARCHITECTURE}: {detail}") from None
    epoch_weights = {}
    if (folder / EPOCH_WEIGHTS).exists():
        try:
            epoch_weights = _load_epoch_weights(_checked_path(folder, EPOCH_WEIGHTS), shapes,
                                                hyperparameters.epochs)
        except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ValueError(f"{folder / EPOCH_WEIGHTS}: unreadable ({exc})") from None
    name = history_data.get("name")
    return Run(name=name if isinstance(name, str) and name else folder.name,
               architecture=arch, model=model, hyperparameters=hyperparameters,
               dataset=dataset, class_names=class_names,
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


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, limit: int) -> None:
    """Copy one member to ``path``, reading at most ``limit`` bytes (the header may lie)."""
    written = 0
    try:
        with archive.open(info) as member, open(path, "wb") as out:
            while chunk := member.read(min(1 << 20, limit + 1 - written)):
                written += len(chunk)
                if written > limit:
                    raise ValueError(f"{info.filename} in the zip is over its {limit:,}-byte limit")
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError,
            RuntimeError) as exc:
        raise run_checks.RunFileError(f"{info.filename} in the zip cannot be read: {exc}") from None


def run_from_zip_bytes(data: bytes, max_bytes: int = MAX_ZIP_BYTES,
                       fits: Callable[[list[int]], None] | None = None) -> Run:
    """Load a run from a zip's bytes (its files at the top or in one folder), checked first.

    Every member's declared size is checked before it is unpacked (each file's limit, and
    ``run_checks.MAX_UNPACKED_BYTES`` in all, and ``fits``); the weight files only after the
    architecture is read and the memory it declares fits the server's budget, against the
    largest files its weights can make, then their arrays' declared shapes.

    Args:
        data: the zip file's contents.
        max_bytes: the largest zip accepted.
        fits: called with the sizes the run's files declare (the zip's directory), before
            anything is unpacked; raises (e.g. for a workspace's quota) to refuse the zip.
    Returns:
        The :class:`Run`, loaded as :func:`load_run` does.
    Raises:
        ValueError: too large, not a zip, unsafe, unexpected or encrypted members, files
            over their limits, arrays that do not fit, more memory than the budget
            (``MemoryBudgetError``), what ``fits`` raises, or any :func:`load_run` problem;
            messages name the zip's members, never the temporary folder they are unpacked in.
    """
    if len(data) > max_bytes:
        raise ValueError(f"the zip is {len(data):,} bytes; the limit is {max_bytes:,} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise ValueError("not a zip file") from None
    with archive, tempfile.TemporaryDirectory(prefix="cnnlab-upload-") as tmp:
        folder = Path(tmp)
        try:
            return _from_zip(archive, folder, fits)
        except ValueError as exc:
            text = str(exc).replace(f"{folder}/", "").replace(str(folder), "the zip")
            if text == str(exc):
                raise
            raise ValueError(text) from None


def _from_zip(archive: zipfile.ZipFile, folder: Path,
              fits: Callable[[list[int]], None] | None) -> Run:
    members = run_checks.zip_members(archive, _LIMITS)
    missing = [name for name in REQUIRED_FILES if name not in members]
    if missing:
        raise ValueError(f"the zip is not a complete run: {missing[0]} is missing")
    if fits is not None:
        fits([info.file_size for info in members.values()])
    for name, info in members.items():
        if name not in (WEIGHTS, EPOCH_WEIGHTS):
            _unpack(archive, info, folder / name, _LIMITS[name])
    epochs = members.get(EPOCH_WEIGHTS)
    with _reserved_model(folder, epochs.file_size if epochs is not None else 0) as built:
        shapes = [tuple(w.shape) for w in built[1].weights]
        largest = {WEIGHTS: run_checks.largest_h5(shapes),
                   EPOCH_WEIGHTS: run_checks.largest_npz(shapes)}
        for name in (WEIGHTS, EPOCH_WEIGHTS):
            if name in members:
                if members[name].file_size > largest[name]:
                    raise ValueError(f"{name} in the zip is {members[name].file_size:,} bytes; "
                                     f"a run of this architecture has at most "
                                     f"{largest[name]:,}")
                _unpack(archive, members[name], folder / name, largest[name])
        return _load(folder, built)
