"""List what the store holds: every video, its duration and size, its newest analysis (done, failed
with the reason, or stopped part-way) and how far its review is (segments pending / accepted /
rejected / added).

    laughvid library                 a table, one line per video
    laughvid library --failed        only the videos whose analysis failed, with the reason
    laughvid library --json          the same entries as JSON (for scripts)

A file that is not a readable video never enters the store (`laughvid analyze` names it with its
reason); a video whose analysis failed part-way is listed with the reason, and the same analyze
command resumes it. Changes nothing. Exit codes: 0 listed; 2 the store cannot be used (the message says why).
"""

from __future__ import annotations

import argparse
import json

from laughvid.cli import EXIT_OK, add_command, add_store_arg, hms
from laughvid.review.library import LibraryEntry, library_entries
from laughvid.store import open_store


def register(subparsers) -> None:
    p = add_command(subparsers, "library", "list the videos in the store and their analysis and review state", __doc__)
    p.add_argument(
        "--failed",
        action="store_true",
        help="only videos whose newest analysis failed, with the reason (files that are not readable video at all are not stored: "
        "`laughvid analyze` names them on stderr)",
    )
    p.add_argument("--json", action="store_true", help="print the entries as a JSON list")
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    conn = open_store(args.store)
    try:
        entries = library_entries(conn, status="failed" if args.failed else None)
    finally:
        conn.close()
    if args.json:
        print(json.dumps([e.as_dict() for e in entries], indent=2))
    else:
        print(_table(entries, args.failed))
    return EXIT_OK


_HEADER = f"{'status':<8} {'duration':>9} {'size':>9} {'pend':>5} {'acc':>5} {'rej':>5} {'add':>5}  {'model':<18} path"


def _table(entries: list[LibraryEntry], failed_only: bool) -> str:
    if not entries:
        return (
            "no failed analyses in the store (files laughvid could not open as video at all are named by `laughvid analyze` "
            "when it runs and are not stored)"
            if failed_only
            else "the store holds no videos yet (laughvid analyze PATH... adds them)"
        )
    lines = [_HEADER]
    for e in entries:
        status = "reviewed" if e.reviewed and e.status == "done" else {"running": "partial"}.get(e.status, e.status)
        size = f"{e.size_bytes / 1e6:.1f} MB" if e.size_bytes is not None else "?"
        missing = "" if e.on_disk else "  (file not found there)"
        lines.append(
            f"{status:<8} {hms(e.duration_s):>9} {size:>9} {e.pending:>5} {e.accepted:>5} {e.rejected:>5} {e.added:>5}  "
            f"{(e.model_version or '-'):<18} {e.path}{missing}"
        )
        if e.error:
            lines.append(f"         failed: {e.error}")
    total = hms(sum(e.duration_s for e in entries))
    done = sum(e.status == "done" for e in entries)
    lines.append(f"{len(entries)} video(s), {total} of video; {done} analysed, {sum(e.status == 'failed' for e in entries)} failed")
    return "\n".join(lines)
