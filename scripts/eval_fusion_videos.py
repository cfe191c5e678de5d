"""Frame ROC-AUC on labelled videos of each part of the laugh probability; prints figures, asserts nothing.

    .venv/bin/python scripts/eval_fusion_videos.py DIR [DIR ...] [--store /tmp/fusion-eval.sqlite] [--landmark-every 1]

Each DIR holds videos and a labels.json (laughvid.lifecycle.video_eval format). One analysis per clip
(default parameters, shipped models) stores every part per face row, so the series compared here are
of the same frames and faces: the CNN alone, face geometry alone, their plain average, and the fusion
(the timeline's laugh probability). Frames in `ignore` spans are left out, frames without a face
score 0; intervals are 95 % bootstrap over clips (clips resampled with replacement).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from laughvid.lifecycle.registry import load_classifier
from laughvid.lifecycle.video_eval import in_spans, load_labels
from laughvid.pipeline.analyze import AnalysisParams, analyze_video
from laughvid.pipeline.timeline import whole_series
from laughvid.store import open_store
from laughvid.training.metrics import roc_auc

PARTS = ("cnn", "geometry", "average", "fusion")


def clip_parts(result, labels) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Truth and each part's whole-video series on the clip's frames outside `ignore`."""
    cache = result.cache
    values = {
        "cnn": cache.cnn_probs,
        "geometry": np.where(np.isnan(cache.geometry), cache.cnn_probs, cache.geometry),
        "average": np.where(np.isnan(cache.geometry), cache.cnn_probs, (cache.cnn_probs + cache.geometry) / 2),
        "fusion": cache.probs,
    }
    times = cache.frame_times_s
    keep = ~in_spans(times, labels.ignore)
    series = {k: np.nan_to_num(whole_series(cache, v).probs, nan=0.0)[keep] for k, v in values.items()}
    return in_spans(times, labels.smile)[keep], series


def pooled_auc(clips, part: str) -> float:
    truth = np.concatenate([t for t, _ in clips])
    return roc_auc(truth, np.concatenate([s[part] for _, s in clips]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--store", type=Path, default=Path("/tmp/fusion-eval.sqlite"))
    parser.add_argument("--landmark-every", type=int, default=AnalysisParams().landmark_every)
    args = parser.parse_args()
    conn, classifier = open_store(args.store), load_classifier(None)
    params = AnalysisParams(landmark_every=args.landmark_every)
    for folder in args.dirs:
        clips = []
        for labels in load_labels(folder / "labels.json"):
            if (folder / labels.name).is_file():
                clips.append(clip_parts(analyze_video(folder / labels.name, conn, classifier, params), labels))
        rng = np.random.default_rng(0)
        draws = [[clips[i] for i in rng.integers(0, len(clips), len(clips))] for _ in range(1000)]
        n_frames, n_pos = sum(len(t) for t, _ in clips), sum(int(t.sum()) for t, _ in clips)
        print(f"{folder}: {len(clips)} clips, {n_frames} frames ({n_pos} smiling), landmark_every={args.landmark_every}")
        for part in PARTS:
            boot = np.array([pooled_auc(d, part) for d in draws])
            boot = boot[~np.isnan(boot)]
            lo, hi = np.percentile(boot, [2.5, 97.5])
            print(f"  {part:9s} frame ROC-AUC {pooled_auc(clips, part):.4f} [{lo:.4f}, {hi:.4f}]")


if __name__ == "__main__":
    main()
