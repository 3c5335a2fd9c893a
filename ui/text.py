"""Text for the pages: user text made safe for Markdown (:func:`md`), and words for what a
training job is doing, as a learner reads them at a glance."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnlab.jobs.job import Snapshot


JOINER = "\u2060"  # WORD JOINER: zero-width, no break; splits a pattern without showing
_ESCAPED = set("\\`*_[]<>&$|~#{}+@:-")  # Markdown, GFM, Streamlit's directives and math
_JOINED = set("<>~-:@")  # escaped, they still make :material_x:, :smile:, ->, a@b.c in the text


def md(value: object) -> str:
    """``value`` as Markdown that shows it literally, for any Streamlit text that renders
    Markdown (``st.markdown``, captions, alerts, headings, labels, radio options, image
    captions, ``st.table`` cells, progress and spinner text): never a link, an image, HTML,
    a heading or list, LaTeX, a ``:material/…:`` icon, an emoji, a ``:color[…]`` directive.

    Whitespace becomes single spaces (one line: no block can start inside it). Markdown's
    characters are backslash-escaped, except ``-`` and ``_`` between letters or digits,
    which are plain there (``two-conv-1``, ``conv_1`` read as typed), and ``:`` before a
    space; ``1.``/``1)`` and ``=`` only at the start (a list, a heading's underline).
    Streamlit and GFM also find patterns in the parsed text itself, where a backslash no
    longer is (icons, emoji, ``->``, ``www.`` and ``a@b.c`` links): an invisible word joiner
    after ``:``, ``@`` and arrow characters, and between ``www`` and ``.``, breaks those.
    Checked in Chromium against Streamlit 1.67's renderer.

    Example: ``md("**b** $x$")`` is ``\\*\\*b\\*\\* \\$x\\$``.
    """
    text = " ".join(str(value).split())
    out = []
    for i, char in enumerate(text):
        before, after = text[i - 1:i], text[i + 1:i + 2]
        plain_joint = char in "-_" and before.isalnum() and after.isalnum()
        colon_space = char == ":" and not after.strip()  # "error: ..." needs nothing
        line_start = (char in ".)" and text[:i].isdigit()) or (char == "=" and i == 0)
        www = char == "." and text[max(i - 3, 0):i].lower() == "www"
        if (char in _ESCAPED and not plain_joint and not colon_space) or line_start or www:
            out.append((JOINER if www else "") + "\\" + char
                       + (JOINER if char in _JOINED else ""))
        else:
            out.append(char)
    return "".join(out)


def progress_text(snap: Snapshot) -> str:
    """One line: where a job is (queued, building, compiling, training, testing, saving)."""
    if snap.state == "queued" and snap.message:  # a Dask cluster's queue (cnnlab.jobs.cluster)
        return f"{snap.name}: {snap.message}"
    if snap.state == "queued":
        return (f"{snap.name}: waiting, place {snap.queue_position} in the queue "
                f"(other users are training)")
    if snap.state == "saving":
        return f"{snap.name}: saving the run…"
    if snap.phase in ("waiting", "building"):
        return f"{snap.name}: building the model…"
    if snap.phase == "training" and snap.epoch <= 1 and snap.batch == 0:
        return f"{snap.name}: preparing the first batch (TensorFlow compiles the model)…"
    if snap.phase == "evaluating":
        return f"{snap.name}: testing on the test images…"
    parts = [f"{snap.name}: epoch {snap.epoch}/{snap.epochs}, batch {snap.batch}/"
             f"{snap.batches_per_epoch}"]
    if snap.samples_per_second:
        parts.append(f"{snap.samples_per_second:,.0f} images/s")
    if snap.seconds_left is not None:
        parts.append(f"about {snap.seconds_left:.0f} s left")
    if snap.state == "stopping":
        parts.append("stopping after this batch")
    if snap.message:  # e.g. a cluster job's "a worker was lost; resumed from epoch 2"
        parts.append(snap.message)
    return " · ".join(parts)


def bars_description(title: str, values, class_names, limit: int = 20) -> str:
    """A bar chart's text for screen readers (its Vega-Lite ``description``, the chart's
    ``aria-label``): what it shows and each class's value as a percentage, the first
    ``limit`` classes; plain text, not Markdown."""
    pairs = [f"{name} {float(value):.0%}" for name, value in zip(class_names, values,
                                                                   strict=True)]
    more = f", and {len(pairs) - limit} more" if len(pairs) > limit else ""
    return f"bar chart, {title} of each class: " + ", ".join(pairs[:limit]) + more


def confusion_description(matrix, class_names, run_name: str) -> str:
    """A confusion matrix's text for screen readers: what it shows and how many were right."""
    total = sum(sum(row) for row in matrix)
    right = sum(row[i] for i, row in enumerate(matrix))
    return (f"confusion matrix of {run_name}: rows are the true class, columns the predicted "
            f"class, {len(class_names)} classes; {right} of {total} test images on the "
            "diagonal, predicted right")
