from dataclasses import replace

import numpy as np
import pytest

from laughvid.pipeline.segments import SmoothingParams, fill_gaps, find_segments, median_filter
from laughvid.pipeline.timeline import peak_between
from laughvid.types import ScoreSeries

T = np.round(np.arange(0, 10, 0.1), 3)


def series(probs, track_id=None):
    return ScoreSeries(T.copy(), np.asarray(probs, float), track_id)


def laugh(*spans, base=0.1, high=0.9):
    p = np.full(len(T), base)
    for a, b in spans:
        p[(T >= a) & (T < b)] = high
    return p


def test_one_laugh_gives_one_segment_with_its_bounds_and_stats():
    [seg] = find_segments(series(laugh((2.0, 4.0))))
    assert seg.start_s == pytest.approx(2.0) and seg.end_s == pytest.approx(4.0)
    assert seg.peak_prob == pytest.approx(0.9) and seg.mean_prob == pytest.approx(0.9)


def test_flicker_shorter_than_the_median_window_is_ignored():
    assert find_segments(series(laugh((3.0, 3.2)))) == []


def test_close_segments_merge_and_short_ones_drop():
    params = SmoothingParams(median_s=0, merge_gap_s=0.5, min_duration_s=0.5)
    segs = find_segments(series(laugh((1.0, 2.0), (2.3, 3.0), (6.0, 6.3))), params)
    assert [(round(s.start_s, 2), round(s.end_s, 2)) for s in segs] == [(1.0, 3.0)]


def test_hysteresis_keeps_a_segment_through_a_dip_above_off():
    p = laugh((2.0, 5.0))
    p[(T >= 3.0) & (T < 3.6)] = 0.4  # below on (0.5), above off (0.35)
    [seg] = find_segments(series(p), SmoothingParams(median_s=0, merge_gap_s=0, on_threshold=0.5, off_threshold=0.35))
    assert (seg.start_s, seg.end_s) == pytest.approx((2.0, 5.0))


def test_short_no_face_gap_is_bridged_long_one_is_not_laughing():
    p = laugh((1.0, 8.0))
    p[(T >= 3.0) & (T < 3.3)] = np.nan  # a missed detection
    p[(T >= 5.0) & (T < 7.0)] = np.nan  # face gone for 2 s
    params = SmoothingParams(median_s=0, merge_gap_s=0, fill_gap_s=0.5)
    segs = find_segments(series(p), params)
    assert [(round(s.start_s, 2), round(s.end_s, 2)) for s in segs] == [(1.0, 5.0), (7.0, 8.0)]


def test_hmm_finds_the_laugh_in_noise():
    rng = np.random.default_rng(0)
    p = np.clip(laugh((3.0, 6.0), base=0.2, high=0.8) + rng.normal(0, 0.2, len(T)), 0, 1)
    [seg] = find_segments(series(p), SmoothingParams(hmm=True, median_s=0))
    assert seg.start_s == pytest.approx(3.0, abs=0.3) and seg.end_s == pytest.approx(6.0, abs=0.3)


def test_segments_name_the_tracks_that_laughed():
    a, b = laugh((2.0, 4.0)), laugh()
    whole = series(np.fmax(a, b))
    [seg] = find_segments(whole, tracks={0: series(a, 0), 1: series(b, 1)})
    assert seg.track_ids == (0,)


def test_no_faces_at_all_gives_no_segments():
    assert find_segments(series(np.full(len(T), np.nan))) == []
    assert find_segments(ScoreSeries(np.zeros(0), np.zeros(0))) == []


def test_helpers():
    assert list(median_filter(np.array([0, 1, 0, 0, 1, 1, 1.0]), 3)) == [0, 0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(fill_gaps(np.arange(4.0), np.array([0.2, np.nan, 0.6, np.nan]), 5), [0.2, 0.4, 0.6, 0.0])


@pytest.mark.parametrize("bad", [dict(on_threshold=0.3, off_threshold=0.5), dict(min_duration_s=-1), dict(hmm_switch_prob=0.7)])
def test_invalid_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        SmoothingParams(**bad)


def test_a_laugh_at_the_last_frame_ends_with_the_video_not_a_step_later():
    """The last analysed frame (9.9 s) stands for a 0.1 s step, but a 9.93 s video ends before 10.0 s."""
    [seg] = find_segments(series(laugh((8.0, 10.0))), end_s=9.93)
    assert (seg.start_s, seg.end_s) == (pytest.approx(8.0), pytest.approx(9.93))
    [inside] = find_segments(series(laugh((2.0, 4.0))), end_s=9.93)
    assert inside.end_s == pytest.approx(4.0), "only the span of the last frame is cut"


def _alternating_flicker(track: int) -> np.ndarray:
    """A talking face's score: short spikes above the threshold, each face on alternate frames."""
    p = np.full(len(T), 0.1)
    spikes = (np.arange(len(T)) % 4) == (0 if track == 0 else 2)
    p[(T >= 2.0) & (T < 6.0) & spikes] = 0.9
    return p


def test_two_faces_flickering_in_turn_make_no_event_per_person_but_did_on_the_max_over_faces():
    """Each face alone flickers (one frame in four); the max over both is high every other frame,
    which the median filter over the whole-video series turns into a false laugh."""
    a, b = _alternating_flicker(0), _alternating_flicker(1)
    whole, tracks = series(np.fmax(a, b)), {0: series(a, 0), 1: series(b, 1)}
    assert find_segments(whole, SmoothingParams(decode="per_person"), tracks) == []
    assert len(find_segments(whole, SmoothingParams(decode="whole_video"), tracks)) == 1


def test_two_people_laughing_in_turn_make_one_moment_naming_both():
    a, b = laugh((2.0, 4.0)), laugh((4.2, 6.0))
    [seg] = find_segments(series(np.fmax(a, b)), SmoothingParams(), {0: series(a, 0), 1: series(b, 1)})
    assert (seg.start_s, seg.end_s) == pytest.approx((2.0, 6.0))
    assert seg.track_ids == (0, 1)


def test_a_face_too_brief_to_be_a_person_still_counts_per_person():
    """Where no person is visible, the whole-video score (fragments) is decided on its own."""
    person = laugh(base=0.1)
    person[T >= 5.0] = np.nan  # the person leaves; a fragment laughs at 6-8 s
    whole = person.copy()
    whole[(T >= 6.0) & (T < 8.0)] = 0.9
    [seg] = find_segments(series(whole), SmoothingParams(), {0: series(person, 0)})
    assert (seg.start_s, seg.end_s) == pytest.approx((6.0, 8.0)) and seg.track_ids == ()


def test_unknown_decode_mode_is_refused():
    with pytest.raises(ValueError, match="decode must be one of"):
        SmoothingParams(decode="average")


def ramp_laugh():
    """A laugh whose score climbs from 0.1 to 0.9 over 1 s (2.0-3.0 s), holds to 5 s, then drops."""
    p = np.full(len(T), 0.1)
    climb = (T >= 2.0) & (T < 3.0)
    p[climb] = np.linspace(0.1, 0.9, climb.sum())
    p[(T >= 3.0) & (T < 5.0)] = 0.9
    return p


def test_extend_onset_starts_the_segment_where_the_climb_passed_off_not_where_it_reached_on():
    params = SmoothingParams(median_s=0, on_threshold=0.7, off_threshold=0.3)
    [late] = find_segments(series(ramp_laugh()), params)
    [early] = find_segments(series(ramp_laugh()), replace(params, extend_onset=True))
    # the ramp passes 0.3 at 2.3 s and 0.7 at 2.7 s: forward-only hysteresis starts 0.4 s late
    assert late.start_s == pytest.approx(2.7) and early.start_s == pytest.approx(2.3)
    assert late.end_s == early.end_s == pytest.approx(5.0)


def test_extend_onset_keeps_no_segment_that_never_reaches_on():
    p = laugh((2.0, 4.0), high=0.6)  # above off (0.5), never at on (0.7)
    assert find_segments(series(p), SmoothingParams(median_s=0, on_threshold=0.7, off_threshold=0.5, extend_onset=True)) == []


def test_merge_ratio_joins_a_dip_inside_a_long_laugh_but_not_two_short_laughs_as_far_apart():
    params = SmoothingParams(median_s=0, merge_gap_s=0.5, merge_ratio=0.3)
    long_pair = laugh((0.0, 4.0), (5.0, 9.0))  # 1 s dip between two 4 s halves: 1 < 0.3 x 4
    short_pair = laugh((2.0, 3.0), (4.0, 5.0))  # 1 s gap between two 1 s laughs: 1 > 0.3 x 1
    assert [(round(s.start_s, 2), round(s.end_s, 2)) for s in find_segments(series(long_pair), params)] == [(0.0, 9.0)]
    assert len(find_segments(series(long_pair), replace(params, merge_ratio=0.0))) == 2
    assert [(round(s.start_s, 2), round(s.end_s, 2)) for s in find_segments(series(short_pair), params)] == [(2.0, 3.0), (4.0, 5.0)]


def _peak_by_mask(s: ScoreSeries, start_s: float, end_s: float) -> float | None:
    """peak_between as it was (a mask over the whole series): the reference the search must match."""
    inside = s.probs[(s.times_s >= start_s) & (s.times_s < end_s)]
    inside = inside[~np.isnan(inside)]
    return float(inside.max()) if len(inside) else None


def test_peak_between_matches_the_whole_series_mask_everywhere():
    rng = np.random.default_rng(0)
    probs = rng.random(len(T))
    probs[rng.random(len(T)) < 0.3] = np.nan
    probs[40:55] = np.nan  # a stretch with no face: a segment inside it has no peak
    cases = [ScoreSeries(T.copy(), probs), ScoreSeries(T[:1].copy(), np.array([0.7])), ScoreSeries(np.array([]), np.array([]))]
    bounds = [(-5.0, -1.0), (20.0, 30.0), (-1.0, 20.0), (4.0, 5.5), (5.5, 4.0), (0.0, 0.0), (0.0, 0.1), (9.9, 10.0)]
    bounds += [(float(a), float(b)) for a, b in rng.choice(T, (200, 2))]  # bounds exactly on samples: [start, end)
    bounds += [tuple(sorted(rng.uniform(-1, 11, 2))) for _ in range(200)]
    for s in cases:
        for a, b in bounds:
            assert peak_between(s, a, b) == _peak_by_mask(s, a, b), (len(s.times_s), a, b)
    assert peak_between(cases[0], 4.0, 5.5) is None
    assert peak_between(cases[1], 0.0, 0.1) == 0.7 and peak_between(cases[1], 0.05, 1.0) is None
