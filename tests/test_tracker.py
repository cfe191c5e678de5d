import pytest

from laughvid.pipeline.faces.tracker import Tracker, TrackerParams, fill_between
from laughvid.types import Detection


def det(x, y=100, size=80, conf=0.9):
    return Detection((x, y, x + size, y + size), conf)


def test_two_people_keep_their_ids_while_moving():
    tracker = Tracker()
    ids = []
    for step in range(10):
        t = step * 0.3
        found = tracker.update(t, [det(600 - 10 * step), det(100 + 15 * step)])  # order of detections varies
        ids.append({round(d.box[0]): tid for tid, d in found})
    left = [ids[s][100 + 15 * s] for s in range(10)]
    right = [ids[s][600 - 10 * s] for s in range(10)]
    assert len(set(left)) == 1 and len(set(right)) == 1 and left[0] != right[0]


def test_fast_motion_is_matched_by_centre_distance():
    tracker = Tracker()
    [(first, _)] = tracker.update(0.0, [det(100)])
    [(second, _)] = tracker.update(0.3, [det(150)])  # IoU 0.23: below the IoU threshold
    assert second == first


def test_short_miss_keeps_the_id_long_miss_does_not():
    tracker = Tracker(TrackerParams(max_gap_s=1.0, relink_gap_s=3.0))
    [(a, _)] = tracker.update(0.0, [det(100)])
    assert tracker.update(0.3, []) == [] and tracker.update(0.6, []) == []
    [(b, _)] = tracker.update(0.9, [det(120)])  # moved: matched within max_gap_s
    assert b == a
    [(c, _)] = tracker.update(2.5, [det(160)])  # 1.6 s later and moved away: a new face
    assert c != a


def test_face_back_at_the_same_place_is_relinked():
    tracker = Tracker(TrackerParams(max_gap_s=1.0, relink_gap_s=5.0))
    [(a, _)] = tracker.update(0.0, [det(100)])
    [(b, _)] = tracker.update(3.0, [det(104)])  # looked down for 3 s, same place
    [(c, _)] = tracker.update(3.3, [det(300)])  # elsewhere after a gap: not relinked by distance
    assert b == a and c != a


def test_state_round_trip_gives_the_same_ids():
    tracker = Tracker()
    tracker.update(0.0, [det(100), det(400)])
    restored = Tracker.from_state(tracker.state(), TrackerParams())
    assert restored.update(0.3, [det(405), det(102)]) == tracker.update(0.3, [det(405), det(102)])


def test_fill_between_interpolates_and_holds_half_the_gap():
    before = {0: det(100, conf=0.8), 1: det(500)}
    after = {0: det(200, conf=0.6), 2: det(300)}
    mid = fill_between(0.0, before, 1.0, after, 0.25)
    assert mid[0].box[0] == pytest.approx(125) and mid[0].confidence == pytest.approx(0.75)
    assert 1 in mid and 2 not in mid  # track 1 left, track 2 appeared: each held on its own side
    late = fill_between(0.0, before, 1.0, after, 0.75)
    assert 1 not in late and 2 in late


def test_a_face_passing_where_another_was_lost_keeps_its_own_id():
    tracker = Tracker(TrackerParams(max_gap_s=1.0, relink_gap_s=5.0))
    [(lost, _)] = tracker.update(0.0, [det(300)])  # then not detected (looked down)
    walker = [tracker.update(1.5 + 0.3 * k, [det(210 + 30 * k)])[0][0] for k in range(7)]  # walks through x=300 at k=3
    assert len(set(walker)) == 1 and walker[0] != lost
