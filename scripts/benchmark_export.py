"""Export speed: highlight clips (re-encode vs stream copy), reel, lists and fine-tune crops; then the
blurred export of issue 12 (1.8 s of 1080p): its time, how often its progress moves, and how long a
cancel takes to stop it while ffmpeg cuts and while faces are blurred.

    .venv/bin/python scripts/benchmark_export.py [--seconds 120] [--size 1280x720] [--cancels 5]

Generates test videos (ffmpeg test pattern with audio, a moving face for the blur; no project data),
then times each export on 10 segments spread over it and prints seconds per clip and the realtime
factor.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from laughvid.errors import ExportCancelled
from laughvid.export.clips import ClipOptions, export_clips, export_reel
from laughvid.export.crops import VideoSource, export_finetune_set, plan_crops
from laughvid.export.lists import ListSource, write_lists
from laughvid.export.progress import ExportProgress
from laughvid.governance.face_blur import FaceBlur
from laughvid.pipeline.faces.crop import Framing
from laughvid.types import FaceObservation, FaceTrack, ReviewedSegment, ScoreCache, Segment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.media: generated-media helpers
from tests.media import astronaut_video, face_box_in_frame, synthetic_video  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--cancels", type=int, default=5, help="cancels timed per phase (cutting, blurring)")
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
        blurred_export(tmp, args.cancels)


def blurred_export(tmp: Path, cancels: int) -> None:
    """Issue 12's case: a blurred clip of 1.8 s of 1080p (a moving face), then cancels at known points."""
    seconds, size, face_px = 6.0, (1920, 1080), 300
    video = astronaut_video(tmp / "face1080.mp4", seconds=seconds, size=size, fps=30, face_px=face_px, audio=True)
    times = np.round(np.arange(0, seconds, 0.1), 6)
    blur = FaceBlur((FaceTrack(1, [FaceObservation(float(t), 1, face_box_in_frame(t, seconds, size, face_px), 0.9) for t in times]),))
    segment, options = [Segment(2.0, 3.8, 0.9, 0.8, (1,))], ClipOptions(pre_roll_s=0, post_roll_s=0)
    stamps: list[float] = []
    t0 = time.perf_counter()
    export_clips(video, segment, seconds, tmp / "blur", options, blur, progress=lambda p: stamps.append(time.perf_counter()))
    took = time.perf_counter() - t0
    gaps = np.diff([t0, *stamps])
    print(
        f"blurred clip    : {took:6.2f} s for 1.8 s of 1920x1080 (cut + blur), {len(stamps)} progress reports, "
        f"longest gap between them {gaps.max():.2f} s"
    )
    for phase in ("cutting", "blurring faces"):
        latencies = []
        for _ in range(cancels):
            cancel, asked = threading.Event(), []

            def press_cancel(cancel=cancel, asked=asked) -> None:  # another thread, as the app's Cancel button
                asked.append(time.perf_counter())
                cancel.set()

            def progress(p: ExportProgress, phase=phase, asked=asked, press=press_cancel) -> None:
                if phase in p.phrase and p.done_s > 0 and not asked:
                    asked.append(0.0)
                    threading.Timer(0.15, press).start()  # lands between two checks, not on one

            try:
                export_clips(video, segment, seconds, tmp / "cancelled", options, blur, progress, cancel)
            except ExportCancelled:
                latencies.append(time.perf_counter() - asked[-1])
        left = sorted(p.name for p in (tmp / "cancelled").iterdir()) if (tmp / "cancelled").exists() else []
        ms = 1000 * np.array(latencies)
        low, high = median_interval(ms)
        print(
            f"cancel {phase:<15}: stopped {np.median(ms):4.0f} ms median (95% bootstrap {low:.0f}-{high:.0f}), {ms.max():4.0f} ms max "
            f"after the cancel ({len(ms)} of {cancels} cancelled mid-export), files left: {left or 'none'}"
        )


def median_interval(values: np.ndarray, resamples: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of the median (few runs: the median alone would overstate its precision)."""
    rng = np.random.default_rng(0)
    medians = np.median(rng.choice(values, (resamples, len(values))), axis=1)
    return float(np.percentile(medians, 2.5)), float(np.percentile(medians, 97.5))


if __name__ == "__main__":
    main()
