"""The students of a class: joining, which class a workspace is in, and what each is doing.

A student is one folder, written only by the server handling that student::

    classes/<code>/students/<id>/student.json    {"name", "joined_at"}, written once at join
    classes/<code>/students/<id>/activity.json   {"state", "epoch", "epochs", "at"}
    classes/<code>/students/<id>/results.json    scored runs (:mod:`cnnlab.classes.scoring`)
    classes/<code>/students/<id>/best/           a copy of the run the board shows

``<id>`` is a random id, unrelated to the workspace's token. The link from a workspace to its
student is ``classes/members/<sha256 of the token>.json``: the server finds it from the token
it already holds, and nothing a board or another student reads carries the token. Several
servers share ``CNNLAB_HOME``: each file is written whole (temporary file + ``os.replace``),
a student's files by their server only, and reading the board is reading the files: no file is
rewritten by two writers.

Names are stored as typed: every page must show them escaped, as text, never as Markdown or
HTML. No TensorFlow.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlab.classes import jsonio, store
from cnnlab.workspaces import settings
from cnnlab.workspaces import store as workspaces

PROFILE, ACTIVITY, RESULTS, BEST = "student.json", "activity.json", "results.json", "best"
STUDENT_FILES = (PROFILE, ACTIVITY, RESULTS)
MAX_SMALL_FILE_BYTES = 64 * 2**10
ID_BYTES = 9
IDLE, BUILDING, QUEUED, TRAINING = "idle", "building", "queued", "training"
ACTIVITIES = (IDLE, BUILDING, QUEUED, TRAINING)
MIN_WRITE_INTERVAL_S = 1.0  # the most often one student's unchanged state is rewritten
STALE_BUILDING_S = 300.0  # "building" with no edit for this long shows as idle


@dataclass(frozen=True)
class Membership:
    """A workspace's place in a class, for that student's own pages.

    Attributes:
        code: the class's code; ``student_id`` the student's id in it.
        name: the display name as typed: show it escaped, as text.
        token: the workspace's token (the student's own link, ``?w=``); never shown to
            anyone else.
    """

    code: str
    student_id: str
    name: str
    token: str


@dataclass(frozen=True)
class Student:
    """One student's entry as the board reads it: no token, nothing of their workspace."""

    student_id: str
    name: str
    joined_at: float
    activity: dict[str, Any]
    results: dict[str, Any]
    folder: Path


def _member_path(token: str) -> Path:
    digest = hashlib.sha256(workspaces.check_token(token).encode("ascii")).hexdigest()
    return store.root() / store.MEMBERS / f"{digest}.json"


def student_folder(code: str, student_id: str) -> Path:
    """The folder of student ``student_id`` of class ``code``; both checked for their form
    (a student id has a code's form) before they become a path: NoSuchClass otherwise."""
    return store.root() / store.check_code(code) / store.STUDENTS / store.check_code(student_id)


def membership(token: str) -> Membership | None:
    """The class and student of the workspace ``token``, or None (not in a class, or its
    class was deleted)."""
    data = jsonio.read_json(_member_path(token), MAX_SMALL_FILE_BYTES)
    if not isinstance(data, dict):
        return None
    code, student_id = data.get("code"), data.get("student")
    try:
        folder = student_folder(code, student_id)
    except store.NoSuchClass:
        return None
    profile = jsonio.read_json(folder / PROFILE, MAX_SMALL_FILE_BYTES)
    if not isinstance(profile, dict) or not isinstance(profile.get("name"), str):
        return None
    return Membership(code, student_id, profile["name"], token)


def class_of(token: str) -> tuple[Membership, store.ClassInfo] | None:
    """The membership of workspace ``token`` and its class (with the challenge: its starting
    network and lock for Build, its most epochs for Train), or None outside a class."""
    member = membership(token)
    if member is None:
        return None
    try:
        return member, store.open_for_join(member.code)
    except store.NoSuchClass:
        return None


def _read_student(path: Path) -> Student | None:
    """The student in folder ``path``, or None while their entry is incomplete."""
    profile = jsonio.read_json(path / PROFILE, MAX_SMALL_FILE_BYTES)
    if not isinstance(profile, dict) or not isinstance(profile.get("name"), str):
        return None  # still being made
    activity = jsonio.read_json(path / ACTIVITY, MAX_SMALL_FILE_BYTES)
    results = jsonio.read_json(path / RESULTS, 4 * MAX_SMALL_FILE_BYTES)
    return Student(path.name, profile["name"], float(profile.get("joined_at", 0)),
                   activity if isinstance(activity, dict) else {},
                   results if isinstance(results, dict) else {}, path)


def student(member: Membership) -> Student | None:
    """The entry of ``member`` (their own: the student's pages read nobody else's)."""
    return _read_student(student_folder(member.code, member.student_id))


def students(code: str) -> list[Student]:
    """Every student of class ``code`` whose entry is complete, in the order they joined."""
    folder = store.root() / store.check_code(code) / store.STUDENTS
    found = []
    for path in folder.iterdir() if folder.is_dir() else ():
        if not store.CODE_FORM.fullmatch(path.name):
            continue  # a temporary or foreign name
        entry = _read_student(path)
        if entry is not None:
            found.append(entry)
    return sorted(found, key=lambda s: (s.joined_at, s.student_id))


def join(code: str, name: str, token: str | None = None) -> Membership:
    """Join class ``code`` as ``name``, with the workspace ``token`` or a new one.

    Joining again with a workspace already in this class returns its membership unchanged
    (the name it joined with). A workspace in another class moves to this one; its entry in
    the other class stays for that teacher's export. (Two joins at the same moment on two
    servers may both pass the taken-name and class-size checks: a name may then appear twice.)

    Args:
        code: the class's code (from the student link).
        name: the display name (1 to 40 printable characters), stored as typed: show it
            escaped, as text, everywhere.
        token: the student's workspace, or None for a new one.
    Returns:
        The membership; its token is the student's ``?w=`` link.
    Raises:
        NoSuchClass: unknown code. ClassError: a bad or taken name, the class is closed or
        full. WorkspaceError: a malformed token.
    """
    info = store.open_for_join(code)
    store.check_name(name)
    if token is not None:
        current = membership(workspaces.check_token(token))
        if current is not None and current.code == info.code:
            return current
    if not info.open:
        raise store.ClassError(f"the class {info.name!r} is closed to new students; ask your "
                               f"teacher to open it")
    others = students(info.code)
    if len(others) >= settings.class_students():
        raise store.ClassError(f"the class {info.name!r} is full: {len(others)} students "
                               f"(CNNLAB_CLASS_STUDENTS); ask your teacher")
    taken = next((s.name for s in others if s.name.casefold() == name.casefold()), None)
    if taken is not None:
        raise store.ClassError(f"someone in this class is called {taken!r} already; add an "
                               f"initial or a number")
    if token is None:
        token = workspaces.create().token
    student_id = secrets.token_urlsafe(ID_BYTES)
    folder = student_folder(info.code, student_id)
    folder.mkdir(mode=0o700)
    jsonio.write_json(folder / ACTIVITY, {"state": IDLE, "epoch": None, "epochs": None,
                                          "at": time.time()})
    jsonio.write_json(folder / PROFILE, {"name": name, "joined_at": time.time()})
    member = _member_path(token)  # written last: a half-made entry is never anyone's
    member.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    jsonio.write_json(member, {"code": info.code, "student": student_id})
    return Membership(info.code, student_id, name, token)


def _checked_activity(state: Any, epoch: Any, epochs: Any) -> dict[str, Any]:
    if state not in ACTIVITIES:
        raise ValueError(f"activity must be one of {', '.join(ACTIVITIES)}; received {state!r}")
    if state != TRAINING:
        return {"state": state, "epoch": None, "epochs": None}
    if (type(epoch) is not int or type(epochs) is not int or not 0 <= epoch <= epochs
            or epochs < 1):
        raise ValueError(f"training needs whole numbers 0 <= epoch <= epochs, epochs >= 1; "
                         f"received epoch={epoch!r}, epochs={epochs!r}")
    return {"state": state, "epoch": epoch, "epochs": epochs}


def record_activity(token: str, state: str, epoch: int | None = None,
                    epochs: int | None = None, *, now: float | None = None) -> bool:
    """Note what the student of workspace ``token`` is doing, for the board; cheap to call
    often. A plain function of plain values: the job layer calls it without knowing classes.

    Written when the state (idle, building, queued, training) changes, always; an unchanged
    state with new numbers (the next epoch) at most once per :data:`MIN_WRITE_INTERVAL_S`;
    nothing when nothing changed, or the workspace is in no class (one missing file looked up).

    Where it is called (the job layer, issue 21's one state machine): queued -> ``queued``;
    running, at the start and after each epoch -> ``training`` with ``epoch`` (epochs done)
    and ``epochs``; saved, failed or cancelled -> ``idle``. The Build page calls it with
    ``building`` when the network is edited.

    Args:
        token: the workspace's token (it never leaves this server).
        state: one of :data:`ACTIVITIES`.
        epoch, epochs: for ``training``: epochs done (0 before the first ends) and planned.
        now: the time (seconds since the epoch); for tests.
    Returns:
        True if the entry was written.
    Raises:
        ValueError: an unknown state, bad epoch numbers, or a malformed token.
    """
    value = _checked_activity(state, epoch, epochs)
    member = membership(token)
    if member is None:
        return False
    path = student_folder(member.code, member.student_id) / ACTIVITY
    now = time.time() if now is None else now
    old = jsonio.read_json(path, MAX_SMALL_FILE_BYTES)
    old = old if isinstance(old, dict) else {}
    if {k: old.get(k) for k in value} == value:
        return False
    at = old.get("at")
    if (old.get("state") == state and isinstance(at, (int, float))
            and 0 <= now - at < MIN_WRITE_INTERVAL_S):
        return False
    try:
        jsonio.write_json(path, dict(value, at=now))
    except FileNotFoundError:  # the class was deleted meanwhile
        return False
    return True


def activity_text(activity: dict[str, Any], now: float | None = None) -> str:
    """What the board says a student is doing: ``training epoch 3/5``, ``building``, ``waiting
    for a training slot`` or ``idle``."""
    state, at = activity.get("state"), activity.get("at")
    now = time.time() if now is None else now
    if state == TRAINING and isinstance(activity.get("epochs"), int):
        done, planned = activity.get("epoch") or 0, activity["epochs"]
        return f"training epoch {min(done + 1, planned)}/{planned}"
    if state == QUEUED:
        return "waiting for a training slot"
    if state == BUILDING and isinstance(at, (int, float)) and now - at < STALE_BUILDING_S:
        return "building"
    return "idle"
