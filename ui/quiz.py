"""Build's quiz mode, "predict, then reveal": one layer at a time, guess, check, see the formula.

The checking is :mod:`cnnlab.learn.quiz`; this module keeps the learner's progress in the
session: which network (the one being built, or a seeded random challenge), the checked
answers so far, and the score over every challenge of the session.
"""

from __future__ import annotations

import random

import streamlit as st

from cnnlab.architecture import shapes, spec
from cnnlab.learn import quiz
from ui import text

TOGGLE = "build_quiz"
# both right, one of two, neither: Material icons (the app's font has them; emoji need a font
# a classroom machine may lack)
MARKS = {2: ":green[:material/check_circle:]", 1: ":orange[:material/adjust:]",
         0: ":red[:material/cancel:]"}


def toggle() -> bool:
    """The quiz switch; True while the quiz hides the answers."""
    return st.toggle("Quiz: predict, then reveal", key=TOGGLE,
                     help="hide each layer's output shape and parameter count until you have "
                          "guessed them")


def _progress(arch: spec.Architecture) -> dict:
    """This session's progress on ``arch``; starts again when the network changes."""
    progress = st.session_state.get("quiz_progress")
    if progress is None or progress["arch"] != arch:
        progress = {"arch": arch, "answers": []}
        st.session_state.quiz_progress = progress
    return progress


def _new_challenge() -> None:
    st.session_state.quiz_seed = random.SystemRandom().randrange(1_000_000)
    st.session_state.pop("quiz_progress", None)


def _own_network() -> None:
    st.session_state.quiz_seed = None
    st.session_state.pop("quiz_progress", None)


def _check(row, progress: dict, key: str) -> None:
    try:
        verdict = quiz.check(row, st.session_state[f"{key}_shape"],
                             st.session_state[f"{key}_params"])
    except ValueError as exc:
        st.session_state.quiz_error = str(exc)
        return
    progress["answers"].append(verdict)
    score = st.session_state.setdefault("quiz_score", [0, 0])
    score[0] += verdict.points
    score[1] += 2


def _mark(right: bool, guessed: str) -> str:
    return ":material/check:" if right else f":material/close: you said {guessed}"


def _revealed(verdict: quiz.Verdict, description: str) -> None:
    points = MARKS[verdict.points]
    shape = "×".join(map(str, verdict.shape))
    guessed = "×".join(map(str, verdict.guessed_shape))
    params = f"{verdict.guessed_params:,}"
    st.markdown(f"{points} **{verdict.layer}** · {description}  \n"
                f"shape **{shape}** {_mark(verdict.shape_right, guessed)} · parameters "
                f"**{verdict.params:,}** {_mark(verdict.params_right, params)}")
    st.caption(f"shape: {verdict.shape_formula}  \nparameters: {verdict.params_formula}")


def panel(own: spec.Architecture, own_summary: shapes.Summary) -> None:
    """The quiz on the network being built, or on a random challenge."""
    seed = st.session_state.get("quiz_seed")
    arch = own if seed is None else quiz.challenge(seed)
    summary = own_summary if seed is None else shapes.summarize(arch)
    buttons = st.container(horizontal=True)
    buttons.button("new challenge", key="quiz_new", on_click=_new_challenge,
                   icon=":material/casino:", help="a random small network to work through")
    if seed is not None:
        buttons.button("quiz my network", key="quiz_own", on_click=_own_network)
    score = st.session_state.get("quiz_score", [0, 0])
    buttons.markdown(f"**Score: {score[0]} / {score[1]}**", width="content")
    if not summary.ok:
        st.warning("Fix the marked layers first, or press **new challenge**.")
        return
    name = "your network" if seed is None else f"challenge {seed}"
    st.markdown(f"**{name}** · input {'×'.join(map(str, summary.input_shape))} · "
                f"{summary.num_classes} classes")
    progress = _progress(arch)
    answers = progress["answers"]
    for verdict, row in zip(answers, summary.rows, strict=False):
        _revealed(verdict, quiz.describe(row))
    if len(answers) >= len(summary.rows):
        got = sum(v.points for v in answers)
        st.success(f"Done: {got} of {2 * len(answers)} right on this network. Press **new "
                   "challenge** for another.")
        return
    row = summary.rows[len(answers)]
    key = f"quiz_{len(answers)}_{seed}"
    with st.form(key=f"{key}_form", border=True):
        shape_in = "×".join(map(str, row.input_shape))
        st.markdown(f"**{row.name}** · {quiz.describe(row)}  \nreceives **{shape_in}**")
        cols = st.columns(2)
        cols[0].text_input("output shape", key=f"{key}_shape", placeholder="e.g. 13x13x32")
        cols[1].text_input("parameters", key=f"{key}_params", placeholder="e.g. 320")
        st.form_submit_button("Check", on_click=_check, args=(row, progress, key))
    error = st.session_state.pop("quiz_error", None)
    if error:
        st.error(text.md(error))  # it quotes what was typed
