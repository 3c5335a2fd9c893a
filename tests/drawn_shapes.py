"""Canvas-like drawings of three made-up classes (circle, cross, line), each a little
different (place, size, slant, pen width): what a student might draw on the My classes page.
Used by the drawn-classes tests and bench/drawn_bench.py."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "cross", "line")
KINDS = (*SHAPES, "plus", "square")  # plus: a cross turned 45°, closer to it
SIDE = 280


def draw_shape(kind: str, rng: np.random.Generator, spread: float = 1.0) -> np.ndarray:
    """A (280, 280) uint8 canvas, white ink on black, of ``kind`` drawn by a slightly
    unsteady hand; ``spread`` > 1 slants it further (up to ±0.25·spread radians)."""
    img = Image.new("L", (SIDE, SIDE), 0)
    draw = ImageDraw.Draw(img)
    half = int(rng.integers(60, 110))
    cx, cy = (int(v) for v in rng.integers(110, 170, size=2))
    width = int(rng.integers(14, 30))
    slant = float(rng.uniform(-0.25, 0.25) * spread)
    dx, dy = int(half * np.cos(slant)), int(half * np.sin(slant))
    if kind == "circle":
        draw.ellipse((cx - half, cy - int(half * rng.uniform(0.8, 1.0)), cx + half,
                      cy + int(half * rng.uniform(0.8, 1.0))), outline=255, width=width)
    elif kind == "cross":
        draw.line([(cx - dx, cy - dx + dy), (cx + dx, cy + dx - dy)], fill=255, width=width)
        draw.line([(cx - dx, cy + dx + dy), (cx + dx, cy - dx - dy)], fill=255, width=width)
    elif kind == "plus":
        draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=255, width=width)
        draw.line([(cx + dy, cy - dx), (cx - dy, cy + dx)], fill=255, width=width)
    elif kind == "square":
        corners = [(cx - dx + dy, cy - dy - dx), (cx + dx + dy, cy + dy - dx),
                   (cx + dx - dy, cy + dy + dx), (cx - dx - dy, cy - dy + dx)]
        draw.line([*corners, corners[0]], fill=255, width=width, joint="curve")
    elif kind == "line":
        draw.line([(cx + dy, cy - dx), (cx - dy, cy + dx)], fill=255, width=width)
    else:
        raise ValueError(kind)
    return np.asarray(img)


def canvas(kind: str, rng: np.random.Generator, spread: float = 1.0) -> np.ndarray:
    """:func:`draw_shape` as the canvas component's opaque RGBA (280, 280, 4)."""
    ink = draw_shape(kind, rng, spread)
    return np.dstack([ink, ink, ink, np.full_like(ink, 255)])
