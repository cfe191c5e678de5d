"""Active-learning ranking: the faces a label would help most come first, spread out in time."""

from __future__ import annotations

import numpy as np
import pytest
from loop_helpers import loop_db

from laughvid import review, store
from laughvid.pipeline.segments import SmoothingParams
from laughvid.review.queue import Candidate, rank, review_queue, score_candidate
from laughvid.types import VideoInfo


def test_uncertain_faces_rank_above_confident_ones():
    picks = rank([Candidate("sure-yes", 0.98), Candidate("borderline", 0.52), Candidate("sure-no", 0.03)], 0.5)
    assert [p.candidate.key for p in picks][0] == "borderline"
    assert "uncertain" in picks[0].reasons[0]


def test_disagreement_and_rare_conditions_raise_the_score():
    base = score_candidate(Candidate("a", 0.9, smoothed_prob=0.88, face_px=120, brightness=130), 0.5)
    outlier = score_candidate(Candidate("b", 0.9, smoothed_prob=0.2, face_px=120, brightness=130), 0.5)
    small_dark = score_candidate(Candidate("c", 0.9, smoothed_prob=0.88, face_px=20, brightness=15), 0.5)
    assert outlier.score > base.score and small_dark.score > base.score
    assert any("smoothing disagrees" in r for r in outlier.reasons)
    assert any("small face" in r for r in small_dark.reasons) and any("dark" in r for r in small_dark.reasons)


def test_picks_are_spread_out_in_time_per_track():
    frames = [Candidate(("v", t), 0.5, video="v", track_id=1, time_s=t / 10) for t in range(30)]
    other = [Candidate(("w", 0), 0.5, video="w", track_id=1, time_s=0.0)]
    picks = rank(frames + other, 0.5, k=10, min_gap_s=1.0)
    times = sorted(p.candidate.time_s for p in picks if p.candidate.video == "v")
    assert len(times) == 3 and all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False))
    assert any(p.candidate.video == "w" for p in picks)


def test_review_queue_skips_reviewed_time_and_finished_videos():
    conn = loop_db()
    times = np.round(np.arange(0, 10, 0.1), 3)
    for sha, name in (("a" * 64, "a.mp4"), ("b" * 64, "b.mp4")):
        vid = store.upsert_video(conn, sha, VideoInfo(name, 640, 360, 30.0, 10.0, 300))
        analysis = store.start_analysis(conn, vid, "smile-test", {})
        probs = 0.5 + 0.45 * np.sin(times)  # crosses the threshold near 0 s and 3.1 s
        rows = [(t, 0, 100, 100, 160, 160, 0.95, p, True) for t, p in zip(times, probs, strict=False)]
        store.save_chunk(conn, analysis.id, times, rows, {}, 1.0)
        store.finish_analysis(conn, analysis.id, [])
    review.add(conn, "a" * 64, 2.5, 4.0, reviewer="tester")
    review.mark_complete(conn, "b" * 64, reviewer="tester")

    queue = review_queue(conn, k=5, params=SmoothingParams(on_threshold=0.5, off_threshold=0.35))  # not the tuned defaults
    assert queue and all(item.candidate.key[0] == "a" * 64 for item in queue)
    assert not any(2.5 <= item.candidate.time_s < 4.0 for item in queue)
    assert abs(queue[0].candidate.prob - 0.5) < 0.1 and queue[0].candidate.video == "a.mp4"


def test_intensity_order_puts_the_biggest_laughs_first_and_unknown_intensity_last():
    faces = [Candidate("closed smile", 0.9, intensity=0.3), Candidate("no geometry", 0.5), Candidate("open laugh", 0.95, intensity=0.92)]
    faces += [Candidate("grin", 0.8, intensity=0.55), Candidate("old analysis", 0.9)]
    picks = rank(faces, 0.5, order="intensity")
    assert [p.candidate.key for p in picks] == ["open laugh", "grin", "closed smile", "no geometry", "old analysis"]  # None: useful order
    assert "big laugh (intensity 0.92)" in picks[0].reasons
    assert [p.candidate.key for p in rank(faces, 0.5)][0] == "no geometry"  # default order unchanged: the most uncertain first
    with pytest.raises(ValueError, match="order must be one of"):
        rank(faces, 0.5, order="loudest")
