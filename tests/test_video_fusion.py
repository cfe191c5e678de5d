"""Fitting the fusion on labelled video faces (laughvid.lifecycle.video_fusion, run by scripts/fit_fusion_videos.py).

Recording runs one generated clip through the product's analysis; the fitting tests use small
made-up tables, so nothing depends on the dev set's media."""

import numpy as np
import pytest
from media import astronaut_video, synthetic_video

from laughvid import store
from laughvid.config import SHIPPED_MODEL_DIR
from laughvid.lifecycle.video_eval import VideoLabels
from laughvid.lifecycle.video_faces import IGNORED
from laughvid.lifecycle.video_fusion import FaceFeatures, cross_validated_probs, fit_on_all, fused_probs, record_features
from laughvid.pipeline.analyze import AnalysisParams
from laughvid.pipeline.faces.landmarks import FEATURES
from laughvid.pipeline.fusion import FusionModel, GeometryScorer
from laughvid.pipeline.scoring import SmileClassifier
from laughvid.training.metrics import roc_auc

LABELS = VideoLabels("clip.mp4", smile=((0.0, 1.0),), ignore=((1.0, 1.3),), source="repo/a")


def test_recorded_features_are_what_analysis_fused_and_a_cached_analysis_is_refused(tmp_path):
    astronaut_video(tmp_path / "clip.mp4", seconds=2)
    synthetic_video(tmp_path / "empty.mp4", seconds=1)  # a clip without a face adds no row
    conn = store.open_store(tmp_path / "store.sqlite")
    classifier, geometry = SmileClassifier.load(SHIPPED_MODEL_DIR), GeometryScorer.load()
    params = AnalysisParams(landmark_gate=0.0)
    empty = VideoLabels("empty.mp4", smile=(), ignore=(), source="repo/b")
    faces, (result, nothing) = record_features(tmp_path, [LABELS, empty], conn, classifier, geometry, params)
    assert len(nothing.cache.times_s) == 0
    cache = result.cache
    assert len(faces) == len(cache.times_s) > 10
    np.testing.assert_array_equal(faces.time_s, cache.times_s)
    np.testing.assert_allclose(faces.cnn_prob, cache.cnn_probs, atol=1e-6)
    np.testing.assert_allclose(classifier.score(faces.crops), cache.cnn_probs, atol=1e-6)  # the crops rescore to the same CNN
    assert faces.feats.shape == (len(faces), len(FEATURES)) and not np.isnan(faces.feats).any()  # gate 0: every face measured
    # the features are the ones the stored fused probability was made of
    np.testing.assert_allclose(geometry.model.fuse(faces.cnn_prob, faces.feats), cache.probs, atol=1e-6)
    assert faces.label.tolist() == np.where(cache.times_s < 1.0, 1, np.where(cache.times_s < 1.3, IGNORED, 0)).tolist()
    assert set(faces.n_faces) == {1} and set(faces.source) == {"repo/a"}
    faces.save(tmp_path / "f.npz")
    np.testing.assert_array_equal(FaceFeatures.load(tmp_path / "f.npz").feats, faces.feats)
    with pytest.raises(RuntimeError, match="fresh store"):  # served from the store: nothing was recorded
        record_features(tmp_path, [LABELS], conn, classifier, geometry, params)


def _table(n_sources=6, per_source=80, seed=0, flip_multi=False):
    """Faces whose first feature says the label and whose CNN hardly does; with `flip_multi`, frames
    of two faces carry the other face's label (their feature says the opposite)."""
    rng = np.random.default_rng(seed)
    n = n_sources * per_source
    label = rng.integers(0, 2, n).astype(np.int8)
    n_faces = np.where(rng.random(n) < 0.3, 2, 1) if flip_multi else np.ones(n, np.int64)
    feats = rng.normal(size=(n, len(FEATURES)))
    truth = np.where(n_faces == 2, 1 - label, label) if flip_multi else label
    feats[:, 0] += 3 * truth
    return FaceFeatures(
        clip=np.repeat([f"c{i}" for i in range(n_sources)], per_source),
        source=np.repeat([f"s{i}" for i in range(n_sources)], per_source),
        time_s=np.tile(np.arange(per_source) / 10, n_sources),
        track_id=np.zeros(n, np.int64),
        label=label,
        n_faces=n_faces,
        cnn_prob=1 / (1 + np.exp(-(0.5 * (2 * truth - 1) + rng.normal(size=n)))),
        crops=np.zeros((n, 2, 2), np.uint8),
        feats=feats,
    )


def test_held_out_fusion_learns_the_feature_that_tells_and_never_sees_its_own_source():
    faces = _table()
    held = cross_validated_probs(faces, grid=(1.0, 10.0))
    assert roc_auc(faces.label, held.probs) > 0.95 > 0.8 > roc_auc(faces.label, faces.cnn_prob)
    assert sorted(held.l2) == [f"s{i}" for i in range(6)] and set(held.l2.values()) <= {1.0, 10.0}
    # a source whose labels contradict the others' is scored by the others: its own labels cannot help it
    faces.label[faces.source == "s0"] = 1 - faces.label[faces.source == "s0"]
    flipped = cross_validated_probs(faces, grid=(1.0,))
    mine = faces.source == "s0"
    assert roc_auc(faces.label[mine], flipped.probs[mine]) < 0.2


def test_training_on_single_face_frames_drops_the_labels_that_belong_to_another_face():
    faces = _table(flip_multi=True)
    single = faces.n_faces == 1
    both = cross_validated_probs(faces, grid=(1.0,))
    alone = cross_validated_probs(faces, grid=(1.0,), single_face_only=True)
    assert roc_auc(faces.label[single], alone.probs[single]) >= roc_auc(faces.label[single], both.probs[single])


def test_faces_without_features_keep_the_cnn_probability_as_the_product_fuses_them():
    faces = _table(n_sources=2)
    model = fit_on_all(faces, "v-test", FusionModel.load())
    cnn = np.array([0.01, 0.3, 0.9])
    feats = np.tile(faces.feats[0], (3, 1))
    feats[2] = np.nan
    out = fused_probs(model.fused, cnn, feats)
    assert out[2] == 0.9 and out[1] != 0.3
    np.testing.assert_allclose(out, model.fuse(cnn, feats))


def test_the_fusion_fitted_on_all_faces_saves_and_loads_as_the_product_reads_it(tmp_path):
    faces = _table(n_sources=3)
    base = FusionModel.load()
    model = fit_on_all(faces, "fusion-test", base, trained_on={"data": "made up"})
    assert model.fused.coef[0] > 0 and model.fused.coef[1] > 1  # the telling feature carries the weight
    assert (model.open_low, model.open_high) == (base.open_low, base.open_high)
    loaded = FusionModel.load(model.save(tmp_path).parent)
    assert loaded.version == "fusion-test" and loaded.trained_on == {"data": "made up"}
    np.testing.assert_allclose(loaded.fuse(faces.cnn_prob[:5], faces.feats[:5]), model.fuse(faces.cnn_prob[:5], faces.feats[:5]))
