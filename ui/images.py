"""Small pictures shown inline, each with its alternative text and caption.

``st.image`` stores every picture as a media file that Streamlit deletes once a script run no
longer shows it; a run interrupted by the next click deletes the files of pictures the browser
is still showing (stale until the new run replaces them), which then answer 404 when the
browser loads them (a collapsed expander's pictures load when it opens). Thumbnails of a few
hundred bytes each are sent here as ``data:`` URIs inside the page's own HTML instead: nothing
to delete, nothing to 404. ``st.image`` also has no alternative text; here every picture says
what it shows, e.g. "test image 412: true 2, predicted 7". Captions and alternative text are
escaped: class names may come from users.

:func:`picture` shows one larger picture (a layer's feature maps, a heat map) the same way
while its PNG is at most :data:`MAX_INLINE_BYTES` (every picture of the built-in networks is:
a 64-channel layer's grid is about 20 kB); a larger one, e.g. a 512-filter layer's, goes to
``st.image`` with the same alternative text (``alt=``) and caption, where it could still 404 if
a rerun interrupts the browser's request: rare, and it reloads with the next rerun.

The HTML uses Streamlit's own test ids for a picture (``stImage``, ``stImageContainer``,
``stImageCaption``), so the page styles (:mod:`ui.layout`'s presentation mode), the browser
tests and ``bench/harness.py`` find a page's pictures one way, however they were sent.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np
import streamlit as st
from PIL import Image

from ui import text

MAX_INLINE_BYTES = 64 * 1024  # one picture's PNG; larger ones belong in st.image
CAPTION_CLASS = "cnnlab-caption"  # presentation mode enlarges these (ui/layout.py)


class TooLarge(ValueError):
    """A picture whose PNG is over :data:`MAX_INLINE_BYTES`."""


def uint8(image: np.ndarray) -> np.ndarray:
    """A uint8 ``(h, w)`` or ``(h, w, 3)`` array of an image given as uint8, or floats in 0..1,
    of shape ``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)``."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    return array


def data_uri(image: np.ndarray) -> str:
    """A uint8 ``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)`` image (or floats in 0..1) as a PNG
    ``data:`` URI. Raises :class:`TooLarge` past :data:`MAX_INLINE_BYTES`."""
    buffer = io.BytesIO()
    Image.fromarray(uint8(image)).save(buffer, "PNG", optimize=True)
    data = buffer.getvalue()
    if len(data) > MAX_INLINE_BYTES:
        raise TooLarge(f"an inline picture must be at most {MAX_INLINE_BYTES:,} bytes as a PNG;"
                       f" this one is {len(data):,}: show it with st.image")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def thumbnail(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` shrunk (bilinear) to at most ``side`` pixels a side, its shape kept; a
    smaller one as it is. A data set's images may be up to 512 px a side: their PNG, shown
    a few dozen pixels wide, would pass :data:`MAX_INLINE_BYTES`."""
    array = np.asarray(image)
    height, width = array.shape[:2]
    if max(height, width) <= side:
        return array
    scale = side / max(height, width)
    small = Image.fromarray(array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array)
    small = small.resize((max(1, round(width * scale)), max(1, round(height * scale))),
                         Image.Resampling.BILINEAR)
    return np.asarray(small)


def grid_html(images: Sequence[np.ndarray], alts: Sequence[str],
              captions: Sequence[str] | None = None, width: int = 56) -> str:
    """The HTML of a wrapping row of pictures, each ``width`` px wide (pixels kept sharp), each
    sent at most twice that size (:func:`thumbnail`)."""
    if len(alts) != len(images) or (captions is not None and len(captions) != len(images)):
        raise ValueError(f"one alternative text (and caption) per picture: {len(images)} "
                         f"pictures, {len(alts)} texts, "
                         f"{'no' if captions is None else len(captions)} captions")
    cells = []
    for i, image in enumerate(images):
        # A cell is as wide as its picture, or its caption on one line, up to three pictures
        # wide; then the caption wraps between words (a word breaks only if it is longer).
        caption = "" if captions is None else (
            f'<figcaption class="{CAPTION_CLASS}" data-testid="stImageCaption" '
            f'style="font-size:0.8rem;line-height:1.2;overflow-wrap:break-word">'
            f"{html.escape(captions[i])}</figcaption>")
        uri = data_uri(thumbnail(uint8(image), 2 * int(width)))
        cells.append(f'<figure data-testid="stImageContainer" style="margin:0;'
                     f'min-width:{int(width)}px;width:max-content;'
                     f'max-width:{3 * int(width)}px;text-align:center">'
                     f'<img src="{uri}" alt="{_alt(alts[i])}" '
                     f'width="{int(width)}" style="image-rendering:pixelated;display:block;'
                     f'margin:0 auto;width:{int(width)}px;height:auto">{caption}</figure>')
    return ('<div data-testid="stImage" style="display:flex;flex-wrap:wrap;gap:6px;'
            'align-items:flex-start">' + "".join(cells) + "</div>")


def grid(images: Sequence[np.ndarray], alts: Sequence[str],
         captions: Sequence[str] | None = None, width: int = 56) -> None:
    """Show small pictures inline, in a row that wraps (see :func:`grid_html`)."""
    st.html(grid_html(images, alts, captions, width))


def alt_text(alt: str) -> str:
    """``alt`` on one line; an empty one refused (every picture here means something: a
    decorative picture does not belong in these functions)."""
    if not str(alt).strip():
        raise ValueError("every picture needs its alternative text: received an empty one")
    return " ".join(str(alt).split())


def _alt(alt: str) -> str:
    """:func:`alt_text`, escaped for an HTML attribute."""
    return html.escape(alt_text(alt), quote=True)


def picture_html(image: np.ndarray, alt: str, caption: str | None = None,
                 width: int | None = None) -> str:
    """The HTML of one picture shown ``width`` px wide (default: its own width; never wider
    than its column), pixels kept sharp, with its caption below. Raises :class:`TooLarge`
    for a picture whose PNG is over :data:`MAX_INLINE_BYTES`."""
    array = uint8(image)
    shown = int(width) if width is not None else array.shape[1]
    uri = data_uri(array)
    below = "" if caption is None else (
        f'<figcaption data-testid="stImageCaption" style="overflow-wrap:anywhere">'
        f"{html.escape(caption)}</figcaption>")  # its size: ui/layout.py's page styles
    return (f'<div data-testid="stImage" style="width:fit-content;max-width:100%">'  # hugs it
            f'<figure data-testid="stImageContainer" '
            f'style="margin:0;max-width:100%;width:{shown}px">'
            f'<img src="{uri}" alt="{_alt(alt)}" width="{shown}" style="display:block;'
            f'max-width:100%;height:auto;image-rendering:pixelated">{below}</figure></div>')


def picture(image: np.ndarray, alt: str, caption: str | None = None,
            width: int | None = None) -> None:
    """Show one picture inline (see :func:`picture_html`) with its alternative text and plain
    ``caption`` (escaped here: it may hold class names); one too large to send inline goes to
    ``st.image`` with the same alternative text and caption."""
    try:
        st.html(picture_html(image, alt, caption, width))
    except TooLarge:
        st.image(uint8(image), caption=None if caption is None else text.md(caption),
                 width="content" if width is None else int(width), alt=alt_text(alt))
