"""Prepare an uploaded image or a drawing for one run, by the run's input record
(:class:`cnnlab.data.kinds.InputFormat`: height, width, grey or rgb, preparation).

- A grey run of any size: the MNIST recipe scaled to its size, or a plain resize of the whole
  picture (:mod:`cnnlab.inspect.preprocess`); a colour image is converted to grey (luma).
- A colour (rgb) run: the whole picture resized to the run's H×W, colours kept (a grey file
  gives three equal channels, transparency becomes white). The resize stretches, as Keras's
  ``image_dataset_from_directory`` does by default: area-averaged when shrinking.
- A drawing on the canvas is grey ink: a colour run refuses it with :data:`CANVAS_REFUSAL`,
  which offers the image upload instead.

Explaining or attacking an image (:func:`prepare_to_explain`, ``cnnlab explain`` and
``cnnlab attack``) is stricter than predicting: it refuses an image the preparation cannot make
into the run's input without inventing or discarding what the learner gave it:

- a colour image for a grey run (its colours would be thrown away; a grey image for a colour
  run is fine: three equal channels lose nothing);
- for a run whose images were simply resized, an image smaller than its input on either side
  (it would be enlarged, every pixel invented); the MNIST recipe scales any drawing's ink to
  20 px anyway, so there any size works;
- a blank image (nothing drawn: nothing to explain).

An image that already *is* the run's input (what ``cnnlab attack`` writes, or an MNIST test
image) is taken as it is with ``as_given``: it must then have exactly the run's size and
colour.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from cnnlab.data import kinds
from cnnlab.inspect import preprocess
from cnnlab.inspect.pixels import MAX_FILE_BYTES, ImageError, read_colour_bytes
from cnnlab.inspect.preprocess import Placement, Preprocessed

COLOUR_TITLES = ("as uploaded", "resized to {height}×{width}")
AS_GIVEN = "as given"  # the one step of an image taken as the run's input as it is
# an image is in colour when its channels differ by more than this many levels (JPEG noise on a
# grey picture stays below it)...
COLOUR_LEVELS = 24
COLOUR_SHARE = 0.01  # ...on more than this share of its pixels


class CanvasRefused(ImageError):
    """A drawing cannot feed this run (it takes colour images); the message offers the upload."""


def canvas_refusal(fmt: kinds.InputFormat) -> str:
    """Why the canvas cannot feed a run of format ``fmt``, and what works instead."""
    return (f"This network takes {fmt.height}×{fmt.width} colour images; a drawing on the "
            "canvas is grey "
            "ink, so it cannot feed it. Upload a colour image (PNG or JPEG) instead: it is "
            f"resized to {fmt.height}×{fmt.width} with its colours kept.")


def drawing_subject(class_names: tuple[str, ...] | list[str]) -> str:
    """What to draw for a model that knows ``class_names``, in words to follow "Draw": "a
    digit" for the ten digits, else its classes (plain text: the page escapes it).

    Example:
        >>> drawing_subject(kinds.DIGITS), drawing_subject(("circle", "cross", "line"))
        ('a digit', 'one of its classes: circle, cross or line')
    """
    names = tuple(class_names)
    if names == kinds.DIGITS:
        return "a digit"
    listed = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    return f"one of its classes: {listed}"


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


def in_colour(rgb: np.ndarray) -> bool:
    """Whether an (h, w, 3) uint8 image holds colour, not only grey.

    Example:
        >>> grey = np.full((4, 4, 3), 90, np.uint8)
        >>> in_colour(grey), in_colour(grey + np.array([0, 0, 60], np.uint8))
        (False, True)
    """
    spread = rgb.max(axis=-1).astype(np.int16) - rgb.min(axis=-1)
    return float(np.mean(spread > COLOUR_LEVELS)) > COLOUR_SHARE


def as_given(data: bytes, fmt: kinds.InputFormat, max_bytes: int = MAX_FILE_BYTES) -> Preprocessed:
    """An image file that already is the run's input, taken as it is (no cropping, scaling or
    centring): exactly ``fmt.height`` × ``fmt.width``, grey for a grey run.

    Raises:
        ImageError: for an unreadable file, another size, or a colour image for a grey run.
    """
    rgb = read_colour_bytes(data, max_bytes)
    h, w = rgb.shape[:2]
    if (h, w) != (fmt.height, fmt.width):
        raise ImageError(f"an image taken as it is must be exactly the run's input, "
                         f"{fmt.height}×{fmt.width}; received {h}×{w} (leave out --prepared to "
                         f"prepare it the way the run's training images were)")
    _check_colour(rgb, fmt)
    final = (rgb if fmt.colour == kinds.RGB else rgb[..., 0]).astype(np.float32) / np.float32(255)
    final.flags.writeable = False
    return Preprocessed(steps=((AS_GIVEN, final),), image=final, blank=False,
                        placement=Placement(0, 0, 1.0, 1.0, 0, 0))


def prepare_to_explain(data: bytes, fmt: kinds.InputFormat, given: bool = False,
                       max_bytes: int = MAX_FILE_BYTES) -> Preprocessed:
    """An image file prepared for explaining or attacking on a run of format ``fmt``: as
    :func:`prepare_upload`, refusing what the preparation cannot make into the run's input
    (see the module's docstring); with ``given``, taken as it is (:func:`as_given`).

    Raises:
        ImageError: the message says what is wrong with the image and what works.
    """
    if given:
        return as_given(data, fmt, max_bytes)
    rgb = read_colour_bytes(data, max_bytes)
    _check_colour(rgb, fmt)
    h, w = rgb.shape[:2]
    if fmt.preparation == kinds.RESIZE and (h < fmt.height or w < fmt.width):
        raise ImageError(f"the image is {h}×{w}, smaller than this run's {fmt.height}×"
                         f"{fmt.width} input: resizing would enlarge it and invent its pixels; "
                         f"use an image at least {fmt.height}×{fmt.width}")
    prepared = prepare_upload(data, fmt, max_bytes)
    if prepared.blank:
        raise ImageError(f"nothing to explain: {prepared.note}")
    return prepared


def _check_colour(rgb: np.ndarray, fmt: kinds.InputFormat) -> None:
    if fmt.colour == kinds.GREY and in_colour(rgb):
        raise ImageError(f"this run takes {fmt.height}×{fmt.width} grey images and the image "
                         f"is in colour; its colours would be thrown away: convert it to grey "
                         f"first, or use a run trained on colour images")
