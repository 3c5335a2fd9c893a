"""How a run did on its test images, and how its training ended: ``metrics.json``'s numbers.

:func:`cnnlab.training.evaluation.evaluate` gives the test part, the engine adds how training
went. The data set's name, class names and input preparation are the run's own fields
(:class:`cnnlab.runs.records.Run`), written next to these in the same file.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from cnnlab.models import precision

REQUIRED = ("test_loss", "test_accuracy", "test_samples", "confusion_matrix",
            "per_class_accuracy")


@dataclass(frozen=True)
class Metrics:
    """A run's test results and how its training ended.

    Attributes:
        test_loss: mean cross-entropy on the test images (NaN without test images).
        test_accuracy: share of test images classified right, 0..1.
        test_samples: how many test images.
        confusion_matrix: ``[true][predicted]`` counts, one row per class.
        per_class_accuracy: per class, the share right; None for a class with no test image.
        misclassified_count: how many test images were classified wrong.
        train_samples, validation_samples: the split of the training images.
        epochs_completed: whole epochs trained.
        stopped: whether the run was stopped before its last epoch ended.
        stopped_at: ``{"epoch": e, "batch": b}`` where it stopped, or None.
        seconds: training's wall time.
        precision: what it trained in, ``float32`` or ``bfloat16``
            (:mod:`cnnlab.models.precision`); runs saved before it was recorded: float32.

    Example:
        >>> m = Metrics.from_dict({"test_loss": 0.1, "test_accuracy": 0.5, "test_samples": 2,
        ...                        "confusion_matrix": [[1, 0], [1, 0]],
        ...                        "per_class_accuracy": [1.0, 0.0], "dataset": "mnist-5k"})
        >>> m.test_accuracy, m.stopped
        (0.5, False)
    """

    test_loss: float
    test_accuracy: float
    test_samples: int
    confusion_matrix: list[list[int]]
    per_class_accuracy: list[float | None]
    misclassified_count: int = 0
    train_samples: int = 0
    validation_samples: int = 0
    epochs_completed: int = 0
    stopped: bool = False
    stopped_at: dict[str, int] | None = None
    seconds: float = 0.0
    precision: str = "float32"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``metrics.json``'s keys for these numbers)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Metrics:
        """Read the numbers from ``metrics.json``'s object; other keys are left alone.

        Raises ``ValueError`` naming a missing or malformed field.
        """
        if not isinstance(data, dict):
            raise ValueError(f"metrics must be a JSON object; received {type(data).__name__}")
        missing = [name for name in REQUIRED if name not in data]
        if missing:
            raise ValueError(f"metrics has no {missing[0]}; a run's metrics need "
                             f"{', '.join(REQUIRED)}")
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        try:
            for name in ("test_loss", "test_accuracy", "seconds"):
                if name in values:
                    values[name] = math.nan if values[name] is None else float(values[name])
            for name in ("test_samples", "misclassified_count", "train_samples",
                         "validation_samples", "epochs_completed"):
                if name in values:
                    values[name] = int(values[name])
            values["confusion_matrix"] = [[int(v) for v in row]
                                          for row in values["confusion_matrix"]]
            values["per_class_accuracy"] = [None if v is None else float(v)
                                            for v in values["per_class_accuracy"]]
            values["stopped"] = bool(values.get("stopped", False))
            precision.check_trained(values.get("precision", "float32"))
            at = values.get("stopped_at")
            values["stopped_at"] = None if at is None else {"epoch": int(at["epoch"]),
                                                             "batch": int(at["batch"])}
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"metrics holds a malformed value ({exc})") from None
        return cls(**values)


class MetricsView:
    """How a run ended, read from its ``metrics``: shared by a loaded run and a listed one."""

    metrics: Metrics

    @property
    def epochs_completed(self) -> int:
        """Whole epochs trained."""
        return self.metrics.epochs_completed

    @property
    def stopped(self) -> bool:
        """Whether the run was stopped before its last epoch ended."""
        return self.metrics.stopped

    @property
    def test_accuracy(self) -> float:
        """Accuracy on the data set's test split, 0..1."""
        return self.metrics.test_accuracy
