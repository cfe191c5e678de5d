"""Labelled video faces for Phase 2 (laughvid.lifecycle.video_faces, run by scripts/simulate_phase2.py --population video).

One generated clip is analysed with the shipped model; its faces are then cut and labelled from
labels written here, so nothing depends on the dev set's media."""

import sqlite3

import numpy as np
import pytest
from media import astronaut_video

from laughvid import store
from laughvid.config import SHIPPED_MODEL_DIR
from laughvid.lifecycle.video_eval import VideoLabels
from laughvid.lifecycle.video_faces import (
    IGNORED,
    VideoFaces,
    collect_faces,
    face_labels,
    fit_stack,
    source_folds,
    stack_probs,
    stored_analyses,
    with_probs,
)
from laughvid.pipeline.analyze import analyze_video, load_result
from laughvid.pipeline.scoring import SmileClassifier
from laughvid.training.data import load_smile_folders
from laughvid.training.metrics import roc_auc

LABELS = VideoLabels("clip.mp4", smile=((0.0, 1.0),), ignore=((1.0, 1.3),), source="repo/a")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    root = tmp_path_factory.mktemp("video_faces")
    video = astronaut_video(root / "clip.mp4", seconds=2)
    conn = store.open_store(root / "store.sqlite")
    classifier = SmileClassifier.load(SHIPPED_MODEL_DIR)
    result = analyze_video(video, conn, classifier)
    faces = collect_faces(conn, [LABELS], classifier, root / "set")
    return conn, classifier, result, faces, root


def test_face_labels_smile_inside_span_ignore_wins_else_zero():
    times = np.array([0.0, 0.5, 1.0, 1.2, 1.3, 2.0])
    labels = VideoLabels("c", smile=((0.0, 1.1),), ignore=((1.0, 1.3),))
    assert face_labels(times, labels).tolist() == [1, 1, IGNORED, IGNORED, 0, 0]


def test_every_face_row_is_cut_as_analysis_cuts_it_and_labelled_by_time(analysed):
    _, classifier, result, faces, _ = analysed
    cache = result.cache
    assert len(faces) == len(cache.times_s) > 10
    np.testing.assert_array_equal(faces.time_s, cache.times_s)
    expected = np.where(cache.times_s < 1.0, 1, np.where(cache.times_s < 1.3, IGNORED, 0))
    np.testing.assert_array_equal(faces.label, expected)
    assert set(faces.clip) == {"clip.mp4"} and set(faces.source) == {"repo/a"}
    # Same box, same cropper; the frame comes from the exporter's random-access decoder, whose pixels
    # differ from the analysis' batch decoder by a grey level or so: scores agree to about 0.001.
    np.testing.assert_allclose(classifier.score(faces.crops), cache.cnn_probs, atol=0.005)
    np.testing.assert_allclose(faces.prob, cache.probs)


def test_detected_labelled_faces_become_a_finetune_set_grouped_by_clip(analysed):
    _, _, result, faces, root = analysed
    exported = faces.detected & (faces.label != IGNORED)
    assert exported.sum() > 3 and np.all((faces.png != "") == exported)
    items = load_smile_folders(root / "set")
    assert len(items) == exported.sum()
    assert {it.group for it in items} == {"clip.mp4"}
    assert sorted(it.smile for it in items) == sorted(faces.label[exported].tolist())
    assert [it.path for it in faces.items(root / "set")] == [str(root / "set" / p) for p in faces.png[exported]]


def test_faces_in_frame_counts_the_faces_sharing_a_clip_and_time():
    faces = _faces(["a", "a", "a", "b"])
    faces.time_s = np.array([0.1, 0.1, 0.2, 0.1])
    assert faces.faces_in_frame().tolist() == [2, 2, 1, 1]


def test_cached_faces_load_back_identical(analysed, tmp_path):
    faces = analysed[3]
    faces.save(tmp_path / "faces.npz")
    back = VideoFaces.load(tmp_path / "faces.npz")
    for name in ("clip", "png", "label", "crops", "geometry", "time_s"):
        np.testing.assert_array_equal(getattr(back, name), getattr(faces, name))


def test_a_clip_without_analysis_is_named(analysed):
    conn = analysed[0]
    with pytest.raises(KeyError, match="other.mp4"):
        stored_analyses(conn, [LABELS, VideoLabels("other.mp4", (), ())])


def test_timeline_rebuilt_from_new_face_probabilities(analysed):
    result = analysed[2]
    n = len(result.cache.times_s)
    high = with_probs(result, np.full(n, 0.95))
    assert len(high.segments) == 1 and high.segments[0].end_s - high.segments[0].start_s > 1.5
    assert np.nanmin(high.series.probs) == pytest.approx(0.95)
    assert with_probs(result, np.full(n, 0.02)).segments == []
    with pytest.raises(ValueError, match="face rows"):
        with_probs(result, np.zeros(n - 1))


def test_timeline_rebuilt_from_new_face_probabilities_is_averaged_per_person_as_the_product_shows_it(analysed, tmp_path):
    """A candidate's timeline must be the one the product would show for its probabilities: the same
    per-person score window, the same segments and the same peak intensity on them (candidates' segments
    used to be built by a copy of the steps that left peak intensity out). Checked against the product
    itself: the stored analysis with its face probabilities replaced, loaded by `load_result`."""
    conn, result = analysed[0], analysed[2]
    assert result.smoothing.score_window_s > 0, "the default smoothing averages each person's score"
    n = len(result.cache.times_s)
    flicker = np.where(np.arange(n) % 2 == 0, 0.95, 0.05)  # one face flickering frame to frame
    assert np.nanmax(with_probs(result, flicker).series.probs) < 0.7  # averaged in log-odds: about 0.5, not 0.95
    for probs in (result.cache.probs, np.where(result.cache.times_s < 1.2, 0.95, 0.05)):
        rebuilt = with_probs(result, probs)
        shown = load_result(_with_stored_probs(conn, result, probs, tmp_path / "store.sqlite"), result.record.id, result.smoothing)
        assert rebuilt.segments == shown.segments and rebuilt.segments
        assert all(s.peak_intensity is not None and s.peak_intensity > 0 for s in rebuilt.segments)
        np.testing.assert_array_equal(rebuilt.series.probs, shown.series.probs)
        assert rebuilt.tracks.keys() == shown.tracks.keys() == result.tracks.keys()
        for tid, track in rebuilt.tracks.items():
            np.testing.assert_array_equal(track.probs, shown.tracks[tid].probs)
            np.testing.assert_array_equal(rebuilt.track_intensity[tid].probs, shown.track_intensity[tid].probs)
    assert with_probs(result, result.cache.probs).segments == result.segments


def _with_stored_probs(conn, result, probs, path):
    """A copy of the store in which the analysis' face rows carry `probs` (in score-cache order)."""
    path.unlink(missing_ok=True)
    copy = sqlite3.connect(path)
    conn.backup(copy)
    copy.executemany(
        "UPDATE face_scores SET prob = ? WHERE analysis_id = ? AND time_s = ? AND track_id = ?",
        [
            (float(p), result.record.id, float(t), int(tid))
            for p, t, tid in zip(probs, result.cache.times_s, result.cache.raw_track_ids, strict=True)
        ],
    )
    copy.commit()
    copy.close()
    return store.open_store(path)


def _faces(sources: list[str]) -> VideoFaces:
    n = len(sources)
    zeros = np.zeros(n)
    return VideoFaces(
        np.array(sources),
        np.array(sources),
        zeros.astype(np.int64),
        zeros.astype(np.int64),
        zeros,
        zeros.astype(np.int64),
        np.ones(n, bool),
        np.zeros(n, np.int8),
        np.zeros((n, 2, 2), np.uint8),
        zeros,
        zeros,
        zeros,
        np.full(n, ""),
    )


def test_source_folds_keep_sources_whole_and_balance_faces():
    faces = _faces(["a"] * 50 + ["b"] * 40 + ["c"] * 30 + ["d"] * 20)
    folds = source_folds(faces, 2)
    assert sorted(s for f in folds for s in f) == ["a", "b", "c", "d"]
    sizes = [int(np.isin(faces.source, f).sum()) for f in folds]
    assert sizes == [70, 70]
    faces.clip = np.array([f"{s}{i % 2}" for i, s in enumerate(faces.source)])
    clips = source_folds(faces, 2, by="clip")
    assert sorted(c for f in clips for c in f) == ["a0", "a1", "b0", "b1", "c0", "c1", "d0", "d1"]
    assert [int(np.isin(faces.clip, f).sum()) for f in clips] == [70, 70]


def test_stack_fuses_both_parts_and_keeps_the_cnn_where_geometry_is_missing():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 4000).astype(np.int8)
    cnn = 1 / (1 + np.exp(-(2 * label - 1 + rng.normal(0, 1.2, 4000))))
    geometry = 1 / (1 + np.exp(-(2 * label - 1 + rng.normal(0, 1.2, 4000))))
    stack = fit_stack(cnn[:2000], geometry[:2000], label[:2000])
    fused = stack_probs(stack, cnn[2000:], geometry[2000:])
    test = label[2000:]
    assert roc_auc(test, fused) > max(roc_auc(test, cnn[2000:]), roc_auc(test, geometry[2000:])) + 0.02
    missing = geometry.copy()[2000:]
    missing[:10] = np.nan
    np.testing.assert_array_equal(stack_probs(stack, cnn[2000:], missing)[:10], cnn[2000:2010])
