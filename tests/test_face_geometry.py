"""Face geometry as a second opinion: landmarks, blendshapes, the fusion, laugh intensity, and the
store migration that keeps them per face row."""

import dataclasses

import numpy as np
import pytest
from media import ASTRONAUT_FACE_BOX, astronaut_video
from pipe_helpers import BrightnessScorer
from skimage import data

from laughvid import store
from laughvid.pipeline.analyze import AnalysisParams, _face_features, analyze_video
from laughvid.pipeline.faces.landmarks import BLENDSHAPE_NAMES, BLENDSHAPE_SUBSET, FEATURES, FaceLandmarker, FaceShape, features
from laughvid.pipeline.fusion import FusionModel, GeometryScorer, sigmoid
from laughvid.pipeline.timeline import track_series, whole_series
from laughvid.types import Detection, FrameBatch, Segment, VideoInfo


@pytest.fixture(scope="module")
def landmarker():
    return FaceLandmarker.load()


@pytest.fixture(scope="module")
def fusion():
    return FusionModel.load()


@pytest.fixture(scope="module")
def astronaut(landmarker):
    [shape] = landmarker.run(data.astronaut(), [ASTRONAUT_FACE_BOX])
    return shape


def blendshape(landmarker, points: np.ndarray, name: str) -> float:
    session = landmarker._blendshapes
    out = session.run(None, {session.get_inputs()[0].name: points[None, BLENDSHAPE_SUBSET, :2].astype(np.float32)})[0]
    return float(out.reshape(-1)[BLENDSHAPE_NAMES.index(name)])


def test_landmarks_of_a_real_face_fall_on_the_face(astronaut):
    x0, y0, x1, y1 = ASTRONAUT_FACE_BOX
    w, h = x1 - x0, y1 - y0
    xy = astronaut.landmarks[:, :2]
    assert astronaut.landmarks.shape == (478, 3) and astronaut.presence > 0.99
    # The detector box runs brow to chin; the mesh reaches the forehead and the ears a little beyond it.
    assert (xy[:, 0] > x0 - 0.25 * w).all() and (xy[:, 0] < x1 + 0.25 * w).all()
    assert (xy[:, 1] > y0 - 0.4 * h).all() and (xy[:, 1] < y1 + 0.25 * h).all()
    mouth = xy[[61, 291, 13, 14]]
    assert (mouth[:, 1] > y0 + 0.55 * h).all() and (mouth[:, 1] < y1).all(), "the mouth sits in the lower face"
    assert mouth[0, 0] < mouth[1, 0], "landmark 61 is the subject's right mouth corner (left in the image)"


def test_the_smiling_astronaut_reads_as_smiling_and_turning_her_lip_corners_down_does_not(landmarker, astronaut):
    """Blendshapes depend on the 146-landmark subset and its order: a wrong index list gives noise."""
    smiling = astronaut.landmarks.copy()
    assert blendshape(landmarker, smiling, "mouthSmileLeft") > 0.6
    iod = np.hypot(*(smiling[263, :2] - smiling[33, :2]))
    frown = smiling.copy()
    lips = [61, 291, 146, 91, 181, 375, 321, 405, 185, 40, 409, 270, 78, 95, 88, 308, 324, 318, 191, 415]
    frown[lips, 1] += 0.12 * iod * np.abs(frown[lips, 0] - smiling[[61, 291], 0].mean()) / (0.5 * np.ptp(smiling[[61, 291], 0]))
    assert blendshape(landmarker, frown, "mouthSmileLeft") < 0.5 * blendshape(landmarker, smiling, "mouthSmileLeft")
    opened = smiling.copy()
    lower = [14, 87, 178, 88, 95, 317, 402, 318, 324, 17, 84, 181, 91, 146, 314, 405, 321, 375, 152, 148, 176, 149, 150, 377, 400, 378, 379]
    opened[lower, 1] += 0.3 * iod
    assert blendshape(landmarker, opened, "jawOpen") > blendshape(landmarker, smiling, "jawOpen") + 0.2


def test_mouth_geometry_of_a_smile(astronaut):
    named = dict(zip(FEATURES, features(astronaut), strict=True))
    assert 0.7 < named["mouth_width"] < 1.3  # a smiling mouth spans about one inter-ocular distance
    assert named["corner_lift"] > 0  # corners above the lips' centre
    assert 0 <= named["mouth_open"] < 0.3


def test_fusion_rises_with_the_cnn_whatever_the_face(fusion, astronaut):
    rng = np.random.default_rng(0)
    faces = np.vstack([features(astronaut), rng.uniform(0, 1, (20, len(FEATURES))), rng.normal(0, 10, (5, len(FEATURES)))])
    cnn = sigmoid(np.linspace(-20, 20, 81))
    typical = (cnn > 0.01) & (cnn < 0.99)
    for face in faces:
        fused = fusion.fuse(cnn, np.repeat(face[None], len(cnn), 0))
        assert (np.diff(fused) >= -1e-12).all(), "never falls as the CNN grows surer"
        assert (np.diff(fused[typical]) > 0).all(), "and rises over the CNN's usual range"
        assert ((fused > 0) & (fused < 1)).all(), "a face unlike any training face does not force 0 or 1"


def test_a_face_without_geometry_keeps_the_cnn_probability(fusion):
    feats = np.full((2, len(FEATURES)), np.nan)
    np.testing.assert_allclose(fusion.fuse(np.array([0.2, 0.9]), feats), [0.2, 0.9])
    assert np.isnan(fusion.geometry_score(feats)).all() and np.isnan(fusion.intensity(np.array([0.2, 0.9]), feats)).all()


def test_an_open_mouthed_laugh_is_more_intense_than_a_closed_smile_and_a_neutral_face_is_not_intense(fusion):
    jaw = FEATURES.index("jawOpen")
    closed, wide = np.zeros((1, len(FEATURES))), np.zeros((1, len(FEATURES)))
    wide[0, jaw] = 0.8
    smile, neutral = np.array([0.95]), np.array([0.02])
    assert fusion.intensity(smile, wide)[0] > 0.9
    assert 0.2 < fusion.intensity(smile, closed)[0] < 0.5
    assert fusion.intensity(neutral, wide)[0] < 0.05


def test_analysis_stores_the_parts_and_an_intensity_lane(tmp_path):
    clip = astronaut_video(tmp_path / "a.mp4", seconds=2, fps=30, blank_spans=[(0.8, 1.2)])
    conn = store.open_store(tmp_path / "s.sqlite")
    result = analyze_video(clip, conn, BrightnessScorer(), AnalysisParams(landmark_every=1))
    cache = result.cache
    assert not np.isnan(cache.geometry).any() and not np.isnan(cache.intensity).any()
    assert (cache.geometry[cache.detected] > 0.5).all(), (
        "the astronaut smiles (where she is detected: the tracker carries a face briefly past the blank span)"
    )
    assert not np.allclose(cache.probs, cache.cnn_probs), "the timeline shows the fused probability"
    assert result.intensity.probs.shape == result.series.probs.shape
    np.testing.assert_array_equal(np.isnan(result.intensity.probs), np.isnan(result.series.probs))  # NaN exactly where no face
    assert set(result.track_intensity) == set(result.tracks)
    assert all(0 <= s.peak_intensity <= 1 for s in result.segments)
    cnn_only = analyze_video(clip, conn, BrightnessScorer(), AnalysisParams(geometry=""))
    assert cnn_only.record.id != result.record.id, "another fusion setting is another analysis"
    np.testing.assert_allclose(cnn_only.cache.probs, cnn_only.cache.cnn_probs)
    np.testing.assert_allclose(cnn_only.cache.cnn_probs, cache.cnn_probs)  # the CNN's part is the CNN's own score
    assert np.isnan(cnn_only.intensity.probs).all() and all(s.peak_intensity is None for s in cnn_only.segments)


def test_shipped_geometry_refuses_another_fusion_version():
    with pytest.raises(ValueError, match="fusion"):
        GeometryScorer.load("fusion-v0")


INFO = VideoInfo("/v/a.mp4", 640, 360, 30.0, 1.0, 30)


def test_a_v4_store_with_data_migrates_and_its_rows_read_as_cnn_only(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    with monkeypatch.context() as old_laughvid:
        old_laughvid.setattr(store.connection, "MIGRATIONS", [m for m in store.MIGRATIONS if m[0] <= 4])
        conn = store.open_store(path)
        vid = store.upsert_video(conn, "abc", INFO)
        rec = store.start_analysis(conn, vid, "m1", {"fps": 10})
        with conn:  # as laughvid with schema v4 wrote them
            conn.executemany(
                "INSERT INTO face_scores (analysis_id, time_s, track_id, x0, y0, x1, y1, confidence, prob, detected) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(rec.id, 0.0, 1, 1, 2, 3, 4, 0.9, 0.8, 1), (rec.id, 0.1, 1, 1, 2, 3, 4, 0.9, 0.6, 0)],
            )
            conn.executemany("INSERT INTO frames (analysis_id, time_s) VALUES (?, ?)", [(rec.id, 0.0), (rec.id, 0.1), (rec.id, 0.2)])
            conn.execute(
                "INSERT INTO segments (analysis_id, smoothing_hash, start_s, end_s, peak_prob, mean_prob, track_ids) VALUES (?,?,?,?,?,?,?)",
                (rec.id, "h", 0.0, 0.2, 0.8, 0.7, "[1]"),
            )
        conn.close()
    conn = store.open_store(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == max(v for v, _ in store.MIGRATIONS)
    assert list(tmp_path.glob("s.v4-to-v*.sqlite")), "backed up before migrating"
    cache = store.load_cache(conn, rec.id)
    np.testing.assert_allclose(cache.probs, [0.8, 0.6])
    np.testing.assert_allclose(cache.cnn_probs, [0.8, 0.6])  # before fusion, the stored prob was the CNN's
    assert np.isnan(cache.geometry).all() and np.isnan(cache.intensity).all()
    np.testing.assert_allclose(whole_series(cache).probs, [0.8, 0.6, np.nan])
    assert np.isnan(whole_series(cache, cache.intensity).probs).all()
    assert np.isnan(track_series(cache, cache.intensity)[1].probs).all()
    assert store.load_segments(conn, rec.id, "h") == [Segment(0.0, 0.2, 0.8, 0.7, (1,))]
    # New rows keep their parts; old writers' 9-column rows still save.
    store.save_chunk(conn, rec.id, np.array([0.3]), [(0.3, 1, 1, 2, 3, 4, 0.9, 0.7, True, 0.4, 0.9, 0.5)], {}, 1.0)
    store.save_chunk(conn, rec.id, np.array([0.4]), [(0.4, 1, 1, 2, 3, 4, 0.9, 0.3, True)], {}, 1.0)
    cache = store.load_cache(conn, rec.id)
    np.testing.assert_allclose(cache.cnn_probs[2:], [0.4, 0.3])
    np.testing.assert_allclose(cache.intensity[2:], [0.5, np.nan])
    store.save_segments(conn, rec.id, "h2", [Segment(0.3, 0.4, 0.7, 0.7, (1,), peak_intensity=0.5)])
    assert store.load_segments(conn, rec.id, "h2")[0].peak_intensity == 0.5


class _NeutralFirstBatch(BrightnessScorer):
    """A CNN sure that nobody smiles in the first batch (probability 0.01), brightness after it."""

    version = "neutral-first-test"

    def score(self, crops):
        out = super().score(crops)
        return np.full(len(crops), 0.01) if self.calls == 1 else out


def test_landmarks_skip_faces_the_cnn_is_sure_are_neutral_and_change_nothing_elsewhere(tmp_path, monkeypatch):
    clip = astronaut_video(tmp_path / "a.mp4", seconds=3, fps=30)
    conn = store.open_store(tmp_path / "s.sqlite")
    runs = []
    real_run = FaceLandmarker.run
    monkeypatch.setattr(FaceLandmarker, "run", lambda self, frame, boxes: runs.append(len(boxes)) or real_run(self, frame, boxes))
    params = AnalysisParams(batch_size=10, landmark_every=1)
    everywhere = analyze_video(clip, conn, _NeutralFirstBatch(), dataclasses.replace(params, landmark_gate=0.0))
    all_runs, runs[:] = sum(runs), []
    gated = analyze_video(clip, conn, _NeutralFirstBatch(), params)
    assert gated.record.id != everywhere.record.id, "the gate is part of the cache key"
    assert sum(runs) < all_runs, "no landmarks in the first batch"
    a, b = everywhere.cache, gated.cache
    first = b.times_s < 1.0
    np.testing.assert_array_equal(a.times_s, b.times_s)
    assert np.isnan(b.geometry[first]).all() and np.isnan(b.intensity[first]).all()
    np.testing.assert_allclose(b.probs[first], b.cnn_probs[first])  # no geometry: the CNN's probability
    for name in ("probs", "geometry", "intensity"):  # where the CNN is unsure or sees a smile, exactly as before
        np.testing.assert_array_equal(getattr(a, name)[~first], getattr(b, name)[~first])


@pytest.mark.parametrize("gate", [-0.1, 1.5, float("nan")])
def test_a_landmark_gate_outside_0_to_1_is_refused(gate):
    with pytest.raises(ValueError, match="landmark_gate"):
        AnalysisParams(landmark_gate=gate)


class _FrameValueLandmarks:
    """Landmarks that read the frame's first pixel, so interpolated features show which keyframes fed them."""

    def __init__(self, shape):
        self.shape, self.faces = shape, 0

    def run(self, frame, boxes):
        self.faces += len(boxes)
        v = float(frame[0, 0, 0])
        return [FaceShape(self.shape.landmarks * (1 + v / 100), 0.9, np.full(len(BLENDSHAPE_NAMES), v / 10)) for _ in boxes]


def test_landmarks_run_only_for_wanted_faces_and_give_them_the_same_features(astronaut):
    n = 10
    frames = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 4, 4, 3), np.uint8)
    batch = FrameBatch(frames, np.arange(n) / 10, np.arange(n))
    face = Detection((0.0, 0.0, 2.0, 2.0), 0.9)
    faces = [{7: face}] + [{1: face} for _ in range(n - 1)]  # track 7: held from the last batch's keyframe, no keyframe here
    is_key = [i in (2, 5, 9) for i in range(n)]
    keys = [(i, t) for i, f in enumerate(faces) for t in f]
    everywhere = GeometryScorer(_FrameValueLandmarks(astronaut), None)
    reference = _face_features(batch, faces, is_key, keys, everywhere, 1)
    assert np.isnan(reference[0]).all() and not np.isnan(reference[1:]).any()
    wanted = np.array([i >= 6 for i, _ in keys])  # the CNN unsure from frame 6 on: keyframes 5 and 9 feed it
    gated = GeometryScorer(_FrameValueLandmarks(astronaut), None)
    out = _face_features(batch, faces, is_key, keys, gated, 1, wanted)
    assert gated.landmarker.faces == 2 < everywhere.landmarker.faces == 3
    np.testing.assert_array_equal(out[wanted], reference[wanted])
    assert np.isnan(out[[i <= 4 for i, _ in keys]]).all()  # fed by keyframe 2, which did not run
