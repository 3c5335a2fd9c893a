"""The Learn page's words: the output-size rule with its numbers, what does not fit, and
reading the query string the Build page links with.

Pure Python on integers; the arithmetic itself is in ``cnnlab.learn.conv_steps``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnlab.learn.conv_steps import PADDINGS, Padding, Step, output_length, padding_amounts


def output_size_explanation(n: int, k: int, s: int, padding: Padding) -> str:
    """Keras's output-size rule for one axis, written out with the current numbers.

    Args:
        n: input length; k: window (kernel or pool) length; s: stride.
        padding: "valid", "same" or zero rows/columns per side.

    Returns:
        E.g. ``out = ⌊(n − k + 2p) / s⌋ + 1 = ⌊(6 − 3 + 2·1) / 1⌋ + 1 = 6``.

    Example:
        >>> output_size_explanation(6, 3, 2, "same")[:30]
        'same: out = ⌈n / s⌉ = ⌈6 / 2⌉ '
    """
    out = output_length(n, k, s, padding)
    if padding == "same":
        before, after = padding_amounts(n, k, s, padding)
        raw = (out - 1) * s + k - n
        text = (f"same: out = ⌈n / s⌉ = ⌈{n} / {s}⌉ = {out}. To get there Keras pads "
                f"max((out − 1)·s + k − n, 0) = max(({out} − 1)·{s} + {k} − {n}, 0) = "
                f"{max(raw, 0)} in total: {before} before (top/left) and {after} after "
                "(bottom/right)")
        if (before + after) % 2:
            text += "; the total is odd, so the extra one goes at the bottom/right"
        return text + "."
    p = padding_amounts(n, k, s, padding)[0]
    inner = f"{n} − {k}" + (f" + 2·{p}" if p else "")
    if p:
        text = f"padding {p}: out = ⌊(n − k + 2p) / s⌋ + 1 = ⌊({inner}) / {s}⌋ + 1 = {out}"
    else:
        text = f"valid (no padding): out = ⌊(n − k) / s⌋ + 1 = ⌊({inner}) / {s}⌋ + 1 = {out}"
    span = n + 2 * p - k
    if span < 0:
        return (f"{text}: the {k}-wide window does not fit in the {n + 2 * p}-wide "
                f"{'padded input' if p else 'input'}, so there is no output.")
    if span % s:
        text += f" (({inner}) / {s} = {span / s:g}, rounded down)"
    return text + "."


def _cells(cells: list[int]) -> str:
    """``column 7 and row 7`` or ``columns 2, 5 and rows 2, 5`` (0-based in, 1-based out)."""
    shown = ", ".join(str(c + 1) for c in cells[:8]) + (", …" if len(cells) > 8 else "")
    plural = "s" if len(cells) > 1 else ""
    return f"column{plural} {shown} and row{plural} {shown}"


def fit_warnings(n: int, k: int, s: int, padding: Padding) -> list[str]:
    """What does not fit on a square n×n input, in words: no room for the window at all,
    the last columns/rows skipped by the stride, or cells between windows never visited.

    Args:
        n: input size; k: window size; s: stride; padding: as in ``output_size_explanation``.

    Returns:
        One sentence per problem (empty when every cell is covered); columns and rows are
        counted from 1.

    Example:
        >>> fit_warnings(7, 2, 2, "valid")[0][:40]
        'stride 2 skips the last column and row: '
    """
    before, after = padding_amounts(n, k, s, padding)
    size = n + before + after
    if k > size:
        how = "input" if size == n else f"padded input ({n} + {before + after} padding = {size})"
        return [f"The {k}×{k} window does not fit in the {size}×{size} {how}: there is no "
                "position for it, so there is no output. Use a smaller window or more padding "
                "(or \"same\")."]
    out = (size - k) // s + 1
    covered = np.zeros(size, dtype=bool)
    for i in range(out):
        covered[i * s:i * s + k] = True
    end = (out - 1) * s + k
    trailing = list(range(end, size))
    gaps = [c for c in range(end) if not covered[c]]
    real = set(range(before, before + n))

    def lost(cells: list[int]) -> str:
        inputs = sorted(c - before for c in real.intersection(cells))
        if not inputs:
            return "they are only padding, so no input value is lost."
        return f"input {_cells(inputs)} never reach the output."

    where = " of the padded input" if before + after else ""
    warnings = []
    if trailing:
        last = "column and row" if len(trailing) == 1 else f"{len(trailing)} columns and rows"
        warnings.append(f"stride {s} skips the last {last}: ({size} − {k}) is not a multiple of "
                        f"{s}, so {_cells(trailing)}{where} are never covered; {lost(trailing)}")
    if gaps:
        warnings.append(f"stride {s} is larger than the {k}-wide window, so the windows leave "
                        f"gaps: {_cells(gaps)}{where} are never covered; {lost(gaps)}")
    return warnings


# The Learn page's ranges; values from a link outside them are clamped, and the page says so.
INPUT_RANGE = (4, 12)
WINDOW_RANGE = (1, 7)
STRIDE_RANGE = (1, 5)
OPS = ("conv", "max", "avg")
LINK_VALUE_CHARS = 24  # how much of an unreadable link value a note quotes


def _quoted(value: object) -> str:
    """A link value as a note may show it: letters, digits and ``-_.`` only, shortened, so a
    crafted link cannot put markdown or HTML on the page.

    Example:
        >>> _quoted("[click](http://x)")
        "'?click??http???x?'"
    """
    text = str(value)
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "?" for c in text)
    if len(safe) > LINK_VALUE_CHARS:
        safe = safe[:LINK_VALUE_CHARS] + "…"
    return f"'{safe}'"


@dataclass(frozen=True)
class LearnRequest:
    """What a link asks the Learn page to show, clamped to its ranges, with notes saying so."""

    op: str = "conv"
    n: int = 6
    k: int = 3
    s: int = 1
    padding: str = "valid"
    notes: tuple[str, ...] = ()


def parse_learn_params(params: dict[str, str | list[str]]) -> LearnRequest:
    """Read ``op``, ``n``, ``k``, ``s`` and ``pad`` from query parameters (the Build page's links).

    Missing values keep their defaults; unreadable ones are ignored with a note; sizes outside
    the explorer's ranges are clamped with a note naming the layer's real size.

    Example:
        >>> parse_learn_params({"op": "conv", "n": "28"}).notes[0][:33]
        "your layer's input is 28×28; the "
    """
    default = LearnRequest()
    got = {key: (value[-1] if isinstance(value, list) else value) for key, value in params.items()}
    notes = []
    op = got.get("op", default.op)
    if op not in OPS:
        notes.append(f"unknown op {_quoted(op)} in the link; showing a convolution")
        op = default.op
    padding = got.get("pad", default.padding)
    if padding not in PADDINGS:
        notes.append(f"unknown padding {_quoted(padding)} in the link; using \"valid\"")
        padding = default.padding
    sizes = {}
    for name in ("n", "k", "s"):
        try:
            sizes[name] = int(got.get(name, getattr(default, name)))
        except ValueError:
            notes.append(f"could not read {name}={_quoted(got[name])} from the link")
            sizes[name] = getattr(default, name)
    n, k, s = sizes["n"], sizes["k"], sizes["s"]
    clamp = lambda v, lo_hi: min(max(v, lo_hi[0]), lo_hi[1])  # noqa: E731
    if clamp(n, INPUT_RANGE) != n:
        shown = clamp(n, INPUT_RANGE)
        full = output_length(n, k, s, padding) if min(n, k, s) > 0 else 0
        notes.append(f"your layer's input is {n}×{n}; the explorer shows a {shown}×{shown} patch "
                     f"(on the full {n}×{n} input the output is {full}×{full})")
    window = "kernel" if op == "conv" else "pool window"
    if clamp(k, WINDOW_RANGE) != k:
        notes.append(f"your layer's {window} is {k}×{k}; the explorer shows at most "
                     f"{WINDOW_RANGE[1]}×{WINDOW_RANGE[1]}")
    if clamp(s, STRIDE_RANGE) != s:
        notes.append(f"your layer's stride is {s}; the explorer goes up to {STRIDE_RANGE[1]}")
    return LearnRequest(op, clamp(n, INPUT_RANGE), clamp(k, WINDOW_RANGE),
                        clamp(s, STRIDE_RANGE), padding, tuple(notes))


def step_sentence(step: Step, padded: bool) -> str:
    """What one step computes, in words (Markdown), to go before its ``step_formula``:
    ``**Output row 1, column 2** = the sum of the products of the window at rows 1–2, ...``;
    ``padded``: whether the input has padding around it (the words say "padded input" then)."""
    kh, kw = step.window.shape

    def span(word: str, start: int, length: int) -> str:
        return f"{word} {start + 1}" if length == 1 else f"{word}s {start + 1}–{start + length}"

    cell = f"**Output row {step.out_row + 1}, column {step.out_col + 1}**"
    where = f"the window at {span('row', step.top, kh)}, {span('column', step.left, kw)}"
    if step.mode == "conv":
        grid = "the padded input" if padded else "the input"
        return f"{cell} = the sum of the products of {where} of {grid}:"
    if step.mode == "max":
        return f"{cell} = the largest value in {where} wins (highlighted):"
    return (f"{cell} = the average of the real cells in {where} (padding cells are not counted, "
            "as in Keras):")
