"""Importing a worker's work file into the store (laughvid.engine.merge): every row, any columns, never over a finished analysis."""

import numpy as np
import pytest

from laughvid import store
from laughvid.engine.merge import merge_work_file
from laughvid.errors import StoreError
from laughvid.types import Segment, VideoInfo

SHA = "ab" * 32
INFO = VideoInfo("/videos/talk.mp4", 640, 360, 30.0, 6.0, 180)
PARAMS = {"fps": 10}


def _work_file(path, probs, status="done", extra_column=False):
    """A work store holding one analysis of SHA: two chunks of 3 frames, one face each."""
    conn = store.open_store(path)
    if extra_column:  # what a later migration adding a column to face rows looks like
        conn.execute("ALTER TABLE face_scores ADD COLUMN geometry_score REAL")
    video_id = store.upsert_video(conn, SHA, INFO, 1000, 1)
    record = store.start_analysis(conn, video_id, "m1", PARAMS)
    for chunk in range(2):
        times = np.arange(3) / 10 + chunk * 0.3
        rows = [(float(t), 7, 1.0, 2.0, 3.0, 4.0, 0.9, probs[chunk], True) for t in times]
        store.save_chunk(conn, record.id, times, rows, {"last_time_s": float(times[-1])}, 0.5 * (chunk + 1))
    if extra_column:
        conn.execute("UPDATE face_scores SET geometry_score = time_s * 2")
        conn.commit()
    if status == "done":
        store.finish_analysis(conn, record.id, ["a warning"])
        store.save_segments(conn, record.id, "s1", [Segment(0.0, 0.5, probs[0], probs[0], (7,))])
    else:
        store.fail_analysis(conn, record.id, "RuntimeError: boom")
    conn.close()
    return path


def _store(tmp_path, extra_column=False):
    conn = store.open_store(tmp_path / "s.sqlite")
    if extra_column:
        conn.execute("ALTER TABLE face_scores ADD COLUMN geometry_score REAL")
    store.upsert_video(conn, SHA, INFO, 1000, 1)
    return conn


def test_every_row_and_column_arrives(tmp_path):
    conn = _store(tmp_path, extra_column=True)
    analysis_id = merge_work_file(conn, _work_file(tmp_path / "w.sqlite", [0.2, 0.8], extra_column=True))
    record = store.get_analysis(conn, analysis_id)
    assert (record.status, record.model_version, record.warnings, record.sha256) == ("done", "m1", ["a warning"], SHA)
    cache = store.load_cache(conn, analysis_id)
    assert len(cache.frame_times_s) == 6 and list(cache.probs) == [0.2] * 3 + [0.8] * 3
    assert conn.execute("SELECT geometry_score FROM face_scores ORDER BY time_s").fetchall()[-1][0] == pytest.approx(1.0)
    assert conn.execute("SELECT track_id, n_frames FROM tracks WHERE analysis_id = ?", (analysis_id,)).fetchall() == [(7, 6)]
    assert store.load_segments(conn, analysis_id, "s1") == [Segment(0.0, 0.5, 0.2, 0.2, (7,))]


def test_an_unfinished_analysis_is_replaced_and_a_finished_one_kept(tmp_path):
    conn = _store(tmp_path)
    failed_id = merge_work_file(conn, _work_file(tmp_path / "failed.sqlite", [0.1, 0.1], status="failed"))
    assert store.get_analysis(conn, failed_id).error == "RuntimeError: boom"  # shown by `laughvid library --failed`

    done_id = merge_work_file(conn, _work_file(tmp_path / "done.sqlite", [0.2, 0.8]))
    assert done_id == failed_id and store.get_analysis(conn, done_id).status == "done"
    assert conn.execute("SELECT COUNT(*) FROM face_scores").fetchone()[0] == 6  # the old rows replaced, not added to

    assert merge_work_file(conn, _work_file(tmp_path / "late.sqlite", [0.5, 0.5])) == done_id  # a late duplicate changes nothing
    assert list(store.load_cache(conn, done_id).probs) == [0.2] * 3 + [0.8] * 3


def test_a_video_the_store_does_not_know_is_refused(tmp_path):
    conn = store.open_store(tmp_path / "s.sqlite")
    with pytest.raises(StoreError, match="record the video first"):
        merge_work_file(conn, _work_file(tmp_path / "w.sqlite", [0.2, 0.8]))
    assert conn.execute("SELECT COUNT(*) FROM analyses").fetchone()[0] == 0
