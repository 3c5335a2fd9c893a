"""The classic LeNet-style network figure as SVG: one block per layer, sized by its output."""

from __future__ import annotations

import html
import math

from cnnlab.architecture import layer_types, shapes

LARGEST_BLOCK_SIDE = 120  # pixels for the largest spatial map
PLANE_HEIGHT = 150


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


def network_svg(summary: shapes.Summary) -> str:
    """An SVG figure of the network: the input, then one labelled block per summary row.

    Args:
        summary: the rows to draw (rows stop at the first problem, so does the figure).
    Returns:
        Standalone SVG text, one ``<g class="block">`` per row (plus the input).

    Example:
        >>> from cnnlab.architecture import presets
        >>> network_svg(shapes.summarize(presets.get("two-conv"))).count('class="block"')
        8
    """
    items = [("input", "input", summary.input_shape, False)]
    items += [(row.name, row.type, row.output_shape, row.auto) for row in summary.rows]
    largest = max([shape[0] * shape[1] for _, _, shape, _ in items if len(shape) == 3] + [1])
    largest = int(math.sqrt(largest))
    parts, x = [], 10.0
    label_y = PLANE_HEIGHT + 48
    for name, kind, shape, auto in items:
        colour = (layer_types.INPUT_COLOUR if kind == "input"
                  else layer_types.REGISTRY[kind].colour)
        block, width, _ = _block(x, shape, colour, max(largest, 1))
        centre = x + width / 2
        shape_text = "×".join(str(v) for v in shape)
        title = f"{name} ({kind}{', automatic' if auto else ''}): {shape_text}"
        parts.append(
            f'<g class="block"><title>{html.escape(title)}</title>{block}'
            f'<text x="{centre:.1f}" y="{label_y}" text-anchor="middle" font-size="13" '
            f'font-family="sans-serif" fill="#263238">{html.escape(name)}</text>'
            f'<text x="{centre:.1f}" y="{label_y + 14}" text-anchor="middle" font-size="12" '
            f'font-family="monospace" fill="#546e7a">{html.escape(shape_text)}</text></g>')
        x += max(width, 9 * max(len(shape_text), len(name)) * 0.75) + 22
    total_width = x
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total_width:.0f} '
            f'{label_y + 26}" width="100%" style="max-width:{total_width:.0f}px" '
            f'role="img" aria-label="network diagram">{"".join(parts)}</svg>')
