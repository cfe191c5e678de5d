"""Grid search of the smoothing parameters on labelled videos; prints the best settings.

    python scripts/tune_smoothing.py [VIDEO_DIR LABELS_JSON] [--model DIR]

Defaults to ../shared/videos/dev. Videos are analysed once (cached in the store); each grid point
only re-smooths cached scores. Ranked by the mean of event-level and frame-level F1 (event F1
alone moves in big steps on a handful of events), ties broken by event F1. The defaults in
laughvid/pipeline/segments.py:SmoothingParams were set from this script's output (see docs/pipeline.md).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from laughvid.lifecycle.video_eval import analyse_labelled_with, load_labels, score_videos
from laughvid.pipeline.analyze import AnalysisParams
from laughvid.pipeline.segments import SmoothingParams

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "videos" / "dev"

GRID = {
    "median_s": [0.0, 0.3, 0.5, 1.0],
    "on_threshold": [0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    "hysteresis": [0.0, 0.05, 0.1, 0.2],  # off_threshold = on_threshold - hysteresis (at least 0.05)
    "min_duration_s": [0.3, 0.5, 1.0],
    "merge_gap_s": [0.3, 0.5, 1.0],
    "fill_gap_s": [0.5],
}
HMM_SWITCH = [0.01, 0.05, 0.2]


def candidates():
    keys = list(GRID)
    for values in itertools.product(*GRID.values()):
        p = dict(zip(keys, values, strict=False))
        hysteresis = p.pop("hysteresis")
        p["off_threshold"] = round(max(0.05, p["on_threshold"] - hysteresis), 3)
        if hysteresis and p["off_threshold"] >= p["on_threshold"]:
            continue
        yield SmoothingParams(**p)
        if hysteresis == 0.0:
            for switch in HMM_SWITCH:
                yield SmoothingParams(**p, hmm=True, hmm_switch_prob=switch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video_dir", type=Path, nargs="?", default=DEV)
    parser.add_argument("labels", type=Path, nargs="?")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    labels = load_labels(args.labels or args.video_dir / "labels.json")
    labelled = analyse_labelled_with(args.video_dir, labels, args.model, args.store, AnalysisParams())
    results = []
    for params in candidates():
        _, frames, events = score_videos(labelled, params)
        results.append((events.f1, frames.f1, params))
    results.sort(key=lambda r: ((r[0] + r[1]) / 2, r[0]), reverse=True)
    print(f"model {labelled[0][1].record.model_version if labelled else '-'}; {len(results)} settings on {len(labelled)} labelled videos")
    print(f"{'event F1':>8s} {'frame F1':>8s}  parameters")
    for ev, fr, p in results[: args.top]:
        print(f"{ev:8.3f} {fr:8.3f}  {p}")
    current = SmoothingParams()
    _, frames, events = score_videos(labelled, current)
    print(f"current defaults: event F1 {events.f1:.3f}, frame F1 {frames.f1:.3f}  {current}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
