"""The whole classroom stack on this machine, for a try: one Dask scheduler, its workers
(``--nthreads 1``: one training each; ``--preload cnnlab.cluster.warm``: warmed up for
training before they join), N ``streamlit run serve.py`` replicas sharing
``CNNLAB_HOME`` and nginx in front of them with sticky sessions (``deploy/nginx.conf.template``).

    python scripts/classroom.py up        # prints the one address to open
    python scripts/classroom.py status
    python scripts/classroom.py down      # stops exactly what `up` started
    python scripts/classroom.py conf --state DIR --listen 0.0.0.0:80 --replica HOST:PORT ...
                                          # only nginx's configuration, for a real deployment

Everything listens on 127.0.0.1. ``--workers 0`` starts no scheduler: the replicas train
in-process, as ``streamlit run serve.py`` alone does. Each process is started in a session of
its own; its PID and start time are kept in the state folder, and ``down`` signals only those
process groups (a Dask worker's nanny has a child). A second ``up`` on the same state folder
is refused while anything it started still runs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
from pathlib import Path

from process_groups import Stack, StackError, free_port, group_alive, healthy, port_taken, tail

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
STATE_DEFAULT = Path(os.environ.get("TMPDIR", "/tmp")) / f"cnnlab-classroom-{os.getuid()}"
UPLOAD_MB = 200  # Streamlit's server.maxUploadSize default; nginx's body limit matches it


def render_nginx(prefix: Path, listen: str, replicas: list[str]) -> Path:
    """``deploy/nginx.conf.template`` with this folder, nginx's ``host:port`` and the
    replicas' ``host:port``; the file written (``prefix/nginx.conf``)."""
    upstreams = "\n".join(f"        server {address};" for address in replicas)
    values = {"@PREFIX@": str(prefix), "@LISTEN@": listen,
              "@UPSTREAMS@": upstreams, "@MAX_BODY@": str(UPLOAD_MB)}
    lines = TEMPLATE.read_text().splitlines()
    for key, value in values.items():  # in directives only: the comments name the keys
        lines = [line if line.lstrip().startswith("#") else line.replace(key, value)
                 for line in lines]
    text = "\n".join(lines) + "\n"
    for kind in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / kind).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf


def workers_ready(address: str, count: int, timeout: float) -> None:
    from distributed import Client

    with Client(address, timeout=timeout) as client:
        client.wait_for_workers(count, timeout=timeout)


def up(args: argparse.Namespace) -> int:
    state = args.state
    stack = Stack(state)
    if stack.running():
        names = ", ".join(e["name"] for e in stack.running())
        print(f"error: a classroom stack of {state} is running ({names}); stop it first with "
              f"`python scripts/classroom.py down --state {state}`", file=sys.stderr)
        return 2
    if port_taken(args.port):
        print(f"error: port {args.port} on 127.0.0.1 is taken; choose another with --port",
              file=sys.stderr)
        return 2
    shutil.rmtree(state, ignore_errors=True)  # what a stopped stack left
    (state / "logs").mkdir(parents=True)
    stack = Stack(state)
    home = Path(args.home or os.environ.get("CNNLAB_HOME") or "~/.cnnlab").expanduser()
    env = {"CNNLAB_HOME": str(home.resolve()),
           "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_urlsafe(32)}  # one for all replicas
    try:
        if args.workers:
            address = f"tcp://127.0.0.1:{free_port()}"
            scheduler = stack.start("scheduler", [
                sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1",
                "--port", address.rsplit(":", 1)[1], "--no-dashboard"])
            stack.wait_for("the scheduler listens", lambda: port_taken(
                int(address.rsplit(":", 1)[1])), [scheduler], args.timeout)
            env["CNNLAB_SCHEDULER"] = address
            workers = [stack.start(f"worker-{i}", [
                sys.executable, "-m", "dask", "worker", address, "--nthreads", "1",
                "--host", "127.0.0.1", "--no-dashboard", "--name", f"worker-{i}",
                "--preload", "cnnlab.cluster.warm",  # warm before it joins: see that module
                "--local-directory", str(state / "dask")]) for i in range(1, args.workers + 1)]
        replica_ports = [free_port() for _ in range(args.replicas)]
        replicas = [stack.start(f"replica-{i}", [
            sys.executable, "-m", "streamlit", "run", "serve.py", "--server.address",
            "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false"], env)
            for i, port in enumerate(replica_ports, 1)]
        conf = render_nginx(state, f"127.0.0.1:{args.port}",
                            [f"127.0.0.1:{port}" for port in replica_ports])
        nginx = stack.start("nginx", [NGINX, "-p", str(state), "-c", str(conf),
                                      "-e", str(state / "error.log")])
        url = f"http://127.0.0.1:{args.port}"
        stack.info = {"url": url, "home": env["CNNLAB_HOME"], "replica_ports": replica_ports,
                      "scheduler": env.get("CNNLAB_SCHEDULER", "")}
        stack.save()
        for entry, port in zip(replicas, replica_ports, strict=True):
            stack.wait_for(f"{entry['name']} answers on port {port}",
                           lambda p=port: healthy(f"http://127.0.0.1:{p}"), [entry],
                           args.timeout)
        stack.wait_for(f"nginx answers at {url}", lambda: healthy(url), [nginx], args.timeout)
        if args.workers:
            workers_ready(address, args.workers, args.timeout)
            for entry in workers:
                if not group_alive(entry):
                    raise StackError(f"{entry['name']} exited; its log ends:\n"
                                     f"{tail(Path(entry['log']))}")
    except (StackError, OSError, TimeoutError) as exc:
        stack.stop()
        print(f"error: the classroom stack did not come up, stopped what had started: {exc}",
              file=sys.stderr)
        return 1
    cluster = (f"scheduler {stack.info['scheduler']} with {args.workers} worker(s)"
               if args.workers else "training in each replica's process (no scheduler)")
    print(f"{args.replicas} replica(s) on ports {', '.join(map(str, replica_ports))}, "
          f"{cluster}, CNNLAB_HOME={env['CNNLAB_HOME']}; logs in {state / 'logs'}")
    print(f"stop with: python scripts/classroom.py down --state {state}")
    print(f"open {url}/")
    return 0


def down(args: argparse.Namespace) -> int:
    stack = Stack(args.state)
    if not stack.entries:
        print(f"nothing to stop: no classroom stack recorded in {args.state}")
        return 0
    running = [e["name"] for e in stack.running()]
    killed = stack.stop()
    left = [e["name"] for e in stack.entries if group_alive(e)]
    if left:
        print(f"error: still running after SIGKILL: {', '.join(left)}", file=sys.stderr)
        return 1
    if not args.keep_logs:
        shutil.rmtree(args.state, ignore_errors=True)
    note = f" ({', '.join(killed)} needed SIGKILL)" if killed else ""
    print(f"stopped {len(running)} process group(s): {', '.join(running) or 'none'}{note}")
    return 0


def status(args: argparse.Namespace) -> int:
    stack = Stack(args.state)
    if not stack.entries:
        print(f"no classroom stack recorded in {args.state}")
        return 1
    ports = dict(zip((f"replica-{i}" for i in range(1, 100)), stack.info.get(
        "replica_ports", []), strict=False))
    for entry in stack.entries:
        state = "running" if group_alive(entry) else "stopped"
        port = ports.get(entry["name"])
        if port and state == "running":
            state += ", healthy" if healthy(f"http://127.0.0.1:{port}") else ", not answering"
        print(f"{entry['name']:<10} pid {entry['pid']:<7} {state}")
    url = stack.info.get("url", "")
    print(f"address: {url}/ ({'healthy' if url and healthy(url) else 'not answering'})")
    return 0 if all(group_alive(e) for e in stack.entries) else 1


def conf(args: argparse.Namespace) -> int:
    """Only write nginx's configuration, for replicas started by hand (see the README)."""
    if not args.replica:
        print("error: conf needs the replicas: --replica HOST:PORT, once per replica",
              file=sys.stderr)
        return 2
    args.state.mkdir(parents=True, exist_ok=True)
    path = render_nginx(args.state, args.listen or f"127.0.0.1:{args.port}", args.replica)
    print(f"wrote {path}; start nginx with:\n{NGINX} -p {args.state} -c {path} "
          f"-e {args.state / 'error.log'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("up", "down", "status", "conf"))
    parser.add_argument("--state", type=Path, default=STATE_DEFAULT,
                        help=f"folder for PIDs, logs and nginx's files (default {STATE_DEFAULT})")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port (default 8080)")
    parser.add_argument("--replicas", type=int, default=2, help="app replicas (default 2)")
    parser.add_argument("--workers", type=int, default=2,
                        help="Dask workers, one training each; 0: no scheduler (default 2)")
    parser.add_argument("--home", help="CNNLAB_HOME shared by the replicas (default: "
                                       "$CNNLAB_HOME or ~/.cnnlab)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds each part may take to come up (default 120)")
    parser.add_argument("--listen", help="conf: nginx's HOST:PORT (default 127.0.0.1:--port)")
    parser.add_argument("--replica", action="append", default=[],
                        help="conf: a replica's HOST:PORT (repeat for each)")
    parser.add_argument("--keep-logs", action="store_true", help="down: keep the state folder")
    args = parser.parse_args(argv)
    if args.replicas < 1 or args.workers < 0:
        parser.error(f"--replicas must be >= 1 and --workers >= 0; received "
                     f"{args.replicas} and {args.workers}")
    args.state = args.state.expanduser().resolve()
    return {"up": up, "down": down, "status": status, "conf": conf}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
