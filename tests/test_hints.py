"""The Train page's plain-language hints."""

from cnnlab.runs.records import Curve, EpochRecord
from cnnlab.training.hints import training_hints


def record(epoch, loss, acc, val_loss, val_acc):
    return EpochRecord(epoch, loss, acc, val_loss, val_acc, 1.0, 10)


def curve(losses):
    return Curve(tuple(range(1, len(losses) + 1)), tuple(losses), tuple(0.5 for _ in losses))


def test_healthy_run_has_no_hints():
    history = [record(1, 0.5, 0.85, 0.3, 0.9), record(2, 0.2, 0.94, 0.18, 0.94)]
    assert training_hints(history, curve([1.0 - i / 30 for i in range(24)]), 1e-3) == []


def test_nan_loss_blames_the_learning_rate():
    hints = training_hints([], curve([2.3, float("nan")]), 0.5)
    assert hints == ["The loss became NaN (not a number): learning rate 0.5 is far too high; "
                     "try 0.05."]


def test_rising_loss():
    hints = training_hints([], curve([1.0 + i / 10 for i in range(24)]), 0.1)
    assert len(hints) == 1 and "rising" in hints[0] and "try 0.01" in hints[0]


def test_overfitting():
    history = [record(1, 0.3, 0.9, 0.3, 0.9), record(2, 0.1, 0.97, 0.35, 0.9),
               record(3, 0.05, 0.99, 0.4, 0.9)]
    hints = training_hints(history, curve([0.3, 0.2, 0.1]), 1e-3)
    assert len(hints) == 1
    assert hints[0].startswith("Training accuracy (99.0%) is well above validation accuracy "
                               "(90.0%)") and "dropout" in hints[0]
