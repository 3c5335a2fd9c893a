"""Keras's sliding-window arithmetic for one axis, and its formulas written out with numbers.

Pure integers; the layer types' shape rules and the Learn page's step-through both use it.
"""

from __future__ import annotations

Pair = tuple[int, int]


def effective_kernel(k: int, d: int = 1) -> int:
    """How many input pixels a kernel of ``k`` taps dilated by ``d`` spans: (k − 1)·d + 1.

    Example:
        >>> effective_kernel(3, 2)
        5
    """
    return (k - 1) * d + 1


def conv_output_length(n: int, k: int, s: int, padding: str, d: int = 1) -> int:
    """Keras's rule for one axis: valid → ⌊(n − k′) / s⌋ + 1, same → ⌈n / s⌉ (k′ = (k − 1)·d + 1).

    Example:
        >>> conv_output_length(28, 3, 1, "valid")
        26
        >>> conv_output_length(28, 3, 1, "valid", d=2)
        24
    """
    if padding == "same":
        return -(-n // s)
    return (n - effective_kernel(k, d)) // s + 1


def same_padding_total(n: int, k: int, s: int) -> int:
    """Zero rows (or columns) Keras adds in total for "same" (the extra one goes bottom/right)."""
    out = -(-n // s)
    return max((out - 1) * s + k - n, 0)


def axis_formula(n: int, k: int, s: int, padding: str, d: int = 1) -> str:
    """One axis's output-size formula with its numbers: ``(28 − 3 + 2·0) / 1 + 1 = 26``.

    A dilated kernel shows its span: ``(28 − (3 − 1)·2 − 1 + 2·0) / 1 + 1 = 24``.
    """
    out = conv_output_length(n, k, s, padding, d)
    if padding == "same":
        return f"⌈{n} / {s}⌉ = {out}"
    span = f"{k}" if d == 1 else f"(({k} − 1)·{d} + 1)"
    if (n - effective_kernel(k, d)) % s == 0:
        return f"({n} − {span} + 2·0) / {s} + 1 = {out}"
    return f"⌊({n} − {span} + 2·0) / {s}⌋ + 1 = {out}"


def spatial_formula(shape_in: tuple[int, ...], k: Pair, s: Pair, padding: str,
                    d: Pair = (1, 1)) -> str:
    """Both axes' formulas, written once when they are the same."""
    h = axis_formula(shape_in[0], k[0], s[0], padding, d[0])
    w = axis_formula(shape_in[1], k[1], s[1], padding, d[1])
    return h if h == w else f"H: {h}; W: {w}"
