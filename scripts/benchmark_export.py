"""Export speed: highlight clips (re-encode vs stream copy), reel, lists and fine-tune crops.

    .venv/bin/python scripts/benchmark_export.py [--seconds 120] [--size 1280x720]

Generates a test video (ffmpeg test pattern with audio, no project data), then times each export
on 10 segments spread over it and prints seconds per clip and the realtime factor.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from laughvid.export.clips import ClipOptions, export_clips, export_reel
from laughvid.export.crops import VideoSource, export_finetune_set, plan_crops
from laughvid.export.lists import ListSource, write_lists
from laughvid.pipeline.faces.crop import Framing
from laughvid.types import ReviewedSegment, ScoreCache, Segment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.media: generated-media helpers
from tests.media import synthetic_video  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        video = synthetic_video(tmp / "source.mp4", seconds=args.seconds, size=(width, height), fps=args.fps, audio=True)
        starts = np.linspace(2, args.seconds - 6, 10)
        segments = [Segment(float(s), float(s) + 2.5, 0.9, 0.8, (1,)) for s in starts]
        padded = sum(min(args.seconds, s.end_s + 1) - max(0, s.start_s - 2) for s in segments)
        print(
            f"source: {args.seconds:.0f} s {width}x{height} @ {args.fps:g} fps, 10 segments of 2.5 s, clips with 2 s pre-roll + 1 s post-roll"
        )
        for mode in ("reencode", "copy"):
            t0 = time.perf_counter()
            export_clips(video, segments, args.seconds, tmp / mode, ClipOptions(mode=mode))
            took = time.perf_counter() - t0
            print(f"clips {mode:>8}: {took:6.2f} s total, {took / 10:5.2f} s per clip, {padded / took:5.1f}x realtime")
        t0 = time.perf_counter()
        reel = export_reel(video, segments, args.seconds, tmp / "reel.mp4")
        took = time.perf_counter() - t0
        print(f"reel            : {took:6.2f} s for {reel.duration_s:.1f} s of reel, {reel.duration_s / took:5.1f}x realtime")
        items = [ReviewedSegment(s, "accepted", reviewer="bench") for s in segments]
        t0 = time.perf_counter()
        write_lists(items, ListSource("source.mp4", args.fps), tmp / "lists")
        print(f"lists (4 files) : {1000 * (time.perf_counter() - t0):6.1f} ms")
        times = np.round(np.arange(0, args.seconds, 0.1), 6)
        box = (width * 0.4, height * 0.3, width * 0.6, height * 0.6)
        cache = ScoreCache(
            times,
            times,
            np.ones(len(times), np.int64),
            np.tile(box, (len(times), 1)),
            np.ones(len(times)),
            np.full(len(times), 0.9),
            np.ones(len(times), bool),
        )
        plan = plan_crops(items, cache)
        t0 = time.perf_counter()
        export_finetune_set(tmp / "set", VideoSource(str(video), "0" * 64, 0, "bench"), plan, Framing())
        took = time.perf_counter() - t0
        print(f"fine-tune crops : {took:6.2f} s for {len(plan)} crops ({1000 * took / len(plan):.0f} ms per crop, seeking)")


if __name__ == "__main__":
    main()
