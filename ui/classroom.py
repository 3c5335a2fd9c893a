"""A class in the pages: making one (Home), joining it with the student link, a student's own
view of it, and its challenge on Build and Train. The teacher's board is :mod:`ui.board`.

Everything a student sees of other students is :func:`cnnlab.classes.board.student_leaderboard`
(names and scores). Names and class names are user text: shown through :func:`ui.text.md` or in
a data frame (plain text), never as Markdown or HTML. No TensorFlow.
"""

from __future__ import annotations

import threading
import urllib.parse
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from cnnlab.classes import board, challenge, members, scoring, store
from ui import state, text

if TYPE_CHECKING:
    from cnnlab.architecture.spec import Architecture

CLASS_PARAM, KEY_PARAM = "class", "key"  # the two links' query parameters
MADE = "class_made"  # the links of a class made in this session: shown until dismissed
LOADED = "class_start_loaded"  # the challenge ids whose starting network this session loaded
LOCKED_HELP = "the teacher locked this field"
_RESCORED: set[tuple[str, str | None]] = set()  # (token, challenge id) rescored in this process
_RESCORE_LOCK = threading.Lock()
RESCORES: dict[str, threading.Thread] = {}  # each workspace's last rescoring thread


def base_url() -> str | None:
    """This server's address as the browser sees it (``https://host[/path]``), for full links;
    None when unknown (then links are paths)."""
    try:
        url = st.context.url
    except Exception:  # no browser session (a bare script run)
        return None
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    path = (st.get_option("server.baseUrlPath") or "").strip("/")
    try:
        return store.check_base_url(f"{parts.scheme}://{parts.netloc}" + (f"/{path}" if path
                                                                         else ""))
    except store.ClassError:
        return None


# --- the teacher: making a class ---------------------------------------------------------------

def create_panel() -> None:
    """Home's "create a class": a name, then the two links, shown once, each with a copy
    button, and the warning that the teacher link is a key."""
    made = st.session_state.get(MADE)
    if made is not None:
        name, code, key, links = made
        st.success(f"The class **{text.md(name)}** is made.")
        st.markdown("**Student link**: give it to your students (on the projector, by mail).")
        st.code(links.student, language=None)
        st.markdown("**Teacher link**: opens the class's board.")
        st.code(links.teacher, language=None)
        st.warning("The teacher link is the key to the board: anyone who has it sees every "
                   "student's work. It is shown only now (the server keeps only a fingerprint "
                   "of its key): copy it or bookmark the board, and never share it.",
                   icon=":material/key:")
        cols = st.columns(2)
        cols[0].page_link("pages/class.py", label="Open the board",
                          icon=":material/leaderboard:",
                          query_params={CLASS_PARAM: code, KEY_PARAM: key})
        cols[1].button("I have kept the teacher link", key="class_made_done",
                       on_click=lambda: st.session_state.pop(MADE, None))
        return
    with st.form("class_new", border=False):
        name = st.text_input("class name", max_chars=store.MAX_CLASS_NAME,
                             placeholder="e.g. 7B biology", key="class_new_name")
        create = st.form_submit_button("Create a class", icon=":material/group_add:")
    if not create:
        return
    try:
        info, key = store.create_class(name)
    except store.ClassError as exc:
        st.error(text.md(exc))
        return
    st.session_state[MADE] = (info.name, info.code, key, store.links(info.code, key,
                                                                      base_url()))
    st.rerun()


# --- a student: joining, and their own view ----------------------------------------------------

def _switch_to(token: str) -> None:
    """Make this session open workspace ``token`` on the next run (the ``?w=`` link)."""
    st.query_params[state.TOKEN_PARAM] = token
    st.session_state.pop(state.KEY, None)  # state.init opens the link's workspace


def rescore_in_background(token: str, info: store.ClassInfo) -> None:
    """Score the runs the workspace already had (or scored under an earlier challenge) under
    the class's challenge, once per workspace and challenge in this process, in a thread (a
    few seconds per run): the board shows them when done."""
    stamp = (token, None if info.challenge is None else info.challenge.id)
    with _RESCORE_LOCK:
        if stamp in _RESCORED:
            return
        _RESCORED.add(stamp)
    if not state.session().workspace.run_folders():
        return

    def work() -> None:
        try:
            scoring.rescore_workspace(token)
        except Exception:  # logged by the job layer's hook for single runs; here: best effort
            pass

    thread = threading.Thread(target=work, name="cnnlab-rescore", daemon=True)
    with _RESCORE_LOCK:
        RESCORES[token] = thread
    thread.start()


def join_page(code: str) -> None:
    """The student link: join the class with a display name, or see it once joined."""
    try:
        info = store.open_for_join(code)
    except store.NoSuchClass:
        st.error(store.NOT_FOUND)
        return
    workspace = state.session().workspace
    mine = members.class_of(workspace.token)
    if mine is not None and mine[0].code == info.code:
        student_panel(*mine)
        return
    st.subheader(f"Join the class {text.md(info.name)}")
    if not info.open:
        st.warning(f"The class {text.md(info.name)} is closed to new students: ask your "
                   "teacher to open it.")
        return
    if mine is not None:
        st.info(f"This workspace is in the class {text.md(mine[1].name)} as "
                f"{text.md(mine[0].name)}; joining this one with it moves it here.")
    with st.form("class_join", border=False):
        name = st.text_input("your name, as the class will see it", max_chars=
                             store.MAX_DISPLAY_NAME, key="class_join_name",
                             help="no account, no e-mail: a first name, or a nickname")
        bring = False
        if workspace.exists():
            bring = st.radio("your work", ["bring this workspace's work (its link stays the "
                                           "same)", "start a new, empty workspace"],
                             key="class_join_bring") != "start a new, empty workspace"
        else:
            st.caption("You get a workspace of your own, kept under this page's link (its "
                       "`?w=` part): bookmark it to come back.")
        join = st.form_submit_button("Join the class", type="primary", icon=":material/login:")
    if not join:
        return
    try:
        joined = members.join(info.code, name, workspace.token if bring else None)
    except (store.ClassError, ValueError) as exc:
        st.error(text.md(exc))
        return
    if joined.token != workspace.token:
        _switch_to(joined.token)
    elif bring:
        rescore_in_background(joined.token, info)
    st.rerun()


def student_panel(member: members.Membership, info: store.ClassInfo) -> None:
    """A student's view of their class: the challenge, their own best run, and the
    leaderboard's names and scores (nothing else of other students)."""
    st.subheader(f"Class {text.md(info.name)}")
    st.markdown(f"You are **{text.md(member.name)}** in this class. Your teacher's board shows "
                "your name, what you are doing, your best run's network and its score.")
    if info.challenge is None:
        st.info("Your teacher has not set a challenge yet: train what you like.")
    else:
        st.info(text.md(f"Challenge: {info.challenge.describe()}. Each run you save is "
                        "scored by the server on test images no page shows."),
                icon=":material/flag:")
        rescore_in_background(member.token, info)
    mine = board.own_row(member.token)
    if mine is None or mine.run_name is None:
        st.caption("No run of yours yet: train one on the Train page.")
    elif mine.score is not None:
        st.markdown(f"Your best run: **{text.md(mine.run_name)}** ({text.md(mine.architecture)}"
                    f"), score **{mine.score:.2%}**, place {mine.rank}.")
    else:
        st.markdown(f"Your latest run: **{text.md(mine.run_name)}**, not scored: "
                    f"{text.md(mine.reason)}")
    standings = board.student_leaderboard(member.token)
    if standings:
        st.markdown("**Leaderboard**")
        st.dataframe(pd.DataFrame([{"place": s.rank, "name": s.name, "score": f"{s.score:.2%}",
                                    "": "you" if s.you else ""} for s in standings]),
                     hide_index=True, key="class_leaderboard")


def not_in_a_class() -> None:
    """The Class page of someone in no class: how to join one, and how to make one."""
    st.markdown("You are not in a class. Your teacher gives you a **student link**: open it "
                "to join, with a name of your choice.")
    st.subheader("Teaching a class?")
    create_panel()


# --- the challenge on Build and Train ----------------------------------------------------------

def my_challenge() -> challenge.Challenge | None:
    """The challenge of the class this session's workspace is in, or None."""
    mine = members.class_of(state.session().workspace.token)
    return None if mine is None else mine[1].challenge


def locked(rules: challenge.Challenge | None) -> tuple[str, ...] | None:
    """The fields a student may still change under ``rules``, or None when nothing is locked."""
    if rules is None or rules.starting is None or rules.editable is None:
        return None
    return rules.editable


def offer_starting_network(rules: challenge.Challenge | None, where: str) -> None:
    """The challenge's starting network on a student's page: loaded once per challenge and
    session when the network being built does not keep its lock, or when the workspace has no
    network of its own yet; otherwise offered with a button."""
    if rules is None or rules.starting is None:
        return
    session = state.session()
    done = st.session_state.setdefault(LOADED, set())
    current = state.get_arch()
    breaks_lock = bool(challenge.locked_changes(rules, current))
    if rules.id not in done:
        done.add(rules.id)
        if breaks_lock or session.workspace.architecture() is None:
            state.set_arch(rules.starting)
            st.rerun()
    if breaks_lock:  # the lock holds whatever was typed or imported since
        state.set_arch(rules.starting)
        st.rerun()
    if _same_layers(current, rules.starting):
        return
    cols = st.columns([3, 1], vertical_alignment="center")
    cols[0].caption(text.md(f"The class's challenge starts from {rules.starting.name}."))
    cols[1].button("Load it", key=f"{where}_load_start", icon=":material/restart_alt:",
                   on_click=state.set_arch, args=(rules.starting,))


def _same_layers(a: Architecture, b: Architecture) -> bool:
    return tuple(a.layers) == tuple(b.layers)


def challenge_note(rules: challenge.Challenge | None, params: int | None) -> None:
    """One line on Train: the challenge, and whether this network's size fits it."""
    if rules is None:
        return
    fits = "" if params is None else (
        f" This network has {params:,} parameters: within the limit." if params <=
        rules.max_params else f" This network has {params:,} parameters: over the limit, so "
        "its run will be listed, not scored.")
    st.caption(text.md(f"Class challenge: {rules.describe()}.{fits}"))

