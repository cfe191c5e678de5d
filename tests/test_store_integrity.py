"""The store file is trusted only when healthy: a bad one is refused with what to do (CLI exit 2, a
message page in the UI) and left byte for byte as it was; `laughvid store check|backup|restore`;
a backup before every migration; a finished analysis stays finished whatever another run does."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys

import pytest
from media import astronaut_video
from pipe_helpers import BrightnessScorer

from laughvid import review, store
from laughvid.cli import EXIT_FAILURES, EXIT_OK, EXIT_USAGE, main
from laughvid.pipeline.analyze import AnalysisParams, analyze_video, list_videos

SHA = "a" * 64  # a video's hash, for reviews that need no video


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LAUGHVID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LAUGHVID_STORE", raising=False)
    return tmp_path / "home"


def reviewed_store(path, laughs=((1.0, 2.0),)):
    """A store holding reviewed laughs (data that cannot be recomputed)."""
    conn = store.open_store(path)
    for start, end in laughs:
        review.add(conn, SHA, start, end, "ann")
    conn.close()
    return path


def laughs_in(path) -> list[tuple[float, float]]:
    conn = store.open_store(path)
    try:
        return sorted((r.segment.start_s, r.segment.end_s) for r in review.stored(conn, SHA))
    finally:
        conn.close()


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def garbage(path):
    path.write_bytes(os.urandom(8192))
    return path


def truncated(path):
    reviewed_store(path, laughs=[(i, i + 0.5) for i in range(400)])  # several pages
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


# ---------------------------------------------------------------- refused, and left as it was


def test_an_empty_store_is_refused_not_recreated(home):
    home.mkdir()
    (home / "laughvid.sqlite").touch()
    cmd = [sys.executable, "-c", "import sys; from laughvid.cli import main; sys.exit(main())", "models", "list"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, timeout=120)
    assert done.returncode == EXIT_USAGE
    assert "is empty (0 bytes)" in done.stderr and "laughvid store restore BACKUP" in done.stderr
    assert "Traceback" not in done.stderr
    assert (home / "laughvid.sqlite").stat().st_size == 0, "the file is left as it was"


@pytest.mark.parametrize("spoil, message", [(garbage, "is not a SQLite database"), (truncated, "is truncated")])
def test_a_garbage_or_truncated_store_is_refused_and_left_as_it_was(home, capsys, spoil, message):
    home.mkdir()
    path = spoil(home / "laughvid.sqlite")
    before = digest(path)
    with pytest.raises(store.StoreError, match=message) as refused:
        store.open_store(path)
    assert refused.value.damaged
    assert main(["consent", "list"]) == EXIT_USAGE
    assert message in capsys.readouterr().err
    assert digest(path) == before


def test_a_damaged_page_fails_the_quick_check_on_open(tmp_path, monkeypatch):
    path = reviewed_store(tmp_path / "s.sqlite", laughs=[(i, i + 0.5) for i in range(400)])
    monkeypatch.setattr(store.connection, "_quick_checked", set())  # as in a new process: each checks a store once
    with sqlite3.connect(path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'review_segments'").fetchone()[0]
    with open(path, "r+b") as f:  # scribble over the reviews' b-tree root page; the header stays intact
        f.seek((root - 1) * 4096)
        f.write(b"\xff" * 4096)
    before = digest(path)
    with pytest.raises(store.StoreError, match="is damaged") as refused:
        store.open_store(path)
    assert refused.value.damaged and digest(path) == before


def test_a_read_only_store_or_folder_is_refused_with_what_to_do(tmp_path):
    path = reviewed_store(tmp_path / "data" / "s.sqlite")
    path.chmod(0o444)
    try:
        with pytest.raises(store.StoreError, match=r"is read-only .*chmod u\+w") as refused:
            store.open_store(path)
        assert not refused.value.damaged
    finally:
        path.chmod(0o644)
    path.parent.chmod(0o555)
    try:
        with pytest.raises(store.StoreError, match="the folder .* is read-only"):
            store.open_store(path)
    finally:
        path.parent.chmod(0o755)
    assert laughs_in(path) == [(1.0, 2.0)]


def test_a_locked_store_is_refused_after_the_wait(tmp_path, monkeypatch):
    path = reviewed_store(tmp_path / "s.sqlite")
    monkeypatch.setattr(store, "LOCK_TIMEOUT_S", 0.2, raising=False)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another program in the middle of a write
    try:
        with pytest.raises(store.StoreError, match="is locked by another program"):
            store.open_store(path)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_another_programs_database_is_not_taken_over(tmp_path):
    path = tmp_path / "notes.sqlite"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(store.StoreError, match="not a laughvid store"):
        store.open_store(path)
    with sqlite3.connect(path) as other:
        assert [r[0] for r in other.execute("SELECT name FROM sqlite_master")] == ["notes"]


def test_a_left_behind_write_ahead_log_blocks_creating_a_new_store(tmp_path):
    (tmp_path / "s.sqlite-wal").write_bytes(b"log of a store that was moved away")
    with pytest.raises(store.StoreError, match="write-ahead log"):
        store.open_store(tmp_path / "s.sqlite")
    assert not (tmp_path / "s.sqlite").exists()


def test_the_app_shows_the_message_as_a_page(home):
    from streamlit.testing.v1 import AppTest

    home.mkdir()
    (home / "laughvid.sqlite").touch()
    at = AppTest.from_file("../streamlit_app.py", default_timeout=60)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert len(at.error) == 1 and "is empty (0 bytes)" in at.error[0].value
    assert (home / "laughvid.sqlite").stat().st_size == 0


# ---------------------------------------------------------------- laughvid store check | backup | restore


def test_check_backup_restore_round_trip_keeps_reviews(home, capsys):
    path = reviewed_store(home / "laughvid.sqlite")
    assert main(["store", "check"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "ok: SQLite's integrity check found no problem" in out
    assert any(line.split() == ["review_segments", "1", "rows"] for line in out.splitlines())

    backup = home / "before-party.sqlite"
    assert main(["store", "backup", str(backup)]) == EXIT_OK
    assert main(["store", "backup", str(backup)]) == EXIT_USAGE, "an existing file is not overwritten"
    assert "already exists" in capsys.readouterr().err
    reviewed_store(path, laughs=[(5.0, 6.0)])  # reviewed after the backup
    assert laughs_in(path) == [(1.0, 2.0), (5.0, 6.0)]

    assert main(["store", "restore", str(backup)]) == EXIT_OK
    assert laughs_in(path) == [(1.0, 2.0)]
    [kept] = home.glob("laughvid.before-restore.*.sqlite")
    assert kept.name in capsys.readouterr().out
    assert laughs_in(kept) == [(1.0, 2.0), (5.0, 6.0)], "the store as it was before the restore"
    assert main(["store", "check", str(kept)]) == EXIT_OK


def test_restore_refuses_a_garbage_backup(home, capsys):
    path = reviewed_store(home / "laughvid.sqlite")
    before = digest(path)
    assert main(["store", "restore", str(garbage(home / "old.sqlite"))]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "is not a healthy laughvid store" in err and "the store was not changed" in err
    assert digest(path) == before and not list(home.glob("laughvid.*.*.sqlite"))


def test_restore_over_a_damaged_store_keeps_the_damaged_file_aside(home, capsys):
    backup = reviewed_store(home / "backup.sqlite")
    path = home / "laughvid.sqlite"
    path.touch()
    assert main(["store", "check"]) == EXIT_FAILURES
    assert "PROBLEM: is empty (0 bytes)" in capsys.readouterr().out
    assert main(["store", "restore", str(backup)]) == EXIT_OK
    [aside] = home.glob("laughvid.damaged.*.sqlite")
    assert aside.stat().st_size == 0 and aside.name in capsys.readouterr().out
    assert laughs_in(path) == [(1.0, 2.0)]


def test_check_reports_a_damaged_store_without_changing_it(tmp_path, capsys):
    path = truncated(tmp_path / "s.sqlite")
    before = digest(path)
    assert main(["store", "check", str(path)]) == EXIT_FAILURES
    assert "PROBLEM: is truncated" in capsys.readouterr().out
    assert digest(path) == before


# ---------------------------------------------------------------- a backup before every migration


def test_a_store_with_data_is_backed_up_before_a_migration(tmp_path, monkeypatch):
    latest = max(v for v, _ in store.MIGRATIONS)
    with monkeypatch.context() as old_laughvid:  # a store written by a laughvid that knew only migrations 1-2
        old_laughvid.setattr(store.connection, "MIGRATIONS", [m for m in store.MIGRATIONS if m[0] <= 2])
        path = reviewed_store(tmp_path / "s.sqlite")
    assert not list(tmp_path.glob("s.*.sqlite")), "a new store is not backed up"

    conn = store.open_store(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == latest
    [backup] = tmp_path.glob(f"s.v2-to-v{latest}.*.sqlite")
    with sqlite3.connect(backup) as old:
        assert old.execute("PRAGMA user_version").fetchone()[0] == 2
        assert old.execute("SELECT start_s, end_s FROM review_segments").fetchall() == [(1.0, 2.0)]
    store.open_store(path).close()
    assert len(list(tmp_path.glob("s.*.sqlite"))) == 1, "only a migration makes one"


# ---------------------------------------------------------------- a finished analysis stays finished


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return astronaut_video(tmp_path_factory.mktemp("integrity") / "clip.mp4", seconds=2, fps=30)


@pytest.mark.parametrize("interrupt", [True, False], ids=["interrupted", "carries-on"])
def test_a_run_overtaken_by_another_cannot_demote_its_finished_analysis(clip, tmp_path, interrupt):
    """Run B starts; run A (another window, same video and settings) finishes the analysis while B is
    still going; then B is interrupted (Ctrl-C) or carries on."""
    params = AnalysisParams(batch_size=5)
    path = tmp_path / "s.sqlite"
    first: dict = {}
    after_a: list[str] = []

    def progress_of_b(fraction: float, message: str) -> None:
        if "a" not in first:
            first["a"] = analyze_video(clip, store.open_store(path), BrightnessScorer(), params)
            assert first["a"].record.status == "done"
            if interrupt:
                raise KeyboardInterrupt
        else:
            after_a.append(message)

    conn = store.open_store(path)
    if interrupt:
        with pytest.raises(KeyboardInterrupt):
            analyze_video(clip, conn, BrightnessScorer(), params, progress=progress_of_b)
    else:
        b = analyze_video(clip, conn, BrightnessScorer(), params, progress=progress_of_b)
        assert after_a == ["cached"], "B stops decoding once A has finished, and serves A's result"
        assert b.record.status == "done" and b.segments == first["a"].segments
    a = first["a"].record
    assert store.get_analysis(conn, a.id).status == "done"
    assert [r.id for r in list_videos(conn)] == [a.id], "still in the library"
