"""A class on disk: its code, its teacher key, its name, whether it takes new joins, and its
challenge; the two links; and the one way to open its board.

Classes live under ``CNNLAB_HOME/classes/`` (shared by every app replica, like workspaces)::

    <code>/class.json           {"name", "key_sha256", "created_at", "open", "challenge"}
    <code>/students/<id>/       one folder per student (:mod:`cnnlab.classes.members`)
    members/<sha256>.json       which class and student a workspace is (by its token's hash)
    held-back.secret            the server's secret behind the held-back split

The **code** (``secrets.token_urlsafe(9)``, 12 characters, 72 bits) is in both links; anyone
with the student link may join. The **teacher key** (``secrets.token_urlsafe(24)``: 32
characters, 192 bits) is in the teacher link only. The server keeps its SHA-256, never the key
(it is shown once, when the class is made), and compares digests in constant time. A wrong,
malformed or missing key gets exactly the answer a code that does not exist gets
(:data:`NOT_FOUND`, from :func:`open_board`). Codes and keys are checked for their form before
they become paths. Every file is written whole (:mod:`cnnlab.classes.jsonio`). No TensorFlow.

Example:
    >>> made, key = create_class("7B biology")  # doctest: +SKIP
    >>> links(made.code, key, "https://lab.example.org").teacher  # doctest: +SKIP
    'https://lab.example.org/?class=Xq3...&key=...'
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import shutil
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlab.classes import challenge as challenges
from cnnlab.classes import jsonio
from cnnlab.workspaces import settings

CODE_BYTES, KEY_BYTES = 9, 24  # 12 and 32 characters
CODE_FORM = re.compile(r"[A-Za-z0-9_-]{12}")
KEY_FORM = re.compile(r"[A-Za-z0-9_-]{32}")
CLASS_FILE, STUDENTS, MEMBERS = "class.json", "students", "members"
MAX_CLASS_FILE_BYTES = 2**20  # a starting network is at most 256 kB of JSON
MAX_CLASS_NAME, MAX_DISPLAY_NAME = 60, 40
NOT_FOUND = ("no class with this link on this server: check the link (the teacher link "
             "carries the class's code and its key)")
_NO_KEY = hashlib.sha256(b"").hexdigest()  # compared when the code is unknown: same work


class ClassError(ValueError):
    """A class refused something; ``str()`` says why and what to do."""


class NoSuchClass(ClassError):
    """No class answers this link: unknown code, or a wrong or missing teacher key."""

    def __init__(self) -> None:
        super().__init__(NOT_FOUND)


@dataclass(frozen=True)
class ClassInfo:
    """A class as its pages see it (never its key).

    Attributes:
        code: the code both links carry.
        name: the teacher's name for it, as typed: show it escaped, as text.
        open: whether new students may join.
        created_at: seconds since the epoch.
        challenge: the challenge, or None before the teacher sets one.
    """

    code: str
    name: str
    open: bool
    created_at: float
    challenge: challenges.Challenge | None

    @property
    def folder(self) -> Path:
        return root() / self.code


@dataclass(frozen=True)
class Links:
    """The two links of a class: full links with a base URL, else paths."""

    student: str
    teacher: str


def root() -> Path:
    """``CNNLAB_HOME/classes``."""
    return settings.classes_home()


def check_name(name: Any, what: str = "a display name", limit: int = MAX_DISPLAY_NAME) -> str:
    """``name`` unchanged if it is 1 to ``limit`` printable characters, not all spaces.

    Any printable text passes (markup, quotes, ``=1+1``): it is stored as given, and every
    page must show it escaped, as text; a CSV neutralises it (:mod:`cnnlab.classes.board`).

    Raises:
        ClassError: naming what was received.
    """
    if (not isinstance(name, str) or not name.strip() or len(name) > limit
            or not name.isprintable()):
        shown = name[:limit + 10] if isinstance(name, str) else type(name).__name__
        raise ClassError(f"{what} must be 1 to {limit} printable characters on one line (not "
                         f"only spaces); received {shown!r}")
    return name


def check_code(code: Any) -> str:
    """``code`` if it has a class code's form; NoSuchClass otherwise."""
    if not isinstance(code, str) or not CODE_FORM.fullmatch(code):
        raise NoSuchClass()
    return code


def check_base_url(base: Any) -> str:
    """``base`` without a trailing slash if it is an ``http(s)://host[:port][/path]`` URL.

    Raises:
        ClassError: anything else (a query, a fragment, a user name, spaces, no host).
    """
    text = base if isinstance(base, str) else ""
    try:
        parts = urllib.parse.urlsplit(text)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = None, False
    if (parts is None or not port_ok or parts.scheme not in ("http", "https")
            or not parts.hostname or parts.username or parts.password or parts.query
            or parts.fragment or "?" in text or "#" in text
            or any(c.isspace() or not c.isprintable() for c in text)):
        raise ClassError(f"the base URL must look like https://host[:port][/path] (no query, "
                         f"no user name); received {str(base)[:200]!r}")
    return text.rstrip("/")


def links(code: str, key: str, base: str | None = None) -> Links:
    """The student link (``/?class=CODE``) and the teacher link (``/?class=CODE&key=KEY``),
    prefixed with ``base`` (checked by :func:`check_base_url`) when one is given."""
    prefix = "" if base is None else check_base_url(base)
    student = f"{prefix}/?class={check_code(code)}"
    return Links(student, f"{student}&key={key}")


def _digest(key: Any) -> str:
    ok = isinstance(key, str) and KEY_FORM.fullmatch(key)
    return hashlib.sha256(key.encode("ascii") if ok else b"\0").hexdigest()


def _record(code: str) -> dict[str, Any] | None:
    data = jsonio.read_json(root() / code / CLASS_FILE, MAX_CLASS_FILE_BYTES)
    return data if isinstance(data, dict) and isinstance(data.get("key_sha256"), str) else None


def _info(code: str, record: dict[str, Any]) -> ClassInfo:
    raw = record.get("challenge")
    try:
        challenge = None if raw is None else challenges.Challenge.from_dict(raw)
    except ValueError:
        challenge = None  # a class.json edited by hand into nonsense: no challenge
    return ClassInfo(code, str(record.get("name", "")), record.get("open") is True,
                     float(record.get("created_at", 0.0)), challenge)


def class_codes() -> list[str]:
    """The codes of every class on this server."""
    folder = root()
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if CODE_FORM.fullmatch(p.name) and p.is_dir())


def create_class(name: str) -> tuple[ClassInfo, str]:
    """A new class, open to joins, without a challenge.

    Args:
        name: the teacher's name for it (1 to 60 printable characters).
    Returns:
        ``(class, key)``: the key is returned this once (the server keeps its hash only);
        :func:`links` makes the two links.
    Raises:
        ClassError: a bad name, or ``CNNLAB_MAX_CLASSES`` classes exist already.
    """
    check_name(name, "a class's name", MAX_CLASS_NAME)
    existing, limit = class_codes(), settings.max_classes()
    if len(existing) >= limit:
        raise ClassError(f"this server keeps {len(existing)} classes, its limit "
                         f"(CNNLAB_MAX_CLASSES is {limit}); remove old ones with "
                         f"`cnnlab class delete CODE` (`cnnlab class list` lists them)")
    root().mkdir(parents=True, exist_ok=True, mode=0o700)
    while True:
        code = secrets.token_urlsafe(CODE_BYTES)
        try:
            (root() / code).mkdir(mode=0o700)
            break
        except FileExistsError:  # 2**-72: but never share a folder
            continue
    (root() / code / STUDENTS).mkdir(mode=0o700)
    key = secrets.token_urlsafe(KEY_BYTES)
    record = {"name": name, "key_sha256": _digest(key), "created_at": time.time(),
              "open": True, "challenge": None}
    jsonio.write_json(root() / code / CLASS_FILE, record)
    return _info(code, record), key


def open_board(code: Any, key: Any) -> ClassInfo:
    """The class whose teacher link carries ``code`` and ``key``: the board's one way in.

    Raises:
        NoSuchClass: unknown or malformed code, or a wrong, malformed or missing key: one
            exception, one message, for all of them.
    """
    record = _record(code) if isinstance(code, str) and CODE_FORM.fullmatch(code) else None
    expected = record["key_sha256"] if record else _NO_KEY
    if not hmac.compare_digest(_digest(key), expected) or record is None:
        raise NoSuchClass()
    return _info(code, record)


def open_for_join(code: Any) -> ClassInfo:
    """The class of a student link (no key needed: the code is what students are given).

    Raises:
        NoSuchClass: unknown or malformed code.
    """
    record = _record(check_code(code))
    if record is None:
        raise NoSuchClass()
    return _info(code, record)


def open_local(code: Any) -> ClassInfo:
    """The class ``code`` for this server's operator (the command line, which can read
    ``CNNLAB_HOME`` anyway): no key. Pages use :func:`open_board`."""
    return open_for_join(code)


def _change(info: ClassInfo, **changes: Any) -> ClassInfo:
    path = info.folder / CLASS_FILE
    with jsonio.locked(path):
        record = _record(info.code)
        if record is None:
            raise NoSuchClass()
        record.update(changes)
        jsonio.write_json(path, record)
    return _info(info.code, record)


def set_open(info: ClassInfo, is_open: bool) -> ClassInfo:
    """Open the class to new joins, or close it (students in it keep working); the class
    as it is now."""
    return _change(info, open=bool(is_open))


def set_challenge(info: ClassInfo, challenge: challenges.Challenge | None) -> ClassInfo:
    """Set (or, with None, clear) the class's challenge, checked against its data set.

    Results scored under an earlier challenge are no longer ranked; each student's runs are
    scored again under this one by :func:`cnnlab.classes.scoring.rescore_workspace`, or when
    they next save a run.

    Raises:
        ChallengeError: its data set is not on this server, or the starting network does not
            fit it or the limits (SpecError for an invalid starting network).
    """
    if challenge is not None:
        challenge = challenges.with_id(challenges.checked(challenge),
                                       secrets.token_urlsafe(6))
    return _change(info, challenge=None if challenge is None else challenge.to_dict())


def delete_class(info: ClassInfo) -> None:
    """Remove the class, its students' entries and kept runs (not their workspaces)."""
    doomed = root() / f".deleting-{info.code}"
    try:
        info.folder.rename(doomed)  # gone from every listing at once, then removed
    except FileNotFoundError:
        raise NoSuchClass() from None
    shutil.rmtree(doomed, ignore_errors=True)
