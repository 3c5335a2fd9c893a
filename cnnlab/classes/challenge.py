"""A class's challenge: the data set, the most parameters and epochs, an optional starting
network and the fields a student may change in it; and whether a saved run fits it.

A run that fits is scored by the server on the held-back split (:mod:`cnnlab.classes.scoring`);
one that does not is listed with its reasons (:func:`check_run`). Everything here reads a run's
JSON files only: no TensorFlow.

Example:
    >>> from cnnlab.architecture import presets
    >>> start = presets.get("tutorial-1conv")
    >>> c = Challenge("mnist-5k", 60_000, 5, start, ("filters", "kernel_size", "pool_size"))
    >>> conv, *rest = start.layers
    >>> edited = dataclasses.replace(start, layers=(conv.replace(strides=(2, 2)), *rest))
    >>> print(locked_changes(c, edited)[0])  # doctest: +NORMALIZE_WHITESPACE
    layer 1 (conv2d): the challenge locks strides at 1; only filters, kernel_size and
    pool_size can change
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlab.architecture import fields, layer_types, shapes, spec, spec_json
from cnnlab.architecture.resource_guard import MAX_PARAMS
from cnnlab.architecture.spec import Architecture
from cnnlab.data import datasets, refs
from cnnlab.runs.records import MAX_EPOCHS
from cnnlab.workspaces import run_info

MAX_TEXT = 100  # characters of a run's, network's or data set's name a result keeps
# every field name some layer type takes: what a lock may leave editable
FIELD_NAMES = tuple(sorted({fld.name for kind in layer_types.REGISTRY.values()
                            for fld in kind.fields}))


class ChallengeError(ValueError):
    """A challenge that cannot be set; the message says what was received and what works."""


def _words(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


@dataclass(frozen=True)
class Challenge:
    """What the teacher set: checked on construction.

    Attributes:
        dataset: one of ``cnnlab.data.datasets.NAMES``: the students train on its
            student-visible part, and runs are scored on its held-back part.
        max_params: the most parameters a scored network may have.
        max_epochs: the most epochs a scored run may have trained.
        starting: a network every joined student's Build page starts from, or None.
        editable: with a starting network, the only fields a student may change in it (the
            layers, their order and every other field are locked); None: no lock.
        id: set when the teacher sets it; results are tagged with it, so a changed challenge
            never ranks a run scored under the old one.
    """

    dataset: str
    max_params: int
    max_epochs: int
    starting: Architecture | None = None
    editable: tuple[str, ...] | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if self.dataset not in datasets.NAMES:
            raise ChallengeError(f"a challenge's data set must be one of "
                                 f"{', '.join(datasets.NAMES)}; received {self.dataset!r}")
        for name, value, top in (("most parameters", self.max_params, MAX_PARAMS),
                                 ("most epochs", self.max_epochs, MAX_EPOCHS)):
            if type(value) is not int or not 1 <= value <= top:
                raise ChallengeError(f"the challenge's {name} must be a whole number from 1 to "
                                     f"{top:,}; received {value!r}")
        if self.starting is not None and not isinstance(self.starting, Architecture):
            raise ChallengeError("the starting network must be an architecture")
        if self.editable is not None:
            editable = tuple(sorted(set(self.editable)))
            unknown = [name for name in editable if name not in FIELD_NAMES]
            if unknown:
                raise ChallengeError(f"unknown field {unknown[0]!r} to leave editable; use "
                                     f"some of {', '.join(FIELD_NAMES)}")
            if self.starting is None:
                raise ChallengeError("locked fields need a starting network: the lock keeps "
                                     "its layers and every field but the editable ones")
            object.__setattr__(self, "editable", editable)

    def describe(self) -> str:
        """One sentence for the Build and Train pages and the board."""
        text = (f"{self.dataset}, at most {self.max_params:,} parameters and "
                f"{self.max_epochs} epoch{'s' if self.max_epochs != 1 else ''}")
        if self.starting is not None:
            text += f"; starting network {self.starting.name}"
        if self.editable is not None:
            text += f", where only {_words(self.editable)} can change"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The JSON form kept in ``class.json``."""
        return {"id": self.id, "dataset": self.dataset, "max_params": self.max_params,
                "max_epochs": self.max_epochs,
                "starting": None if self.starting is None else self.starting.to_dict(),
                "editable": None if self.editable is None else list(self.editable)}

    @classmethod
    def from_dict(cls, data: Any) -> Challenge:
        """Parse :meth:`to_dict`'s form; ChallengeError (or SpecError) if malformed."""
        if not isinstance(data, dict):
            raise ChallengeError(f"a challenge must be a JSON object; received "
                                 f"{type(data).__name__}")
        starting = data.get("starting")
        editable = data.get("editable")
        if editable is not None and (not isinstance(editable, list)
                                     or not all(isinstance(e, str) for e in editable)):
            raise ChallengeError(f"editable must be a list of field names; received "
                                 f"{editable!r}")
        return cls(dataset=data.get("dataset"), max_params=data.get("max_params"),
                   max_epochs=data.get("max_epochs"),
                   starting=None if starting is None else spec_json.architecture_from_dict(
                       starting),
                   editable=None if editable is None else tuple(editable),
                   id=str(data.get("id", "")))


@dataclass(frozen=True)
class DataShape:
    """What a challenge's data set gives a network: image shape and class count."""

    image_shape: tuple[int, int, int]
    num_classes: int


def data_shape(name: str) -> DataShape:
    """The image shape and class count of the named data set ``name``, which must be on this
    server already (a challenge never starts a download).

    Raises:
        ChallengeError: it is not available offline; the message says how to get it.
    """
    status = {info.name: info for info in datasets.dataset_status()}
    if name in status and not status[name].available_offline:
        raise ChallengeError(f"{name} is not on this server yet ({status[name].detail}); "
                             f"run `cnnlab train tutorial-1conv --dataset {name} --epochs 1 "
                             f"--out /tmp/x` once to fetch it, or use mnist-5k (built in)")
    data = datasets.load_dataset(name)
    return DataShape(data.image_shape, data.num_classes)


def checked(challenge: Challenge) -> Challenge:
    """``challenge`` if its data set is here and its starting network fits it and its limits.

    Raises:
        ChallengeError: naming the problem (SpecError for a starting network that is invalid).
    """
    if challenge.starting is None:
        data_shape(challenge.dataset)
        return challenge
    data = data_shape(challenge.dataset)
    summary = shapes.checked_summary(challenge.starting, data.image_shape, data.num_classes)
    if summary.total_params > challenge.max_params:
        raise ChallengeError(f"the starting network {challenge.starting.name} has "
                             f"{summary.total_params:,} parameters, over the challenge's "
                             f"{challenge.max_params:,}; raise the limit or start smaller")
    return challenge


def locked_changes(challenge: Challenge, edited: Architecture) -> list[str]:
    """What ``edited`` changed of the starting network that the challenge's lock forbids, one
    message each (the first is what Build shows); empty when there is no lock or nothing
    locked changed. The network's name, input shape and class count are never locked."""
    start, editable = challenge.starting, challenge.editable
    if start is None or editable is None:
        return []
    allowed = f"only {_words(editable)} can change"
    if [layer.type for layer in edited.layers] != [layer.type for layer in start.layers]:
        kinds = ", ".join(layer.type for layer in start.layers)
        return [f"the challenge locks the layers: keep the starting network's "
                f"{len(start.layers)} layers in order ({kinds}); {allowed}"]
    problems = []
    pairs = zip(start.layers, edited.layers, strict=True)  # same types, so same length
    for position, (before, after) in enumerate(pairs, start=1):
        for fld in layer_types.REGISTRY[before.type].fields:
            old, new = getattr(before, fld.name), getattr(after, fld.name)
            if fld.name not in editable and old != new:
                problems.append(f"{spec.layer_label(position, before.type)}: the challenge "
                                f"locks {fld.name} at {fields.shown(old)}; {allowed}")
    return problems


@dataclass(frozen=True)
class RunFacts:
    """What the board shows of a saved run, read from its JSON files (nothing it reports
    about its own accuracy is used)."""

    run_name: str
    architecture: str
    params: int | None
    epochs: int
    dataset: str
    val_accuracy: tuple[float | None, ...]


def short(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis): names from a run are user text
    of any length, and a class keeps them in small files."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def check_run(folder: Path, challenge: Challenge | None,
              data: DataShape | None) -> tuple[RunFacts | None, list[str]]:
    """Whether the run in ``folder`` fits ``challenge``: its facts and every reason it does not.

    Args:
        folder: a run folder (written by ``run_files.save_run`` or unpacked from a run zip).
        challenge: the class's challenge; None: nothing is scored yet.
        data: the challenge data set's shape (:func:`data_shape`), or None without one.
    Returns:
        ``(facts, reasons)``: facts None when the folder is not a readable run; reasons
        empty when the run may be scored.
    """
    info = run_info.read(folder)
    if info is None:
        return None, ["not a readable run: a file is missing or malformed"]
    try:
        params = shapes.checked_summary(info.architecture).total_params
    except spec.SpecError as exc:
        params, problem = None, str(exc)
    else:
        problem = None
    ref = info.dataset  # a DatasetRef; a run saved before refs, or from a zip, is "recorded"
    facts = RunFacts(short(info.name), short(info.architecture.name), params, len(info.history),
                     short(ref.label), tuple(r.val_accuracy for r in info.history))
    if challenge is None:
        return facts, ["the teacher has not set a challenge yet"]
    reasons = [short(problem, 4 * MAX_TEXT)] if problem else []
    if ref.name != challenge.dataset or ref.kind not in (refs.NAMED, refs.RECORDED):
        reasons.append(f"trained on {facts.dataset}; the challenge is on {challenge.dataset}")
    elif data is not None and (info.architecture.input_shape != data.image_shape
                               or info.architecture.num_classes != data.num_classes):
        reasons.append(f"its input is {info.architecture.input_shape} with "
                       f"{info.architecture.num_classes} classes; {challenge.dataset} has "
                       f"{data.image_shape} with {data.num_classes}")
    if params is not None and params > challenge.max_params:
        reasons.append(f"{params:,} parameters, over the challenge's {challenge.max_params:,}")
    if facts.epochs > challenge.max_epochs:
        reasons.append(f"trained {facts.epochs} epochs, over the challenge's "
                       f"{challenge.max_epochs}")
    reasons.extend(locked_changes(challenge, info.architecture)[:1])
    return facts, reasons


def with_id(challenge: Challenge, challenge_id: str) -> Challenge:
    """``challenge`` tagged with the id it is kept under."""
    return dataclasses.replace(challenge, id=challenge_id)
