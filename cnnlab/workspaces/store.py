"""One workspace on disk: a student's architecture, runs and current model, by token.

A workspace is the folder ``CNNLAB_HOME/workspaces/<token>/``::

    architecture.json      the network being built (spec JSON)
    workspace.json         {"current": <run folder>, "order": [run folders, oldest first],
                            "uploaded": [run folders added from someone's run zip]}
    runs/<folder>/         one run folder each, as ``cnnlab.runs.run_files.save_run`` writes

The token is the only key: ``secrets.token_urlsafe(32)`` (256 bits), kept in the page's URL.
A token is checked for its form before it becomes a path, so ``../`` or ``/`` never does.
No TensorFlow at module level (saving and loading a run import it when called).

Example:
    >>> ws = create()  # doctest: +SKIP
    >>> ws.save_run(run); ws.current()  # doctest: +SKIP
    'two-conv-1'
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnlab.architecture import spec, spec_json
from cnnlab.workspaces import run_info, settings

if TYPE_CHECKING:
    from cnnlab.runs.records import Run

TOKEN_FORM = re.compile(r"[A-Za-z0-9_-]{22,86}")  # token_urlsafe of 16..64 bytes
TOKEN_BYTES = 32
ARCHITECTURE, INDEX, RUNS = "architecture.json", "workspace.json", "runs"
MAX_INDEX_BYTES = 2**20
_LOCK = threading.RLock()  # one process writes workspace.json files one at a time


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


def create() -> Workspace:
    """A new, empty workspace with a fresh random token."""
    folder = root() / secrets.token_urlsafe(TOKEN_BYTES)
    (folder / RUNS).mkdir(parents=True, mode=0o700)
    return Workspace(folder.name)


def open_workspace(token: Any) -> Workspace:
    """The existing workspace of ``token``; WorkspaceError if malformed or unknown."""
    workspace = Workspace(check_token(token))
    if not (workspace.folder / RUNS).is_dir():
        raise WorkspaceError("no workspace with this link on this server (it may have been "
                             "deleted); a new one was made")
    return workspace


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:60] or "run"


class Workspace:
    """One workspace's folder; every method reads or writes the disk (nothing cached here)."""

    def __init__(self, token: str) -> None:
        self.token = check_token(token)
        self.folder = root() / self.token

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
        tmp = self.folder / f".{ARCHITECTURE}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.folder / ARCHITECTURE)

    # --- the index: order of runs and the current one ------------------------------------------
    def _index(self) -> dict[str, Any]:
        from cnnlab.files import reading

        path = self.folder / INDEX
        if not path.exists():
            return {"current": None, "order": [], "uploaded": []}
        try:
            data = reading.loads_json(reading.read_regular_file(path, MAX_INDEX_BYTES), INDEX)
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        runs = self.folder / RUNS
        order = [f for f in data.get("order", []) if isinstance(f, str) and f == _slug(f)
                 and (runs / f).is_dir()]
        order += sorted(p.name for p in runs.iterdir() if p.is_dir() and p.name not in order
                        and not p.name.startswith("."))
        current = data.get("current") if data.get("current") in order else None
        listed = data.get("uploaded")
        uploaded = [f for f in listed if f in order] if isinstance(listed, list) else []
        return {"current": current, "order": order, "uploaded": uploaded}

    def _write_index(self, index: dict[str, Any]) -> None:
        tmp = self.folder / f".{INDEX}.tmp"
        tmp.write_text(json.dumps(index), encoding="utf-8")
        os.replace(tmp, self.folder / INDEX)

    def run_folders(self) -> list[str]:
        """The run folders' names, oldest first."""
        with _LOCK:
            return self._index()["order"]

    def current(self) -> str | None:
        """The current model's run folder, or None."""
        with _LOCK:
            return self._index()["current"]

    def set_current(self, folder: str | None) -> None:
        with _LOCK:
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

        ``uploaded``: the run came from a run zip (someone else's, or trained elsewhere), so
        its record's data set is a name only here (:meth:`was_uploaded`); the server says so,
        never the zip.

        Raises:
            WorkspaceError: the disk refused (full, read-only); the message names no server
                path, and the workspace is left as it was: no run folder, index unchanged.
        """
        from cnnlab.runs import atomic, run_files

        with _LOCK:
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
        with _LOCK:
            return folder in self._index()["uploaded"]

    def delete_run(self, folder: str) -> None:
        """Remove a run folder (the current model becomes the newest remaining run)."""
        with _LOCK:
            path = self.run_path(folder)
            doomed = path.with_name(f".deleting-{folder}")
            os.replace(path, doomed)  # gone from the listing at once, then removed
            shutil.rmtree(doomed, ignore_errors=True)
            index = self._index()
            current = index["current"] or (index["order"][-1] if index["order"] else None)
            self._write_index(dict(index, current=current))

    # --- limits -----------------------------------------------------------------------------------
    def usage(self) -> int:
        """Bytes the workspace's files take."""
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())

    def check_room(self) -> None:
        """Raise WorkspaceError, saying what to delete, if no new run fits the limits."""
        folders = self.run_folders()
        limit = settings.max_runs()
        if len(folders) >= limit:
            raise WorkspaceError(
                f"this workspace keeps {len(folders)} runs, its limit (CNNLAB_MAX_RUNS is "
                f"{limit}); delete a run on the Train page first (oldest: {folders[0]})")
        used, quota = self.usage(), settings.workspace_bytes()
        if used >= quota:
            sizes = sorted(((_size(self.folder / RUNS / f), f) for f in folders), reverse=True)
            largest = ", ".join(f"{f} ({size / 2**20:.1f} MB)" for size, f in sizes[:3])
            raise WorkspaceError(
                f"this workspace uses {used / 2**20:.1f} MB of its {quota / 2**20:.0f} MB "
                f"(CNNLAB_WORKSPACE_MB); delete runs on the Train page first, largest: "
                f"{largest or 'none'}")


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
