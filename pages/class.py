"""Class: the teacher's board (the teacher link), joining a class (the student link), a
student's own view of their class, or making one."""

import streamlit as st

from cnnlab.classes import members, store
from ui import board, classroom, patches, state

patches.use_app_navigation()  # opened first on a fresh server: see ui/patches.py


def render() -> None:
    st.title("Class")
    code = st.query_params.get(classroom.CLASS_PARAM)
    if classroom.KEY_PARAM in st.query_params:  # a teacher link: its board, or nothing at all
        try:
            store.open_board(code, st.query_params.get(classroom.KEY_PARAM))
        except store.NoSuchClass:
            board.forget()
            st.error(store.NOT_FOUND)  # the same answer for a wrong key and a missing class
            return
        board.page(code, st.query_params[classroom.KEY_PARAM])
        return
    if code is not None:  # a student link
        classroom.join_page(code)
        return
    opened = board.opened()  # this session opened a board: back to it from another page
    if opened is not None:
        try:
            board.page(*opened)
            return
        except store.NoSuchClass:  # deleted meanwhile
            board.forget()
    mine = members.class_of(state.session().workspace.token)
    if mine is not None:
        classroom.student_panel(*mine)
    else:
        classroom.not_in_a_class()


render()
