"""`laughvid store check|backup|restore`: is the store healthy, copy it, put a copy back.

The store holds what cannot be recomputed (reviews, consent records, model history). Backups use
SQLite's online backup API, so they are consistent even while the UI or an analysis writes.
Exit codes: 0 done (check: healthy); 1 check found problems; 2 usage error or a store that cannot
be used now (the message says what to do).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from laughvid import store
from laughvid.cli import EXIT_FAILURES, EXIT_OK, add_command, add_store_arg
from laughvid.config import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "store", "check, back up or restore the SQLite store", __doc__)
    actions = parser.add_subparsers(dest="store_action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="SQLite's full integrity check, and what the store holds (changes nothing)")
    check.add_argument("file", nargs="?", type=Path, help="a store or backup file (default: the store)")
    check.set_defaults(func=_check)
    backup = actions.add_parser("backup", help="copy the store to a new file (safe while it is in use)")
    backup.add_argument("target", nargs="?", type=Path, help="the new file (default: laughvid.backup.<UTC time>.sqlite beside the store)")
    backup.set_defaults(func=_backup)
    restore = actions.add_parser("restore", help="replace the store with a checked backup (the current one is kept beside it)")
    restore.add_argument("backup", type=Path)
    restore.set_defaults(func=_restore)
    for action in (check, backup, restore):
        add_store_arg(action)


def _store_path(args: argparse.Namespace) -> Path:
    return args.store or Settings.from_env().store_path


def _check(args: argparse.Namespace) -> int:
    report = store.check(args.file or _store_path(args))
    version = f"schema v{report.schema_version}" if report.schema_version is not None else "schema unreadable"
    print(f"{report.path}: {report.size_bytes / 1e6:.1f} MB, {version}")
    for table, n in report.rows.items():
        print(f"  {table:<24} {n:>10} rows")
    if report.healthy:
        print("ok: SQLite's integrity check found no problem")
        return EXIT_OK
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print("not a healthy laughvid store: restore a backup (`laughvid store restore BACKUP`); the file was not changed")
    return EXIT_FAILURES


def _backup(args: argparse.Namespace) -> int:
    print(f"backed up to {store.backup(_store_path(args), args.target)}")
    return EXIT_OK


def _restore(args: argparse.Namespace) -> int:
    kept = store.restore(args.backup, _store_path(args))
    print(f"restored {_store_path(args)} from {args.backup}" + (f"; the previous store is kept at {kept}" if kept else ""))
    return EXIT_OK
