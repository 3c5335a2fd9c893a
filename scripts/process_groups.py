"""Processes started in sessions of their own and recorded in a state folder
(``processes.json``: name, PID, start time, log, command), so that they, and only they, can be
found and stopped later by another process: the classroom script's bookkeeping
(``scripts/classroom.py``). A PID is trusted only with its start time (/proc/<pid>/stat), and
a process group is signalled as a whole (a Dask worker's nanny has a child).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = "processes.json"


class StackError(RuntimeError):
    """Something in the stack did not come up; the message says which and ends with its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (/proc/<pid>/stat field 22): with the PID, it
    tells our process apart from a later one that got the same PID; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def group_alive(entry: dict) -> bool:
    """Whether anything of the process group we started (its id is the leader's PID) runs."""
    try:  # reap the leader if it is our own child that ended (else it stays a zombie)
        os.waitpid(entry["pid"], os.WNOHANG)
    except ChildProcessError:
        pass
    leader = start_time(entry["pid"])
    if leader is not None and leader != entry["started"]:
        return False  # the PID now belongs to another process: ours ended long ago
    try:
        os.killpg(entry["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # a group of another user's: not ours
    return True


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


class Stack:
    """The processes of one state folder, as recorded in ``processes.json``."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.entries: list[dict] = []
        self.info: dict = {}
        path = state / PROCESSES
        if path.exists():
            saved = json.loads(path.read_text())
            self.entries, self.info = saved["processes"], saved["info"]

    def save(self) -> None:
        tmp = self.state / f"{PROCESSES}.tmp"
        tmp.write_text(json.dumps({"processes": self.entries, "info": self.info}, indent=1))
        tmp.replace(self.state / PROCESSES)

    def running(self) -> list[dict]:
        return [entry for entry in self.entries if group_alive(entry)]

    def start(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> dict:
        log = self.state / "logs" / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                                       stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        entry = {"name": name, "pid": process.pid, "started": start_time(process.pid),
                 "log": str(log), "cmd": cmd}
        self.entries.append(entry)
        self.save()  # at once: a failed `up` is cleaned up by `down` from this record
        return entry

    def wait_for(self, what: str, ready, entries: list[dict], timeout: float) -> None:
        """Poll ``ready()`` until true; fail naming ``what`` if one of ``entries`` exits or
        time runs out, with the end of its log."""
        deadline = time.monotonic() + timeout
        while not ready():
            for entry in entries:
                if not group_alive(entry):
                    raise StackError(f"{entry['name']} exited before {what}; its log "
                                     f"{entry['log']} ends:\n{tail(Path(entry['log']))}")
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {e['log']}:\n{tail(Path(e['log']))}" for e in entries)
                raise StackError(f"{what}: not within {timeout:g} s\n{logs}")
            time.sleep(0.2)  # polling a port or health endpoint

    def stop(self, timeout: float = 20) -> list[str]:
        """SIGTERM every recorded process group still running (newest first), wait, then
        SIGKILL what is left; the names of the groups that had to be killed."""
        alive = [entry for entry in reversed(self.entries) if group_alive(entry)]
        for entry in alive:
            os.killpg(entry["pid"], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while any(group_alive(e) for e in alive) and time.monotonic() < deadline:
            time.sleep(0.1)
        killed = [entry["name"] for entry in alive if group_alive(entry)]
        for entry in alive:
            if group_alive(entry):
                os.killpg(entry["pid"], signal.SIGKILL)
        while any(group_alive(e) for e in alive) and time.monotonic() < deadline + 5:
            time.sleep(0.1)
        return killed
