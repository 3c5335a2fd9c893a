"""Prepare an uploaded image or a drawing for one run, by the run's input record
(:class:`cnnlab.data.kinds.InputFormat`: height, width, grey or rgb, preparation).

- A grey run of any size: the MNIST recipe scaled to its size, or a plain resize of the whole
  picture (:mod:`cnnlab.inspect.preprocess`); a colour image is converted to grey (luma).
- A colour (rgb) run: the whole picture resized to the run's H×W, colours kept (a grey file
  gives three equal channels, transparency becomes white). The resize stretches, as Keras's
  ``image_dataset_from_directory`` does by default: area-averaged when shrinking.
- A drawing on the canvas is grey ink: a colour run refuses it with :data:`CANVAS_REFUSAL`,
  which offers the image upload instead.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from cnnlab.data import kinds
from cnnlab.inspect import preprocess
from cnnlab.inspect.pixels import MAX_FILE_BYTES, ImageError, read_colour_bytes
from cnnlab.inspect.prepared import Placement, Preprocessed

COLOUR_TITLES = ("as uploaded", "resized to {height}×{width}")


class CanvasRefused(ImageError):
    """A drawing cannot feed this run (it takes colour images); the message offers the upload."""


def canvas_refusal(fmt: kinds.InputFormat) -> str:
    """Why the canvas cannot feed a run of format ``fmt``, and what works instead."""
    return (f"This network takes {fmt.height}×{fmt.width} colour images; a drawing on the "
            "canvas is grey "
            "ink, so it cannot feed it. Upload a colour image (PNG or JPEG) instead: it is "
            f"resized to {fmt.height}×{fmt.width} with its colours kept.")


def prepare_upload(data: bytes, fmt: kinds.InputFormat,
                   max_bytes: int = MAX_FILE_BYTES) -> Preprocessed:
    """An image file's bytes prepared as the run's training images were.

    Args:
        data: a PNG or JPEG file's bytes, grey or colour.
        fmt: the run's input format (:func:`cnnlab.data.kinds.input_format`).
        max_bytes: the largest file accepted.
    Returns:
        The steps and the final ``(height, width)`` grey or ``(height, width, 3)`` image.
    Raises:
        ImageError: an unreadable, oversized or too large file (the message says which).

    Example:
        >>> fmt = kinds.InputFormat(32, 32, kinds.RGB, kinds.RESIZE)
        >>> prepare_upload(open("cat.png", "rb").read(), fmt).model_input().shape  # doctest: +SKIP
        (1, 32, 32, 3)
    """
    if fmt.colour == kinds.RGB:
        return colour_resized(read_colour_bytes(data, max_bytes), fmt)
    return preprocess.preprocess_image_bytes(data, max_bytes, fmt.preparation,
                                             (fmt.height, fmt.width))


def prepare_canvas(rgba: np.ndarray, fmt: kinds.InputFormat) -> Preprocessed:
    """A canvas drawing prepared for a grey run of any size.

    Raises:
        CanvasRefused: the run takes colour images (the message offers the upload).
        ImageError: as :func:`cnnlab.inspect.preprocess.preprocess_canvas`.
    """
    if not fmt.drawable:
        raise CanvasRefused(canvas_refusal(fmt))
    return preprocess.preprocess_canvas(rgba, fmt.preparation, (fmt.height, fmt.width))


def colour_resized(rgb: np.ndarray, fmt: kinds.InputFormat) -> Preprocessed:
    """``rgb`` (uint8 (h, w, 3)) resized to the run's size, colours kept; steps in 0..1.

    Example:
        >>> fmt = kinds.InputFormat(8, 8, kinds.RGB, kinds.RESIZE)
        >>> colour_resized(np.zeros((40, 20, 3), np.uint8), fmt).as_uint8().shape
        (8, 8, 3)
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or 0 in rgb.shape:
        raise ImageError(f"a colour image must be uint8 shaped (height, width, 3); received "
                         f"{rgb.dtype} shaped {rgb.shape}")
    h, w = rgb.shape[:2]
    resized = np.asarray(Image.fromarray(rgb).resize((fmt.width, fmt.height),
                                                     Image.Resampling.BILINEAR))
    original = rgb.astype(np.float32) / np.float32(255)
    final = resized.astype(np.float32) / np.float32(255)  # as_uint8 gives `resized` back
    for image in (original, final):
        image.flags.writeable = False
    titles = (COLOUR_TITLES[0], COLOUR_TITLES[1].format(height=fmt.height, width=fmt.width))
    return Preprocessed(steps=((titles[0], original), (titles[1], final)), image=final,
                        blank=False, placement=Placement(0, 0, fmt.height / h, fmt.width / w,
                                                         0, 0))
