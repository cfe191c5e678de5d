"""Export analysed videos as the app does: highlight clips, a highlight reel and segment lists, into
DIR/<video stem>-<sha256 prefix>/ (clips/ holds the clips), and with --finetune-set the reviewed
segments' face crops into the fine-tune set ($LAUGHVID_HOME/finetune_set, what `laughvid finetune`
trains on), as the app's "Add to fine-tune set" does.

Clips and the reel are cut from the reviewed laughs (accepted and added segments), or with
--automatic from every segment the model found (review ignored); CSV/JSON lists hold every segment
with its review state, SRT/EDL only the laughs (--all-states: every segment, each with its state).
--rank intensity numbers the clips biggest laugh first, and with --top N cuts only the N biggest.
A video is named by its file (matched by content), an analysis id, its sha256 (8 or more
characters) or its file name in the library. Nothing is cut from a file that is not the
analysed one (moved videos: `laughvid relink`), and with --blur every face without clips consent is
blurred and checked, or no clip is written. A bar on stderr shows which clip is cut or blurred and
how far (--quiet: none). Ctrl-C cancels within a second: the clip being written is not left (a file of
its name keeps its content), the clips finished before stay. Exit codes: 0 all exported; 1 some
videos failed (each named on stderr, the others still exported); 2 bad arguments; 130 cancelled.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from laughvid import review, store
from laughvid.cli import EXIT_FAILURES, EXIT_OK, EXIT_USAGE, add_command, add_store_arg
from laughvid.cli.analyze import EXIT_INTERRUPTED, StderrBar, add_smoothing_args, smoothing_from_args
from laughvid.errors import BlurError, ExportCancelled, ExportError, FinetuneExportError, ReviewError, VideoError, VideoNotFound
from laughvid.export.clips import MODES, ClipOptions
from laughvid.export.lists import LIST_FORMATS
from laughvid.pipeline.analyze import load_result
from laughvid.pipeline.segments import SmoothingParams
from laughvid.review.intensity import biggest_first
from laughvid.store.video_identity import FileStamp
from laughvid.types import ReviewedSegment
from laughvid.ui import actions

RANKS = ("time", "intensity")


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(f.strip().lower() for f in text.split(",") if f.strip())
    unknown = [f for f in chosen if f not in LIST_FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"expected list formats among {','.join(LIST_FORMATS)}, got {text!r}")
    return chosen


def register(subparsers) -> None:
    p = add_command(subparsers, "export", "clips, reel, segment lists and fine-tune crops of analysed videos", __doc__)
    p.add_argument("videos", nargs="+", metavar="ANALYSIS_OR_VIDEO", help="video file, analysis id, sha256 or file name")
    p.add_argument("--out", type=Path, help="output folder; one sub-folder per video (for --clips, --reel, --lists)")
    p.add_argument("--clips", action="store_true", help="one clip per laugh")
    p.add_argument("--reel", action="store_true", help="all laughs joined into one highlight reel")
    p.add_argument("--lists", type=_formats, metavar="FORMATS", help=f"segment lists, any of {','.join(LIST_FORMATS)}")
    p.add_argument(
        "--finetune-set",
        action="store_true",
        help="add face crops of the reviewed laughs and non-laughs to the fine-tune set (replacing this video's earlier ones)",
    )
    p.add_argument(
        "--consent-ref",
        default="",
        help="with --finetune-set: the consent reference of faces no participant is linked to (a participant id or public:<dataset>)",
    )
    p.add_argument("--automatic", action="store_true", help="cut the segments the model found, not the reviewed laughs")
    p.add_argument("--all-states", action="store_true", help="SRT/EDL with pending and rejected segments too (default: laughs only)")
    defaults = ClipOptions()
    p.add_argument(
        "--pre-roll", type=float, default=defaults.pre_roll_s, help=f"seconds kept before a laugh (default {defaults.pre_roll_s})"
    )
    p.add_argument("--post-roll", type=float, default=defaults.post_roll_s, help=f"seconds kept after it (default {defaults.post_roll_s})")
    p.add_argument("--cut", choices=MODES, default=defaults.mode, help="reencode: frame-accurate; copy: fast, starts on a keyframe")
    p.add_argument("--blur", action="store_true", help="blur every face without clips consent (checked: no clip is written otherwise)")
    add_store_arg(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--rank",
        choices=RANKS,
        default="time",
        help="time: clips numbered in time order (default); intensity: biggest laugh first (clip01 = the highest peak "
        "laugh intensity; segments without intensity, e.g. analysed before face geometry, come after all that have it, "
        "in time order). The reel always keeps time order",
    )
    p.add_argument(
        "--top", type=int, metavar="N", help="with --rank intensity: cut only the N biggest laughs (clips and reel; lists keep all)"
    )
    add_smoothing_args(p)
    p.set_defaults(func=run)


def find_analysis(conn: sqlite3.Connection, ref: str) -> store.AnalysisRecord:
    """The finished analysis `ref` names: a video file (by content; a moved file is relinked to where it
    is named), an analysis id, a sha256 (8+ characters) or a file name in the library."""
    path = Path(ref).expanduser()
    library = actions.library(conn)
    if path.is_file():
        stamp, sha = FileStamp.of(path), store.file_sha256(path)
        record = next((r for r in library if r.sha256 == sha), None)
        if record is None:
            raise VideoNotFound(
                f"{ref}: this file has not been analysed (no finished analysis has its content): run `laughvid analyze {ref}` first"
            )
        if actions.video_problem(conn, record):  # its stored file is gone or changed: this one is it
            store.relink_video(conn, record.video_id, str(path.resolve()), stamp.size_bytes, stamp.mtime_ns)
            record = store.get_analysis(conn, record.id)
        return record
    if ref.isdigit():
        record = store.get_analysis(conn, int(ref))
        if record is None or record.status != "done":
            raise VideoNotFound(f"analysis {ref}: " + (f"not finished ({record.status})" if record else "no such analysis"))
        return record
    matches = [r for r in library if r.name == ref or (len(ref) >= 8 and r.sha256.startswith(ref.lower()))]
    if not matches:
        raise VideoNotFound(f"{ref}: no such file, and no analysed video has that name, analysis id or sha256")
    if len(matches) > 1:
        raise VideoNotFound(
            f"{ref}: {len(matches)} analysed videos match; name one by analysis id: " + ", ".join(f"{r.id} ({r.path})" for r in matches)
        )
    return matches[0]


def _export_one(
    conn: sqlite3.Connection,
    ref: str,
    args: argparse.Namespace,
    options: ClipOptions,
    smoothing: SmoothingParams,
    bar: _ExportBar,
    cancel: threading.Event,
) -> str:
    """Export one video; returns what was written (raises with the reason otherwise, ExportCancelled
    when `cancel` was set)."""
    record = find_analysis(conn, ref)
    result = load_result(conn, record.id, smoothing)
    if args.automatic:
        items = [ReviewedSegment(s) for s in result.segments]
    else:
        items = review.review_list(result.segments, conn, record.sha256, result.intensity, result.series)
    done = []
    if args.clips or args.reel:
        if args.automatic and not result.segments:
            raise ExportError("the model found no laugh segments (try a lower --on-threshold)")
        segments = [i.segment for i in items] if args.automatic else actions.laugh_segments(items)
        ranked = args.rank == "intensity"
        if ranked:
            segments = biggest_first(segments, args.top)
        blur = actions.face_blur(conn, record, result.cache, options) if args.blur else None
        if args.clips:
            done.append(f"{len(actions.clips_for(args.out, record, segments, options, blur, bar.update, cancel, ranked))} clip(s)")
        if args.reel:
            done.append(f"reel {actions.reel_for(args.out, record, segments, options, blur, bar.update, cancel).path.name}")
        if blur is not None:
            done.append(actions.blur_note(blur))
    if args.lists:
        actions.lists_for(args.out, record, items, args.lists, args.all_states)
        done.append(f"lists {','.join(args.lists)}")
    if done:
        done[-1] += f" -> {actions.export_dir(args.out, record)}"
    if args.finetune_set:
        card = actions.scoring_card(conn, record.model_version)
        if card is None:
            raise FinetuneExportError(f"no model card for {record.model_version}, which scored it: its crop framing is unknown")
        done.append(
            actions.finetune_for(actions.settings(), conn, record, result, items, card, args.consent_ref, bar.update, cancel).summary()
        )
    return f"{record.name} (analysis {record.id}): {', '.join(done)}"


def run(args: argparse.Namespace) -> int:
    try:
        if not (args.clips or args.reel or args.lists or args.finetune_set):
            raise ValueError("nothing to export: give --clips, --reel, --lists FORMATS and/or --finetune-set")
        if (args.clips or args.reel or args.lists) and args.out is None:
            raise ValueError("--clips, --reel and --lists write into --out DIR: give it")
        if args.finetune_set and args.automatic:
            raise ValueError("--finetune-set takes reviewed segments only (the model's own would teach it its mistakes): drop --automatic")
        if args.top is not None and (args.rank != "intensity" or args.top < 1):
            raise ValueError("--top N picks the N biggest laughs: give --rank intensity and N >= 1")
        if args.blur and args.cut == "copy":
            raise ValueError("--blur re-encodes anyway: use --cut reencode")
        options = ClipOptions(args.pre_roll, args.post_roll, args.cut)
        smoothing = smoothing_from_args(args)
    except ValueError as exc:
        print(f"laughvid export: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    conn = store.open_store(args.store)
    failed = 0
    cancel = threading.Event()
    bar = _ExportBar(args.quiet)
    with _ctrl_c_cancels(cancel):
        for ref in args.videos:
            try:
                bar.write(_export_one(conn, ref, args, options, smoothing, bar, cancel), sys.stdout)
            except (ExportCancelled, KeyboardInterrupt) as exc:
                cancel.set()
                written = f" ({exc})" if isinstance(exc, ExportCancelled) else ""
                bar.write(f"laughvid export: {ref}: cancelled{written}")
            except ReviewError as exc:
                failed += 1
                bar.write(f"laughvid export: error: {ref}: {exc} (in the app, or use --automatic)")
            except (VideoNotFound, VideoError, ExportError, BlurError, FinetuneExportError, OSError) as exc:
                failed += 1
                bar.write(f"laughvid export: error: {ref}: {exc}")
            if cancel.is_set():
                break
    bar.close()
    if cancel.is_set():
        print("laughvid export: cancelled; files written before the cancel are whole, nothing partial was left", file=sys.stderr)
        return EXIT_INTERRUPTED
    if failed:
        print(f"laughvid export: {failed} of {len(args.videos)} video(s) failed", file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_OK


@contextlib.contextmanager
def _ctrl_c_cancels(cancel: threading.Event) -> Iterator[None]:
    """While exporting, the first Ctrl-C sets `cancel` (the export stops at its next check, well under
    a second, and cleans up); a second one interrupts at once. A run that ignores SIGINT (started in
    the background) keeps ignoring it."""

    def on_ctrl_c(signum, frame) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class _ExportBar(StderrBar):
    """One bar (as `laughvid analyze` draws), redrawn for each export: its percentage and what it does
    now ("clip 2 of 5: blurring faces 1.2 / 4.0 s")."""

    def update(self, progress: actions.ExportProgress) -> None:
        self.show(round(100 * progress.fraction, 1), 100, progress.phrase)
        if progress.fraction >= 1.0:  # this export is done: the next one starts its own bar
            self.close()
