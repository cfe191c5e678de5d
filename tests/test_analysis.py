"""Pipeline mechanics (tracking, caching, resume, bad input) with a stand-in scorer.

The stand-in scores a face by its crop's brightness, so these tests run without the trained smile
model; tests/test_cli_analyze.py runs the real model end to end.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import astronaut_video, face_box_in_frame, rotated_video, synthetic_video, vfr_video, zero_length
from pipe_helpers import BrightnessScorer, CountingDetector

from laughvid import store
from laughvid.export.results import analysis_document
from laughvid.pipeline import analyze as analysis
from laughvid.pipeline.analyze import AnalysisParams, analyze_video, compute_segments, list_videos, load_result
from laughvid.pipeline.decode import VideoError
from laughvid.pipeline.faces.finder import FaceFinder, make_detector
from laughvid.pipeline.faces.tracker import TrackerParams
from laughvid.pipeline.segments import SmoothingParams

SAMPLE = Path(__file__).resolve().parents[1] / "sample_videos" / "two_people_astronaut.mp4"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """3 s, face visible except during [1.2, 1.6)."""
    return astronaut_video(tmp_path_factory.mktemp("analysis") / "clip.mp4", seconds=3, fps=30, blank_spans=[(1.2, 1.6)])


@pytest.fixture
def conn(tmp_path):
    return store.open_store(tmp_path / "store.sqlite")


NOTHING_CARRIED = TrackerParams(look_again_s=0.0, carry_s=0.0)  # the former tracker: a face missed on a keyframe is gone there


def test_every_analysed_frame_is_scored_and_no_face_is_nan(clip, conn):
    result = analyze_video(clip, conn, BrightnessScorer(), AnalysisParams(tracker=NOTHING_CARRIED))
    times, probs = result.series.times_s, result.series.probs
    np.testing.assert_allclose(times, np.arange(30) / 10, atol=1e-6)
    assert np.isnan(probs[(times >= 1.3) & (times < 1.5)]).all()  # inside the blank span, away from its edges
    assert not np.isnan(probs[(times < 1.1) | (times >= 1.8)]).any()
    detected = result.cache.detected
    assert 0.3 < detected.mean() < 0.6  # detector ran on every 3rd frame (and batch ends), boxes filled between
    for t, box in zip(result.cache.times_s[detected], result.cache.boxes[detected], strict=False):
        np.testing.assert_allclose(box, face_box_in_frame(t, 3.0, (640, 360), 120), atol=15)
    assert result.record.status == "done" and not result.from_cache


class ThreadCountingScorer(BrightnessScorer):
    """Records how many threads OpenCV would use while faces are scored."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.opencv_threads = set()

    def score(self, crops):
        self.opencv_threads.add(cv2.getNumThreads())
        return super().score(crops)


def test_analysis_runs_opencv_on_one_thread_and_gives_the_callers_setting_back(clip, conn):
    """Both stages already keep the cores busy; OpenCV's pool would only spin (docs/pipeline.md, speed)."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        scorer = ThreadCountingScorer(fail_after_calls=1)
        with pytest.raises(RuntimeError, match="simulated"):
            analyze_video(clip, conn, scorer, AnalysisParams(batch_size=5))
        assert scorer.opencv_threads == {1} and cv2.getNumThreads() == 2  # given back after a failure too
        scorer = ThreadCountingScorer()
        analyze_video(clip, conn, scorer, AnalysisParams(batch_size=5))  # resumes and finishes
        assert scorer.opencv_threads == {1} and cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)


def test_overlapping_analyses_keep_opencv_on_one_thread_until_the_last_ends():
    """The app analyses in concurrent session threads: the first to end must not switch OpenCV back
    while the other runs, and the last must give the caller's setting back."""
    from laughvid.pipeline.analyze import _opencv_single_thread

    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        first, second = _opencv_single_thread(), _opencv_single_thread()
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert cv2.getNumThreads() == 1  # the second analysis still runs
        second.__exit__(None, None, None)
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)


class MissingKeyframes(FaceFinder):
    """The default detectors, except that whole-frame detection finds nothing on the given keyframes
    (counted from 1), as BlazeFace does on a laugh with the head thrown back; second looks optional."""

    def __init__(self, missed: set[int], second_looks: bool = True):
        params = AnalysisParams()
        default = make_detector(params.detector, params.min_face_confidence, params.min_yunet_confidence)
        super().__init__(default.blaze, default.yunet)
        self.missed, self.second_looks, self.calls = missed, second_looks, 0

    def detect(self, frame):
        self.calls += 1
        return [] if self.calls in self.missed else super().detect(frame)

    def detect_region(self, frame, region):
        return super().detect_region(frame, region) if self.second_looks else []

    def scan(self, frame):
        return [] if self.calls in self.missed else super().scan(frame)


@pytest.mark.parametrize("second_looks", [True, False])
def test_a_face_missed_on_three_keyframes_stays_tracked(tmp_path, second_looks):
    video = astronaut_video(tmp_path / "a.mp4", seconds=2, fps=10)
    missed = {4, 5, 6}  # keyframes at 0.8, 1.1, 1.4 s
    old = analyze_video(
        video,
        store.open_store(tmp_path / "old.sqlite"),
        BrightnessScorer(),
        AnalysisParams(tracker=NOTHING_CARRIED),
        detector=MissingKeyframes(missed),
    )
    new = analyze_video(
        video, store.open_store(tmp_path / "new.sqlite"), BrightnessScorer(), detector=MissingKeyframes(missed, second_looks)
    )
    assert np.isnan(old.series.probs).sum() >= 5  # the former path: no face from ~0.7 to ~1.5 s
    assert not np.isnan(new.series.probs).any() and len(new.tracks) == 1  # one person, a face on every frame
    in_gap = (new.cache.times_s > 0.75) & (new.cache.times_s < 1.45)
    # found again by a second look around where the face was, or else carried (not counted as detected)
    assert new.cache.detected[in_gap].any() == second_looks


def test_a_face_that_vanishes_is_carried_at_most_carry_s(tmp_path, conn):
    video = astronaut_video(tmp_path / "gone.mp4", seconds=4, fps=10, moving=False, blank_spans=[(1.0, 4.0)])
    result = analyze_video(video, conn, BrightnessScorer())
    last_face = result.series.times_s[~np.isnan(result.series.probs)].max()
    assert last_face <= 1.0 + TrackerParams().carry_s + 0.3  # last seen at ~0.8 s; carried no longer than carry_s (+ half a keyframe gap)
    assert not result.cache.detected[result.cache.times_s >= 1.0].any()


def test_a_small_face_across_the_room_is_found_and_followed(tmp_path, conn):
    video = astronaut_video(tmp_path / "room.mp4", seconds=2, size=(1280, 720), fps=10, face_px=36, moving=False)
    before = analyze_video(video, conn, BrightnessScorer(), AnalysisParams(detector="blaze", scan_every=0, tracker=NOTHING_CARRIED))
    after = analyze_video(video, conn, BrightnessScorer())
    assert np.isnan(before.series.probs).mean() > 0.7  # BlazeFace alone sees a 36 px face in 720p at most in glimpses
    assert (~np.isnan(after.series.probs)).mean() >= 0.9 and len(after.tracks) == 1
    detected = after.cache.detected
    for t, box in zip(after.cache.times_s[detected], after.cache.boxes[detected], strict=False):
        expected = face_box_in_frame(t, 2.0, (1280, 720), 36, moving=False)
        assert abs((box[0] + box[2]) / 2 - (expected[0] + expected[2]) / 2) < 10


def test_boxes_are_in_source_pixels_when_frames_are_downscaled(tmp_path, conn):
    video = astronaut_video(tmp_path / "hd.mp4", seconds=1, size=(1280, 720), fps=10, face_px=240)
    result = analyze_video(video, conn, BrightnessScorer(), AnalysisParams(max_side=640))
    i = int(np.flatnonzero(result.cache.detected)[0])
    expected = face_box_in_frame(result.cache.times_s[i], 1.0, (1280, 720), 240)
    np.testing.assert_allclose(result.cache.boxes[i], expected, atol=25)


def test_rotated_phone_video_gives_upright_boxes(tmp_path, conn):
    video = rotated_video(tmp_path / "phone.mp4", rotation=90, seconds=1, size=(640, 360), fps=10)
    result = analyze_video(video, conn, BrightnessScorer())
    assert not np.isnan(result.series.probs).any()
    for t, box in zip(result.cache.times_s[result.cache.detected], result.cache.boxes[result.cache.detected], strict=False):
        np.testing.assert_allclose(box, face_box_in_frame(t, 1.0, (640, 360), 120), atol=15)


def test_second_run_is_served_from_the_cache(clip, conn):
    first = analyze_video(clip, conn, BrightnessScorer())
    detector = CountingDetector()
    again = analyze_video(clip, conn, BrightnessScorer(), detector=detector)
    assert again.from_cache and detector.calls == 0
    np.testing.assert_array_equal(again.series.probs, first.series.probs)
    assert [r.id for r in list_videos(conn)] == [first.record.id]


def test_other_parameters_or_model_make_a_new_analysis(clip, conn):
    a = analyze_video(clip, conn, BrightnessScorer(), AnalysisParams(fps=5))
    b = analyze_video(clip, conn, BrightnessScorer(), AnalysisParams(fps=10))
    assert a.record.id != b.record.id and len(a.series.times_s) == 15


def test_interrupted_analysis_resumes_and_matches_a_clean_run(clip, conn, tmp_path):
    params = AnalysisParams(batch_size=5)  # 30 analysed frames = 6 chunks
    with pytest.raises(RuntimeError, match="simulated"):
        analyze_video(clip, conn, BrightnessScorer(fail_after_calls=3), params)
    [failed] = store.list_analyses(conn)
    assert failed.status == "failed" and "simulated" in failed.error
    assert len(store.load_cache(conn, failed.id).frame_times_s) == 15  # three chunks committed

    detector = CountingDetector()
    resumed = analyze_video(clip, conn, BrightnessScorer(), params, detector=detector)
    assert resumed.record.id == failed.id and resumed.record.status == "done"
    assert detector.calls == sum(1 for i in range(15, 30) if i % 3 == 2 or i % 5 == 4)  # frames 15..29 only

    clean = analyze_video(clip, store.open_store(tmp_path / "clean.sqlite"), BrightnessScorer(), params)
    for field in ("frame_times_s", "times_s", "track_ids", "boxes", "probs", "detected"):
        np.testing.assert_array_equal(getattr(resumed.cache, field), getattr(clean.cache, field), err_msg=field)


def test_killed_process_resumes_from_its_last_chunk(clip, tmp_path):
    """SIGKILL a real analysis process halfway; the next run continues and matches a clean run."""
    db = tmp_path / "killed.sqlite"
    code = (
        "import sys; sys.path.insert(0, sys.argv[3]);"
        "from pipe_helpers import BrightnessScorer; from laughvid.pipeline.analyze import AnalysisParams, analyze_video;"
        "from laughvid.store import open_store;"
        "analyze_video(sys.argv[1], open_store(sys.argv[2]), BrightnessScorer(delay_s=0.3), AnalysisParams(batch_size=5))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(clip), str(db), str(Path(__file__).parent)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if db.exists() and (rows := store.list_analyses(conn := store.open_store(db))) and rows[0].progress > 0.2:
                conn.close()
                break
        else:
            pytest.fail("the analysis never committed a chunk")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    conn = store.open_store(db)
    [killed] = store.list_analyses(conn)
    assert killed.status == "running" and 0 < killed.progress < 1
    done_before = len(store.load_cache(conn, killed.id).frame_times_s)
    detector = CountingDetector()
    resumed = analyze_video(clip, conn, BrightnessScorer(), AnalysisParams(batch_size=5), detector=detector)
    full_run_detections = sum(1 for i in range(30) if i % 3 == 2 or i % 5 == 4 or i == 0)
    assert resumed.record.id == killed.id and detector.calls < full_run_detections
    assert 0 < done_before < len(resumed.series.times_s) == 30
    clean = analyze_video(clip, store.open_store(tmp_path / "clean.sqlite"), BrightnessScorer(), AnalysisParams(batch_size=5))
    np.testing.assert_array_equal(resumed.cache.probs, clean.cache.probs)
    np.testing.assert_array_equal(resumed.cache.track_ids, clean.cache.track_ids)


def test_segments_for_new_smoothing_come_from_the_cache(clip, conn, monkeypatch):
    result = analyze_video(clip, conn, BrightnessScorer(), AnalysisParams(tracker=NOTHING_CARRIED))  # two spans of face
    monkeypatch.setattr(analysis, "iter_batches", lambda *a, **k: pytest.fail("decoded again"))
    low = compute_segments(
        conn, result.record.id, SmoothingParams(median_s=0, on_threshold=0.01, off_threshold=0.01, fill_gap_s=0, merge_gap_s=0)
    )
    high = compute_segments(conn, result.record.id, SmoothingParams(on_threshold=0.99, off_threshold=0.99))
    assert len(low) == 2 and high == []  # face before and after the blank span
    assert load_result(conn, result.record.id).series.probs.shape == (30,)


def test_video_without_faces_gives_an_empty_timeline(tmp_path, conn):
    result = analyze_video(synthetic_video(tmp_path / "pattern.mp4", seconds=1), conn, BrightnessScorer())
    assert len(result.series.times_s) == 10 and np.isnan(result.series.probs).all()
    assert result.tracks == {} and result.segments == [] and result.record.warnings == []


def test_vfr_video_is_analysed_on_real_timestamps(tmp_path, conn):
    result = analyze_video(vfr_video(tmp_path / "vfr.mp4"), conn, BrightnessScorer())
    assert result.series.times_s[-1] == pytest.approx(2.8, abs=2e-3)


def test_bad_file_raises_a_clear_error_and_stores_nothing(tmp_path, conn):
    with pytest.raises(VideoError, match="empty"):
        analyze_video(zero_length(tmp_path / "empty.mp4"), conn, BrightnessScorer())
    assert store.list_analyses(conn) == []


def test_progress_is_reported_up_to_done(clip, conn):
    seen = []
    analyze_video(clip, conn, BrightnessScorer(), progress=lambda f, msg: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_a_face_back_elsewhere_after_3_s_is_still_one_person(tmp_path, conn):
    video = astronaut_video(tmp_path / "away.mp4", seconds=8, fps=10, blank_spans=[(3.0, 6.0)])  # back ~1.2 face widths on
    result = analyze_video(video, conn, BrightnessScorer())
    assert len(np.unique(store.load_cache(conn, result.record.id).track_ids)) == 2  # the tracker's raw ids stay stored
    assert list(result.tracks) == [0] and result.fragments == ()
    assert set(result.cache.track_ids) == {0}


def test_the_sample_video_shows_its_two_people(conn):
    """Camera pans and zooms: the left person's return after the empty corner is stitched back to
    them; single-detection glimpses during the whip pans (BlazeFace sees two, YuNet more) are fragments, not persons."""
    result = analyze_video(SAMPLE, conn, BrightnessScorer())
    assert sorted(result.tracks) == [0, 1] and len(result.fragments) >= 2
    # raw tracks: the two persons, the left person's return (stitched back), and the glimpses
    assert len(np.unique(store.load_cache(conn, result.record.id).track_ids)) == 3 + len(result.fragments)
    left = result.cache.times_s[result.cache.track_ids == 0]
    assert left.min() < 0.5 and left.max() > 15.5  # the left person is in view at the start and the end
    glimpses = result.cache.times_s[np.isin(result.cache.track_ids, result.fragments)]
    assert not np.isnan(result.series.probs[np.isin(result.series.times_s, glimpses)]).any()  # still in the whole-video series
    doc = analysis_document(result)  # analysis.json: persons under "tracks", glimpses under "fragments", nothing lost
    assert [len(doc["tracks"]), len(doc["fragments"])] == [2, len(result.fragments)]
    assert sum(len(t["observations"]) for t in doc["tracks"] + doc["fragments"]) == len(result.cache.times_s)
    # each observation's laugh_prob is what the timeline reads: per frame, their max is the timeline's value
    best: dict[float, float] = {}
    for person in doc["tracks"] + doc["fragments"]:
        for o in person["observations"]:
            if o["laugh_prob"] is not None:
                best[o["time_s"]] = max(best.get(o["time_s"], 0.0), o["laugh_prob"])
        assert person["max_laugh_prob"] == max(o["laugh_prob"] for o in person["observations"])
    timeline = {t["time_s"]: t["laugh_prob"] for t in doc["timeline"] if t["laugh_prob"] is not None}
    assert best == timeline and result.smoothing.score_window_s > 0
    averaged = [o for p in doc["tracks"] for o in p["observations"] if o["prob"] != o["laugh_prob"]]
    assert averaged  # the window changed some faces' scores: prob keeps each face's own


@pytest.mark.parametrize("name, people", [("people_street.mp4", 4), ("selfie_group_smile.mp4", 3), ("d3.mp4", 1)])
def test_one_track_per_person_on_real_clips(dev_videos, conn, name, people):
    """Real footage: four seated people (one looks down for ~3 s), a group selfie, a close-up with expressions."""
    result = analyze_video(dev_videos / name, conn, BrightnessScorer())
    assert len(result.tracks) == people
