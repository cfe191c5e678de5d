"""Grid search of the smoothing parameters on labelled videos; prints the best settings.

    python scripts/tune_smoothing.py [VIDEO_DIR LABELS_JSON] [--model DIR] [--cv] [--grid NAME] [--max-talking F]

Defaults to ../shared/videos/dev. Videos are analysed once (cached in the store); each grid point
only re-smooths cached scores. Ranked by the mean of event-level and frame-level F1 (event F1
alone moves in big steps on a handful of events), ties broken by event F1
(laughvid.lifecycle.video_cv.rank). With --cv, the figures to report come from leave-one-source-out
cross-validation (laughvid.lifecycle.video_cv): each source's clips are scored with the setting
chosen on the other sources, printed with their differences to the current defaults on the same
clips (paired bootstrap). --max-talking keeps settings that flag more than that fraction of the
talking-only clips' frames (on the clips they are chosen on) out of the choice. The defaults in laughvid/pipeline/segments.py:SmoothingParams were set
from this script's output (see docs/pipeline.md).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from laughvid.lifecycle.video_cv import cross_validate, rank
from laughvid.lifecycle.video_eval import analyse_labelled_with, load_labels, paired_figures, score_videos, set_figures
from laughvid.pipeline.analyze import AnalysisParams
from laughvid.pipeline.segments import SmoothingParams

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "videos" / "dev"

GRID = {
    "median_s": [0.0, 0.3, 0.5, 1.0],
    "on_threshold": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    "hysteresis": [0.0, 0.1, 0.2],  # off_threshold = on_threshold - hysteresis (at least 0.05)
    "min_duration_s": [0.3, 0.5, 1.0],
    "merge_gap_s": [0.3, 0.5, 1.0],
    "fill_gap_s": [0.5],
    "decode": ["per_person", "whole_video"],
}
# Smaller, around the defaults, with the onset extension and relative merging (issue 14's error analysis:
# late onsets and laughs broken by a dip); 768 settings, ~8 min on 106 clips. docs/model.md's CV rows.
FOCUSED = {
    "median_s": [0.5, 1.0],
    "on_threshold": [0.5, 0.6, 0.7, 0.8],
    "hysteresis": [0.2, 0.3],
    "min_duration_s": [0.3, 1.0],
    "merge_gap_s": [0.5, 1.0],
    "decode": ["per_person", "whole_video"],
    "extend_onset": [False, True],
    "merge_ratio": [0.0, 0.3, 1.0],
}
# The per-person temporal average of the laugh probability (score_window_s) with the thresholds and filters it
# interacts with (an averaged score is flatter: other thresholds, less median filtering); 1,440 settings, ~5 min.
TEMPORAL = {
    "score_window_s": [0.0, 0.5, 1.0, 1.5, 2.0],
    "median_s": [0.0, 0.5, 1.0],
    "on_threshold": [0.5, 0.6, 0.7, 0.8],
    "hysteresis": [0.1, 0.2, 0.3],
    "min_duration_s": [0.3, 1.0],
    "merge_gap_s": [0.5, 1.0],
    "decode": ["per_person", "whole_video"],
}
# Only the window, everything else at the current defaults.
WINDOW = {"score_window_s": [0.0, 0.5, 1.0, 1.5, 2.0], "on_threshold": [0.7], "hysteresis": [0.2]}
GRIDS = {"full": GRID, "focused": FOCUSED, "temporal": TEMPORAL, "window": WINDOW}
HMM_SWITCH = [0.01, 0.05, 0.2]


def candidates(grid: dict = GRID):
    keys = list(grid)
    for values in itertools.product(*grid.values()):
        p = dict(zip(keys, values, strict=False))
        hysteresis = p.pop("hysteresis")
        p["off_threshold"] = round(max(0.05, p["on_threshold"] - hysteresis), 3)
        if hysteresis and p["off_threshold"] >= p["on_threshold"]:
            continue
        yield SmoothingParams(**p)
        if hysteresis == 0.0 and not p.get("extend_onset"):
            for switch in HMM_SWITCH:
                yield SmoothingParams(**p, hmm=True, hmm_switch_prob=switch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video_dir", type=Path, nargs="?", default=DEV)
    parser.add_argument("labels", type=Path, nargs="?")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--cv", action="store_true", help="leave-one-source-out cross-validated figures")
    parser.add_argument(
        "--grid",
        choices=GRIDS,
        default="full",
        help="settings to search (focused: around the defaults, with onset extension and relative merging; "
        "temporal: with the per-person score window; window: only the score window)",
    )
    parser.add_argument(
        "--max-talking",
        type=float,
        metavar="F",
        help="with --cv: choose only among settings flagging at most this fraction of talking-only frames (e.g. 0.02)",
    )
    args = parser.parse_args(argv)
    labels = load_labels(args.labels or args.video_dir / "labels.json")
    labelled = analyse_labelled_with(args.video_dir, labels, args.model, args.store, AnalysisParams())
    if args.cv:
        return _cross_validated(labelled, GRIDS[args.grid], args.max_talking)
    results = []
    for params in candidates(GRIDS[args.grid]):
        _, frames, events = score_videos(labelled, params)
        results.append((frames, events, params))
    results.sort(key=lambda r: rank(r[0], r[1]), reverse=True)
    print(f"model {labelled[0][1].record.model_version if labelled else '-'}; {len(results)} settings on {len(labelled)} labelled videos")
    print(f"{'event F1':>8s} {'frame F1':>8s}  parameters")
    for frames, events, p in results[: args.top]:
        print(f"{events.f1:8.3f} {frames.f1:8.3f}  {p}")
    current = SmoothingParams()
    _, frames, events = score_videos(labelled, current)
    print(f"current defaults: event F1 {events.f1:.3f}, frame F1 {frames.f1:.3f}  {current}")
    return 0


def _cross_validated(labelled, grid_spec: dict, max_talking: float | None) -> int:
    grid = list(candidates(grid_spec))
    cv = cross_validate(labelled, grid, max_talking=max_talking)
    bound = f", talking-only flagged <= {max_talking} on the training clips" if max_talking is not None else ""
    print(f"{len(grid)} settings{bound}, {len(labelled)} clips from {len(cv.chosen)} sources; leave-one-source-out:")
    for source, params in cv.chosen.items():
        print(f"  without {source}: {params}")
    for line in cv.figures.lines():
        print(line)
    print(f"chosen on all clips (to ship): {cv.best_overall}")
    current = score_videos(labelled, SmoothingParams())[0]
    print("current defaults, not cross-validated:")
    for line in set_figures(current).lines():
        print(f"  {line}")
    print("cross-validated minus current defaults, same clips (paired):")
    for line in paired_figures(cv.held_out, current).lines()[1:]:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
