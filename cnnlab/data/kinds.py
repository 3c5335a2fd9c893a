"""What kind of pictures a data set holds: its class names, and how its images were made from
the originals, so that a drawing can be made the same way before a model sees it.

A run records its inputs (``metrics.json``'s ``input``: height, width, colour and preparation,
see :class:`InputFormat`; ``input_preparation`` too, for older readers), and every page and
``cnnlab predict`` prepare an image by that record, never by the data set's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DIGITS = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")

MNIST_DIGITS = "mnist-digits"  # ink cropped, longest side scaled to 20 px, centred by mass
RESIZE = "resize"  # the whole picture scaled to fit (Fashion-MNIST's product photos)
PREPARATIONS = (MNIST_DIGITS, RESIZE)
GREY, RGB = "grey", "rgb"
COLOURS = (GREY, RGB)
CHANNELS = {GREY: 1, RGB: 3}


def default_preparation(class_names: Sequence[str]) -> str:
    """How the images of a set with these classes were made, when nothing says so:
    Fashion-MNIST's classes mean :data:`RESIZE`, anything else :data:`MNIST_DIGITS`.

    Example:
        >>> default_preparation(DIGITS), default_preparation(FASHION_CLASSES)
        ('mnist-digits', 'resize')
    """
    return RESIZE if tuple(class_names) == FASHION_CLASSES else MNIST_DIGITS


def preparation_of(data: Any) -> str:
    """A data set's ``preparation``, or when it is "" the default: :data:`RESIZE` for colour
    images, else the default for its ``class_names``;
    ValueError naming the data set if it is not one of :data:`PREPARATIONS`."""
    shape = np.shape(data.x_train)
    colour = len(shape) == 4 and shape[3] == 3
    chosen = data.preparation or (RESIZE if colour else default_preparation(data.class_names))
    return checked_preparation(chosen, f"data set {data.name}")


def checked_preparation(preparation: object, where: str) -> str:
    """``preparation`` if it is one of :data:`PREPARATIONS`; else ValueError naming ``where``."""
    if preparation not in PREPARATIONS:
        raise ValueError(f"{where}: input_preparation must be one of {', '.join(PREPARATIONS)}; "
                         f"received {preparation!r}")
    return str(preparation)


@dataclass(frozen=True)
class InputFormat:
    """How a run's input images are made: ``height`` × ``width`` pixels, ``colour`` (grey or
    rgb) and ``preparation`` (MNIST-style centring or a plain resize). A run saved before this
    was recorded is 28×28 grey.

    Example:
        >>> InputFormat.from_shape((32, 32, 3), RESIZE).describe()
        '32×32 colour (rgb), plain resize'
    """

    height: int = 28
    width: int = 28
    colour: str = GREY
    preparation: str = MNIST_DIGITS

    def __post_init__(self) -> None:
        for field in ("height", "width"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"input {field} must be a whole number of pixels, at least 1; "
                                 f"received {value!r}")
        if self.colour not in COLOURS:
            raise ValueError(f"input colour must be one of {', '.join(COLOURS)}; received "
                             f"{self.colour!r}")
        checked_preparation(self.preparation, "input")

    @classmethod
    def from_shape(cls, shape: Sequence[int], preparation: str = MNIST_DIGITS) -> InputFormat:
        """The format of ``(height, width, channels)`` images; ValueError for 2 or 4+ channels."""
        height, width, channels = (int(v) for v in shape)
        if channels not in (1, 3):
            raise ValueError(f"input images must have 1 (grey) or 3 (rgb) channels; received "
                             f"shape {tuple(shape)}")
        return cls(height, width, GREY if channels == 1 else RGB, preparation)

    @property
    def channels(self) -> int:
        """1 for grey, 3 for rgb."""
        return CHANNELS[self.colour]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)``, the model's input shape."""
        return self.height, self.width, self.channels

    @property
    def drawable(self) -> bool:
        """True when a drawing (grey ink) can be prepared for it: grey images only."""
        return self.colour == GREY

    def to_dict(self) -> dict[str, Any]:
        """The record written to a run's ``metrics.json`` as ``input``."""
        return {"height": self.height, "width": self.width, "colour": self.colour,
                "preparation": self.preparation}

    def describe(self) -> str:
        """E.g. ``28×28 grey, MNIST-style centring``."""
        colour = "colour (rgb)" if self.colour == RGB else "grey"
        how = "MNIST-style centring" if self.preparation == MNIST_DIGITS else "plain resize"
        return f"{self.height}×{self.width} {colour}, {how}"


def input_format(run: Any) -> InputFormat:
    """A run's :class:`InputFormat`: its model's input shape and its ``input_preparation``
    (checked against the run's ``input`` record when it was loaded)."""
    shape = run.architecture.input_shape or (28, 28, 1)
    return InputFormat.from_shape(shape, run.input_preparation)
