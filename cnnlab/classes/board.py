"""What the teacher's board shows, as plain data; the same rows as CSV; and the leaderboard a
student may see (names and scores only).

The board reads the students' files (:mod:`cnnlab.classes.members`); it never scores, never
opens a student's workspace and never carries a workspace token. What the UI calls:

- :func:`board` (teacher link: code and key) -> :class:`Board`: rows in leaderboard order,
  validation curves to overlay, the challenge; :func:`board_version` is a cheap stamp of
  every file the board reads, for the live route to poll (a changed stamp: fetch the board
  again).
- :func:`spotlight_folder` -> the kept copy of a student's best run, a complete run folder
  the UI loads read-only (``run_files.load_run``) for the diagram, layer table, curves,
  confusion matrix and misclassified images (indices into the visible test split).
- :func:`results_csv` -> the CSV the board's download button offers; ``cnnlab class results``
  prints the same text (:func:`csv_text` of :func:`board_of`).
- :func:`student_leaderboard` (a student's own workspace token) -> names and scores;
  :func:`own_row` -> that student's own row.
- :meth:`Board.to_json` -> what the board's live route (``ui/live_routes.py``) sends the
  projector's page.

Names, run and network names are user text, as typed: show them escaped, as text. No
TensorFlow.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import hashlib
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlab.classes import challenge as challenges
from cnnlab.classes import members, scoring, store

CSV_COLUMNS = ("name", "best run", "architecture", "parameters", "epochs", "challenge score",
               "finished at", "not scored because")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may read as a formula


@dataclass(frozen=True)
class Row:
    """One student on the board.

    Attributes:
        student_id: the student's id in the class (for the spotlight; not their token).
        name: as typed: show it escaped.
        activity: in words (``training epoch 2/5``, ``building``, ``idle``, ...).
        run_name, architecture, params, epochs: of the run the board shows (their best
            scored run, else their latest); None before their first saved run.
        score: held-back accuracy (0 to 1) under the current challenge, or None.
        reason: why that run is not scored, or None.
        finished_at: when that run was saved (seconds since the epoch), or None.
        rank: 1 for the best score; None when not scored.
    """

    student_id: str
    name: str
    activity: str
    run_name: str | None
    architecture: str | None
    params: int | None
    epochs: int | None
    score: float | None
    reason: str | None
    finished_at: float | None
    rank: int | None


@dataclass(frozen=True)
class Board:
    """A class's board: its rows (scored first, best first; then the others by name), each
    student's validation accuracy per epoch for the run shown (keyed by student id), the
    challenge (None before one is set) and the stamp it was read at."""

    code: str
    name: str
    open: bool
    challenge: challenges.Challenge | None
    rows: tuple[Row, ...]
    curves: dict[str, tuple[float | None, ...]]
    version: str

    @property
    def leaderboard(self) -> tuple[Row, ...]:
        """The scored rows, best first."""
        return tuple(row for row in self.rows if row.rank is not None)

    def to_json(self) -> dict[str, Any]:
        """What the board's live route sends the projector's page: plain JSON, names as typed
        (the page sets them as text, never as HTML)."""
        return {"version": self.version, "name": self.name, "open": self.open,
                "challenge": None if self.challenge is None else self.challenge.describe(),
                "rows": [{"id": row.student_id, "name": row.name, "activity": row.activity,
                          "run": row.run_name, "architecture": row.architecture,
                          "params": row.params, "epochs": row.epochs, "score": row.score,
                          "reason": row.reason, "rank": row.rank,
                          "finished_at": row.finished_at} for row in self.rows],
                "curves": {student: list(values) for student, values in self.curves.items()}}


def _row(student: members.Student, challenge_id: str | None, now: float) -> Row:
    best = student.results.get("best")
    best = best if isinstance(best, dict) else None
    ranked = scoring.ranked(best, challenge_id)
    reason = None
    if best is not None and not ranked:
        reason = best.get("reason") or "scored under an earlier challenge; not ranked"

    def get(key: str) -> Any:
        return None if best is None else best.get(key)

    return Row(student.student_id, student.name, members.activity_text(student.activity, now),
               get("run_name"), get("architecture"), get("params"), get("epochs"),
               get("score") if ranked else None, reason, get("finished_at"), None)


def _order(rows: list[Row]) -> tuple[Row, ...]:
    scored = sorted((r for r in rows if r.score is not None),
                    key=lambda r: (-r.score, r.finished_at or 0.0, r.name.casefold()))
    others = sorted((r for r in rows if r.score is None), key=lambda r: r.name.casefold())
    ranked, rank, previous = [], 0, None
    for position, row in enumerate(scored, start=1):
        rank = rank if row.score == previous else position  # equal scores share a rank
        previous = row.score
        ranked.append(dataclasses.replace(row, rank=rank))
    return tuple(ranked + others)


def board_of(info: store.ClassInfo, now: float | None = None) -> Board:
    """The board of class ``info`` (from :func:`store.open_board`, or ``store.open_local``
    for the command line)."""
    now = time.time() if now is None else now
    version = _version(info.code)
    challenge_id = None if info.challenge is None else info.challenge.id
    students = members.students(info.code)
    rows = _order([_row(s, challenge_id, now) for s in students])
    curves = {}
    for student in students:
        best = student.results.get("best")
        if isinstance(best, dict) and isinstance(best.get("val_accuracy"), list):
            curves[student.student_id] = tuple(best["val_accuracy"])
    return Board(info.code, info.name, info.open, info.challenge, rows, curves, version)


def board(code: str, key: str) -> Board:
    """The board of the teacher link ``code``/``key``.

    Raises:
        NoSuchClass: a wrong code or key (one answer for both).
    """
    return board_of(store.open_board(code, key))


def _version(code: str) -> str:
    """A stamp of every file the board reads: the class file and each student's files."""
    folder = store.root() / code
    parts = []
    for path in [folder / store.CLASS_FILE, *sorted((folder / store.STUDENTS).glob("*/*.json"))]:
        try:
            info = os.stat(path)
        except OSError:
            continue
        parts.append(f"{path.parent.name}/{path.name}:{info.st_mtime_ns}:{info.st_size}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def board_version(code: str, key: str) -> str:
    """A cheap stamp that changes whenever anything the board shows may have changed (a join,
    an activity, a result, the class's settings): the live route polls it and fetches
    :func:`board` when it changes. A few dozen ``stat`` calls, no JSON read.

    Raises:
        NoSuchClass: a wrong code or key.
    """
    return _version(store.open_board(code, key).code)


def spotlight_folder(code: str, key: str, student_id: str) -> Path | None:
    """The kept copy of student ``student_id``'s shown run (a complete run folder, to load
    read-only), or None before they saved one.

    Raises:
        NoSuchClass: a wrong code or key, or no such student.
    """
    info = store.open_board(code, key)
    folder = members.student_folder(info.code, student_id)
    if not folder.is_dir():
        raise store.NoSuchClass()
    best = folder / members.BEST
    return best if (best / scoring.RUN_FILES[0]).is_file() else None


def _cell(value: Any) -> str:
    """A CSV cell: text a spreadsheet would read as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


def _when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def csv_text(rows: tuple[Row, ...]) -> str:
    """The export: a header, then one row per student in the board's order; the score with
    four decimals, the time in UTC (ISO 8601)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.name), _cell(row.run_name), _cell(row.architecture),
                         _cell(row.params), _cell(row.epochs),
                         "" if row.score is None else f"{row.score:.4f}",
                         _when(row.finished_at), _cell(row.reason)])
    return out.getvalue()


def results_csv(code: str, key: str) -> str:
    """The CSV of the teacher link's class: what the board's download button offers.

    Raises:
        NoSuchClass: a wrong code or key.
    """
    return csv_text(board(code, key).rows)


def own_row(token: str) -> Row | None:
    """The board's row of the student of workspace ``token`` (their own work only), or None
    outside a class."""
    found = members.class_of(token)
    if found is None:
        return None
    member, info = found
    mine = members.student(member)
    challenge_id = None if info.challenge is None else info.challenge.id
    return None if mine is None else _row(mine, challenge_id, time.time())


@dataclass(frozen=True)
class Standing:
    """A line of the leaderboard a student sees: a name, a score, and whether it is theirs."""

    name: str
    score: float
    rank: int
    you: bool


def student_leaderboard(token: str) -> list[Standing]:
    """The leaderboard of the class workspace ``token`` is in: names and scores only, nothing
    else of other students; empty outside a class."""
    found = members.class_of(token)
    if found is None:
        return []
    member, info = found
    return [Standing(row.name, row.score, row.rank, row.student_id == member.student_id)
            for row in board_of(info).leaderboard]
