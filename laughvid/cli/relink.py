"""`laughvid relink PATH...`: find moved (or renamed) analysed videos by their content and store where they are now.

Every analysed video whose file is missing or changed is looked for among the given files and,
recursively, the files in the given folders, by sha256 (only files of a size such a video had are
hashed). Exit codes: 0 every analysed video's file is in place afterwards; 1 some are still missing
(each listed) or a PATH does not exist.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from laughvid.cli import EXIT_FAILURES, EXIT_OK, add_command, add_store_arg
from laughvid.store import open_store
from laughvid.store.video_identity import relink


def register(subparsers) -> None:
    p = add_command(subparsers, "relink", "find moved videos by content and store their new paths", __doc__)
    p.add_argument("paths", nargs="+", metavar="VIDEO_OR_FOLDER", type=Path)
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = relink(open_store(args.store), args.paths)
    for path in report.not_found:
        print(f"laughvid relink: error: {path}: no such file or folder", file=sys.stderr)
    for name, path in report.relinked:
        print(f"relinked {name} -> {path}")
    for record in report.missing:
        print(
            f"laughvid relink: still missing: {record.name} (analysis {record.id}, was at {record.path}, sha256 {record.sha256[:12]})",
            file=sys.stderr,
        )
    if not report.relinked and not report.missing:
        print("every analysed video's file is in place: nothing to relink")
    return EXIT_FAILURES if report.missing or report.not_found else EXIT_OK
