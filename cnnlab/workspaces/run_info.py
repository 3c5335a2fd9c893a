"""What a runs table shows of a saved run, read from its JSON files only (no model, no TF).

Reading a run's model builds a Keras model; listing a workspace's runs must not, so the list
is made of :class:`RunInfo` objects, cached by the files' modification times in a cache of the
server's memory budget (:mod:`cnnlab.memory.budget`), each weighed at :data:`PARSED_PER_BYTE`
times its JSON files' bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cnnlab.architecture import spec, spec_json
from cnnlab.data import refs
from cnnlab.files import reading
from cnnlab.memory import budget
from cnnlab.runs.metrics import Metrics, MetricsView
from cnnlab.runs.records import Curve, EpochRecord, Hyperparameters

MAX_JSON_BYTES = 5 * 2**20  # as cnnlab.runs.run_checks
# Parsed JSON takes more room than its text: 2.2 times for a two-conv run's files (measured
# with tracemalloc), up to about 4 for long lists of numbers (a float: 32 bytes for ~10 chars).
PARSED_PER_BYTE = 4
ENTRY_BYTES = 2048  # the entry itself: key, stamp, dataclass
RECORDS = budget.ByteCache("run records")  # folder -> (files' stamp, RunInfo)


@dataclass(frozen=True)
class RunInfo(MetricsView):
    """A saved run without its model: the same attributes a Run has for tables and charts.

    Attributes:
        folder: the run folder's name inside its workspace.
        curve: the per-batch curve (for its ``batches_per_epoch``: where a partial epoch sits).
    """

    folder: str
    name: str
    architecture: spec.Architecture
    hyperparameters: Hyperparameters
    dataset: refs.DatasetRef
    history: tuple[EpochRecord, ...]
    metrics: Metrics
    curve: Curve = Curve()


def _json(path: Path) -> dict:
    data = reading.loads_json(reading.read_regular_file(path, MAX_JSON_BYTES, "a run file"),
                              str(path.name))
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} must be a JSON object")
    return data


def read(folder: Path) -> RunInfo | None:
    """The run folder's :class:`RunInfo`, or None if it is not a readable run folder."""
    names = ("architecture.json", "hyperparameters.json", "history.json", "metrics.json")
    try:
        stats = [(folder / n).stat() for n in names]
    except OSError:
        return None
    stamp = tuple(int(s.st_mtime_ns) for s in stats)
    cached = RECORDS.get(folder)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        history, metrics = _json(folder / "history.json"), _json(folder / "metrics.json")
        info = RunInfo(
            folder=folder.name,
            name=str(history.get("name") or folder.name),
            architecture=spec_json.load_architecture(folder / "architecture.json"),
            hyperparameters=Hyperparameters.from_dict(_json(folder / "hyperparameters.json")),
            dataset=refs.from_record(metrics),
            history=tuple(EpochRecord.from_dict(r) for r in history.get("epochs", [])),
            curve=Curve.from_dict(history.get("batch_curve", {})),
            metrics=Metrics.from_dict({k: v for k, v in metrics.items() if k not in (
                "dataset", "dataset_ref", "class_names", "input_preparation",
                "misclassified")}))
    except (ValueError, TypeError, KeyError):
        return None
    RECORDS.put(folder, (stamp, info),
                PARSED_PER_BYTE * sum(s.st_size for s in stats) + ENTRY_BYTES)
    return info
