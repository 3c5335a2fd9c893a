"""Draw's "Fool it" section: the smallest change within ε that makes the network say K ("make
it say K") or anything but its answer ("make it wrong"), on the drawing or the uploaded image,
and the same attack on a second run of the workspace (the logic is
:mod:`cnnlab.inspect.adversarial`).

An expander computed only while it is open. Each run's attacker (its compiled step) is kept in
this session for the current run and one other; each attack is kept for the picture, ε and
target that made it (:data:`KEPT` of them), so a rerun for another widget does not attack
again.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import streamlit as st

from cnnlab.architecture import shapes
from cnnlab.inspect import adversarial
from cnnlab.views import overlay
from cnnlab.workspaces import models
from ui import images, state, text

TITLE = "Fool it: change the picture a little to make it say something else"
GOALS = ("make it wrong", "make it say …")
PICTURE_PX = 168  # each picture's width on the page (sent at the input's size)
NO_OTHER = -1  # the comparison box's "no second run"
KEPT = 6  # attacks kept per session


def _attacker(run: Any) -> adversarial.Attacker | str:
    """This session's attacker of ``run`` (built once; the current run and one other are
    kept), or why there is none."""
    cache: dict = st.session_state.setdefault("fool_attackers", {})
    if id(run) not in cache:
        summary = shapes.summarize(run.architecture, num_classes=len(run.class_names))
        try:
            made: adversarial.Attacker | str = adversarial.Attacker(run.model, summary)
        except ValueError as exc:
            made = str(exc)
        while len(cache) >= 2:
            cache.pop(next(iter(cache)))
        cache[id(run)] = (run, made)  # the run kept with it: its id is not reused meanwhile
    return cache[id(run)][1]


def attack(run: Any, image: np.ndarray, eps: float, target: int | None) -> adversarial.Attack:
    """The attack of ``image`` on ``run`` (kept for these settings: a rerun reuses it)."""
    kept: dict = st.session_state.setdefault("fool_attacks", {})
    key = (id(run), run.name, hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest(),
           image.shape, round(float(eps), 4), target)
    if key not in kept:
        attacker = _attacker(run)
        if isinstance(attacker, str):
            raise ValueError(attacker)
        while len(kept) >= KEPT:
            kept.pop(next(iter(kept)))
        kept[key] = attacker.attack(image, eps, target)
    return kept[key]


def _use_eps(value: float) -> None:
    st.session_state["draw_fool_eps"] = value


def result(found: adversarial.Attack, class_names: tuple[str, ...], who: str = "") -> None:
    """The original, the changed picture and the change amplified, and what happened in
    words; a failed attack offers the smallest ε that works."""
    before = f"{class_names[found.class_before]} ({found.confidence_before:.0%})"
    after = f"{class_names[found.class_after]} ({found.confidence_after:.0%})"
    largest = found.largest_change
    pictures = [found.original, found.changed, overlay.change_picture(found.change, 1)]
    alts = [f"{who}the picture attacked: it says {before}",
            f"{who}the changed picture: it says {after}",
            f"{who}the change, amplified: red where a pixel was made brighter, blue where "
            f"darker, white unchanged; the largest change is {largest:.2g}"]
    captions = [f"before: {before}", f"changed: {after}", "the change, amplified"]
    images.grid(pictures, alts, captions, width=PICTURE_PX)
    if not who:
        st.caption(f"The change is amplified so that the largest, ±{largest:.2g}, is full "
                   "colour: red where a pixel was made brighter, blue darker, white unchanged.")
    said = text.md(found.describe(class_names))
    if found.succeeded:
        st.success(said, icon=":material/check_circle:")
        return
    st.warning(said, icon=":material/shield:")
    if found.smallest_eps is not None and not who:
        value = min(1.0, float(np.ceil(found.smallest_eps * 100) / 100))
        st.button(f"Try ε = {value:.2f}", key="draw_fool_smallest", on_click=_use_eps,
                  args=(value,), icon=":material/arrow_forward:")


def _others(run: Any) -> list:
    """The workspace's other runs whose input has the current run's shape (the same picture
    can feed them)."""
    shape = tuple(run.architecture.input_shape or (28, 28, 1))
    return [info for info in state.runs() if info.name != run.name
            and tuple(info.architecture.input_shape or (28, 28, 1)) == shape]


def comparison(run: Any, image: np.ndarray, eps: float, target: int | None,
               first: adversarial.Attack) -> None:
    """The same attack on a second run the learner picks (none at first)."""
    others = _others(run)
    if not others:
        st.caption("Train a second run on the same images (for example with strong "
                   "augmentation) to see whether the same attack fools it too.")
        return
    names = [info.name for info in others]
    chosen = st.selectbox("the same attack on another run", [NO_OTHER, *range(len(others))],
                          key="draw_fool_other",
                          format_func=lambda i: "(none)" if i == NO_OTHER else names[i])
    if chosen == NO_OTHER:
        return
    try:
        other = models.get(state.session().workspace, others[chosen].folder)
    except ValueError as exc:
        st.error(text.md(f"run {names[chosen]} cannot be read: {exc}"))
        return
    if tuple(other.class_names) != tuple(run.class_names):
        st.info(text.md(f"{other.name} knows other classes ({', '.join(other.class_names)}): "
                        f"compare runs trained on the same classes as {run.name}."))
        return
    try:
        with st.spinner(text.md(f"attacking {other.name} too…")):
            second = attack(other, image, eps, target)
    except ValueError as exc:
        st.info(text.md(f"{other.name}: {exc}"))
        return
    st.markdown(f"**{text.md(other.name)}** (trained on {text.md(other.dataset.label)}), the "
                "same picture, ε and goal:")
    result(second, run.class_names, who=f"{other.name}: ")
    verdict = adversarial.Comparison((run.name, other.name), (first, second)).describe(
        run.class_names).splitlines()
    if len(verdict) > 2:  # one held out and the other did not
        st.markdown(f"**{text.md(verdict[-1])}**")


def section(run: Any, image: np.ndarray, probs: np.ndarray) -> None:
    """The expander; ``image`` is the picture the model saw (uint8, grey or colour)."""
    box = st.expander(TITLE, key="draw_fool", on_change="rerun", icon=":material/bug_report:")
    if not box.open:
        return
    with box:
        attacker = _attacker(run)
        if isinstance(attacker, str):
            st.info(text.md(attacker))
            return
        names = tuple(run.class_names)
        top = int(np.argmax(probs))
        cols = st.columns([2, 2, 3])
        goal = cols[0].radio("goal", GOALS, key="draw_fool_goal")
        target = None
        if goal == GOALS[1]:
            options = [k for k in np.argsort(probs)[::-1].tolist() if k != top]
            target = cols[1].selectbox("make it say", options, key="draw_fool_target",
                                       format_func=lambda k: names[k])
        eps = cols[2].slider("ε: the most any pixel may change (1 = black to white)", 0.0, 1.0,
                             0.1, 0.01, key="draw_fool_eps")
        with st.spinner("looking for the change…"):
            first = attack(run, image, eps, target)
        result(first, names)
        comparison(run, image, eps, target, first)
