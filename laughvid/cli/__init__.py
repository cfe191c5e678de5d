"""`laughvid` command line: a thin layer over the library API.

Each sub-command lives in its own module exposing `register(subparsers)`; the module adds its
parser and sets `func` to a callable taking the parsed args and returning an exit code. A
`LaughvidError` that leaves a command (unknown model version, refused consent, unusable store) is
caught in `main` alone: its message on stderr, exit 2. Batch commands (analyze, export) catch
per-file errors themselves, report each and go on (exit 1).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from laughvid.errors import LaughvidError

# Sub-command modules, in the order `laughvid --help` lists them.
SUBCOMMAND_MODULES = (
    "laughvid.cli.analyze",
    "laughvid.cli.eval_images",
    "laughvid.cli.train",
    "laughvid.cli.finetune",
    "laughvid.cli.models",
    "laughvid.cli.review_next",
    "laughvid.cli.consent",
    "laughvid.cli.export",
    "laughvid.cli.relink",
    "laughvid.cli.library",
    "laughvid.cli.store",
)

# Exit codes a script can rely on.
EXIT_OK = 0
EXIT_FAILURES = 1  # ran, but some inputs failed (each one reported)
EXIT_USAGE = 2  # bad arguments
EXIT_PIPE_CLOSED = 141  # the shell's convention for a reader that went away (SIGPIPE), as `cmd | head` leaves


def add_store_arg(parser: argparse.ArgumentParser) -> None:
    """`--store FILE`, said alike by every command that takes it (the default is `Settings.store_path`)."""
    parser.add_argument("--store", type=Path, help="the SQLite store (default: $LAUGHVID_STORE, else $LAUGHVID_HOME/laughvid.sqlite)")


def add_command(subparsers, name: str, help: str, doc: str | None) -> argparse.ArgumentParser:
    """A sub-command whose `--help` shows its module docstring as written (exit codes, examples)."""
    return subparsers.add_parser(name, help=help, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="laughvid", description="Find laughter and smiles in recorded video.")
    parser.add_argument("--version", action="version", version=f"laughvid {__import__('laughvid').__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # sub-command not built yet
                continue
            raise
        module.register(subparsers)
    return parser


def hms(seconds: float) -> str:
    """A duration as h:mm:ss, the one way CLI output writes lengths of video and of time."""
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or EXIT_OK)
    except LaughvidError as exc:  # the one place: a refused request or an unusable store, said without a traceback
        print(f"laughvid {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `laughvid library --json | head`: the reader has all it wanted; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # else the flush at exit raises again
        return EXIT_PIPE_CLOSED


if __name__ == "__main__":
    sys.exit(main())
