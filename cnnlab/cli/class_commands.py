"""``cnnlab class``: make a class and its two links, set its challenge, open or close it to new
joins, export its results as CSV, list and delete classes.

The command line is the server operator's (it reads ``CNNLAB_HOME`` directly), so it names a
class by its code alone; pages need the teacher key. No TensorFlow: nothing here scores.
"""

from __future__ import annotations

import argparse
import datetime

from cnnlab.architecture import presets
from cnnlab.classes import board, challenge, members, store


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``class`` and its subcommands to the ``cnnlab`` subcommands."""
    parser = sub.add_parser("class", help="a class: its links, challenge and results")
    commands = parser.add_subparsers(dest="class_command", required=True, metavar="COMMAND",
                                     parser_class=type(parser))
    p = commands.add_parser("new", help="make a class; print its student and teacher links")
    p.add_argument("name", help="the class's name, e.g. \"7B biology\"")
    p.add_argument("--url", metavar="BASE", default=None,
                   help="the app's address, e.g. https://lab.example.org: print full links "
                        "(default: paths)")
    p.set_defaults(func=cmd_new)
    p = commands.add_parser("results", help="print the class's results as CSV")
    p.add_argument("code", help="the class's code (both links carry it)")
    p.set_defaults(func=cmd_results)
    p = commands.add_parser("challenge", help="set the class's challenge")
    p.add_argument("code", help="the class's code")
    p.add_argument("--dataset", required=True, metavar="NAME",
                   help="a named data set: mnist-5k (built in), mnist, fashion-mnist, cifar-10")
    p.add_argument("--max-params", type=int, required=True, metavar="N",
                   help="the most parameters a scored network may have")
    p.add_argument("--max-epochs", type=int, required=True, metavar="N",
                   help="the most epochs a scored run may have trained")
    p.add_argument("--start", metavar="ARCH", default=None,
                   help="a starting network: an architecture JSON file or a preset name")
    p.add_argument("--editable", metavar="FIELDS", default=None,
                   help="with --start: the only fields students may change, comma-separated "
                        "(e.g. filters,kernel_size,pool_size); the rest is locked")
    p.set_defaults(func=cmd_challenge)
    for name, is_open, text in (("close", False, "close the class to new students"),
                                ("open", True, "open the class to new students again")):
        p = commands.add_parser(name, help=text)
        p.add_argument("code", help="the class's code")
        p.set_defaults(func=cmd_open, is_open=is_open)
    p = commands.add_parser("list", help="list this server's classes")
    p.set_defaults(func=cmd_list)
    p = commands.add_parser("delete", help="delete a class and its results (not the "
                                           "students' workspaces)")
    p.add_argument("code", help="the class's code")
    p.set_defaults(func=cmd_delete)


def _open(code: str) -> store.ClassInfo:
    """The class ``code``; a message naming the code (and how to list them) if none."""
    try:
        return store.open_local(code)
    except store.NoSuchClass:
        raise store.ClassError(f"no class with the code {code[:40]!r} on this server; "
                               f"`cnnlab class list` lists them") from None


def cmd_new(args: argparse.Namespace) -> int:
    if args.url is not None:
        store.check_base_url(args.url)  # before the class is made
    info, key = store.create_class(args.name)
    links = store.links(info.code, key, args.url)
    print(f"student link: {links.student}")
    print(f"teacher link: {links.teacher}")
    return 0


def cmd_results(args: argparse.Namespace) -> int:
    print(board.csv_text(board.board_of(_open(args.code)).rows), end="")
    return 0


def cmd_challenge(args: argparse.Namespace) -> int:
    info = _open(args.code)
    editable = None
    if args.editable is not None:
        editable = tuple(name.strip() for name in args.editable.split(",") if name.strip())
    starting = None if args.start is None else presets.resolve(args.start)
    info = store.set_challenge(info, challenge.Challenge(
        args.dataset, args.max_params, args.max_epochs, starting, editable))
    print(f"challenge set for {info.name}: {info.challenge.describe()}")
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    info = store.set_open(_open(args.code), args.is_open)
    print(f"{info.name} is {'open to' if info.open else 'closed to'} new students")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    for code in store.class_codes():
        try:
            info = store.open_local(code)
        except store.NoSuchClass:
            continue  # being made or deleted
        made = datetime.datetime.fromtimestamp(info.created_at).strftime("%Y-%m-%d %H:%M")
        state = "open" if info.open else "closed"
        print(f"{code}  {made}  {state:<6}  {len(members.students(code)):>3} students  "
              f"{info.name!r}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    info = _open(args.code)
    store.delete_class(info)
    print(f"deleted the class {info.name!r} ({info.code})")
    return 0
