"""Grids of numbers as small HTML tables, and arrays as colour images, for the Learn page.

Pure string and numpy work (no Streamlit): the page passes the result to ``st.markdown``
or ``st.image``. Padding cells are grey, the window is outlined, the output cell being
computed and the max cell are highlighted.
"""

from __future__ import annotations

import html

import numpy as np

from cnnlab.learn.conv_steps import fmt
from cnnlab.views import colours

OUTLINE = "#d84315"
_TABLE = "border-collapse:collapse;margin:0.2em 0 0.6em 0;font-family:monospace;font-size:0.85em"
_CELL = ("width:{w}em;min-width:{w}em;height:{h}em;text-align:center;border:1px solid #c8c8c8;"
         "padding:0;color:#222")
COMPACT_FROM = 9  # columns; wider grids get smaller cells so three fit side by side
_INDEX = "text-align:center;color:#999;font-size:0.8em;padding:0 0.3em;border:none"
_COLOURS = {
    "real": "background:#ffffff",
    "pad": "background:#dcdcdc;color:#777",
    "window": "background:#fff1a8",
    "window_pad": "background:#d9cf8f;color:#555",
    "winner": "background:#ff9e80;font-weight:bold",
    "current": "background:#ffd54f;font-weight:bold",
    "done": "background:#e8f5e9",
    "kernel": "background:#e3f2fd",
}


def grid_table(values: np.ndarray, *, real: np.ndarray | None = None,
               window: tuple[int, int, int, int] | None = None,
               winner: tuple[int, int] | None = None, current: tuple[int, int] | None = None,
               base: str = "real", numbered: bool = True) -> str:
    """One grid as a one-line HTML table (one line, so Markdown leaves it alone).

    Args:
        values: (rows, cols) numbers; NaN cells are shown blank (not computed, or padding
            that pooling ignores).
        real: bool mask, False on padding cells (grey); None means every cell is real.
        window: (top, left, height, width) of the window to outline and highlight.
        winner: (row, col) of the cell that wins a max, highlighted.
        current: (row, col) of the output cell being computed, highlighted.
        base: colour of ordinary non-blank cells: "real", "kernel" or "done".
        numbered: show 1-based column and row numbers around the grid.

    Returns:
        The HTML text.

    Example:
        >>> grid_table(np.zeros((1, 1)), numbered=False).count("<td")
        1
    """
    values = np.asarray(values, dtype=float)
    rows, cols = values.shape
    real = np.ones(values.shape, dtype=bool) if real is None else real
    compact = cols >= COMPACT_FROM
    cell = _CELL.format(w=1.75, h=1.7) if compact else _CELL.format(w=2.2, h=2)
    size = ";font-size:0.75em" if compact else ""
    parts = [f'<div style="overflow-x:auto"><table style="{_TABLE}{size}">']
    if numbered:
        heads = "".join(f'<td style="{_INDEX}">{c + 1}</td>' for c in range(cols))
        parts.append(f'<tr><td style="{_INDEX}"></td>{heads}</tr>')
    for r in range(rows):
        parts.append("<tr>")
        if numbered:
            parts.append(f'<td style="{_INDEX}">{r + 1}</td>')
        for c in range(cols):
            blank = np.isnan(values[r, c])
            colour = _cell_colour(r, c, real[r, c], window, winner, current,
                                  "real" if blank else base)
            style = cell + ";" + colour
            style += _outline(r, c, window)
            text = "" if blank else html.escape(fmt(values[r, c]))
            parts.append(f'<td style="{style}">{text}</td>')
        parts.append("</tr>")
    parts.append("</table></div>")
    return "".join(parts)


def grid_width(cols: int, numbered: bool = True) -> float:
    """About how wide ``grid_table`` draws a grid of ``cols`` columns, in em (for layouts)."""
    cell = 1.75 * 0.75 if cols >= COMPACT_FROM else 2.2
    return (cols + numbered) * cell + 0.5


def _inside(r: int, c: int, window: tuple[int, int, int, int] | None) -> bool:
    if window is None:
        return False
    top, left, height, width = window
    return top <= r < top + height and left <= c < left + width


def _cell_colour(r: int, c: int, is_real: bool, window, winner, current, base: str) -> str:
    if (r, c) == current:
        return _COLOURS["current"]
    if (r, c) == winner:
        return _COLOURS["winner"]
    if _inside(r, c, window):
        return _COLOURS["window" if is_real else "window_pad"]
    return _COLOURS[base if is_real else "pad"]


def _outline(r: int, c: int, window: tuple[int, int, int, int] | None) -> str:
    """Thick borders on the window's outer edge, so it reads as one frame."""
    if not _inside(r, c, window):
        return ""
    top, left, height, width = window
    edge = f"3px solid {OUTLINE}"
    sides = {"top": r == top, "bottom": r == top + height - 1,
             "left": c == left, "right": c == left + width - 1}
    return "".join(f";border-{side}:{edge}" for side, on in sides.items() if on)


def output_table(values: np.ndarray, current: tuple[int, int] | None) -> str:
    """The output grid: computed cells tinted, the current one highlighted, the rest blank."""
    return grid_table(values, current=current, base="done")


def heat_image(values: np.ndarray, vmax: float | None = None, diverging: bool = True,
               width: int = 224) -> np.ndarray:
    """An array as an RGB picture, each value a crisp square block about ``width`` px wide.

    Args:
        values: (h, w) numbers.
        vmax: the value shown at full colour; default the largest |value| (1 if all zero).
        diverging: blue for negative, white for zero, red for positive (centred at zero);
            otherwise grey from black (0) to white (vmax).
        width: the picture's approximate width in pixels.

    Returns:
        uint8 array (h·scale, w·scale, 3).
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return np.zeros((1, 1, 3), dtype=np.uint8)
    top = vmax if vmax else float(np.abs(values).max()) or 1.0
    if diverging:
        rgb = colours.colorize(values, -top, top, "RdBu_r")
    else:
        rgb = colours.colorize(values, 0.0, top, "gray")
    scale = max(1, width // max(values.shape))
    return rgb.repeat(scale, axis=0).repeat(scale, axis=1)  # (h·scale, w·scale, 3)
