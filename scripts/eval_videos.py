"""Frame-level and event-level F1 of laugh segments on any folder of labelled videos.

    python scripts/eval_videos.py ../shared/videos/dev ../shared/videos/dev/labels.json [--model DIR] [smoothing flags]

Labels use the format of `../shared/videos/dev/labels.json` (see laughvid/lifecycle/video_eval.py). Videos are
analysed once and cached in the store (`--store`), so re-running with other smoothing flags is quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from laughvid.cli.analyze import add_smoothing_args, smoothing_from_args
from laughvid.lifecycle.video_eval import analyse_labelled_with, load_labels, score_videos, set_figures
from laughvid.pipeline.analyze import AnalysisParams


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video_dir", type=Path)
    parser.add_argument("labels", type=Path)
    parser.add_argument("--model", type=Path, help="smile model directory (default: the active model)")
    parser.add_argument("--store", type=Path, help="SQLite store for the score caches (default: the configured store)")
    parser.add_argument("--fps", type=float, default=AnalysisParams().fps)
    parser.add_argument("--detect-every", type=int, default=AnalysisParams().detect_every)
    parser.add_argument("--collar", type=float, default=0.5, help="event onset/offset tolerance in seconds")
    add_smoothing_args(parser)
    args = parser.parse_args(argv)
    try:
        smoothing = smoothing_from_args(args)
        labels = load_labels(args.labels)
        labelled = analyse_labelled_with(
            args.video_dir, labels, args.model, args.store, AnalysisParams(fps=args.fps, detect_every=args.detect_every)
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"eval_videos: error: {exc}", file=sys.stderr)
        return 2
    rows, frames, events = score_videos(labelled, smoothing, args.collar)
    print(f"model {labelled[0][1].record.model_version if labelled else '-'}; smoothing {smoothing}")
    print(f"{'video':28s} {'frame P':>8s} {'frame R':>8s} {'frame F1':>8s} {'events':>6s} {'ev TP':>5s} {'ev FP':>5s} {'ev FN':>5s}")
    for r in rows:
        n_true = r.events.tp + r.events.fn
        print(
            f"{r.name:28s} {r.frames.precision:8.3f} {r.frames.recall:8.3f} {r.frames.f1:8.3f} {n_true:6d} {r.events.tp:5d} {r.events.fp:5d} {r.events.fn:5d}"
        )
    print(
        f"{'ALL (pooled)':28s} {frames.precision:8.3f} {frames.recall:8.3f} {frames.f1:8.3f} {events.tp + events.fn:6d} {events.tp:5d} {events.fp:5d} {events.fn:5d}"
    )
    print(f"frame-level F1 {frames.f1:.3f}   event-level F1 {events.f1:.3f} (collar {args.collar} s)")
    for line in set_figures(rows).lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
