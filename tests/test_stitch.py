"""Track stitching on synthetic detection sequences: the real tracker splits them, stitching must
give one id per person without ever joining two faces seen at the same time."""

import numpy as np
import pytest

from laughvid.pipeline.faces.stitch import StitchParams, stitch
from laughvid.pipeline.faces.tracker import Tracker
from laughvid.types import Detection, ScoreCache

STEP = 0.3  # detection frames at the default 10 fps, detect_every=3
SIZE = 80


def face(x, y=100, size=SIZE):
    return Detection((x, y, x + size, y + size), 0.9)


def times(start, stop):
    """Detection times in [start, stop)."""
    return [t for k in range(int(stop / STEP) + 1) if start <= (t := round(k * STEP, 6)) < stop]


def tracked(people, sizes=None):
    """Run the tracker over people given as {name: {time: x}} (face sizes: `sizes`, default SIZE);
    returns the cache and each row's person name."""
    sizes = sizes or {}
    frames = sorted({t for positions in people.values() for t in positions})
    tracker, rows, names = Tracker(), [], []
    for t in frames:
        here = [(name, positions[t]) for name, positions in people.items() if t in positions]
        found = tracker.update(t, [face(x, size=sizes.get(name, SIZE)) for name, x in here])
        for (name, _), (tid, det) in zip(here, found, strict=False):
            rows.append((t, tid, *det.box))
            names.append(name)
    table = np.array(rows, np.float64).reshape(-1, 6)
    cache = ScoreCache(
        np.array(frames),
        table[:, 0],
        table[:, 1].astype(np.int64),
        table[:, 2:6],
        np.full(len(table), 0.9),
        np.full(len(table), 0.5),
        np.ones(len(table), bool),
    )
    return cache, names


def persons(cache, names):
    """Person name -> the set of ids its observations got."""
    return {name: {int(t) for t, n in zip(cache.track_ids, names, strict=False) if n == name} for name in sorted(set(names))}


def test_a_face_back_after_3_s_somewhere_else_keeps_its_id():
    ana = {t: 100 for t in times(0, 3)} | {t: 180 for t in times(6, 9)}  # away 3 s, back one face width to the right
    cache, names = tracked({"ana": ana})
    assert len(np.unique(cache.track_ids)) == 2  # the tracker alone gives a new id
    result = stitch(cache)
    assert persons(result.cache, names) == {"ana": {0}} and result.fragments == ()
    np.testing.assert_array_equal(result.cache.times_s, cache.times_s)  # same observations, only ids change


def test_the_face_that_returns_joins_its_own_track_not_the_one_still_in_view():
    ana = {t: 100 for t in times(0, 9)}  # in view throughout
    ben = {t: 400 for t in times(0, 3)} | {t: 430 for t in times(6, 9)}
    cache, names = tracked({"ana": ana, "ben": ben})
    assert len(np.unique(cache.track_ids)) == 3
    assert persons(stitch(cache).cache, names) == {"ana": {0}, "ben": {1}}

    near_ana = {t: 400 for t in times(0, 3)} | {t: 190 for t in times(6, 9)}  # back right next to ana, far from where ben left
    cache, names = tracked({"ana": ana, "ben": near_ana})
    assert persons(stitch(cache).cache, names) == {"ana": {0}, "ben": {1, 2}}  # a new person rather than ana's


def test_tracks_that_share_a_frame_are_never_joined():
    cache, names = tracked({"ana": {t: 100 for t in times(0, 3.1)}, "ben": {t: 300 for t in times(3.0, 6)}})
    ben = np.array(names) == "ben"
    cache.boxes[ben] = face(100).box  # same place and size as ana: only the one shared frame tells them apart
    assert set(cache.times_s[ben]) & set(cache.times_s[~ben]) == {3.0}
    assert persons(stitch(cache).cache, names) == {"ana": {0}, "ben": {1}}


def test_two_faces_crossing_keep_their_ids_through_the_occlusion():
    ana = {t: 100 + 100 * t for t in times(0, 6)}  # walks right
    ben = {t: 700 - 100 * t for t in times(0, 6) if not 2.2 <= t < 3.8}  # walks left, hidden behind ana while they cross
    cache, names = tracked({"ana": ana, "ben": ben})
    assert len(np.unique(cache.track_ids)) == 3  # ben came back 2.25 face widths from where he was lost: a new id
    assert persons(stitch(cache).cache, names) == {"ana": {0}, "ben": {1}}  # joined where ben was heading


@pytest.mark.parametrize(
    "x, start, size",
    [
        (100, 9, SIZE),  # back at the same place, but after longer than max_gap_s
        (400, 4, SIZE),  # soon, but too far for the time away
        (100, 4, 3 * SIZE),
    ],  # soon and at the same place, but three times bigger
)
def test_implausible_returns_are_new_persons(x, start, size):
    other = {t: x for t in times(start, start + 3)}
    cache, names = tracked({"ana": {t: 100 for t in times(0, 3)}, "other": other}, sizes={"other": size})
    assert persons(stitch(cache).cache, names) == {"ana": {0}, "other": {1}}


def test_brief_faces_are_fragments_and_do_not_divert_a_stitch():
    ana = {t: 100 for t in times(0, 3)} | {t: 190 for t in times(5.7, 8)}
    glimpse = {4.2: 225}  # one detection (e.g. a false one) between ana's tracks, nearer to where she comes back
    cache, names = tracked({"ana": ana, "glimpse": glimpse})
    assert len(np.unique(cache.track_ids)) == 3
    result = stitch(cache)
    assert persons(result.cache, names) == {"ana": {0}, "glimpse": {1}} and result.fragments == (1,)
    everything = stitch(cache, StitchParams(min_detections=0))  # the glimpse would have taken ana's return
    assert persons(everything.cache, names) == {"ana": {0, 1}, "glimpse": {1}}


def test_a_video_without_faces_has_no_persons():
    empty = ScoreCache(np.arange(3.0), np.zeros(0), np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0), np.zeros(0), np.zeros(0, bool))
    result = stitch(empty)
    assert result.cache.track_ids.shape == (0,) and result.fragments == ()
