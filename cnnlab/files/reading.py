"""Reading untrusted input: only regular files, size-checked before reading, and strict JSON.

Every file a user names or uploads (architecture files, run files, images) goes through
:func:`read_regular_file`: it opens without blocking (a FIFO never hangs), refuses anything
that is not a regular file (``/dev/zero`` never fills memory), and checks the size before
reading a byte. :func:`loads_json` refuses, before parsing, JSON nested deeper than
:data:`MAX_JSON_DEPTH`, and while parsing, NaN, infinities and integers longer than
:data:`MAX_INT_DIGITS` digits. Problems are :class:`InputError` (a ``ValueError``) with a
message naming the file.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np

MAX_JSON_DEPTH = 32  # objects and lists inside each other; run files need 4, specs 3
MAX_INT_DIGITS = 30  # digits of one JSON integer (a seed has at most 10)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class InputError(ValueError):
    """A file or text refused before or while reading it; ``str()`` says why and what works."""


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular_file(path: str | os.PathLike[str], max_bytes: int, what: str = "a file") -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``max_bytes`` bytes.

    Args:
        path: the file.
        max_bytes: the largest size accepted, checked before anything is read.
        what: the file's role with its article, e.g. ``"an image file"``.
    Raises:
        InputError: missing or unreadable, not a regular file, or over ``max_bytes``.

    Example:
        >>> try:
        ...     read_regular_file("/dev/zero", 10)
        ... except InputError as exc:
        ...     print(exc)
        /dev/zero is a character device, not a regular file; use a file
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # non-blocking: opening a FIFO returns at once
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path} is {_kind(info.st_mode)}, not a regular file; use {what}")
        if info.st_size > max_bytes:
            raise InputError(f"{path} is {info.st_size:,} bytes; {what} may be at most "
                             f"{max_bytes:,} bytes")
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= max_bytes:  # the file may grow after fstat
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise InputError(f"{path} grew past {max_bytes:,} bytes while being read")
    return b"".join(chunks)


def json_depth(text: str | bytes) -> int:
    """How deeply objects and lists nest in JSON text (brackets inside strings do not count).

    Example:
        >>> json_depth('{"a": [[1], "]]"]}')
        3
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    skeleton = np.frombuffer(_STRING.sub(b"", data), np.uint8)
    steps = (np.isin(skeleton, (ord("["), ord("{"))).astype(np.int64)
             - np.isin(skeleton, (ord("]"), ord("}"))))
    return int(steps.cumsum().max(initial=0))


def _constant(name: str) -> float:
    raise InputError(f"the number {name} is not allowed; use a finite number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError(f"the number {text[:40]} is too large for a float; use a finite number")
    return value


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise InputError(f"an integer of {digits:,} digits is not allowed; integers have at most "
                         f"{MAX_INT_DIGITS} digits")
    return int(text)


def loads_json(text: str | bytes, where: str = "the JSON",
               max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse untrusted JSON: nesting, non-finite numbers and huge integers refused.

    Args:
        text: the JSON text.
        where: how messages name it, e.g. a file's path.
        max_depth: the deepest nesting of objects and lists accepted.
    Raises:
        InputError: ``"<where>: ..."``, saying what is wrong (malformed JSON included).

    Example:
        >>> try:
        ...     loads_json('{"loss": NaN}', "history.json")
        ... except InputError as exc:
        ...     print(exc)
        history.json: the number NaN is not allowed; use a finite number
    """
    depth = json_depth(text)
    if depth > max_depth:
        raise InputError(f"{where}: JSON nested {depth:,} levels deep; at most {max_depth} "
                         f"levels are allowed")
    try:
        return json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON: malformed JSON at line {exc.lineno} column "
                         f"{exc.colno}: {exc.msg}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{where}: not valid JSON ({exc})") from None
