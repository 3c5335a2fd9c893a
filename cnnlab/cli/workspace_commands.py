"""``cnnlab workspaces prune`` and ``cnnlab workspaces usage``: the server's workspaces under
``CNNLAB_HOME``, for the machine's own user (a daily cron line, a look at the disk).

A workspace is named by the first characters of its token only: a token is the key to its
workspace, and these lines end up in logs and mail.
"""

from __future__ import annotations

import argparse
import time

from cnnlab.workspaces import settings, store, usage

SHOWN = 8  # characters of a token printed


def _name(token: str) -> str:
    return f"{token[:SHOWN]}…"


def _day(seconds: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(seconds))


def cmd_prune(args: argparse.Namespace) -> int:
    days = settings.workspace_days() if args.days is None else args.days
    removed = store.prune(days, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for pruned in removed:
        print(f"{verb} {_name(pruned.token)} (last used {_day(pruned.last_used)}, "
              f"{pruned.freed.megabytes:.1f} MB, {pruned.freed.files:,} files)")
    freed = sum((p.freed for p in removed), usage.Usage())
    print(f"{verb} {len(removed)} workspace{'' if len(removed) == 1 else 's'} untouched for "
          f"{days:g} days under {store.root()}: {freed.megabytes:.1f} MB and "
          f"{freed.files:,} files {'would be ' if args.dry_run else ''}freed")
    return 0


def cmd_usage(args: argparse.Namespace) -> int:
    base = store.root()
    folders = sorted(p for p in base.iterdir() if store.TOKEN_FORM.fullmatch(p.name)
                     and p.is_dir()) if base.is_dir() else []
    total = usage.Usage()
    for folder in folders:
        kept = usage.read(folder)
        found = usage.recount(folder) if args.repair else kept
        note = (f" (the running total said {kept.megabytes:.1f} MB, {kept.files:,} files)"
                if found != kept else "")
        print(f"{_name(folder.name)}  {found.megabytes:8.1f} MB  {found.files:7,} files  last "
              f"used {_day(store.last_used(folder))}{note}")
        total += found
    print(f"{len(folders)} workspaces under {base}: {total.megabytes:.1f} MB and "
          f"{total.files:,} files (quota {settings.workspace_bytes() / 2**20:.0f} MB and "
          f"{settings.workspace_files():,} files each)")
    return 0


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 1:
        raise argparse.ArgumentTypeError(f"must be a number of days >= 1; received {text!r}")
    return value


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``workspaces prune`` and ``workspaces usage`` to the ``cnnlab`` parser."""
    group = sub.add_parser("workspaces", help="the web app's workspaces under CNNLAB_HOME")
    commands = group.add_subparsers(dest="workspaces_command", required=True,
                                    metavar="prune|usage", parser_class=type(group))
    p = commands.add_parser("prune", help="remove workspaces nobody wrote to or opened for "
                            "CNNLAB_WORKSPACE_DAYS days (default 30)")
    p.add_argument("--days", type=_days, default=None,
                   help="days without a write or a visit (default CNNLAB_WORKSPACE_DAYS)")
    p.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    p.set_defaults(func=cmd_prune)
    p = commands.add_parser("usage", help="each workspace's disk use, from its running total")
    p.add_argument("--repair", action="store_true",
                   help="count every workspace's files afresh and correct its running total")
    p.set_defaults(func=cmd_usage)
