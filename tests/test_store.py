import sqlite3
import threading

import numpy as np
import pytest

from laughvid import store
from laughvid.pipeline.timeline import track_series, whole_series
from laughvid.types import Segment, VideoInfo

INFO = VideoInfo(path="/videos/a.mp4", width=640, height=360, fps=30.0, duration_s=2.0, frame_count=60)


def test_migrations_apply_once_and_in_order(tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    conn = store.open_store(path)
    latest = max(v for v, _ in store.MIGRATIONS)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == latest
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    monkeypatch.setattr(store.connection, "MIGRATIONS", [*store.MIGRATIONS, (latest + 1, "CREATE TABLE extra (x INTEGER)")])
    conn2 = store.open_store(path)  # applies only the new one (re-running the others would fail: tables exist)
    assert conn2.execute("PRAGMA user_version").fetchone()[0] == latest + 1


def test_opening_a_new_store_from_many_processes_at_once_is_safe(tmp_path):
    path = tmp_path / "s.sqlite"
    errors = []

    def open_it():
        try:
            store.open_store(path).close()
        except Exception as exc:  # collected: a thread's exception would otherwise be lost
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_store_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "s.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version = 99")
    with pytest.raises(store.StoreError, match="newer"):
        store.open_store(path)


def test_default_store_path_follows_laughvid_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LAUGHVID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAUGHVID_STORE", raising=False)
    store.open_store().close()
    assert (tmp_path / "home" / "laughvid.sqlite").is_file()


def test_same_content_is_one_video_and_cache_round_trips(tmp_path):
    conn = store.open_store(tmp_path / "s.sqlite")
    vid = store.upsert_video(conn, "abc", INFO)
    assert store.upsert_video(conn, "abc", VideoInfo(**{**INFO.__dict__, "path": "/moved/a.mp4"})) == vid
    rec = store.start_analysis(conn, vid, "m1", {"fps": 10})
    rows = [(0.0, 0, 1, 2, 3, 4, 0.9, 0.8, True), (0.1, 0, 1, 2, 3, 4, 0.9, 0.7, False), (0.1, 1, 5, 6, 7, 8, 0.8, 0.2, True)]
    store.save_chunk(conn, rec.id, np.array([0.0, 0.1, 0.2]), rows, {"last_time_s": 0.2}, 0.1)
    store.finish_analysis(conn, rec.id, ["a warning"])
    done = store.get_analysis(conn, rec.id)
    assert (done.status, done.progress, done.warnings, done.path) == ("done", 1.0, ["a warning"], "/moved/a.mp4")
    assert [r.id for r in store.list_analyses(conn, status="done")] == [rec.id]
    assert store.start_analysis(conn, vid, "m1", {"fps": 10}).id == rec.id  # same model + params = same row
    cache = store.load_cache(conn, rec.id)
    np.testing.assert_allclose(whole_series(cache).probs, [0.8, 0.7, np.nan])  # max over faces, NaN = no face
    per_track = track_series(cache)
    np.testing.assert_allclose(per_track[1].probs, [np.nan, 0.2, np.nan])
    assert list(cache.detected) == [True, False, True]
    segs = [Segment(0.0, 0.2, 0.8, 0.75, (0,))]
    store.save_segments(conn, rec.id, "h", segs)
    assert store.load_segments(conn, rec.id, "h") == segs
