"""What kind of pictures a data set holds: its class names, and how its images were made from
the originals, so that a drawing can be made the same way before a model sees it.

A run records its data set's preparation (``metrics.json``'s ``input_preparation``), and the
Draw page prepares a drawing by that record, never by the data set's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DIGITS = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")

MNIST_DIGITS = "mnist-digits"  # ink cropped, longest side scaled to 20 px, centred by mass
RESIZE = "resize"  # the whole picture scaled to fit (Fashion-MNIST's product photos)
PREPARATIONS = (MNIST_DIGITS, RESIZE)


def default_preparation(class_names: Sequence[str]) -> str:
    """How the images of a set with these classes were made, when nothing says so:
    Fashion-MNIST's classes mean :data:`RESIZE`, anything else :data:`MNIST_DIGITS`.

    Example:
        >>> default_preparation(DIGITS), default_preparation(FASHION_CLASSES)
        ('mnist-digits', 'resize')
    """
    return RESIZE if tuple(class_names) == FASHION_CLASSES else MNIST_DIGITS


def preparation_of(data: Any) -> str:
    """A data set's ``preparation``, or the default for its ``class_names`` when it is "";
    ValueError naming the data set if it is not one of :data:`PREPARATIONS`."""
    chosen = data.preparation or default_preparation(data.class_names)
    return checked_preparation(chosen, f"data set {data.name}")


def checked_preparation(preparation: object, where: str) -> str:
    """``preparation`` if it is one of :data:`PREPARATIONS`; else ValueError naming ``where``."""
    if preparation not in PREPARATIONS:
        raise ValueError(f"{where}: input_preparation must be one of {', '.join(PREPARATIONS)}; "
                         f"received {preparation!r}")
    return str(preparation)
