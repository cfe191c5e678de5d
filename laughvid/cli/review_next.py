"""List the unreviewed moments (a face at a time, across every analysed video) whose label would help
the model most: its score is near the threshold segments are cut at, the smoothing overrode it, or the face is small,
dark or turned (active learning); with --order intensity the biggest laughs first.

Columns: p = that face's score in that frame, smooth = its smoothed score there (what segments are
built from), laugh = laugh intensity, score = how much a label would help. The threshold is the
smoothing's --on-threshold (default as in analyze, export and the app's sidebar). Review them in the app
(open the video at that time); reviewed segments reach the model through the fine-tune set
(`laughvid export VIDEO --finetune-set`, then `laughvid finetune`)."""

from __future__ import annotations

import argparse
import sys

from laughvid.cli import EXIT_OK, EXIT_USAGE, add_command, add_store_arg
from laughvid.cli.analyze import add_smoothing_args, smoothing_from_args
from laughvid.governance.people import latest_person_names
from laughvid.review.queue import ORDERS, review_queue
from laughvid.store import open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "review-next", "list unreviewed moments whose labels would help the model most", __doc__)
    parser.add_argument("-k", type=int, default=20, help="how many (default 20)")
    parser.add_argument("--min-gap", type=float, default=1.0, help="at most one pick per face within this many seconds")
    parser.add_argument(
        "--order",
        choices=ORDERS,
        default="useful",
        help="useful: the labels that help the model most first (default); intensity: the biggest laughs first "
        "(laugh intensity 0..1 from face geometry; moments without it, e.g. analysed before face geometry, come last)",
    )
    add_store_arg(parser)
    add_smoothing_args(parser)
    parser.set_defaults(func=_run)


def _intensity(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _run(args: argparse.Namespace) -> int:
    try:
        smoothing = smoothing_from_args(args)
    except ValueError as exc:
        print(f"laughvid review-next: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    conn = open_store(args.store)
    queue = review_queue(conn, k=args.k, params=smoothing, min_gap_s=args.min_gap, order=args.order)
    if not queue:
        print("nothing to review: no finished analyses with unreviewed faces")
        return EXIT_OK
    names = latest_person_names(conn, {item.candidate.key[0] for item in queue})
    print(f"{'#':>3} {'video':<28} {'time':>8} {'person':<16} {'p':>5} {'smooth':>6} {'laugh':>5} {'score':>5}  why")
    for i, item in enumerate(queue, start=1):
        c = item.candidate
        print(
            f"{i:>3} {c.video[:28]:<28} {c.time_s:>7.2f}s {names[c.key[0]](c.track_id)[:16]:<16} {c.prob:>5.2f} {c.smoothed_prob:>6.2f} "
            f"{_intensity(c.intensity):>5} {item.score:>5.2f}  {'; '.join(item.reasons) or 'weak signals only'}"
        )
    print("laugh: laugh intensity, 0..1 (a closed smile ~0.3, a wide-open laugh ~1; - where the analysis has none)")
    print(
        f"threshold {smoothing.on_threshold:.2f}: a laugh segment starts where smooth reaches it and ends where smooth falls "
        f"below {smoothing.off_threshold:.2f} (analyze, export and the app's sidebar: same defaults; --on-threshold, --off-threshold)"
    )
    return EXIT_OK
