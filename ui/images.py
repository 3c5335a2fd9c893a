"""Small pictures shown inline, each with its alternative text and caption.

``st.image`` stores every picture as a media file that Streamlit deletes once a script run no
longer shows it; a run interrupted by the next click deletes the files of pictures the browser
is still showing (stale until the new run replaces them), which then answer 404 when the
browser loads them (a collapsed expander's pictures load when it opens). Thumbnails of a few
hundred bytes each are sent here as ``data:`` URIs inside the page's own HTML instead: nothing
to delete, nothing to 404. ``st.image`` also has no alternative text; here every picture says
what it shows, e.g. "test image 412: true 2, predicted 7". Captions and alternative text are
escaped: class names may come from users.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np
import streamlit as st
from PIL import Image

MAX_INLINE_BYTES = 64 * 1024  # one picture's PNG; larger ones belong in st.image


def data_uri(image: np.ndarray) -> str:
    """A uint8 ``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)`` image (or floats in 0..1) as a PNG
    ``data:`` URI."""
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255).round().astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", optimize=True)
    data = buffer.getvalue()
    if len(data) > MAX_INLINE_BYTES:
        raise ValueError(f"an inline picture must be at most {MAX_INLINE_BYTES:,} bytes as a PNG;"
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
        caption = "" if captions is None else (
            f'<figcaption style="font-size:0.8rem;line-height:1.2;overflow-wrap:anywhere">'
            f"{html.escape(captions[i])}</figcaption>")
        uri = data_uri(thumbnail(image, 2 * int(width)))
        cells.append(f'<figure style="margin:0;width:{int(width)}px;text-align:center">'
                     f'<img src="{uri}" alt="{html.escape(alts[i], quote=True)}" '
                     f'width="{int(width)}" style="image-rendering:pixelated;display:block;'
                     f'width:{int(width)}px;height:auto">{caption}</figure>')
    return ('<div style="display:flex;flex-wrap:wrap;gap:6px;align-items:flex-start">'
            + "".join(cells) + "</div>")


def grid(images: Sequence[np.ndarray], alts: Sequence[str],
         captions: Sequence[str] | None = None, width: int = 56) -> None:
    """Show small pictures inline, in a row that wraps (see :func:`grid_html`)."""
    st.html(grid_html(images, alts, captions, width))
