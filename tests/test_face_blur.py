"""Face blurring for people without consent: frames and whole clips."""

from __future__ import annotations

from datetime import date

import av
import numpy as np
import pytest
from loop_helpers import AWAY_S, TURNS, loop_db, turns_cache, turns_video
from media import astronaut_video, face_box_in_frame, rotated_video

from laughvid.export.clips import ClipOptions, export_clips
from laughvid.governance.consent import Participant, add_participant, link_tracks
from laughvid.governance.face_blur import BlurError, blur_boxes, blur_clip, boxes_at, source_time, unconsented_faces
from laughvid.pipeline.decode import iter_batches, probe
from laughvid.pipeline.faces.detector import FaceDetector
from laughvid.pipeline.faces.stitch import StitchParams, stitch
from laughvid.types import FaceObservation, FaceTrack, ScoreCache, Segment


def test_blur_hides_detail_and_leaves_the_rest():
    frame = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    out = blur_boxes(frame, [(40.0, 30.0, 80.0, 70.0), (-10.0, -10.0, 5.0, 5.0)])
    assert out.shape == frame.shape and not np.shares_memory(out, frame)
    assert out[30:70, 40:80].std() < 0.3 * frame[30:70, 40:80].std()
    assert np.array_equal(out[:, 100:], frame[:, 100:])  # outside the grown box: untouched


def test_boxes_are_interpolated_between_analysed_frames():
    track = FaceTrack(1, [FaceObservation(0.0, 1, (0, 0, 10, 10), 0.9), FaceObservation(1.0, 1, (10, 0, 20, 10), 0.9)])
    assert boxes_at([track], 0.5) == [(5.0, 0.0, 15.0, 10.0)]
    assert boxes_at([track], 1.4) == [(10.0, 0.0, 20.0, 10.0)]  # held a little past the end
    assert boxes_at([track], 2.0) == []


def test_blurred_clip_has_no_detectable_face(tmp_path):
    seconds, size = 1.0, (640, 360)
    clip = astronaut_video(tmp_path / "clip.mp4", seconds=seconds, size=size, fps=15, face_px=120, audio=True)
    start = 5.0  # the clip was cut from 5 s into its source: track times are source times
    obs = [FaceObservation(start + t, 3, face_box_in_frame(t, seconds, size, 120), 0.9) for t in np.arange(0, 1.01, 0.2)]
    out = blur_clip(clip, tmp_path / "blurred.mp4", [FaceTrack(3, obs)], [(start, start + seconds)])
    detector = FaceDetector()
    with av.open(str(clip)) as a, av.open(str(out)) as b:
        assert len(b.streams.audio) == 1
        before = [f.to_ndarray(format="rgb24") for f in a.decode(video=0)]
        after = [f.to_ndarray(format="rgb24") for f in b.decode(video=0)]
    assert len(after) == len(before)
    assert all(detector.detect(f) for f in before[::5])
    assert not any(detector.detect(f) for f in after[::5])
    with pytest.raises(BlurError, match="new file"):
        blur_clip(clip, clip, [], [(0.0, 1.0)])


def test_reel_time_maps_through_its_windows():
    windows = [(10.0, 12.0), (30.0, 31.0)]
    assert source_time(0.5, windows) == 10.5
    assert source_time(2.25, windows) == 30.25


def test_only_faces_without_clip_consent_are_blurred(tmp_path):
    conn = loop_db()
    add_participant(conn, Participant("p01", "Kim", ("finetune", "clips"), date(2020, 1, 1)))
    link_tracks(conn, "vid", [1], "p01")
    clip = astronaut_video(tmp_path / "clip.mp4", seconds=1.0, size=(320, 180), fps=10, face_px=60)
    times = np.arange(0, 1.01, 0.25)
    boxes = np.array([face_box_in_frame(t, 1.0, (320, 180), 60) for t in times])
    cache = ScoreCache(
        times,
        np.r_[times, times],
        np.r_[np.ones(5), np.full(5, 2)].astype(np.int64),
        np.r_[boxes, boxes],
        np.full(10, 0.9),
        np.full(10, 0.5),
        np.ones(10, bool),
    )
    original = clip.read_bytes()
    blur = unconsented_faces(conn, "vid", cache)
    assert blur.track_ids == [2]  # track 1 consented
    blur(clip, [(0.0, 1.0)])
    assert clip.read_bytes() != original and not list(tmp_path.glob(".tmp-*"))
    with av.open(str(clip)) as c:
        frame = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert not FaceDetector().detect(frame)


def detail(region: np.ndarray) -> float:
    """Mean difference between neighbouring pixels: eyes and edges give a lot, a blur next to none."""
    grey = region.astype(float).mean(axis=2)
    return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())


@pytest.mark.parametrize("mode", ["copy", "reencode"])
def test_phone_clip_is_blurred_on_the_face_and_plays_upright(tmp_path, mode):
    """A phone video's clip (stored sideways plus a rotation tag when stream-copied) gets its blur where
    the upright boxes say, and comes out upright with its frames and audio."""
    seconds, size, face_px = 3.0, (640, 360), 120
    video = rotated_video(tmp_path / "phone.mp4", rotation=90, seconds=seconds, size=size, fps=10, face_px=face_px, audio=True)
    (clip,) = export_clips(video, [Segment(0.5, 1.5, 0.9, 0.8, (3,))], seconds, tmp_path / mode, ClipOptions(mode=mode))
    start = clip.window.start_s  # 0: the pre-roll is clamped, so a copy cut starts on the first keyframe too
    obs = [FaceObservation(t, 3, face_box_in_frame(t, seconds, size, face_px), 0.9) for t in np.arange(0, seconds + 0.01, 0.2)]
    out = blur_clip(clip.path, tmp_path / "blurred.mp4", [FaceTrack(3, obs)], [(start, clip.window.end_s)])
    before_info, after_info = probe(clip.path), probe(out)
    assert (after_info.width, after_info.height, after_info.rotation, after_info.has_audio) == (640, 360, 0, True)
    before = [(t, f) for b in iter_batches(clip.path, fps=100, max_side=None) for t, f in zip(b.times_s, b.frames, strict=False)]
    after = [f for b in iter_batches(out, fps=100, max_side=None) for f in b.frames]
    assert len(after) == len(before) and abs(after_info.duration_s - len(before) / before_info.fps) < 0.05
    detector = FaceDetector()
    for (t, frame), blurred in list(zip(before, after, strict=False))[::6]:
        x0, y0, x1, y1 = map(int, face_box_in_frame(start + t, seconds, size, face_px))
        assert detail(blurred[y0:y1, x0:x1]) < 0.3 * detail(frame[y0:y1, x0:x1])
        assert detector.detect(frame) and not detector.detect(blurred)
        away = slice(560, 640) if x1 < 320 else slice(0, 80)  # the side of the frame the face is not on
        assert np.abs(blurred[:, away].astype(int) - frame[:, away]).mean() < 3


def consenting_first_turn():
    """A store where raw track 0 of video "vid" (the face before the gap in `turns_video`) has clips consent."""
    conn = loop_db()
    add_participant(conn, Participant("p01", "Kim", ("clips",), date(2020, 1, 1)))
    link_tracks(conn, "vid", [0], "p01")
    return conn


def test_a_person_of_two_raw_tracks_stays_blurred_where_its_unlinked_track_is(tmp_path):
    """Stitching joins the two turns into one person (it cannot tell two people apart); consent linked to
    the first raw track uncovers that face only: the second one is blurred in the exported file."""
    seconds, size, face_px = TURNS["seconds"], TURNS["size"], TURNS["face_px"]
    person = stitch(turns_cache()).cache
    assert set(person.track_ids.tolist()) == {0} and set(person.raw_track_ids.tolist()) == {0, 1}
    clip = turns_video(tmp_path / "clip.mp4")
    before = [(t, f) for b in iter_batches(clip, fps=100, max_side=None) for t, f in zip(b.times_s, b.frames, strict=False)]
    blur = unconsented_faces(consenting_first_turn(), "vid", person)
    assert blur.track_ids == [1]
    blur(clip, [(0.0, seconds)])
    after = [f for b in iter_batches(clip, fps=100, max_side=None) for f in b.frames]
    assert len(after) == len(before)
    for (t, frame), blurred in zip(before, after, strict=False):
        if AWAY_S[0] <= t < AWAY_S[1]:
            continue
        x0, y0, x1, y1 = map(int, face_box_in_frame(t, seconds, size, face_px))
        kept = detail(blurred[y0:y1, x0:x1]) / detail(frame[y0:y1, x0:x1])
        assert kept > 0.8 if t < AWAY_S[0] else kept < 0.3, f"{t:.1f} s: {kept:.2f} of the face's detail left"


@pytest.mark.parametrize(
    "params, person_of_second", [(StitchParams(), 0), (StitchParams(max_gap_s=0.5), 1), (StitchParams(min_detections=20), 1)]
)
def test_a_stitching_change_cannot_move_a_link_to_another_face(params, person_of_second):
    """Whether stitching makes the second turn part of person 0, its own person, or a fragment, the
    link on raw track 0 uncovers that face alone."""
    cache = stitch(turns_cache(), params).cache
    assert set(cache.track_ids[cache.raw_track_ids == 1].tolist()) == {person_of_second}
    assert unconsented_faces(consenting_first_turn(), "vid", cache).track_ids == [1]


def test_boxes_the_blur_cannot_cover_fail_the_export_and_leave_no_clip(tmp_path):
    """Issue 10: face boxes the blur cannot cover (here: after 1 s the cache holds boxes from a 1280x720
    video, right of this 640x360 clip's frame) used to be skipped while the export reported the face
    blurred. Now the export fails saying how many boxes were missed, and leaves no clip, not even the
    first one, whose faces were blurred."""
    seconds, size, face_px = 2.0, (640, 360), 60
    video = astronaut_video(tmp_path / "talk.mp4", seconds=seconds, size=size, fps=10, face_px=face_px)
    times = np.round(np.arange(0, seconds, 0.1), 6)
    boxes = np.array([face_box_in_frame(t, seconds, size, face_px) if t < 1.0 else (900.0, 200.0, 1000.0, 300.0) for t in times])
    n = len(times)
    cache = ScoreCache(times, times, np.full(n, 4, np.int64), boxes, np.full(n, 0.9), np.full(n, 0.5), np.ones(n, bool))
    blur = unconsented_faces(loop_db(), "vid", cache)
    segments = [Segment(0.1, 0.4, 0.9, 0.8, (4,)), Segment(1.2, 1.6, 0.9, 0.8, (4,))]
    with pytest.raises(BlurError, match=r"raw track 4: 4 of its 4 boxes .* outside its 640x360 frame"):
        export_clips(video, segments, seconds, tmp_path / "clips", ClipOptions(pre_roll_s=0, post_roll_s=0), finish=blur)
    assert list((tmp_path / "clips").iterdir()) == []
    (first,) = export_clips(video, segments[:1], seconds, tmp_path / "clips", ClipOptions(pre_roll_s=0, post_roll_s=0), finish=blur)
    assert [p.name for p in (tmp_path / "clips").iterdir()] == [first.path.name]  # boxes in the frame: blurred and kept


def test_a_link_made_on_another_analysis_does_not_unblur_this_analysis_faces():
    """Raw track ids depend on the analysis settings: p01 linked to track 1 of analysis "a2" says nothing
    about track 1 of analysis "a1", which stays blurred; exported from "a2" (or with a link that names no
    analysis, made before they were recorded) track 1 is theirs and shown."""
    conn = loop_db()
    add_participant(conn, Participant("p01", "Kim", ("finetune", "clips"), date(2020, 1, 1)))
    link_tracks(conn, "vid", [1], "p01", analysis="a2")
    times = np.arange(0, 1.01, 0.25)
    boxes = np.tile([10.0, 10.0, 70.0, 70.0], (10, 1))
    cache = ScoreCache(
        times,
        np.r_[times, times],
        np.r_[np.ones(5), np.full(5, 2)].astype(np.int64),
        boxes,
        np.full(10, 0.9),
        np.full(10, 0.5),
        np.ones(10, bool),
    )
    assert unconsented_faces(conn, "vid", cache, analysis="a1").track_ids == [1, 2]
    assert unconsented_faces(conn, "vid", cache, analysis="a2").track_ids == [2]
    link_tracks(conn, "vid", [1], "p01")  # a link from before analyses were recorded
    assert unconsented_faces(conn, "vid", cache, analysis="a1").track_ids == [2]
