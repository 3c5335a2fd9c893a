"""One workspace on disk: a student's architecture, runs and current model, by token.

A workspace is the folder ``CNNLAB_HOME/workspaces/<token>/``::

    architecture.json      the network being built (spec JSON)
    workspace.json         {"current": <run folder>, "order": [run folders, oldest first],
                            "uploaded": [run folders added from someone's run zip]}
    runs/<folder>/         one run folder each, as ``cnnlab.runs.run_files.save_run`` writes
    usage.json, .lock      its disk use as a running total, and the lock its writers hold
                           (:mod:`cnnlab.workspaces.usage`)
    .visited               touched at most once an hour while a page of it is open

The token is the only key: ``secrets.token_urlsafe(32)`` (256 bits), kept in the page's URL.
A token is checked for its form before it becomes a path, so ``../`` or ``/`` never does.

A workspace is made on its first write (a run saved, an upload, a drawing, an edited
network), not on a visit: :func:`new` only draws a token, and a visit that writes nothing
leaves nothing on disk. Every write goes through :func:`usage.recording`, which keeps the
workspace's disk use (blocks and files, as the disk counts them) and checks nothing by itself:
:meth:`Workspace.check_room` refuses, before anything is written, what would pass the limits.
:func:`prune` removes the workspaces nobody wrote to or opened for ``CNNLAB_WORKSPACE_DAYS``.
No TensorFlow at module level (saving and loading a run import it when called).

Example:
    >>> ws = new()  # doctest: +SKIP
    >>> ws.save_run(run); ws.current()  # doctest: +SKIP
    'two-conv-1'
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlab.architecture import spec, spec_json
from cnnlab.files import disk
from cnnlab.files.disk import Usage
from cnnlab.workspaces import run_info, settings, usage

if TYPE_CHECKING:
    from cnnlab.runs.records import Run

TOKEN_FORM = re.compile(r"[A-Za-z0-9_-]{22,86}")  # token_urlsafe of 16..64 bytes
TOKEN_BYTES = 32
ARCHITECTURE, INDEX, RUNS, DATASETS = "architecture.json", "workspace.json", "runs", "datasets"
MAX_INDEX_BYTES = 2**20
VISIT_EVERY_S = 3600.0  # a visit is recorded on disk at most this often per workspace
NOTHING = Usage()
_VISITS: dict[str, float] = {}  # token -> when this process last recorded a visit (monotonic)


class WorkspaceError(ValueError):
    """A workspace refused something; ``str()`` says why and what to do."""


def check_token(token: Any) -> str:
    """``token`` if it has a workspace token's form (22-86 of ``A-Z a-z 0-9 _ -``)."""
    if not isinstance(token, str) or not TOKEN_FORM.fullmatch(token):
        shown = token if isinstance(token, str) and len(token) <= 40 else type(token).__name__
        raise WorkspaceError(f"not a workspace token; received {shown!r}; use the link "
                             f"CNN Lab gave you (its w=... part)")
    return token


def root() -> Path:
    return settings.home() / "workspaces"


def new() -> Workspace:
    """A new workspace's token; nothing is on disk until its first write."""
    return Workspace(secrets.token_urlsafe(TOKEN_BYTES))


def create() -> Workspace:
    """A new, empty workspace, made on disk now (for tools and tests; pages use :func:`new`)."""
    workspace = new()
    workspace.folder.mkdir(parents=True, mode=0o700)
    usage.recount(workspace.folder)
    return workspace


def open_workspace(token: Any) -> Workspace:
    """The existing workspace of ``token``; WorkspaceError if malformed or not on disk."""
    workspace = Workspace(check_token(token))
    if not workspace.exists():
        raise WorkspaceError("no workspace with this link on this server (nothing was saved "
                             "under it, or it was removed); a new one was made")
    return workspace


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:60] or "run"


class Workspace:
    """One workspace's folder; every method reads or writes the disk (nothing cached here).

    Until its first write the folder does not exist, and the workspace reads as empty.
    """

    def __init__(self, token: str) -> None:
        self.token = check_token(token)
        self.folder = root() / self.token

    def exists(self) -> bool:
        """Whether anything was ever written to this workspace (its folder exists)."""
        return self.folder.is_dir()

    # --- the architecture being built ---------------------------------------------------------
    def architecture(self) -> spec.Architecture | None:
        """The saved architecture, or None (none saved yet, or unreadable)."""
        path = self.folder / ARCHITECTURE
        if not path.exists():
            return None
        try:
            return spec_json.load_architecture(path)
        except ValueError:
            return None

    def save_architecture(self, arch: spec.Architecture) -> None:
        text = spec_json.architecture_to_json(arch)
        with usage.recording(self.folder, ARCHITECTURE):  # one file of at most 256 kB
            tmp = self.folder / f".{ARCHITECTURE}.tmp"
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.folder / ARCHITECTURE)

    # --- the index: order of runs and the current one ------------------------------------------
    def _index(self) -> dict[str, Any]:
        """The index, read without a lock (it is replaced whole, never written in place)."""
        from cnnlab.files import reading

        path = self.folder / INDEX
        try:
            data = reading.loads_json(reading.read_regular_file(path, MAX_INDEX_BYTES), INDEX)
        except (ValueError, OSError):  # none yet (or unreadable): the run folders as they are
            data = {}
        data = data if isinstance(data, dict) else {}
        runs = self.folder / RUNS
        order = [f for f in data.get("order", []) if isinstance(f, str) and f == _slug(f)
                 and (runs / f).is_dir()]
        present = sorted(p.name for p in runs.iterdir()) if runs.is_dir() else []
        order += [name for name in present if name not in order and not name.startswith(".")
                  and (runs / name).is_dir()]
        current = data.get("current") if data.get("current") in order else None
        listed = data.get("uploaded")
        uploaded = [f for f in listed if f in order] if isinstance(listed, list) else []
        return {"current": current, "order": order, "uploaded": uploaded}

    def _write_index(self, index: dict[str, Any]) -> None:
        """Replace the index (the caller holds the workspace's lock, through recording)."""
        tmp = self.folder / f".{INDEX}.tmp"
        tmp.write_text(json.dumps(index), encoding="utf-8")
        os.replace(tmp, self.folder / INDEX)

    def run_folders(self) -> list[str]:
        """The run folders' names, oldest first."""
        return self._index()["order"]

    def current(self) -> str | None:
        """The current model's run folder, or None."""
        return self._index()["current"]

    def set_current(self, folder: str | None) -> None:
        with usage.recording(self.folder, INDEX):
            index = self._index()
            if folder is not None and folder not in index["order"]:
                raise WorkspaceError(f"no run {folder!r} in this workspace; it has "
                                     f"{', '.join(index['order']) or 'none'}")
            self._write_index(dict(index, current=folder))

    # --- runs -------------------------------------------------------------------------------------
    def runs(self) -> list[run_info.RunInfo]:
        """What the runs table shows of every run (no model), oldest first."""
        out = []
        for folder in self.run_folders():
            info = run_info.read(self.folder / RUNS / folder)
            if info is not None:
                out.append(info)
        return out

    def run_path(self, folder: str) -> Path:
        if folder not in self.run_folders():
            raise WorkspaceError(f"no run {folder!r} in this workspace")
        return self.folder / RUNS / folder

    def save_run(self, run: Run, uploaded: bool = False) -> str:
        """Save ``run`` (atomically) as a new run folder, make it current; its folder name.

        What the run will take on disk is checked against the room left first (for a run
        uploaded and for a run a training job saves): nothing is written when it does not fit.
        ``uploaded``: the run came from a run zip (someone else's, or trained elsewhere), so
        its record's data set is a name only here (:meth:`was_uploaded`); the server says so,
        never the zip.

        Raises:
            WorkspaceError: the run limit or the quota would be passed (saying what to delete),
                or the disk refused (full, read-only); the message names no server path, and
                the workspace is left as it was: no run folder, index unchanged.
        """
        from cnnlab.runs import atomic, run_files

        with usage.recording(self.folder, RUNS, INDEX):
            self.check_files(run_files.file_sizes(run), f"the run {run.name}")
            taken = set(self._index()["order"])
            base = folder = _slug(run.name)
            number = 2
            while folder in taken or (self.folder / RUNS / folder).exists():
                folder, number = f"{base}_{number}", number + 1
            path = self.folder / RUNS / folder
            try:
                run_files.save_run(run, path)
                index = self._index()
                self._write_index(dict(index, current=folder, uploaded=index["uploaded"]
                                       + ([folder] if uploaded else [])))
            except (atomic.SaveError, OSError) as exc:
                if path.is_dir():  # saved, but the index could not follow: undo the run
                    shutil.rmtree(path, ignore_errors=True)
                (self.folder / f".{INDEX}.tmp").unlink(missing_ok=True)
                raise WorkspaceError(exc.reason if isinstance(exc, atomic.SaveError) else
                                     atomic.SaveError.from_os_error(path, exc).reason) from None
        return folder

    def was_uploaded(self, folder: str) -> bool:
        """Whether the run ``folder`` was added from a run zip rather than trained here (a
        run whose data set this server never loaded: pages show its data set as a name)."""
        return folder in self._index()["uploaded"]

    def delete_run(self, folder: str) -> None:
        """Remove a run folder (the current model becomes the newest remaining run)."""
        with usage.recording(self.folder, RUNS, INDEX):
            path = self.run_path(folder)
            doomed = path.with_name(f".deleting-{folder}")
            os.replace(path, doomed)  # gone from the listing at once, then removed
            shutil.rmtree(doomed, ignore_errors=True)
            index = self._index()
            current = index["current"] or (index["order"][-1] if index["order"] else None)
            self._write_index(dict(index, current=current))

    # --- limits -----------------------------------------------------------------------------------
    def usage(self) -> Usage:
        """What the workspace takes on disk (allocated bytes, files and folders): its running
        total, read from one small file, never by walking the tree."""
        return usage.read(self.folder)

    def check_files(self, sizes: list[int], what: str) -> None:
        """:meth:`check_room` for a new run folder holding files of these ``sizes``."""
        self.check_room(disk.new_folder(sizes, disk.block_bytes(self.folder)), what)

    def check_room(self, need: Usage = NOTHING, what: str = "", runs: bool = True) -> None:
        """Raise WorkspaceError, saying what to delete, unless ``need`` more fits the
        workspace's quota and file limit (and, with ``runs``, one more run its run limit).

        Args:
            need: what the write will add (an estimate in whole blocks; may be negative). With
                none, whether the workspace is full already.
            what: the thing to be written, named in the message ("the run two-conv-1").
            runs: whether a new run is to be added (the run limit applies).
        """
        folders = self.run_folders()
        limit = settings.max_runs()
        if runs and len(folders) >= limit:
            raise WorkspaceError(
                f"this workspace keeps {len(folders)} runs, its limit (CNNLAB_MAX_RUNS is "
                f"{limit}); delete a run on the Train page first (oldest: {folders[0]})")
        used, quota, files = self.usage(), settings.workspace_bytes(), settings.workspace_files()
        after = used + need  # a write that frees room (need <= 0) always fits
        if (need.bytes > 0 and after.bytes > quota) or (used.bytes >= quota and not what):
            room = max(quota - used.bytes, 0) / 2**20
            start = (f"{what} needs about {need.megabytes:.1f} MB on disk; this workspace has "
                     f"{room:.1f} MB left of its" if what else
                     f"this workspace uses {used.megabytes:.1f} MB of its")
            raise WorkspaceError(f"{start} {quota / 2**20:.0f} MB (CNNLAB_WORKSPACE_MB)"
                                 f"{self._largest()}")
        if (need.files > 0 and after.files > files) or (used.files >= files and not what):
            start = (f"{what} makes {need.files:,} files and folders; this workspace has room "
                     f"for {max(files - used.files, 0):,} more of its" if what else
                     f"this workspace holds {used.files:,} files and folders of its")
            raise WorkspaceError(f"{start} {files:,} (CNNLAB_WORKSPACE_FILES)"
                                 f"{self._largest()}")

    def _largest(self) -> str:
        """What to delete: "; delete runs or data sets first, largest: ..." naming the three
        largest with their sizes (walked: for a refusal only), or "" when there are none."""
        sizes = [(disk.measure(self.folder / RUNS / f).bytes, f"run {f}")
                 for f in self.run_folders()]
        sets = self.folder / DATASETS
        if sets.is_dir():
            sizes += [(disk.measure(p).bytes, f"data set {p.name}") for p in sets.iterdir()
                      if p.is_dir() and not p.name.startswith(".")]
        largest = ", ".join(f"{name} ({size / 2**20:.1f} MB)"
                            for size, name in sorted(sizes, reverse=True)[:3])
        return f"; delete runs or data sets first, largest: {largest}" if largest else ""

    # --- visits -----------------------------------------------------------------------------------
    def record_visit(self) -> None:
        """Note that a page of this workspace is open (for :func:`prune`): touches its
        ``.visited`` at most once an hour, and does nothing for a workspace not written yet."""
        now = time.monotonic()
        if now - _VISITS.get(self.token, -VISIT_EVERY_S) < VISIT_EVERY_S:
            return
        stamp = self.folder / usage.VISIT
        try:
            if os.stat(stamp).st_mtime < time.time() - VISIT_EVERY_S:
                os.utime(stamp)
        except FileNotFoundError:
            if not self.exists():
                return  # nothing on disk to keep: no stamp, no folder
            try:
                stamp.touch()
            except OSError:  # removed meanwhile (a refused first write, a prune)
                return
        except OSError:
            return
        if len(_VISITS) > 10_000:
            _VISITS.clear()
        _VISITS[self.token] = now


# --- old workspaces ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Pruned:
    """A workspace :func:`prune` removed (or would remove): its token, when it was last
    written or visited (seconds since the epoch) and what it took on disk."""

    token: str
    last_used: float
    freed: Usage


def last_used(folder: Path) -> float:
    """When the workspace was last written or visited: the newest modification time of the
    entries directly in its folder (``usage.json`` is replaced on every write, ``.visited``
    touched on visits), or of the folder itself when it is empty; the lock file is not a use."""
    with os.scandir(folder) as listing:
        times = [entry.stat(follow_symlinks=False).st_mtime for entry in listing
                 if entry.name != usage.LOCK]
    return max(times, default=os.lstat(folder).st_mtime)


def prune(days: float, dry_run: bool = False, now: float | None = None) -> list[Pruned]:
    """Remove every workspace untouched (no write, no visit) for ``days`` days.

    Args:
        days: at least 1 (``CNNLAB_WORKSPACE_DAYS`` by default in the command).
        dry_run: only say what would be removed.
        now: the time to compare with (seconds since the epoch); the clock by default.
    Returns:
        The removed workspaces, oldest first.
    """
    if not days >= 1:
        raise WorkspaceError(f"days must be at least 1; received {days!r}")
    now = time.time() if now is None else now
    base = root()
    if not base.is_dir():
        return []
    if not dry_run:  # what an interrupted prune left behind
        for leftover in base.glob(".pruning-*"):
            shutil.rmtree(leftover, ignore_errors=True)
    removed = []
    for folder in sorted(base.iterdir()):
        if not TOKEN_FORM.fullmatch(folder.name) or not folder.is_dir() or folder.is_symlink():
            continue
        try:
            if now - last_used(folder) >= days * 86_400:
                removed += _prune_one(folder, now - days * 86_400, dry_run)
        except FileNotFoundError:  # removed meanwhile
            continue
    return sorted(removed, key=lambda p: p.last_used)


def _prune_one(folder: Path, before: float, dry_run: bool) -> list[Pruned]:
    """Remove ``folder`` if it is still unused since ``before``, under its lock (so no write is
    half-way through); what was removed."""
    doomed = folder.with_name(f".pruning-{folder.name}")
    with usage.locked(folder):
        used = last_used(folder)  # again: a write may have come in meanwhile
        if used > before:
            return []
        pruned = Pruned(folder.name, used, disk.measure(folder))
        if not dry_run:
            os.replace(folder, doomed)
    if not dry_run:
        shutil.rmtree(doomed, ignore_errors=True)
    return [pruned]
