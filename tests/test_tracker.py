import json

import numpy as np
import pytest

from laughvid.pipeline.faces.tracker import Tracker, TrackerParams, fill_between, track_keyframe
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


class FakeDetector:
    """Whole-frame detection from a script (time -> faces); second looks find `region_face` if their region holds it."""

    def __init__(self, frames, region_face=None):
        self.frames, self.region_face, self.regions = frames, region_face, []

    def detect(self, frame):
        return list(self.frames.pop(0))

    def detect_region(self, frame, region):
        self.regions.append(region)
        f = self.region_face
        inside = f and region[0] <= f.box[0] and region[1] <= f.box[1] and f.box[2] <= region[2] and f.box[3] <= region[3]
        return [f] if inside else []

    def scan(self, frame):
        return []


FRAME = np.zeros((720, 1280, 3), np.uint8)


def run(params, script, region_face=None, times=None):
    tracker, detector = Tracker(params), FakeDetector(list(script), region_face)
    times = times or [0.3 * k for k in range(len(script))]
    return [track_keyframe(tracker, detector, FRAME, t) for t in times], detector


def test_a_face_the_detector_misses_on_two_keyframes_is_carried_not_dropped():
    script = [[det(400)], [det(410)], [], [], [det(440)]]  # e.g. head thrown back at 0.6 and 0.9 s
    old, _ = run(TrackerParams(look_again_s=0.0, carry_s=0.0), script)
    new, _ = run(TrackerParams(), script)
    assert old[2] == {} and old[3] == {}  # the former tracker: no face on those keyframes
    assert [set(f) for f in new] == [{0}] * 5  # one face, one id, on every keyframe
    carried = new[2][0]
    assert not carried.detected and carried.confidence == 0.0
    assert carried.box[0] == pytest.approx(415, abs=3)  # moved on with the face's motion (~33 px/s)


def test_a_second_look_around_the_lost_face_finds_it_as_a_detection():
    script = [[det(400, size=300)], [], []]  # a close face the whole-frame pass then misses
    frames, detector = run(TrackerParams(), script, region_face=det(405, size=310))
    assert frames[1][0].detected and frames[1][0].box[0] == 405
    x0, y0, x1, y1 = detector.regions[0]  # the region: 2.5 face sizes around where it was
    assert x1 - x0 == pytest.approx(750) and (x0 + x1) / 2 == pytest.approx(550)


def test_a_face_that_stays_missed_ends_after_carry_s():
    params = TrackerParams(look_again_s=1.0, carry_s=1.0)
    frames, _ = run(params, [[det(400)], [det(400)]] + [[]] * 6)
    present = [0.3 * k for k, f in enumerate(frames) if f]
    assert present == pytest.approx([0.0, 0.3, 0.6, 0.9, 1.2])  # carried up to 1 s after the last detection, then gone


def test_a_single_glimpse_is_not_carried():
    frames, _ = run(TrackerParams(), [[det(400)], [], []])
    assert frames[1:] == [{}, {}]  # one detection may be a false face: looked for again, not carried


def test_a_face_leaving_the_frame_ends_before_carry_s():
    # walks right at ~270 px/s out of the 1280 px frame; last detected with its box at 1180-1260
    script = [[det(1100)], [det(1140)], [det(1180)], [], [], [], []]
    frames, _ = run(TrackerParams(carry_s=1.0, look_again_s=1.0), script, times=[0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9])
    assert 0 in frames[3] and frames[3][0].box[0] > 1180  # carried on its way out while mostly inside
    assert frames[5] == {} and frames[6] == {}  # its path left the frame: ended 0.45 s after the last detection


def test_carried_tracks_resume_from_state_as_if_never_interrupted():
    script = [[det(400)], [det(430)], [], [], [det(480)]]
    whole, _ = run(TrackerParams(), script)
    tracker, detector = Tracker(TrackerParams()), FakeDetector(list(script))
    first = [track_keyframe(tracker, detector, FRAME, 0.3 * k) for k in range(3)]
    resumed = Tracker.from_state(json.loads(json.dumps(tracker.state())), TrackerParams())
    rest = [track_keyframe(resumed, detector, FRAME, 0.3 * k) for k in range(3, 5)]
    assert first + rest == whole


def test_a_state_saved_before_velocities_were_kept_still_resumes():
    old_state = {"next_id": 1, "live": {"0": [[400.0, 100.0, 480.0, 180.0], 0.0]}}
    tracker = Tracker.from_state(old_state, TrackerParams())
    assert tracker.update(0.3, [det(405)])[0][0] == 0
