"""Test-set evaluation of a trained model: loss, accuracy, confusion matrix, mistakes."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from cnnlab.inspect import inference
from cnnlab.runs.records import Misclassified

MAX_MISCLASSIFIED = 100
EVAL_BATCH_SIZE = 500
TEST_METRICS = ("test_loss", "test_accuracy", "test_samples", "confusion_matrix",
                "per_class_accuracy", "misclassified_count")  # what evaluate() measures
_EPSILON = 1e-7  # Keras's clip for the cross-entropy of probabilities


def summarize_predictions(probabilities: np.ndarray, labels: np.ndarray, num_classes: int,
                          max_misclassified: int = MAX_MISCLASSIFIED,
                          ) -> tuple[dict[str, Any], tuple[Misclassified, ...]]:
    """Metrics from predicted probabilities and true labels (pure NumPy).

    Args:
        probabilities: ``(n, num_classes)``.
        labels: ``(n,)`` integer class indices.
        num_classes: the number of classes (the confusion matrix's size).
        max_misclassified: how many mistakes to keep, most confident first.
    Returns:
        ``(metrics, misclassified)``: metrics holds ``test_loss`` (mean cross-entropy),
        ``test_accuracy``, ``test_samples``, ``confusion_matrix`` (rows: true class, columns:
        predicted), ``per_class_accuracy`` (None for a class absent from the test set) and
        ``misclassified_count`` (all mistakes, not only those kept).

    Example:
        >>> metrics, wrong = summarize_predictions(np.array([[0.9, 0.1], [0.8, 0.2]]),
        ...                                        np.array([0, 1]), 2)
        >>> metrics["confusion_matrix"], wrong[0].index
        ([[1, 0], [1, 0]], 1)
    """
    labels = np.asarray(labels).astype(np.int64)
    n = len(labels)
    predicted = probabilities.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    true_probability = probabilities[np.arange(n), labels] if n else np.zeros(0)
    loss = float(-np.log(np.clip(true_probability, _EPSILON, 1.0)).mean()) if n else float("nan")
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    totals = confusion.sum(axis=1)
    per_class = [float(confusion[c, c] / totals[c]) if totals[c] else None
                 for c in range(num_classes)]
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]] if len(wrong) else np.zeros(0)
    order = wrong[np.argsort(-confidence, kind="stable")][:max_misclassified]
    misclassified = tuple(
        Misclassified(int(i), int(labels[i]), int(predicted[i]),
                      float(probabilities[i, predicted[i]]))
        for i in order
    )
    metrics = {
        "test_loss": loss,
        "test_accuracy": float((predicted == labels).mean()) if n else float("nan"),
        "test_samples": n,
        "confusion_matrix": confusion.tolist(),
        "per_class_accuracy": per_class,
        "misclassified_count": int(len(wrong)),
    }
    return metrics, misclassified


def evaluate(model: keras.Model, images: np.ndarray, labels: np.ndarray,
             max_misclassified: int = MAX_MISCLASSIFIED,
             ) -> tuple[dict[str, Any], tuple[Misclassified, ...]]:
    """Evaluate ``model`` on a test split: :func:`summarize_predictions` of one batched pass.

    Args:
        model: the trained model.
        images: the test images, uint8 ``(n, height, width, channels)``.
        labels: their class indices.
        max_misclassified: how many mistakes to keep.
    Returns:
        ``(metrics, misclassified)`` as :func:`summarize_predictions` describes.
    """
    probabilities = inference.predict_batch(model, images, EVAL_BATCH_SIZE)
    return summarize_predictions(probabilities, labels, int(model.output_shape[-1]),
                                 max_misclassified)
