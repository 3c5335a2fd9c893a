"""The classic LeNet-style network figure as SVG: one block per layer, sized by its output."""

from __future__ import annotations

import html
import math

from cnnlab.architecture import layer_types, shapes

LARGEST_BLOCK_SIDE = 90  # pixels for the largest spatial map
PLANE_HEIGHT = 115


def _block(x: float, shape: tuple[int, ...], colour: str, largest: int) -> tuple[str, float, float]:
    """SVG of one block at ``x``; returns (svg, width, height)."""
    if len(shape) == 3:
        h, w, c = shape
        side_h = max(8.0, LARGEST_BLOCK_SIDE * math.sqrt(h / largest))
        side_w = max(8.0, LARGEST_BLOCK_SIDE * math.sqrt(w / largest))
        depth = 6 + 10 * math.log2(c + 1)  # channels: the block's thickness
        skew = side_w * 0.35
        top = (PLANE_HEIGHT - side_h) / 2
        pts_front = [(x, top + skew), (x + depth, top + skew), (x + depth, top + skew + side_h),
                     (x, top + skew + side_h)]
        pts_top = [(x, top + skew), (x + skew, top), (x + skew + depth, top),
                   (x + depth, top + skew)]
        pts_side = [(x + depth, top + skew), (x + skew + depth, top),
                    (x + skew + depth, top + side_h), (x + depth, top + skew + side_h)]

        def poly(points, shade):
            text = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            return (f'<polygon points="{text}" fill="{colour}" fill-opacity="{shade}" '
                    f'stroke="#37474f" stroke-width="0.8"/>')

        svg = poly(pts_side, 0.55) + poly(pts_top, 0.75) + poly(pts_front, 1.0)
        return svg, depth + skew, side_h + skew
    n = shape[0]
    height = min(PLANE_HEIGHT + 30, 20 + 22 * math.log2(n + 1))
    top = (PLANE_HEIGHT + 30 - height) / 2
    svg = (f'<rect x="{x:.1f}" y="{top:.1f}" width="14" height="{height:.1f}" fill="{colour}" '
           f'stroke="#37474f" stroke-width="0.8" rx="2"/>')
    return svg, 14.0, height


RGB_PLANES = ("#e53935", "#43a047", "#1e88e5")  # a colour input: one plane per channel
PLANE_GAP = 5.0


def _input_block(x: float, shape: tuple[int, ...], largest: int) -> tuple[str, float, float]:
    """The input at its real size: one grey block, or a colour input's red, green and blue
    planes one behind the other; returns (svg, width, height)."""
    if len(shape) != 3 or shape[2] != 3:
        return _block(x, shape, layer_types.INPUT_COLOUR, largest)
    parts, width, height = [], 0.0, 0.0
    for i, colour in enumerate(RGB_PLANES):
        svg, width, height = _block(x + i * PLANE_GAP, (shape[0], shape[1], 1), colour, largest)
        parts.append(svg)
    return "".join(parts), width + PLANE_GAP * (len(RGB_PLANES) - 1), height


LABEL_PX = {False: 14, True: 20}  # a block's name in CSS pixels (shape: 2 px less), by mode


def _items(summary: shapes.Summary) -> tuple[list[tuple[str, str, tuple[int, ...], bool]], int]:
    """(name, type, output shape, automatic) for the input and every row; the largest side."""
    items = [("input", "input", summary.input_shape, False)]
    items += [(row.name, row.type, row.output_shape, row.auto) for row in summary.rows]
    largest = max([shape[0] * shape[1] for _, _, shape, _ in items if len(shape) == 3] + [1])
    return items, max(int(math.sqrt(largest)), 1)


def _figure(item: tuple[str, str, tuple[int, ...], bool], x: float, largest: int,
            label_px: int) -> tuple[str, float, float]:
    """One labelled block at ``x``: (its ``<g class="block">``, how far the next one starts,
    the figure's height)."""
    name, kind, shape, auto = item
    if kind == "input":
        def draw(at: float) -> tuple[str, float, float]:
            return _input_block(at, shape, largest)
        if len(shape) == 3 and shape[2] == 3:
            name = "input (rgb)"
    else:
        def draw(at: float) -> tuple[str, float, float]:
            return _block(at, shape, layer_types.REGISTRY[kind].colour, largest)
    shape_text = "×".join(str(v) for v in shape)
    text_width = 0.64 * label_px * max(len(shape_text), len(name))  # monospace digits
    _, width, _ = draw(0.0)
    total = max(width, text_width)  # the block centred over its labels, both within ``total``
    block, _, _ = draw(x + (total - width) / 2)
    centre, label_y = x + total / 2, PLANE_HEIGHT + 32 + label_px
    title = f"{name} ({kind}{', automatic' if auto else ''}): {shape_text}"
    group = (f'<g class="block"><title>{html.escape(title)}</title>{block}'
             f'<text x="{centre:.1f}" y="{label_y}" text-anchor="middle" '
             f'font-size="{label_px}" font-family="sans-serif" fill="#263238">'
             f'{html.escape(name)}</text>'
             f'<text x="{centre:.1f}" y="{label_y + label_px + 2}" text-anchor="middle" '
             f'font-size="{label_px - 2}" font-family="monospace" fill="#546e7a">'
             f'{html.escape(shape_text)}</text></g>')
    return group, total + 16, label_y + label_px + 10


def network_svg(summary: shapes.Summary, presentation: bool = False) -> str:
    """An SVG figure of the network in one row: the input, then one labelled block per row.

    Args:
        summary: the rows to draw (rows stop at the first problem, so does the figure).
        presentation: larger labels (``LABEL_PX``).
    Returns:
        Standalone SVG text, one ``<g class="block">`` per row (plus the input), drawn at its
        own size in pixels: it is never scaled down, so its labels keep their size.

    Example:
        >>> from cnnlab.architecture import presets
        >>> network_svg(shapes.summarize(presets.get("two-conv"))).count('class="block"')
        8
    """
    items, largest = _items(summary)
    parts, x, height = [], 10.0, 0.0
    for item in items:
        group, advance, height = _figure(item, x, largest, LABEL_PX[presentation])
        parts.append(group)
        x += advance
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {x:.0f} {height:.0f}" '
            f'width="{x:.0f}" height="{height:.0f}" role="img" aria-label="network diagram">'
            f'{"".join(parts)}</svg>')


def network_html(summary: shapes.Summary, presentation: bool = False) -> str:
    """The figure for a page: one small SVG per block in a row that wraps onto more rows in a
    narrow column, so the labels stay at ``LABEL_PX`` (one wide SVG scaled to fit a 1024 px
    screen drew them 5 px tall)."""
    items, largest = _items(summary)
    figures = []
    for item in items:
        group, advance, height = _figure(item, 4.0, largest, LABEL_PX[presentation])
        figures.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{advance + 4:.0f}" '
                       f'height="{height:.0f}" viewBox="0 0 {advance + 4:.0f} {height:.0f}">'
                       f'{group}</svg>')
    return ('<div role="img" aria-label="network diagram" style="display:flex;'
            f'flex-wrap:wrap;align-items:flex-end;row-gap:6px">{"".join(figures)}</div>')
