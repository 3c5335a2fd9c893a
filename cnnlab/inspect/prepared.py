"""What preprocessing a drawing or an image gives (see :mod:`cnnlab.inspect.preprocess`):
every step and the final image (28×28 grey by default; any H×W, grey or colour, for a run of
another input format), as uint8 like an MNIST image or as a one-image batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from cnnlab.inspect.pixels import ImageError


@dataclass(frozen=True)
class Placement:
    """Where the "as drawn" image went in the final 28×28 field, for mapping a region back.

    The drawing's rows ``crop_top..`` and columns ``crop_left..`` (the ink's box; 0 for a
    whole picture) were scaled by ``scale_y`` / ``scale_x`` and placed with their top-left
    corner at final pixel ``(offset_top, offset_left)``: final ``y`` ↔ drawing
    ``crop_top + (y − offset_top) / scale_y`` (pixel edges, not centres).
    """

    crop_top: int
    crop_left: int
    scale_y: float
    scale_x: float
    offset_top: int
    offset_left: int


@dataclass(frozen=True, eq=False)
class Preprocessed:
    """The result of preprocessing one drawing or image: every step and the final image.

    Attributes:
        steps: ``(title, image)`` pairs in order, titles from
            :data:`cnnlab.inspect.preprocess.STEP_TITLES`; each image
            is read-only float32 in 0..1 with ink = 1. Only ``"as drawn"`` when ``blank``.
        image: the final read-only float32 image in 0..1, ``(height, width)`` grey (its
            brightest pixel is 1) or ``(height, width, 3)`` colour, or None when ``blank``.
        blank: True when nothing was drawn (no ink, or only a speck): do not predict.
        note: why the drawing counts as blank, "" otherwise.
        placement: how the ``"as drawn"`` image maps into the final one (None when
            ``blank``); :func:`cnnlab.inspect.receptive.to_drawing` uses it.

    The project's models take uint8-range pixels and scale them themselves (their first layer
    is ``Rescaling(1/255)``), so :meth:`model_input` gives 0..255 values by default.
    """

    steps: tuple[tuple[str, np.ndarray], ...]
    image: np.ndarray | None
    blank: bool
    note: str = ""
    placement: Placement | None = None

    def as_uint8(self) -> np.ndarray:
        """The final image as uint8 in 0..255, like an MNIST image: (28, 28) by default,
        ``(height, width)`` or ``(height, width, 3)`` for other runs.

        Returns:
            A new uint8 array.

        Raises:
            ImageError: when ``blank`` (there is no image).

        Example:
            >>> prepared.as_uint8().shape  # doctest: +SKIP
            (28, 28)
        """
        image = self._final()
        return np.round(image * 255.0).astype(np.uint8)

    def model_input(self, scale: Literal["uint8", "unit"] = "uint8") -> np.ndarray:
        """The final image as a one-image batch, float32 ``(1, height, width, channels)``:
        (1, 28, 28, 1) by default.

        Args:
            scale: ``"uint8"`` (default) for values 0..255 — exactly :meth:`as_uint8` as
                float32, what this project's models (``Rescaling(1/255)`` first) are trained
                on; ``"unit"`` for the unquantised 0..1 values, for a model without rescaling.

        Returns:
            A new float32 array, ``(1, height, width, channels)``.

        Raises:
            ImageError: when ``blank``. ValueError: for another ``scale``.

        Example:
            >>> predictor.probabilities(prepared.model_input())  # doctest: +SKIP
        """
        if scale == "uint8":
            values = self.as_uint8().astype(np.float32)
        elif scale == "unit":
            values = self._final().astype(np.float32, copy=True)
        else:
            raise ValueError(f'scale must be "uint8" or "unit"; received {scale!r}')
        if values.ndim == 2:  # grey: add the channel axis
            values = values[..., None]
        return values[None]  # (1, height, width, channels)

    def _final(self) -> np.ndarray:
        if self.image is None:
            raise ImageError(f"nothing to feed the model: {self.note or 'nothing drawn'}")
        return self.image

    def __repr__(self) -> str:
        titles = [title for title, _ in self.steps]
        shape = None if self.image is None else self.image.shape
        return (f"Preprocessed(blank={self.blank}, image={shape}, steps={titles}, "
                f"note={self.note!r})")
