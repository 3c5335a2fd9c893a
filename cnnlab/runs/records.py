"""What one training run is: its settings, its per-epoch history, its curve and its result.

A :class:`Run` is what :func:`cnnlab.training.routine.train` hands back when training ends
(finished or stopped) and what :func:`cnnlab.runs.run_files.load_run` rebuilds from a run folder.
The hyperparameters are validated here, once, with messages that quote the value and
the allowed range.
No TensorFlow here, so the command line can check its arguments before importing it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.architecture.spec import Architecture
from cnnlab.data.kinds import MNIST_DIGITS
from cnnlab.data.refs import DatasetRef
from cnnlab.models import optimizers, precision
from cnnlab.runs import augmentation
from cnnlab.runs.metrics import Metrics, MetricsView

if TYPE_CHECKING:
    import keras

MAX_EPOCHS = 100
MAX_BATCH_SIZE = 4096
MAX_LEARNING_RATE = 1.0
MAX_VALIDATION_FRACTION = 0.9
MAX_SEED = 2**31 - 1
# What a run saved before a field existed trained with: absent fields of an older
# hyperparameters.json read as these (today's defaults may differ).
OLDER_RUNS = {"augment": "off", "lr_schedule": "constant", "precision": "float32"}


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Hyperparameters:
    """How to train: checked on construction, so an instance is always usable.

    Example:
        >>> Hyperparameters(epochs=4).batch_size
        64
        >>> Hyperparameters(epochs=0)
        Traceback (most recent call last):
        ...
        ValueError: epochs must be an integer from 1 to 100; received 0
    """

    epochs: int = 5
    batch_size: int = 64
    optimizer: str = "adam"
    learning_rate: float = 3e-3  # with the cosine schedule: see optimizers.DEFAULT_SCHEDULE
    validation_fraction: float = 0.1
    seed: int = 0
    augment: str = "off"  # cnnlab.runs.augmentation.NAMES; runs saved before it load as off
    lr_schedule: str = optimizers.DEFAULT_SCHEDULE  # optimizers.SCHEDULES; older: constant
    # what the run asks for (precision.NAMES); Metrics.precision is what it trained in
    precision: str = "auto"

    def __post_init__(self) -> None:
        if not _is_int(self.epochs) or not 1 <= self.epochs <= MAX_EPOCHS:
            raise ValueError(f"epochs must be an integer from 1 to {MAX_EPOCHS}; "
                             f"received {self.epochs!r}")
        if not _is_int(self.batch_size) or not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch size must be an integer from 1 to {MAX_BATCH_SIZE}; "
                             f"received {self.batch_size!r}")
        if self.optimizer not in optimizers.NAMES:
            raise ValueError(f"optimizer must be one of {', '.join(optimizers.NAMES)}; "
                             f"received {self.optimizer!r}")
        rate = self.learning_rate
        if not _is_number(rate) or not math.isfinite(rate) or not 0 < rate <= MAX_LEARNING_RATE:
            raise ValueError(f"learning rate must be a number > 0 and <= {MAX_LEARNING_RATE:g}; "
                             f"received {rate!r}")
        fraction = self.validation_fraction
        if (not _is_number(fraction) or not math.isfinite(fraction)
                or not 0 <= fraction <= MAX_VALIDATION_FRACTION):
            raise ValueError(f"validation fraction must be a number from 0 to "
                             f"{MAX_VALIDATION_FRACTION:g}; received {fraction!r}")
        if not _is_int(self.seed) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be an integer from 0 to {MAX_SEED}; "
                             f"received {self.seed!r}")
        augmentation.check(self.augment)
        optimizers.check_schedule(self.lr_schedule)
        precision.check(self.precision)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``hyperparameters.json``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Hyperparameters:
        """Parse the JSON form; unknown keys and bad values raise ``ValueError``; a field
        absent from an older run's file reads as it trained then (:data:`OLDER_RUNS`)."""
        if not isinstance(data, dict):
            raise ValueError(f"hyperparameters must be a JSON object; received "
                             f"{type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown hyperparameter {unknown[0]!r}; use {', '.join(known)}")
        return cls(**{**OLDER_RUNS, **data})


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: training means over its batches, validation after it, and its wall time.

    ``complete`` is False for the last epoch of a run stopped part-way through; ``batches``
    then says how many of its batches ran. ``val_loss``/``val_accuracy`` are None without a
    validation split.
    """

    epoch: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    seconds: float
    batches: int
    complete: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (one entry of ``history.json``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> EpochRecord:
        """Parse one JSON entry; raises ``ValueError`` naming the bad field."""
        if not isinstance(data, dict):
            raise ValueError("each epoch record must be a JSON object")
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = data.get(f.name, True if f.name == "complete" else None)
            optional = f.name.startswith("val_")
            if f.name in ("epoch", "batches"):
                ok = _is_int(value) and value >= 0
            elif f.name == "complete":
                ok = isinstance(value, bool)
            else:
                ok = (optional and value is None) or _is_number(value)
            if not ok:
                raise ValueError(f"epoch record field {f.name} is {value!r}")
            integer = f.name in ("epoch", "batches", "complete")
            values[f.name] = value if integer or value is None else float(value)
        return cls(**values)


def partial_epoch(history: Sequence[EpochRecord]) -> EpochRecord | None:
    """The history's last epoch if it is partial (the run was stopped in it), else None."""
    return history[-1] if history and not history[-1].complete else None


def epoch_position(record: EpochRecord, batches_per_epoch: int) -> float:
    """Where ``record``'s values sit on an axis in epochs: epoch ``k`` at ``k``, a partial
    epoch at the share of its batches that ran (56 of 57 batches of epoch 5: 4.98).

    Example:
        >>> round(epoch_position(EpochRecord(5, 0.1, 0.9, None, None, 1.0, 56, False), 57), 2)
        4.98
    """
    if record.complete:
        return float(record.epoch)
    share = record.batches / batches_per_epoch if batches_per_epoch > record.batches else 0.5
    return record.epoch - 1 + share  # a size not recorded (0.5): still before the epoch's end


def _batches_of(record: EpochRecord, batches_per_epoch: int) -> str:
    known = batches_per_epoch > record.batches
    return f"{record.batches} of {batches_per_epoch}" if known else f"{record.batches}"


def partial_note(record: EpochRecord, batches_per_epoch: int) -> str:
    """What a partial epoch's point on a chart stands for, in words.

    Example:
        >>> partial_note(EpochRecord(5, 0.1, 0.9, None, None, 1.0, 56, False), 57)
        'epoch 5: 56 of 57 batches (stopped)'
    """
    return f"epoch {record.epoch}: {_batches_of(record, batches_per_epoch)} batches (stopped)"


def epochs_trained(history: Sequence[EpochRecord], planned: int,
                   batches_per_epoch: int) -> tuple[str, str | None]:
    """The epochs a run trained, counted from the history its charts draw: its whole epochs
    of those planned, and the batches of a partial last epoch (None if there is none).

    Example:
        >>> whole = EpochRecord(1, 0.1, 0.9, None, None, 1.0, 57)
        >>> epochs_trained([whole, EpochRecord(2, 0.1, 0.9, None, None, 1.0, 56, False)], 10, 57)
        ('1 of 10', '+ 56/57 batches of epoch 2')
        >>> epochs_trained([whole], 1, 57)
        ('1 of 1', None)
    """
    whole = f"{sum(1 for record in history if record.complete)} of {planned}"
    part = partial_epoch(history)
    if part is None:
        return whole, None
    batches = _batches_of(part, batches_per_epoch).replace(" of ", "/")
    return whole, f"+ {batches} batches of epoch {part.epoch}"


@dataclass(frozen=True)
class Curve:
    """Per-batch training loss and accuracy, thinned to at most a few hundred points.

    Each point averages at least ``batches_per_point`` consecutive batches' own values (not
    Keras's running epoch means; a training reports a few batches at a time, see
    :mod:`cnnlab.training.progress`); ``steps[i]`` is the number of batches trained at the end
    of point ``i``, so ``steps[i] / batches_per_epoch`` places it in epochs. The last point
    may average fewer batches.
    """

    steps: tuple[int, ...] = ()
    loss: tuple[float, ...] = ()
    accuracy: tuple[float, ...] = ()
    batches_per_point: int = 1
    batches_per_epoch: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``history.json``'s ``batch_curve``)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Any) -> Curve:
        """Parse the JSON form; raises ``ValueError`` if the lists do not line up."""
        if not isinstance(data, dict):
            raise ValueError("batch_curve must be a JSON object")
        try:
            steps = tuple(int(v) for v in data.get("steps", []))
            loss = tuple(float(v) for v in data.get("loss", []))
            accuracy = tuple(float(v) for v in data.get("accuracy", []))
            per_point = int(data.get("batches_per_point", 1))
            per_epoch = int(data.get("batches_per_epoch", 1))
        except (TypeError, ValueError):
            raise ValueError("batch_curve holds a value that is not a number") from None
        if not len(steps) == len(loss) == len(accuracy):
            raise ValueError("batch_curve's steps, loss and accuracy differ in length")
        return cls(steps, loss, accuracy, max(per_point, 1), max(per_epoch, 1))


@dataclass(frozen=True)
class Misclassified:
    """One wrong test prediction: ``index`` into the data set's ``x_test``."""

    index: int
    true_label: int
    predicted_label: int
    confidence: float  # the predicted class's probability


@dataclass(frozen=True)
class Run(MetricsView):
    """A trained (or part-trained) model and everything known about how it got there.

    Attributes:
        name: e.g. ``two-conv-1``.
        architecture: with the data set's input shape and class count filled in.
        model: the Keras model (usable for prediction and feature maps).
        hyperparameters: as trained.
        dataset: which data set it was trained on (:class:`cnnlab.data.refs.DatasetRef`; a
            run saved before refs has a recorded one); ``class_names`` its labels in
            class-index order.
        history: one :class:`EpochRecord` per epoch that ran (the last may be partial).
        metrics: the test results and how training ended (:class:`Metrics`).
        misclassified: up to ``evaluation.MAX_MISCLASSIFIED`` wrong test predictions, most
            confident first.
        curve: the thinned per-batch training curve.
        epoch_weights: ``model.get_weights()`` copies by epoch: 0 is before training, ``k``
            after epoch ``k`` (matching ``history[k - 1]``). A long run of a large model keeps
            every other epoch (see ``cnnlab.training.memory.EPOCH_WEIGHTS_BUDGET``), so keys
            may skip.
        input_preparation: how the data set's images were made
            (:data:`cnnlab.data.kinds.PREPARATIONS`); a drawing is prepared the same way.
    """

    name: str
    architecture: Architecture
    model: keras.Model
    hyperparameters: Hyperparameters
    dataset: DatasetRef
    class_names: tuple[str, ...]
    history: tuple[EpochRecord, ...]
    metrics: Metrics
    misclassified: tuple[Misclassified, ...] = ()
    curve: Curve = field(default_factory=Curve)
    epoch_weights: dict[int, list[np.ndarray]] = field(default_factory=dict)
    input_preparation: str = MNIST_DIGITS

    def __post_init__(self) -> None:
        if not isinstance(self.dataset, DatasetRef):  # a label would be parsed back later
            raise TypeError(f"Run.dataset must be a DatasetRef (the data set's ref); received "
                            f"{type(self.dataset).__name__}")
