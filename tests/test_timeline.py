"""The timeline's laugh probability: each person's score averaged over a centred window of their own track."""

from dataclasses import replace

import numpy as np
import pytest

from laughvid import store
from laughvid.pipeline.analyze import compute_segments, laugh_series, load_result
from laughvid.pipeline.segments import SmoothingParams
from laughvid.pipeline.timeline import track_average, track_series, whole_series
from laughvid.types import ScoreCache, VideoInfo
from laughvid.ui.series_route import curves_key


def _cache(frame_times, rows) -> ScoreCache:
    """rows: (time_s, track_id, prob) per face observation."""
    times, tids, probs = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    n = len(rows)
    return ScoreCache(np.asarray(frame_times, float), times, tids.astype(np.int64), np.zeros((n, 4)), np.ones(n), probs, np.ones(n, bool))


def _frames(n: int, step: float = 0.1) -> np.ndarray:
    return np.round(np.arange(n) * step, 6)


def _mean(*probs: float) -> float:
    """The expected average: the mean in log-odds, as a probability."""
    logits = [np.log(p / (1 - p)) for p in probs]
    return float(1 / (1 + np.exp(-np.mean(logits))))


def test_a_one_frame_dip_inside_a_smile_is_lifted():
    t = _frames(31)
    probs = np.full(31, 0.9)
    probs[15] = 0.1  # 1.5 s: a blink
    cache = _cache(t, [(ti, 0, p) for ti, p in zip(t, probs, strict=True)])
    averaged = track_average(cache, 1.0)  # +-0.5 s: 11 frames
    assert averaged[15] == pytest.approx(_mean(*[0.9] * 10, 0.1))  # 0.858: above the 0.7 on threshold
    assert averaged[0] == pytest.approx(0.9) and averaged[30] == pytest.approx(0.9)  # edges: a shorter window, not zeros
    assert averaged[9] == pytest.approx(0.9) and averaged[10] == pytest.approx(averaged[15])  # 1.0 s reaches 1.5 s
    series, _ = laugh_series(cache, (), 1.0)
    assert series.probs[15] == pytest.approx(0.8579, abs=1e-4)
    assert whole_series(cache).probs[15] == 0.1  # the raw score stays in the cache


def test_the_average_does_not_cross_a_gap_where_the_face_was_absent():
    t = _frames(30)  # 0.0 .. 2.9 s analysed
    rows = [(ti, 0, 0.9) for ti in t[:10]] + [(ti, 0, 0.1) for ti in t[13:]]  # absent 1.0-1.2 s (3 frames)
    cache = _cache(t, rows)
    averaged = track_average(cache, 2.0)  # +-1 s would reach across the gap
    np.testing.assert_allclose(averaged, [0.9] * 10 + [0.1] * 17)
    series = track_series(cache, averaged)[0]
    assert np.isnan(series.probs[10:13]).all()  # still no face there


def test_one_missing_analysed_frame_is_a_gap_and_irregular_sampling_uses_time():
    t = np.array([0.0, 0.1, 0.15, 0.5, 0.55, 0.6])
    rows = [(0.0, 0, 0.2), (0.1, 0, 0.4), (0.15, 0, 0.9), (0.55, 0, 0.3), (0.6, 0, 0.6)]  # no row at 0.5 s
    averaged = track_average(_cache(t, rows), 0.2)  # +-0.1 s
    expected = [_mean(0.2, 0.4), _mean(0.2, 0.4, 0.9), _mean(0.4, 0.9), _mean(0.3, 0.6), _mean(0.3, 0.6)]
    np.testing.assert_allclose(averaged, expected)


def test_the_average_does_not_mix_two_persons():
    t = _frames(20)
    rows = [(ti, 0, 0.9) for ti in t] + [(ti, 7, 0.1 if i % 2 else 0.3) for i, ti in enumerate(t)]  # interleaved rows
    cache = _cache(t, rows)
    averaged = track_average(cache, 1.0)
    np.testing.assert_allclose(averaged[:20], 0.9)
    assert 0.15 < averaged[25] < 0.25 and averaged[20:].max() < 0.3  # person 7's own flicker averaged, never lifted by person 0
    series, tracks = laugh_series(cache, (), 1.0)
    np.testing.assert_allclose(series.probs, 0.9)  # the whole video is the max over the averaged persons
    assert tracks[7].probs.max() < 0.3


def test_a_window_of_0_reproduces_the_raw_series_exactly():
    t = _frames(12)
    rng = np.random.default_rng(1)
    rows = [(ti, 0, p) for ti, p in zip(t, rng.random(12), strict=True)] + [(ti, 3, p) for ti, p in zip(t[4:9], rng.random(5), strict=True)]
    cache = _cache(t, rows)
    series, tracks = laugh_series(cache, (3,), 0.0)
    np.testing.assert_array_equal(series.probs, whole_series(cache).probs)
    np.testing.assert_array_equal(tracks[0].probs, track_series(cache)[0].probs)
    assert list(tracks) == [0]  # fragments stay out of the persons, as before


def test_the_window_changes_every_key_and_what_a_stored_analysis_shows(tmp_path):
    default, off = SmoothingParams(), SmoothingParams(score_window_s=0.0)
    assert default.score_window_s == 1.0 and default.hash() != off.hash()  # the shipped window (docs/model.md)
    with pytest.raises(ValueError, match="score_window_s must be a number of seconds >= 0"):
        SmoothingParams(score_window_s=-1)

    conn = store.open_store(tmp_path / "s.sqlite")
    vid = store.upsert_video(conn, "abc", VideoInfo("/v/a.mp4", 64, 48, 10.0, 3.0, 30))
    rec = store.start_analysis(conn, vid, "m1", {"fps": 10})
    t = _frames(30)
    probs = np.where((t >= 1.0) & (t < 2.0), 0.9, 0.1)
    probs[15] = 0.1  # a blink splits the laugh at the raw score
    rows = [(float(ti), 0, 10, 10, 30, 30, 0.9, float(p), True) for ti, p in zip(t, probs, strict=True)]
    store.save_chunk(conn, rec.id, t, rows, {"last_time_s": 2.9}, 1.0)
    store.finish_analysis(conn, rec.id, [])
    sharp = SmoothingParams(median_s=0.0, on_threshold=0.7, off_threshold=0.5, min_duration_s=0.0, merge_gap_s=0.0, score_window_s=0.0)
    raw = compute_segments(conn, rec.id, sharp)
    averaged = compute_segments(conn, rec.id, replace(sharp, score_window_s=0.2))  # +-0.1 s: 3 frames
    assert [(s.start_s, s.end_s) for s in raw] == [(1.0, 1.5), (1.6, 2.0)]
    assert [(round(s.start_s, 3), round(s.end_s, 3)) for s in averaged] == [(1.1, 2.0)]  # one laugh: the blink is lifted to 0.68, above off
    result = load_result(conn, rec.id, replace(sharp, score_window_s=0.2))
    assert result.series.probs[15] == pytest.approx(_mean(0.9, 0.1, 0.9)) and result.cache.probs[15] == 0.1
    assert curves_key(result) != curves_key(load_result(conn, rec.id, sharp))  # the player's curves are fetched anew
