"""The ``cnnlab`` command line: ``summary``, ``presets``, ``code``, the training commands
(:mod:`cnnlab.cli.run_commands`), ``explain`` and ``attack``
(:mod:`cnnlab.cli.explain_commands`), ``class`` (:mod:`cnnlab.cli.class_commands`) and
``workspaces`` (:mod:`cnnlab.cli.workspace_commands`).

Every bad input ends with exit status 2 and one ``error:`` line on stderr, never a traceback;
a run that cannot be saved (a full disk, a folder that cannot be written) with exit status 1
and one ``error:`` line. TensorFlow is imported only by the commands that need it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from cnnlab.architecture import codegen, presets, shapes
from cnnlab.cli import class_commands, explain_commands, run_commands, workspace_commands
from cnnlab.runs import atomic


class UsageError(Exception):
    """A bad input on the command line: printed as one ``error:`` line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own is usage + error over two lines
        raise UsageError(message)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(v) for v in shape) + ")"


def summary_json(summary: shapes.Summary) -> dict:
    """The ``--json`` form of a summary, one entry per row."""
    return {
        "input_shape": list(summary.input_shape),
        "layers": [
            {
                "name": row.name,
                "type": row.type,
                "output_shape": list(row.output_shape),
                "params": row.params,
                "macs": row.macs,
                "receptive_field": list(row.receptive_field) if row.receptive_field else None,
                "auto": row.auto,
            }
            for row in summary.rows
        ],
        "total_params": summary.total_params,
    }


def summary_table(arch_name: str, summary: shapes.Summary) -> str:
    """The readable summary table with totals."""
    header = ("layer", "type", "output shape", "params", "MACs", "RF", "formula")
    lines = [("input", "", _shape_text(summary.input_shape), "", "", "", "")]
    for row in summary.rows:
        rf = f"{row.receptive_field[0]}x{row.receptive_field[1]}" if row.receptive_field else ""
        kind = row.type + (" (auto)" if row.auto else "")
        lines.append((row.name, kind, _shape_text(row.output_shape), f"{row.params:,}",
                      f"{row.macs:,}", rf, row.formula))
    widths = [max(len(str(r[i])) for r in [header, *lines]) for i in range(len(header))]
    fmt = "  ".join(f"{{:{'>' if i in (3, 4) else '<'}{w}}}" for i, w in enumerate(widths))
    out = [f"{arch_name}", fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*r).rstrip() for r in lines]
    out.append(f"total: {summary.total_params:,} parameters, {summary.total_macs:,} "
               f"multiply-accumulates per image")
    return "\n".join(out)


def cmd_summary(args: argparse.Namespace) -> int:
    arch = presets.resolve(args.arch)
    summary = shapes.checked_summary(arch)
    if args.json:
        print(json.dumps(summary_json(summary)))
    else:
        print(summary_table(arch.name, summary))
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    width = max(len(name) for name in presets.PRESET_NAMES)
    for name in presets.PRESET_NAMES:
        print(f"{name:<{width}}  {presets.describe(name)}")
    return 0


def cmd_code(args: argparse.Namespace) -> int:
    print(codegen.script(presets.resolve(args.arch)), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cnnlab", description="CNN Lab: build, train and probe small CNNs.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("summary", help="layer-by-layer shapes, parameters and formulas")
    p.add_argument("arch", help="an architecture JSON file or a preset name")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=cmd_summary)
    p = sub.add_parser("presets", help="list the built-in architectures")
    p.set_defaults(func=cmd_presets)
    p = sub.add_parser("code", help="print a runnable Keras script that builds and trains it")
    p.add_argument("arch", help="an architecture JSON file or a preset name")
    p.set_defaults(func=cmd_code)
    run_commands.add_commands(sub)  # train, predict, datasets: they import TensorFlow when run
    explain_commands.add_commands(sub)  # explain, attack: the same
    class_commands.add_commands(sub)  # class new, results, challenge, ...: no TensorFlow
    workspace_commands.add_commands(sub)  # workspaces prune, workspaces usage
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 not saved, 2 bad input)."""
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except (UsageError, ValueError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 1 if isinstance(exc, atomic.SaveError) else 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
