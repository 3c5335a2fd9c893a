"""The server's one memory budget: every in-memory cache draws from it by bytes.

``CNNLAB_MEMORY_MB`` (default: a third of the machine's physical memory, at least 512 MB) is
what CNN Lab may hold in memory on top of TensorFlow's own baseline. Two kinds of holders
draw from it:

- **caches** (:class:`ByteCache`): loaded data sets, loaded models, finished jobs' results.
  Every entry is counted by its real bytes (an array by ``nbytes``, a model by the sum of its
  weights) and the least recently used entry of *any* cache is evicted when a new one needs
  room: a student loading a fourth image size pushes out the class's oldest model, not a
  process-wide count of entries.
- **reservations** (:meth:`Budget.reserve`): what a running job needs while it trains (its
  model, optimizer and a batch's feature maps). A reservation evicts cache entries to make room
  and is refused with :class:`MemoryBudgetError` when, with every cache emptied, the other
  reservations leave too little: nothing that is refused has been allocated yet.

Numpy only; no TensorFlow.

Example:
    >>> budget = Budget(limit_bytes=1000)
    >>> cache = ByteCache("demo", budget)
    >>> cache.put("a", b"x" * 600, 600); cache.put("b", b"y" * 600, 600)
    >>> cache.get("a") is None, budget.used_bytes()  # "a" was evicted to make room for "b"
    (True, 600)
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

MB = 2**20
MIN_DEFAULT_MB = 512
DEFAULT_SHARE = 3  # the default budget is the physical memory divided by this


class MemoryBudgetError(ValueError):
    """Something would not fit in the server's memory budget; the message says what and how
    much, and what would fit."""


def physical_bytes() -> int | None:
    """The machine's physical memory in bytes, or None where the system cannot say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def default_mb() -> int:
    """A third of the physical memory in MB, at least :data:`MIN_DEFAULT_MB`."""
    total = physical_bytes()
    return max(MIN_DEFAULT_MB, (total or 0) // DEFAULT_SHARE // MB)


def configured_bytes() -> int:
    """``CNNLAB_MEMORY_MB`` in bytes (default :func:`default_mb`); ValueError naming the
    variable for a malformed value."""
    raw = os.environ.get("CNNLAB_MEMORY_MB", "").strip()
    if not raw:
        return default_mb() * MB
    if not raw.isdigit() or int(raw) < 16:
        raise ValueError(f"CNNLAB_MEMORY_MB must be a whole number of megabytes >= 16; "
                         f"received {raw!r}")
    return int(raw) * MB


def nbytes_of(value: Any) -> int:
    """The bytes ``value`` holds: an array's ``nbytes``; for a sequence, mapping or object
    with ``__dict__``, the arrays and bytes inside it (one level of containers deep per
    object, shared arrays counted once). Objects that hold Keras models should be counted by
    their owner (see :func:`weights_bytes`)."""
    seen: set[int] = set()
    return _walk(value, seen, depth=0)


def _walk(value: Any, seen: set[int], depth: int) -> int:
    if id(value) in seen or depth > 6:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        base = value.base if isinstance(value.base, np.ndarray) else None
        if base is not None and id(base) in seen:
            return 0
        return int(value.nbytes)
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, str | int | float | bool | type(None)):
        return 0
    if isinstance(value, dict):
        return sum(_walk(v, seen, depth + 1) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return sum(_walk(v, seen, depth + 1) for v in value)
    fields = getattr(value, "__dict__", None)
    if fields is None and hasattr(value, "__dataclass_fields__"):
        fields = {name: getattr(value, name) for name in value.__dataclass_fields__}
    return 0 if fields is None else sum(_walk(v, seen, depth + 1) for v in fields.values())


def weights_bytes(model: Any) -> int:
    """A Keras model's weights in bytes (what it holds once training state is dropped)."""
    return sum(int(np.prod(w.shape)) * np.dtype(w.dtype).itemsize for w in model.weights)


@dataclass
class _Entry:
    value: Any
    nbytes: int
    tick: int


class Budget:
    """A byte limit shared by caches and reservations; thread-safe.

    Args:
        limit_bytes: the limit; None reads ``CNNLAB_MEMORY_MB`` when first needed.
    """

    def __init__(self, limit_bytes: int | None = None) -> None:
        self._lock = threading.RLock()
        self._limit = limit_bytes
        self._caches: list[ByteCache] = []
        self._reserved: dict[int, tuple[str, int]] = {}
        self._ids = itertools.count(1)
        self._ticks = itertools.count(1)

    # --- the limit ------------------------------------------------------------------------------
    def limit_bytes(self) -> int:
        with self._lock:
            if self._limit is None:
                self._limit = configured_bytes()
            return self._limit

    def set_limit(self, limit_bytes: int | None) -> None:
        """Change the limit (None: back to ``CNNLAB_MEMORY_MB``); evicts down to it."""
        with self._lock:
            self._limit = limit_bytes
            self._evict_until(0)

    # --- what is held ---------------------------------------------------------------------------
    def cached_bytes(self) -> int:
        with self._lock:
            return sum(cache.nbytes() for cache in self._caches)

    def reserved_bytes(self) -> int:
        with self._lock:
            return sum(size for _, size in self._reserved.values())

    def used_bytes(self) -> int:
        """Bytes held by every cache and reservation now."""
        with self._lock:
            return self.cached_bytes() + self.reserved_bytes()

    def room_bytes(self) -> int:
        """What a new reservation could get if every cache were emptied."""
        with self._lock:
            return self.limit_bytes() - self.reserved_bytes()

    # --- checking and reserving -----------------------------------------------------------------
    def check(self, nbytes: int, what: str) -> None:
        """Refuse ``what`` (its ``nbytes``) if it could never fit beside today's
        reservations, even with every cache emptied; MemoryBudgetError says the sizes."""
        with self._lock:
            room = self.room_bytes()
            if nbytes > room:
                raise MemoryBudgetError(
                    f"{what} needs {nbytes / MB:,.0f} MB of memory; the server has "
                    f"{max(room, 0) / MB:,.0f} MB left of its {self.limit_bytes() / MB:,.0f} MB "
                    "(CNNLAB_MEMORY_MB)" + (" while other jobs run; try again when they end"
                                            if self._reserved else ""))

    @contextmanager
    def reserve(self, nbytes: int, what: str) -> Iterator[None]:
        """Hold ``nbytes`` for ``what`` while the ``with`` block runs, evicting cache entries
        as needed; MemoryBudgetError (nothing held) if it cannot fit."""
        with self._lock:
            self.check(nbytes, what)
            key = next(self._ids)
            self._reserved[key] = (what, int(nbytes))
            self._evict_until(0)
        try:
            yield
        finally:
            with self._lock:
                self._reserved.pop(key, None)

    # --- for caches -----------------------------------------------------------------------------
    def _register(self, cache: ByteCache) -> None:
        with self._lock:
            self._caches.append(cache)

    def _tick(self) -> int:
        return next(self._ticks)

    def _evict_until(self, extra: int) -> None:
        """Evict least recently used entries of any cache until ``extra`` more bytes fit."""
        limit = self.limit_bytes()
        while self.used_bytes() + extra > limit:
            oldest = min(((cache, key, entry.tick) for cache in self._caches
                          for key, entry in cache._entries.items()),
                         key=lambda item: item[2], default=None)
            if oldest is None:
                return
            oldest[0]._drop(oldest[1])

    def describe(self) -> list[tuple[str, int, int]]:
        """``(cache name, entries, bytes)`` per cache, then ``("reserved", n, bytes)``."""
        with self._lock:
            rows = [(cache.name, len(cache._entries), cache.nbytes()) for cache in self._caches]
            return rows + [("reserved", len(self._reserved), self.reserved_bytes())]


class ByteCache:
    """A least-recently-used cache whose entries count their bytes against a :class:`Budget`.

    An entry larger than the whole budget is not kept (the value is still returned by
    :meth:`get_or_build`), so a cache can never hold more than the budget allows.
    """

    def __init__(self, name: str, budget: Budget | None = None,
                 on_evict: Callable[[Hashable, Any], None] | None = None) -> None:
        self.name = name
        self.budget = budget or BUDGET
        self._entries: dict[Hashable, _Entry] = {}
        self._building: dict[Hashable, threading.Lock] = {}
        self._on_evict = on_evict
        self.budget._register(self)

    def nbytes(self) -> int:
        with self.budget._lock:
            return sum(entry.nbytes for entry in self._entries.values())

    def __len__(self) -> int:
        with self.budget._lock:
            return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        with self.budget._lock:
            return key in self._entries

    def keys(self) -> list[Hashable]:
        """The keys held, least recently used first."""
        with self.budget._lock:
            return [k for k, _ in sorted(self._entries.items(), key=lambda kv: kv[1].tick)]

    def get(self, key: Hashable) -> Any | None:
        """The value of ``key`` (now the most recently used), or None."""
        with self.budget._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            entry.tick = self.budget._tick()
            return entry.value

    def put(self, key: Hashable, value: Any, nbytes: int) -> None:
        """Keep ``value`` as ``nbytes`` bytes, evicting the least recently used entries of any
        cache to make room; a value larger than the whole budget is not kept."""
        with self.budget._lock:
            self._drop(key, notify=False)
            if nbytes > self.budget.limit_bytes() - self.budget.reserved_bytes():
                return
            self.budget._evict_until(nbytes)
            self._entries[key] = _Entry(value, int(nbytes), self.budget._tick())

    def pop(self, key: Hashable) -> Any | None:
        """Forget ``key``; its value, or None."""
        with self.budget._lock:
            entry = self._entries.pop(key, None)
            return None if entry is None else entry.value

    def discard_where(self, keep: Callable[[Hashable], bool]) -> None:
        """Forget every key for which ``keep(key)`` is false."""
        with self.budget._lock:
            for key in [k for k in self._entries if not keep(k)]:
                del self._entries[key]

    def clear(self) -> None:
        with self.budget._lock:
            self._entries.clear()

    def _drop(self, key: Hashable, notify: bool = True) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None and notify and self._on_evict is not None:
            try:
                self._on_evict(key, entry.value)
            except Exception:  # an eviction hook must never break the cache
                pass

    def get_or_build(self, key: Hashable, build: Callable[[], Any],
                     size: Callable[[Any], int] = nbytes_of) -> Any:
        """The value of ``key``, built once even when several threads ask at the same time,
        then kept as ``size(value)`` bytes."""
        value = self.get(key)
        if value is not None:
            return value
        with self.budget._lock:
            lock = self._building.setdefault(key, threading.Lock())
        try:
            with lock:
                value = self.get(key)
                if value is None:
                    value = build()
                    self.put(key, value, size(value))
        finally:  # a build that raised leaves no lock behind either
            with self.budget._lock:
                self._building.pop(key, None)
        return value


BUDGET = Budget()  # the server's one budget
