"""Issue 10, row 1: clips only from the analysed file. A video analysed by a relative path, then
exported from another folder holding another file of that name, or replaced in place, or moved."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from media import astronaut_video, synthetic_video
from pipe_helpers import BrightnessScorer

from laughvid import store
from laughvid.export.clips import ClipOptions
from laughvid.pipeline.analyze import analyze_video
from laughvid.pipeline.decode import iter_batches
from laughvid.store.video_identity import VideoFileError, check_video, relink
from laughvid.types import Segment
from laughvid.ui import actions

SIZE, SECONDS, FPS = (320, 180), 2.0, 10
CUT = ClipOptions(pre_roll_s=0.0, post_roll_s=0.0)
LAUGH = [Segment(0.5, 1.0, 0.9, 0.8, ())]


def first_frame(path) -> np.ndarray:
    return next(iter(iter_batches(path, fps=100, max_side=None))).frames[0].astype(int)


def frame_at(path, t: float) -> np.ndarray:
    batch = next(b for b in iter_batches(path, fps=100, max_side=None) if b.times_s[-1] >= t - 1e-6)
    return batch.frames[int(np.argmin(np.abs(batch.times_s - t)))].astype(int)


@pytest.fixture
def analysed(tmp_path, monkeypatch):
    """`talk.mp4` analysed from its own folder by a relative path (as `cd a && laughvid analyze talk.mp4` does)."""
    folder = tmp_path / "a"
    folder.mkdir()
    video = astronaut_video(folder / "talk.mp4", seconds=SECONDS, size=SIZE, fps=FPS, face_px=50)
    original = tmp_path / "original.bin"
    shutil.copy(video, original)  # the analysed content, to compare clips with after the file moves
    conn = store.open_store(tmp_path / "s.sqlite")
    monkeypatch.chdir(folder)
    record = analyze_video("talk.mp4", conn, BrightnessScorer()).record
    return conn, record, video, original


def test_the_stored_path_is_absolute_and_exports_from_another_folder_cut_the_analysed_video(analysed, tmp_path, monkeypatch):
    conn, record, video, original = analysed
    assert record.path == str(video.resolve()) and (record.size_bytes, record.mtime_ns) == (video.stat().st_size, video.stat().st_mtime_ns)
    other = tmp_path / "b"
    other.mkdir()
    synthetic_video(other / "talk.mp4", seconds=SECONDS, size=SIZE, fps=FPS)  # another video of the same name
    monkeypatch.chdir(other)
    (clip,) = actions.clips_for(tmp_path / "exports", store.get_analysis(conn, record.id), LAUGH, CUT)
    frame = first_frame(clip.path)
    assert np.abs(frame - frame_at(original, 0.5)).mean() < 8  # the analysed video's frame at 0.5 s...
    assert np.abs(frame - frame_at(other / "talk.mp4", 0.5)).mean() > 30  # ...not the other talk.mp4's


def test_a_replaced_file_is_refused_with_what_to_do_and_nothing_is_written(analysed, tmp_path):
    conn, record, video, _ = analysed
    synthetic_video(video, seconds=SECONDS, size=SIZE, fps=FPS)  # same name, same place, other content
    exports = tmp_path / "exports"
    for export in (actions.clips_for, actions.reel_for):
        with pytest.raises(VideoFileError, match=r"talk.mp4 is not the video that was analysed: its content changed.*laughvid relink"):
            export(exports, record, LAUGH, CUT)
    assert not exports.exists() or not [p for p in exports.rglob("*") if p.is_file()]
    assert "not the video that was analysed" in actions.video_problem(conn, record)


def test_a_moved_file_is_found_by_content_and_then_exports_the_right_frames(analysed, tmp_path):
    conn, record, video, original = analysed
    moved = tmp_path / "elsewhere" / "deep" / "renamed talk.mp4"
    moved.parent.mkdir(parents=True)
    (tmp_path / "elsewhere" / "same size decoy.mp4").write_bytes(b"\0" * record.size_bytes)  # hashed, not taken
    video.rename(moved)
    with pytest.raises(VideoFileError, match=r"talk.mp4 is no longer there.*laughvid relink"):
        actions.clips_for(tmp_path / "exports", record, LAUGH, CUT)

    report = relink(conn, [tmp_path / "elsewhere", tmp_path / "nowhere"])
    assert report.relinked == (("talk.mp4", moved.resolve()),) and report.missing == ()
    assert report.not_found == (tmp_path / "nowhere",)
    relinked = store.get_analysis(conn, record.id)
    assert relinked.path == str(moved.resolve()) and relinked.info.path == str(moved.resolve())
    (clip,) = actions.clips_for(tmp_path / "exports", relinked, LAUGH, CUT)
    assert np.abs(first_frame(clip.path) - frame_at(original, 0.5)).mean() < 8


def test_a_touched_file_is_checked_by_hash_once_then_by_its_new_stat(analysed):
    conn, record, video, _ = analysed
    os.utime(video, ns=(1_000_000_000, 1_000_000_000))  # same content, other mtime (a copy, a `touch`)
    assert check_video(record, conn) == video.resolve()
    assert store.get_analysis(conn, record.id).mtime_ns == 1_000_000_000  # recorded: the next check is a stat


def test_a_changed_file_is_hashed_at_most_once_per_record(analysed, monkeypatch):
    """The app checks the video on every rerun and the CLI before clips and reel: a touched file costs
    one hash, and a file of another size none (a GB video would otherwise be hashed per click)."""
    conn, record, video, _ = analysed
    hashed = []
    real_sha256 = store.file_sha256
    monkeypatch.setattr(store, "file_sha256", lambda path: hashed.append(path) or real_sha256(path))
    os.utime(video, ns=(1_000_000_000, 1_000_000_000))
    for _ in range(3):
        check_video(record)  # no connection (as clips_for / reel_for): the record itself remembers
    assert len(hashed) == 1
    with open(video, "ab") as grown:
        grown.write(b"\0" * 10)
    for _ in range(3):
        with pytest.raises(VideoFileError, match=r"its content changed \(\d+ bytes, analysed \d+\)"):
            check_video(record)
    assert len(hashed) == 1


def test_the_app_relinks_from_a_folder_and_says_what_it_found(analysed, tmp_path):
    conn, record, video, _ = analysed
    (tmp_path / "new").mkdir()
    video.rename(tmp_path / "new" / "talk.mp4")
    assert "no longer there" in actions.video_problem(conn, record)
    with pytest.raises(ValueError, match="no such file or folder"):
        actions.relink_folder(conn, str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="no file there has the content"):
        actions.relink_folder(conn, str(tmp_path / "a"))
    assert actions.relink_folder(conn, f"  {tmp_path / 'new'} ") == f"talk.mp4 found at {(tmp_path / 'new' / 'talk.mp4').resolve()}"
    assert actions.video_problem(conn, store.get_analysis(conn, record.id)) is None
