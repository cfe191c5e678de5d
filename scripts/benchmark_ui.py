"""How long the review app's per-interaction work takes for an hour of analysed footage.

    .venv/bin/python scripts/benchmark_ui.py [--hours 1] [--people 2]

Writes a synthetic score cache (10 analysed fps, N faces) into a temporary store, then times what
every rerun of the app does: load the cache and re-segment it, merge the review state, build the
player-timeline's data. No video is decoded.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from laughvid import review, store
from laughvid.pipeline.analyze import load_result
from laughvid.pipeline.segments import SmoothingParams
from laughvid.types import VideoInfo
from laughvid.ui.timeline_payload import timeline_payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--people", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        conn = store.open_store(Path(tmp) / "bench.sqlite")
        seconds = args.hours * 3600
        sha = "b" * 64
        video_id = store.upsert_video(conn, sha, VideoInfo("bench.mp4", 1280, 720, 30.0, seconds, int(seconds * 30)))
        record = store.start_analysis(conn, video_id, "bench", {"fps": 10})
        times = np.arange(int(seconds * 10)) / 10
        rng = np.random.default_rng(0)
        rows = []
        for person in range(args.people):
            laugh = np.sin(times / (17 + 5 * person)) > 0.8
            probs = np.clip(0.15 + 0.7 * laugh + rng.normal(0, 0.05, len(times)), 0, 1)
            box = (100 + 300 * person, 100, 200 + 300 * person, 200)
            rows += [(float(t), person, *box, 0.9, float(p), 1) for t, p in zip(times, probs, strict=False)]
        store.save_chunk(conn, record.id, times, rows, {}, 1.0)
        store.finish_analysis(conn, record.id, [])
        print(f"{args.hours:g} h at 10 analysed fps, {args.people} face(s): {len(rows):,} cached face scores")
        for threshold in (0.5, 0.6, 0.7):
            t0 = time.perf_counter()
            result = load_result(conn, record.id, SmoothingParams(on_threshold=threshold))
            t1 = time.perf_counter()
            items = review.review_list(result.segments, conn, sha)
            t2 = time.perf_counter()
            payload = json.dumps(
                timeline_payload(
                    sha256=sha,
                    url="/v",
                    fps=30.0,
                    duration_s=seconds,
                    problem=None,
                    series=result.series,
                    tracks=result.tracks,
                    items=items,
                    threshold=threshold,
                )
            )
            t3 = time.perf_counter()
            print(
                f"threshold {threshold}: load + re-segment {t1 - t0:.2f} s ({len(items)} segments), "
                f"review merge {1000 * (t2 - t1):.1f} ms, player data {t3 - t2:.2f} s ({len(payload) / 1e6:.2f} MB), total {t3 - t0:.2f} s"
            )


if __name__ == "__main__":
    main()
