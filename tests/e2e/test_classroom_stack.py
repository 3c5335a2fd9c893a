"""The classroom stack (``scripts/classroom.py``): scheduler, two workers, two app replicas and
nginx with sticky sessions, through nginx in Chromium. Each browser stays on one replica for
all its requests (the page, its websocket); a workspace link opened on the other replica shows
the same run and takes an upload; a student joins a class on one replica and trains on the
cluster, and the teacher's board on the other replica shows the run's score; ``down`` leaves
none of the started processes behind."""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cnnlab.architecture import presets, spec_json

from .conftest import REPO, AppPage, harness, import_expect

expect = import_expect()

pytestmark = pytest.mark.e2e
SCRIPT = [sys.executable, str(REPO / "scripts" / "classroom.py")]
ROUTE = "cnnlab_route"


def classroom(command: str, state: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SCRIPT, command, "--state", str(state), *extra], cwd=REPO,
                          capture_output=True, text=True, timeout=180)


def upstream_for(url: str, route: str) -> str:
    """The replica nginx sends a browser with this route cookie to (its X-Upstream header)."""
    request = urllib.request.Request(f"{url}/_stcore/health",
                                     headers={"Cookie": f"{ROUTE}={route}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["X-Upstream"]


def routes_in_log(state: Path) -> dict[str, set[str]]:
    """For each route cookie in nginx's access log, the replicas that served its requests."""
    served = collections.defaultdict(set)
    for line in (state / "access.log").read_text().splitlines():
        match = re.search(r"route=(\S+) upstream=(\S+)$", line)
        if match:
            served[match[1]].add(match[2])
    return served


def websockets_logged(state: Path, route: str, wait_s: float = 15) -> list[str]:
    """The access log's websocket lines of ``route``, once nginx has written one (it logs a
    websocket when the browser closes it)."""
    deadline = time.monotonic() + wait_s
    while True:
        lines = [line for line in (state / "access.log").read_text().splitlines()
                 if "/_stcore/stream" in line and f"route={route} " in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)  # polling the log file


def trained_on_cluster(state: Path) -> int:
    """How many training tasks (keys ``cnnlab-train-...``) the stack's scheduler has finished."""
    from distributed import Client

    address = json.loads((state / "processes.json").read_text())["info"]["scheduler"]
    with Client(address, timeout=30) as client:
        return client.run_on_scheduler(lambda dask_scheduler: int(
            dask_scheduler.task_prefixes["cnnlab-train"].state_counts["memory"])
            if "cnnlab-train" in dask_scheduler.task_prefixes else 0)


def cnnlab(home: Path, *args: str) -> str:
    """``cnnlab ARGS`` on the stack's CNNLAB_HOME (as its operator runs it); its output."""
    done = subprocess.run([sys.executable, "-m", "cnnlab", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "CNNLAB_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_two_replicas_behind_nginx_keep_sessions_and_share_workspaces(browser, tmp_path):
    state, home = tmp_path / "stack", tmp_path / "home"
    port = harness.free_port()
    started = classroom("up", state, "--port", str(port), "--home", str(home))
    assert started.returncode == 0, started.stdout + started.stderr
    url = f"http://127.0.0.1:{port}"
    assert started.stdout.strip().splitlines()[-1] == f"open {url}/"
    recorded = json.loads((state / "processes.json").read_text())["processes"]
    try:
        assert [p["name"] for p in recorded] == ["scheduler", "worker-1", "worker-2",
                                                  "replica-1", "replica-2", "nginx"]
        again = classroom("up", state, "--port", str(harness.free_port()))
        assert again.returncode == 2 and "is running" in again.stderr, again.stderr
        assert classroom("status", state).returncode == 0

        made = cnnlab(home, "class", "new", "Stack class").splitlines()
        student_link, teacher_link = (line.split(": ", 1)[1] for line in made)
        code = student_link.removeprefix("/?class=")
        cnnlab(home, "class", "challenge", code, "--dataset", "mnist-5k", "--max-params",
               "300000", "--max-epochs", "1")

        first = AppPage(browser, url)
        first.open()  # a new browser: nginx gives it a route cookie
        cookies = {c["name"]: c["value"] for c in first.context.cookies()}
        mine = upstream_for(url, cookies[ROUTE])
        first.page.goto(url + student_link)  # a student joins on this replica
        first.main.get_by_role("textbox", name="your name, as the class will see it").fill(
            "Stacey")
        first.main.get_by_role("button", name="Join the class").click()
        expect(first.main.get_by_text("in this class.", exact=False)).to_be_visible()
        first.idle()
        run_name = first.train_small_model()
        token = re.search(r"[?&]w=([A-Za-z0-9_-]+)", first.page.url)[1]
        assert trained_on_cluster(state) == 1  # the replica sent it to the workers

        other_route = next(route for route in (f"probe-{n}" for n in range(200))
                           if upstream_for(url, route) != mine)
        other = AppPage(browser, url)  # another computer, stuck to the other replica
        other.context.add_cookies([{"name": ROUTE, "value": other_route, "url": url}])
        with other.page.expect_response(lambda r: r.url.startswith(url)) as response:
            other.page.goto(f"{url}/?w={token}")
        other_replica = response.value.headers["x-upstream"]
        assert other_replica != mine
        other.idle()
        expect(other.sidebar).to_contain_text(run_name)
        other.nav("Train")
        expect(other.main.get_by_role("heading", name="Runs of this workspace")).to_be_visible()
        harness.wait_rendered(other.page, ".st-key-train_start button")
        other.shot("classroom-stack-other-replica")
        # an upload (its own request, /_stcore/upload_file) reaches the session's replica
        other.nav("Build")
        arch = dataclasses.replace(presets.get("tutorial-1conv"), name="via-nginx")
        other.widget("build_upload").locator("input[type=file]").set_input_files(
            files=[{"name": "via-nginx.json", "mimeType": "application/json",
                    "buffer": spec_json.architecture_to_json(arch).encode()}])
        expect(other.sidebar).to_contain_text("Being built: via-nginx")
        other.check()

        # the teacher's board on the other replica: the run trained on the cluster, scored
        teacher = AppPage(browser, url)
        teacher.context.add_cookies([{"name": ROUTE, "value": other_route, "url": url}])
        teacher.page.goto(url + teacher_link)
        row = teacher.page.locator(".cnnlab-board tr.board-row", has_text="Stacey")
        expect(row.locator("td.score")).to_have_text(re.compile(r"^\d{1,3}\.\d\d%$"))
        expect(row.locator("td.run")).to_contain_text(run_name)
        teacher.check()
        teacher.close()
        first.close()
        other.close()
        # nginx logs a websocket when it closes: every request of each browser, its
        # websocket included, went to its one replica
        for route, replica in ((cookies[ROUTE], mine), (other_route, other_replica)):
            stream = websockets_logged(state, route)
            assert stream and all(f"upstream={replica}" in line for line in stream), stream
            assert routes_in_log(state)[route] == {replica}
        uploads = [line for line in (state / "access.log").read_text().splitlines()
                   if "/_stcore/upload_file" in line and f"route={other_route} " in line]
        assert uploads and all(f"upstream={other_replica}" in line for line in uploads)
        polls = [line for line in (state / "access.log").read_text().splitlines()
                 if f"/cnnlab-board/{code}" in line]  # the board's route: the other replica
        assert polls and all(f"upstream={other_replica}" in line for line in polls), polls
    finally:
        stopped = classroom("down", state)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert [p["name"] for p in recorded if alive(p["pid"])] == []
    assert not state.exists()
